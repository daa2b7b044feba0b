"""The config server's floor: a raw asyncio protocol doing what the agent's ``GET /v1/config``
does, and nothing else.

Run by bench/agent.py: ``floor_http.py CONF TOKEN`` prints ``serving on http://127.0.0.1:PORT``
on stderr and serves until killed. Same logic as ascad.agent.server: the bearer token compared
with ``hmac.compare_digest`` before routing (401 with the same body otherwise), the conf read in a
worker thread for the requests that arrived before the read began (one read shared by them, as
ConfCache does), the quoted sha256 as ``ETag``, ``If-None-Match`` answered 304, ``Cache-Control:
no-cache``, ``Server: ascad``, HTTP/1.1 keep-alive. No framework: a hand-written request splitter
over ``asyncio.Protocol``, which is as little as Python can do per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys
from email.utils import formatdate

UNAUTHORIZED = b"401 unauthorized\n"


class Conf:
    """The conf's bytes and tag, read after each request arrived (ConfCache's rule, and its way:
    each request waits on a future of its own, all woken when the read that answers them ends;
    the ones that came during a read wait for the next)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.inflight: list[asyncio.Future[tuple[bytes, str]]] | None = None
        self.next: list[asyncio.Future[tuple[bytes, str]]] = []

    def _read(self) -> tuple[bytes, str]:
        with open(self.path, "rb") as fh:
            data = fh.read()
        return data, '"' + hashlib.sha256(data).hexdigest() + '"'

    async def fetch(self) -> tuple[bytes, str]:
        waiter = asyncio.get_running_loop().create_future()
        if self.inflight is not None:
            self.next.append(waiter)
        else:
            self._begin([waiter])
        return await waiter

    def _begin(self, waiters: list[asyncio.Future[tuple[bytes, str]]]) -> None:
        self.inflight, self.next = waiters, []
        read = asyncio.get_running_loop().run_in_executor(None, self._read)
        read.add_done_callback(lambda done: self._finished(waiters, done))

    def _finished(
        self,
        waiters: list[asyncio.Future[tuple[bytes, str]]],
        read: asyncio.Future[tuple[bytes, str]],
    ) -> None:
        exc = read.exception()
        for w in waiters:
            if not w.done():
                if exc is None:
                    w.set_result(read.result())
                else:
                    w.set_exception(exc)
        self.inflight = None
        waiting = [w for w in self.next if not w.done()]
        if waiting:
            self._begin(waiting)
        else:
            self.next = []


class Http(asyncio.Protocol):
    def __init__(self, conf: Conf, token: bytes) -> None:
        self.conf = conf
        self.token = token
        self.buffer = b""
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.task = asyncio.get_running_loop().create_task(self.serve())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.queue.put_nowait(self.buffer[:end])
            self.buffer = self.buffer[end + 4 :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)

    async def serve(self) -> None:  # requests in order, one at a time per connection
        while (head := await self.queue.get()) is not None:
            assert self.transport is not None
            self.transport.write(await self.answer(head))

    async def answer(self, head: bytes) -> bytes:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        path = parts[1] if len(parts) > 1 else b""
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if path != b"/healthz":
            scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
            if not (scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token)):
                return response(
                    b"401 Unauthorized",
                    UNAUTHORIZED,
                    b'WWW-Authenticate: Bearer realm="ascad"\r\nContent-Type: text/plain\r\n',
                )
        if path == b"/healthz":
            return response(b"200 OK", b"ok\n", b"Content-Type: text/plain\r\n")
        if path != b"/v1/config":
            return response(b"404 Not Found", b"404: Not Found", b"Content-Type: text/plain\r\n")
        data, etag = await self.conf.fetch()
        extra = f"ETag: {etag}\r\nCache-Control: no-cache\r\n".encode()
        inm = headers.get(b"if-none-match")
        if inm is not None and etag.encode() in [t.strip() for t in inm.split(b",")]:
            return response(b"304 Not Modified", b"", extra, length=False)
        return response(b"200 OK", data, extra + b"Content-Type: text/plain; charset=utf-8\r\n")


def response(status: bytes, body: bytes, headers: bytes, *, length: bool = True) -> bytes:
    date = formatdate(usegmt=True).encode()
    size = b"Content-Length: %d\r\n" % len(body) if length else b""
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\n"
        + headers
        + size
        + b"Date: "
        + date
        + b"\r\nServer: ascad\r\n\r\n"
    ) + body


async def main(conf_path: str, token: str) -> None:
    loop = asyncio.get_running_loop()
    conf = Conf(conf_path)
    await conf.fetch()  # fails loudly now if the conf cannot be read
    server = await loop.create_server(
        lambda: Http(conf, token.encode()), "127.0.0.1", 0, backlog=2048
    )
    port = server.sockets[0].getsockname()[1]
    print(f"serving on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
