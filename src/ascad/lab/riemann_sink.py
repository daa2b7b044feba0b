"""A small Riemann server for tests and ``ascad demo``: it decodes and records events.

It speaks Riemann's wire protocol as the real server does (riemann/riemann
``src/riemann/transport/{tcp,udp}.clj``):

- TCP (optionally TLS): frames of a 4-byte big-endian length and a ``Msg``; every frame gets a
  framed ``Msg`` reply, ``ok=true`` (or ``ok=false`` with ``error`` in :attr:`fail_mode`). A
  connection carries any number of frames. A frame over :attr:`max_frame` bytes closes the
  connection, since its body cannot be skipped safely.
- UDP on the same port number: one bare ``Msg`` per datagram, no reply; datagrams over 16384
  bytes are dropped, as the real server drops them.

Run standalone, it prints each event as one JSON line::

    python -m ascad.lab.riemann_sink --port 5555
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import ssl
import struct
import sys
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError

from ascad.errors import AscadError
from ascad.report.riemann import UDP_MAX_BYTES, RiemannError, frame
from ascad.report.riemann_proto import Msg

#: Default largest TCP frame accepted (bytes).
MAX_FRAME = 4 << 20


def event_to_dict(event: Any, transport: str) -> dict[str, Any]:
    """A decoded Event as a plain dict; ``metric`` is read sint64, then double, then float,
    in the server's order. Absent optional fields are None."""
    metric: float | int | None = None
    for name in ("metric_sint64", "metric_d", "metric_f"):
        if event.HasField(name):
            metric = getattr(event, name)
            break

    def opt(name: str) -> Any:
        return getattr(event, name) if event.HasField(name) else None

    return {
        "host": opt("host"),
        "service": opt("service"),
        "state": opt("state"),
        "metric": metric,
        "ttl": opt("ttl"),
        "time": opt("time"),
        "description": opt("description"),
        "tags": list(event.tags),
        "attributes": {a.key: a.value for a in event.attributes},
        "transport": transport,
    }


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, sink: RiemannSink) -> None:
        self.sink = sink

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) > UDP_MAX_BYTES:
            self.sink.dropped += 1
            return
        try:
            msg = Msg.FromString(data)
        except DecodeError:
            self.sink.dropped += 1
            return
        if not self.sink.fail_mode:
            self.sink._record(msg, "udp")


class RiemannSink:
    """A loopback Riemann server that records what it receives.

    :attr:`events` holds every received event as a dict (see :func:`event_to_dict`), in arrival
    order; :attr:`messages` the decoded ``Msg`` objects. With :attr:`fail_mode` set, TCP frames
    are answered ``ok=false`` with :attr:`fail_error` and nothing is recorded.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        udp: bool = True,
        tls: ssl.SSLContext | None = None,
        max_frame: int = MAX_FRAME,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.udp = udp
        self.tls = tls
        self.max_frame = max_frame
        self.on_event = on_event
        self.events: list[dict[str, Any]] = []
        self.messages: list[Any] = []
        self.fail_mode = False
        self.fail_error = "ascad test sink: fail mode"
        self.rejected = 0  # TCP frames answered ok=false
        self.dropped = 0  # UDP datagrams too large or undecodable, oversize TCP frames
        self.connections = 0  # TCP connections accepted so far
        self._server: asyncio.Server | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._arrived = asyncio.Event()

    @property
    def where(self) -> str:
        return f"riemann sink {self.host}:{self.port}"

    async def start(self) -> None:
        """Listen on TCP (and UDP on the same port number). With port 0, pick a free port."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
            port = server.sockets[0].getsockname()[1]
            if not self.udp:
                break
            try:
                self._udp_transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, port)
                )
                break
            except OSError:
                server.close()
                await server.wait_closed()
                if self.port:
                    raise RiemannError(f"UDP port {port} is in use", self.where) from None
        else:
            raise RiemannError("no port free for both TCP and UDP", self.where)
        self._server = server
        self.port = port

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
        if self._udp_transport is not None:
            self._udp_transport.close()
            self._udp_transport = None
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RiemannSink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for(self, n: int, timeout: float | None = 5.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` events have arrived; return them all.

        Raises :class:`RiemannError` after ``timeout`` seconds (None: wait without limit).
        """
        try:
            async with asyncio.timeout(timeout):
                while len(self.events) < n:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise RiemannError(
                f"received {len(self.events)} of {n} events within {timeout}s", self.where
            ) from None
        return list(self.events)

    def _record(self, msg: Any, transport: str) -> None:
        self.messages.append(msg)
        for event in msg.events:
            item = event_to_dict(event, transport)
            self.events.append(item)
            if self.on_event is not None:
                self.on_event(item)
        self._arrived.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        transport = "tls" if self.tls else "tcp"
        try:
            while True:
                try:
                    header = await reader.readexactly(4)
                except asyncio.IncompleteReadError:
                    return  # the client closed between frames: normal end
                (size,) = struct.unpack(">I", header)
                if size > self.max_frame:
                    self.dropped += 1
                    return
                body = await reader.readexactly(size)
                writer.write(frame(self._reply(body, transport).SerializeToString()))
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()

    def _reply(self, body: bytes, transport: str) -> Any:
        try:
            msg = Msg.FromString(body)
        except DecodeError as exc:
            self.rejected += 1
            return Msg(ok=False, error=f"parse error: {exc}")
        if self.fail_mode:
            self.rejected += 1
            return Msg(ok=False, error=self.fail_error)
        self._record(msg, transport)
        return Msg(ok=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ascad.lab.riemann_sink",
        description="A Riemann test server: prints each received event as one JSON line.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=5555, help="TCP and UDP port; 0 picks one")
    parser.add_argument("--no-udp", action="store_true", help="listen on TCP only")
    parser.add_argument("--tls-cert", help="PEM certificate: serve TLS instead of plain TCP")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--fail", action="store_true", help="answer every message ok=false")
    parser.add_argument("--count", type=int, default=0, help="exit after this many events")
    parser.add_argument("--lifetime", type=float, default=0, help="exit after this many seconds")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise AscadError(f"cannot load the TLS certificate: {exc}", args.tls_cert) from None

    def show(event: dict[str, Any]) -> None:
        print(json.dumps(event, sort_keys=True), flush=True)

    sink = RiemannSink(args.host, args.port, udp=not args.no_udp, tls=tls, on_event=show)
    sink.fail_mode = args.fail
    try:
        await sink.start()
    except OSError as exc:
        raise AscadError(f"cannot listen: {exc.strerror or exc}", sink.where) from None
    print(f"riemann sink listening on {sink.host}:{sink.port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    if args.count:
        waiters.append(asyncio.create_task(sink.wait_for(args.count, timeout=None)))
    try:
        await asyncio.wait(waiters, timeout=args.lifetime or None, return_when="FIRST_COMPLETED")
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await sink.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ascad.lab.riemann_sink``; returns the exit status."""
    args = _parse_args(argv)
    try:
        asyncio.run(_run(args))
    except AscadError as exc:
        print(f"ascad: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
