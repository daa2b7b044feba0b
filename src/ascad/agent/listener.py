"""The agent's HTTP listener, bounded in time, connections, memory and log volume.

aiohttp's ``TCPSite`` passes no TLS handshake timeout (asyncio's default is 60 s), has no cap on
connections, and its ``RequestHandler`` waits an hour (``keepalive_timeout`` 3630 s) for a
request. Here the listener is built from ``loop.create_server`` and aiohttp's ``Server`` /
``RequestHandler``:

- **Time.** A TLS client has :data:`HANDSHAKE_TIMEOUT` to send its first bytes, and the
  handshake as long again from there; after it (or at once without TLS)
  the client has :data:`KEEPALIVE_TIMEOUT` to send a complete request head, and the same time
  between requests on a kept-alive connection (aiohttp arms that timer when the connection is
  made and after each response; a partial request does not re-arm it, so a client trickling
  header bytes is closed too). A body the handler did not read is drained for at most
  :data:`LINGERING_TIME`. Closing (TLS close_notify, graceful stop) waits at most
  :data:`SHUTDOWN_TIMEOUT`.
- **Connections.** At most ``cap`` per listener (:func:`budget`: from the open-files limit,
  leaving :data:`FD_RESERVE` descriptors for the node client, peers, git, Riemann and the state
  file, and room for two accept bursts of ``backlog``, at most :data:`MAX_BACKLOG`; the kernel
  queues up to :data:`LISTEN_QUEUE` more, which costs no descriptor). A new connection over the
  cap closes the one that has sent nothing for the longest, else the one whose last bytes are
  the oldest (waiting for its handshake or its next request), else one busy longer than
  :data:`BUSY_TIMEOUT`; when every one is busy, the new one is accepted and closed at once.
  Either way no descriptor is asked for beyond the budget, so ``accept()`` does not fail with
  EMFILE and the checks keep their descriptors.
- **Memory.** A TLS connection is first a small :class:`_Gate`; asyncio's ``SSLProtocol`` is
  made at the client's first bytes, with a 16 KiB read buffer instead of 256 KiB (allocated per
  connection before the handshake: 1,600 connect-and-close were 480 MB of RSS that stayed), and
  fewer TLS connections are allowed (:data:`MAX_TLS_CONNECTIONS`). A request
  head is at most :data:`MAX_HEADERS` fields of :data:`MAX_FIELD` bytes; a response waiting for
  a client that does not read is at most about :data:`WRITE_BUFFER` in memory per connection.
- **Logs.** Refused and evicted connections, malformed requests, handler errors and the event
  loop's own errors (``socket.accept() out of system resource``) are logged once, then counted
  and logged once per :data:`LOG_INTERVAL` with the count (:class:`Tally`). A request the parser
  refuses (control bytes, an oversized header, not HTTP) gets the fixed refusal (401 with a
  token), no traceback. :class:`Redact` removes bearer tokens, ``Authorization`` values and the
  configured token from every record and escapes control characters.
"""

from __future__ import annotations

import asyncio
import logging
import re
import resource
import socket
import ssl
import sys
import time
from asyncio import sslproto
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

log = logging.getLogger("ascad.agent.http")

HANDSHAKE_TIMEOUT = 5.0
KEEPALIVE_TIMEOUT = 5.0
LINGERING_TIME = 2.0
SHUTDOWN_TIMEOUT = 5.0
BUSY_TIMEOUT = 10.0
MAX_LINE = 4096
MAX_FIELD = 4096
MAX_HEADERS = 32
WRITE_BUFFER = 16 * 1024
TLS_READ_BUFFER = 16 * 1024
MAX_CONNECTIONS = 1024
MAX_TLS_CONNECTIONS = 256
FD_RESERVE = 256
MAX_BACKLOG = 64
LISTEN_QUEUE = 2048
LOG_INTERVAL = 60.0

#: What a request the parser refused gets: (status, body, headers).
Refusal = tuple[int, bytes, dict[str, str]]
BAD_REQUEST: Refusal = (400, b"400 bad request\n", {})


# -- limits ---------------------------------------------------------------------------------------


