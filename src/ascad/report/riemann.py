"""Riemann events for ascad's checks, and an asyncio client that delivers them.

Facts behind the rules (Riemann's transport code, riemann/riemann ``src/riemann/transport``):

- TCP: every message is a 4-byte big-endian length and a serialized ``Msg``; the server answers
  each one with a ``Msg`` framed the same way, ``ok=true`` or ``ok=false`` with ``error``.
- TLS is the same framing inside TLS.
- UDP: one bare ``Msg`` per datagram, no length and no reply; the server drops datagrams larger
  than 16384 bytes, so a large event sent over UDP vanishes without a trace. We refuse to send it.
- The index keeps the latest event per (host, service) and expires it after ``time + ttl``; the
  service is therefore fixed (``ascad <check>``) and the detail goes in the description.
- When several metric fields are set the server reads sint64, then double, then float. ascad
  sets ``metric_d`` only: one field is enough and a double holds every count exactly.
- When ``time`` is not set, Riemann stamps the event with its receive time.
"""

from __future__ import annotations

import asyncio
import math
import re
import ssl
import struct
from collections.abc import Sequence
from typing import Any, Literal

from google.protobuf.message import DecodeError

from ascad.errors import AscadError
from ascad.report.riemann_proto import Event, Msg

#: Riemann's default UDP datagram limit (bytes); larger datagrams are dropped by the server.
UDP_MAX_BYTES = 16384
#: Default byte budget for one event's description: three events (peer, golden, runtime) with a
#: full description still fit in one Msg under the UDP limit.
DESCRIPTION_BUDGET = 4096
#: The states ascad sends (``expired`` is made by Riemann itself).
STATES = ("ok", "warning", "critical")
#: Largest reply frame the client accepts; a reply to a send is a few bytes.
MAX_REPLY_BYTES = 1 << 20

_CHECK_RE = re.compile(r"[a-z][a-z0-9-]*")


class RiemannError(AscadError):
    """Riemann could not be reached, or it refused the events. ``where`` is ``host:port``."""


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_event(
    *,
    host: str,
    check: str,
    state: str,
    metric: float,
    description: str,
    ttl: float,
    tags: list[str],
    attributes: dict[str, str],
    time: int | None = None,
) -> Event:
    """One ascad event: service ``ascad <check>``, metric in ``metric_d``.

    ``time`` (unix seconds) is left unset when None, so Riemann uses its receive time.
    """
    where = f"riemann event ascad {check}"
    if not host:
        raise AscadError("event host is empty", where)
    if not _CHECK_RE.fullmatch(check):
        raise AscadError(f"check name {check!r} must be lower-case letters, digits and -", where)
    if state not in STATES:
        raise AscadError(f"state {state!r} is not one of {', '.join(STATES)}", where)
    if not math.isfinite(metric):
        raise AscadError(f"metric {metric!r} is not a finite number", where)
    if not (math.isfinite(ttl) and ttl > 0):
        raise AscadError(f"ttl {ttl!r} must be a positive number of seconds", where)
    event = Event(
        host=_text(host),
        service=f"ascad {check}",
        state=state,
        metric_d=float(metric),
        description=_text(description),
        ttl=ttl,
    )
    if time is not None:
        event.time = int(time)
    event.tags.extend(_text(tag) for tag in tags)
    for key, value in attributes.items():
        if not key:
            raise AscadError("attribute with an empty key", where)
        event.attributes.add(key=_text(key), value=_text(value))
    return event


def _text(value: str) -> str:
    """``value`` as valid UTF-8 text: protobuf strings must be UTF-8, and paths read from disk may
    carry lone surrogates (``surrogateescape``); those become ``?``."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode()
    return value


def _cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding is at most ``limit`` bytes."""
    return text.encode()[: max(limit, 0)].decode("utf-8", "ignore")


def describe_differences(lines: Sequence[str], limit_bytes: int = DESCRIPTION_BUDGET) -> str:
    """Join difference lines, keeping the UTF-8 result within ``limit_bytes``.

    The first differences are kept whole; the rest are counted in a last line
    ``… and K more``. A first line that alone is too long is cut and ends with ``…``.
    """
    if limit_bytes < 64:
        raise AscadError(f"description budget {limit_bytes} bytes is below 64", "riemann event")
    lines = [_text(line) for line in lines]
    sizes = [len(line.encode()) for line in lines]
    total = len(lines)

    def tail(rest: int) -> str:
        return f"… and {rest} more" if rest else ""

    kept, used = 0, 0
    for k in range(1, total + 1):
        used_k = used + sizes[k - 1] + (1 if k > 1 else 0)
        if used_k > limit_bytes:
            break
        rest = total - k
        if used_k + (len(tail(rest).encode()) + 1 if rest else 0) <= limit_bytes:
            kept = k
        used = used_k
    if kept:
        text = "\n".join(lines[:kept])
        rest = total - kept
        return f"{text}\n{tail(rest)}" if rest else text
    if not total:
        return ""
    # Not even the first line fits with its tail: cut it.
    last = tail(total - 1)
    room = limit_bytes - len("…".encode()) - (len(last.encode()) + 1 if last else 0)
    first = _cut_utf8(lines[0], room) + "…"
    return f"{first}\n{last}" if last else first