def nofile_limit() -> int:
    """The soft RLIMIT_NOFILE (a large number when unlimited)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


def raise_nofile_limit() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one; returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, 1 << 16) if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft, soft
        return soft, target
    return soft, soft


def budget(nofile: int, tls: bool) -> tuple[int, int]:
    """(connection cap, accept backlog) of one listener under an open-files limit of ``nofile``.

    asyncio accepts up to ``backlog`` connections in one loop iteration before any is refused,
    and a connection closed for a new one frees its descriptor in the next iteration: cap + two
    backlogs stay within the limit minus :data:`FD_RESERVE`."""
    spare = max(0, nofile - FD_RESERVE)
    backlog = max(8, min(MAX_BACKLOG, spare // 4))
    cap = max(8, min(MAX_TLS_CONNECTIONS if tls else MAX_CONNECTIONS, spare - 2 * backlog))
    return cap, backlog


# -- logging: counted repeats, redaction ----------------------------------------------------------


class Tally:
    """Repeated events logged once per interval: the first at once (by the caller, when
    :meth:`hit` says so), the others counted and logged as one line with the count when the
    interval ends, again each interval while they go on."""

    def __init__(self, logger: logging.Logger = log, interval: float = LOG_INTERVAL) -> None:
        self.logger = logger
        self.interval = interval
        self.totals: dict[str, int] = {}
        self._windows: dict[str, list[float]] = {}  # key -> [start, count after the first]
        self._timer: asyncio.TimerHandle | None = None

    def hit(self, key: str) -> bool:
        """Count one ``key`` event; True when the caller should log it (the first of a window)."""
        self.totals[key] = self.totals.get(key, 0) + 1
        now = time.monotonic()
        self.flush(now)
        window = self._windows.get(key)
        if window is not None:
            window[1] += 1
            return False
        self._windows[key] = [now, 0]
        self._arm(now)
        return True

    def note(self, key: str, level: int = logging.WARNING) -> None:
        """Count ``key`` and log it as its own line when it is the first of a window."""
        if self.hit(key):
            self.logger.log(level, "%s (repeats are counted every %.0f s)", key, self.interval)

    def flush(self, now: float | None = None, *, everything: bool = False) -> None:
        """Log the counts of the windows that ended (of all of them with ``everything``); a
        window that counted something is followed by a new one, so a flood that goes on gives
        one line per interval."""
        now = time.monotonic() if now is None else now
        for key, (start, count) in list(self._windows.items()):
            if not everything and now < start + self.interval:
                continue
            if count:
                self.logger.warning("%s: %d more in the last %.1f s", key, int(count), now - start)
                self._windows[key] = [now, 0]
            else:
                del self._windows[key]
        if everything:
            self._windows.clear()

    def close(self) -> None:
        self.flush(everything=True)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, now: float) -> None:
        if self._timer is not None or not self._windows:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # flushed by the next hit
        first = min(start for start, _ in self._windows.values())
        self._timer = loop.call_later(max(0.0, first + self.interval - now), self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = time.monotonic()
        self.flush(now)
        self._arm(now)


def install_loop_handler(loop: asyncio.AbstractEventLoop, tally: Tally | None = None) -> Tally:
    """The loop's exception handler, counted: each kind of error (message and exception type)
    is logged once per interval; an OSError (``accept()`` out of file descriptors, a reset
    connection) as one line, anything else with its traceback."""
    tally = tally or Tally(logging.getLogger("ascad.agent"))

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "error in the event loop")
        exc = context.get("exception")
        key = f"event loop: {message}" + (f" ({type(exc).__name__})" if exc else "")
        if not tally.hit(key):
            return
        if isinstance(exc, OSError):
            tally.logger.warning(
                "%s: %s (repeats are counted every %.0f s)", key, exc, tally.interval
            )
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return tally


#: Tokens to remove from every log record (the servers' tokens, added when they start).
SECRETS: set[str] = set()
_MIN_SECRET = 6  # shorter ones would blank ordinary words; the patterns below still apply
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*)[^\r\n'\"]+")
_BEARER = re.compile(r"(?i)\b(bearer)(?:\s|\\t)+[^\s'\",;]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_NL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REDACTED = "<redacted>"


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def scrub(text: str, *, newlines: bool = False) -> str:
    """``text`` without tokens, with control characters (newlines too unless ``newlines``)
    escaped as ``\\xNN``."""
    for secret in SECRETS:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, _REDACTED)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + _REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + _REDACTED, text)
    return (_CONTROL if newlines else _CONTROL_NL).sub(_escape, text)


class Redact(logging.Filter):
    """A filter for loggers and handlers: the message (arguments merged), the traceback and the
    stack scrubbed (:func:`scrub`); one record stays one line."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ascad_scrubbed", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format: leave it to the handler, which reports it
            return True
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, newlines=True)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, newlines=True)
        record._ascad_scrubbed = True
        return True