def encode_msg(events: Sequence[Event]) -> bytes:
    """A serialized ``Msg`` carrying ``events``."""
    msg = Msg()
    msg.events.extend(events)
    data: bytes = msg.SerializeToString()
    return data


def frame(payload: bytes) -> bytes:
    """``payload`` with Riemann's TCP framing: a 4-byte big-endian length first."""
    return struct.pack(">I", len(payload)) + payload


class RiemannClient:
    """Sends events to one Riemann server over TCP (optionally TLS) or UDP.

    Each :meth:`send` opens a connection, sends one Msg, checks the reply and closes: ascad sends
    a handful of events per cycle, hours apart, so a long-lived connection buys nothing.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: Literal["tcp", "udp"] = "tcp",
        tls: ssl.SSLContext | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.transport = transport
        self.tls = tls
        self.timeout = timeout
        self.where = _where(host, port)
        if transport not in ("tcp", "udp"):
            raise RiemannError(f"transport {transport!r} is not tcp or udp", self.where)
        if transport == "udp" and tls is not None:
            raise RiemannError("Riemann has no TLS over UDP; use tcp with TLS", self.where)
        if not 0 < port < 65536:
            raise RiemannError(f"port {port} is not between 1 and 65535", self.where)
        if not timeout > 0:
            raise RiemannError(f"timeout {timeout} must be positive", self.where)

    async def send(self, events: Sequence[Event]) -> None:
        """Deliver ``events``; raise :class:`RiemannError` if they were not accepted.

        Over TCP an empty list sends an empty Msg, which Riemann answers ``ok``: a liveness probe.
        Over UDP nothing is acknowledged, so success only means the datagrams left this host.
        """
        if self.transport == "udp":
            await self._send_udp(events)
        else:
            await self._send_tcp(encode_msg(events))

    async def _send_tcp(self, payload: bytes) -> None:
        proto = "TLS" if self.tls else "TCP"
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                )
                writer.write(frame(payload))
                await writer.drain()
                (size,) = struct.unpack(">I", await reader.readexactly(4))
                if size > MAX_REPLY_BYTES:
                    raise RiemannError(f"reply frame of {size} bytes is too large", self.where)
                body = await reader.readexactly(size)
        except TimeoutError:
            raise RiemannError(
                f"no reply over {proto} within {self.timeout:g}s", self.where
            ) from None
        except asyncio.IncompleteReadError:
            raise RiemannError(f"{proto} connection closed before the reply", self.where) from None
        except ssl.SSLError as exc:
            raise RiemannError(f"TLS failed: {exc.reason or exc}", self.where) from None
        except ConnectionRefusedError:
            raise RiemannError(f"{proto} connection refused", self.where) from None
        except OSError as exc:
            raise RiemannError(f"{proto}: {exc.strerror or exc}", self.where) from None
        finally:
            if writer is not None:
                await _close(writer)
        reply = _decode_reply(body, self.where)
        if not reply.ok:
            reason = reply.error or "no reason given"
            raise RiemannError(f"server refused the events: {reason}", self.where)

    async def _send_udp(self, events: Sequence[Event]) -> None:
        datagrams = []
        for event in events:
            data = encode_msg([event])
            if len(data) > UDP_MAX_BYTES:
                raise RiemannError(
                    f"event {event.service!r} is {len(data)} bytes; Riemann drops UDP datagrams"
                    f" over {UDP_MAX_BYTES} (shorten the description or use TCP)",
                    self.where,
                )
            datagrams.append(data)
        if not datagrams:
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                transport, _ = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, remote_addr=(self.host, self.port)
                )
        except TimeoutError:
            raise RiemannError(f"UDP: no socket within {self.timeout:g}s", self.where) from None
        except OSError as exc:
            raise RiemannError(f"UDP: {exc.strerror or exc}", self.where) from None
        try:
            for data in datagrams:
                transport.sendto(data)
        finally:
            transport.close()


def _decode_reply(body: bytes, where: str) -> Any:
    try:
        reply = Msg.FromString(body)
    except DecodeError:
        raise RiemannError("reply is not a Riemann Msg", where) from None
    if not reply.HasField("ok"):
        raise RiemannError("reply has no ok field", where)
    return reply


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a stream without waiting long for a peer that does not answer TLS close_notify."""
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