REDACT = Redact()
#: Loggers whose records may carry a request's headers (the filter applies to records logged on
#: these loggers; the agent's handler has it too, for every record).
REDACTED_LOGGERS = (
    "ascad",
    "ascad.agent",
    "ascad.agent.http",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
)


def install_redaction(token: str | None = None) -> None:
    """Add ``token`` to :data:`SECRETS` and :data:`REDACT` to :data:`REDACTED_LOGGERS`."""
    if token:
        SECRETS.add(token)
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if REDACT not in logger.filters:
            logger.addFilter(REDACT)


# -- connections ----------------------------------------------------------------------------------


class _Slot:
    """One accepted connection of ``listener``: its socket transport, since when it has been busy,
    whether it has sent anything yet."""

    __slots__ = ("busy_since", "evicted", "listener", "silent", "transport")

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.BaseTransport | None = None
        self.busy_since = 0.0  # 0: waiting (for its handshake or its next request)
        self.evicted = False
        self.silent = True


class _Refused(asyncio.Protocol):
    """Over the cap with every connection busy: closed as soon as accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


_HANDLE_REQUEST = RequestHandler._handle_request.__code__


class _InlineRequests:
    """The event loop as a connection's :class:`_Handler` sees it, but for one call: aiohttp's
    request loop (``RequestHandler.start``) runs each request in a task of its own, which on
    Python 3.11 is a task scheduled through the loop (3.12's eager tasks start at once), woken
    again when it ends: two trips through the loop's queue and a task per request. Here that one
    coroutine, aiohttp's ``_handle_request``, is given back to be awaited in the connection's own
    task, which awaits it at once; every other call goes to the loop. What the separate task gave
    (aiohttp #3406) is a copy of the context variables per request, which no handler of the
    agent sets; cancelling the connection's task cancels its request either way.

    Python 3.11 only (:func:`_handler_loop`): from 3.12 aiohttp makes ``asyncio.Task(coro,
    loop=loop, eager_start=True)`` itself, which would register its tasks under this stand-in,
    where ``asyncio.current_task()`` on the real loop (``asyncio.timeout`` needs it) would not
    find them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # the calls of the request loop, bound once (no __getattr__ per request)
        self.create_future = loop.create_future
        self.time = loop.time
        self.call_at = loop.call_at
        self.call_later = loop.call_later
        self.call_soon = loop.call_soon

    def create_task(self, coro: Any, **kwargs: Any) -> Any:
        if getattr(coro, "cr_code", None) is _HANDLE_REQUEST:
            return coro
        return self._loop.create_task(coro, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


def _handler_loop(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    """The loop a connection's handler is given: :class:`_InlineRequests` on Python 3.11, where
    aiohttp's request loop calls ``loop.create_task`` for each request; the loop itself on newer
    Pythons (eager tasks: no trip through the loop's queue to save)."""
    if sys.version_info >= (3, 12):
        return loop
    return cast(asyncio.AbstractEventLoop, _InlineRequests(loop))


class _Handler(RequestHandler):
    """aiohttp's request handler with the listener's limits and refusals."""

    def __init__(
        self, manager: Server, *, loop: asyncio.AbstractEventLoop, listener: Listener, slot: _Slot
    ) -> None:
        super().__init__(
            manager,
            loop=_handler_loop(loop),
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            access_log=None,  # type: ignore[arg-type]
            max_line_size=MAX_LINE,
            max_field_size=MAX_FIELD,
            max_headers=MAX_HEADERS,
            lingering_time=LINGERING_TIME,
        )
        self.listener = listener
        self.slot = slot

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tls = self.slot.transport is not None  # the TLS layer has it already
        if not tls:
            self.slot.transport = transport
            if self.slot.evicted:
                transport.abort()  # type: ignore[attr-defined]
                return
        transport.set_write_buffer_limits(high=WRITE_BUFFER)  # type: ignore[attr-defined]
        self._tls = tls
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            if not getattr(self, "_tls", False):
                self.listener.release(self.slot)

    def data_received(self, data: bytes) -> None:
        self.listener.heard(self.slot)
        super().data_received(data)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        tally = self.listener.tally
        if status >= 500:
            # A bug: its traceback once per interval and kind (tokens scrubbed by the filter).
            if tally.hit(f"http: error {status} ({type(exc).__name__})"):
                return self._named(super().handle_error(request, status, exc, message))
            logger, self.logger = self.logger, _SILENT
            try:
                return self._named(super().handle_error(request, status, exc, message))
            finally:
                self.logger = logger
        # The parser refused the request: the fixed refusal, no traceback, no echo of its bytes.
        tally.note("http: malformed requests refused")
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        code, body, headers = self.listener.refusal
        resp = web.Response(
            status=code, body=body, content_type="text/plain", headers=dict(headers)
        )
        resp.force_close()
        return self._named(resp)

    def _named(self, resp: web.StreamResponse) -> web.StreamResponse:
        # These answers skip the application's on_response_prepare: name the server here too.
        resp.headers["Server"] = self.listener.server_header
        return resp


_SILENT = logging.getLogger("ascad.agent.http.silenced")
_SILENT.propagate = False
_SILENT.addHandler(logging.NullHandler())


class _TLSConnection(sslproto.SSLProtocol):
    """asyncio's TLS layer with a small read buffer and the listener's bookkeeping."""

    max_size = TLS_READ_BUFFER

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app: _Handler,
        context: ssl.SSLContext,
        listener: Listener,
        slot: _Slot,
    ) -> None:
        waiter: asyncio.Future[None] = loop.create_future()
        waiter.add_done_callback(_retrieve)
        super().__init__(
            loop,
            app,
            context,
            waiter,
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT,  # type: ignore[arg-type]  # typeshed: int
            ssl_shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        self._listener = listener
        self._slot = slot

    def connection_lost(self, exc: BaseException | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            self._listener.release(self._slot)

    def buffer_updated(self, nbytes: int) -> None:
        self._listener.heard(self._slot)
        super().buffer_updated(nbytes)


class _Gate(asyncio.Protocol):
    """A TLS connection until its first bytes: the TLS layer (about 30 KiB, more once the
    handshake starts) is made only for a connection that sends something, within
    :data:`HANDSHAKE_TIMEOUT`. A connect-and-close or a connection that sends nothing costs this
    object and its socket only."""

    def __init__(self, listener: Listener, slot: _Slot) -> None:
        self.listener = listener
        self.slot = slot
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.slot.transport = transport
        if self.slot.evicted:
            transport.abort()  # type: ignore[attr-defined]
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(HANDSHAKE_TIMEOUT, transport.abort)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        """The first bytes (a ClientHello): from here on the TLS layer reads the socket."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self.slot.transport
        if transport is None or self.slot.evicted:
            return
        self.listener.heard(self.slot)
        tls = self.listener._tls(self.slot)
        transport.set_protocol(tls)
        tls.connection_made(transport)
        view = memoryview(data)
        while view and not transport.is_closing():
            buf = tls.get_buffer(len(view))
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            tls.buffer_updated(n)
            view = view[n:]

    def eof_received(self) -> bool:
        return False  # closed before it said anything

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.listener.release(self.slot)


def mark_busy(request: web.BaseRequest) -> _Slot | None:
    """Mark the request's connection busy (not to be closed for a new one) until
    :func:`mark_idle`; None for a connection that is not the listener's (a test server)."""
    slot = getattr(request.protocol, "slot", None)
    if not isinstance(slot, _Slot):
        return None
    slot.busy_since = time.monotonic()
    return slot


def mark_idle(slot: _Slot) -> None:
    """The request is answered: the connection is idle, and the most recently used."""
    slot.busy_since = 0.0
    slot.listener.touch(slot)


@web.middleware
async def busy_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Marks the connection busy while its request is handled (not to be closed for a new one),
    and most recently used afterwards."""
    slot = mark_busy(request)
    try:
        return await handler(request)
    finally:
        if slot is not None:
            mark_idle(slot)


class Listener:
    """One listening socket serving aiohttp's ``server`` (``AppRunner.server``), with or without
    TLS, within ``cap`` connections."""

    def __init__(
        self,
        server: Server,
        context: ssl.SSLContext | None,
        *,
        cap: int,
        backlog: int,
        refusal: Refusal = BAD_REQUEST,
        server_header: str = "ascad",
        tally: Tally | None = None,
    ) -> None:
        self.web = server
        self.context = context
        self.cap = cap
        self.backlog = backlog
        self.refusal = refusal
        self.server_header = server_header
        self.tally = tally or Tally()
        self.accepted = 0
        self.refused = 0
        self.evicted = 0
        self._slots: dict[_Slot, None] = {}  # least recently used first
        self._silent: dict[_Slot, None] = {}  # those that have sent nothing yet, oldest first
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def open(self) -> int:
        return len(self._slots)

    async def start(self, host: str | None, port: int) -> int:
        """Listen on ``host``:``port``; returns the port (the real one for 0). OSError as
        ``create_server`` raises it."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            self._accept, host or None, port, backlog=self.backlog, reuse_address=True
        )
        sockets = self._server.sockets
        for ts in sockets:
            # asyncio's backlog is also how many it accepts per loop iteration (bounded by the
            # budget); the kernel's queue of connections waiting to be accepted costs no
            # descriptor and may be longer, so a burst waits there rather than in SYN retries.
            with socket.fromfd(ts.fileno(), ts.family, ts.type) as dup:
                dup.listen(LISTEN_QUEUE)
        return int(sockets[0].getsockname()[1]) if sockets else port

    def close(self) -> None:
        """Stop accepting; open connections stay (see :meth:`abort`)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def abort(self) -> None:
        """Close every connection still open (after the HTTP server's graceful shutdown)."""
        for slot in list(self._slots):
            self._evict(slot)
        self._slots.clear()
        self._silent.clear()
        self.tally.close()

    def release(self, slot: _Slot) -> None:
        self._slots.pop(slot, None)
        self._silent.pop(slot, None)

    def heard(self, slot: _Slot) -> None:
        """Bytes came in: not silent, and the most recently active (a handshake or a request
        in progress moves away from the front of the queue of connections to close)."""
        if slot.silent:
            slot.silent = False
            self._silent.pop(slot, None)
        self.touch(slot)

    def touch(self, slot: _Slot) -> None:
        if slot in self._slots:
            del self._slots[slot]
            self._slots[slot] = None

    def _evict(self, slot: _Slot) -> None:
        slot.evicted = True
        self.release(slot)
        if slot.transport is not None:
            slot.transport.abort()  # type: ignore[attr-defined]

    def _make_room(self) -> bool:
        """Close the connection that has waited longest without sending anything, else the one
        idle longest, else one busy too long; False when every connection is busy."""
        now = time.monotonic()
        victim = next(iter(self._silent), None)
        if victim is None:
            victim = next(
                (s for s in self._slots if not s.busy_since or now - s.busy_since > BUSY_TIMEOUT),
                None,
            )
        if victim is None:
            return False
        self._evict(victim)
        self.evicted += 1
        self.tally.note(
            f"http: {self.cap} connections open (the cap): the longest idle closed for each new one"
        )
        return True

    def _accept(self) -> asyncio.BaseProtocol:
        if len(self._slots) >= self.cap and not self._make_room():
            self.refused += 1
            self.tally.note(
                f"http: {self.cap} connections open (the cap), all busy: new ones refused"
            )
            return _Refused()
        self.accepted += 1
        assert self._loop is not None
        slot = _Slot(self)
        self._slots[slot] = None
        self._silent[slot] = None
        if self.context is None:
            return _Handler(self.web, loop=self._loop, listener=self, slot=slot)
        return _Gate(self, slot)

    def _tls(self, slot: _Slot) -> _TLSConnection:
        assert self._loop is not None and self.context is not None
        handler = _Handler(self.web, loop=self._loop, listener=self, slot=slot)
        return _TLSConnection(self._loop, handler, self.context, self, slot)
