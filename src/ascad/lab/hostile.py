"""A hostile HTTP client for floods on loopback: TLS connect+close, ClientHello stalls, idle and
slow-header connections, bad Authorization headers, close watching, /healthz probing, RSS and fd
readings of a process.

What ``bench/hostile.py`` and ``tests/e2e/test_agent_floods.py`` throw at the agent's listener,
written once. Every target is 127.0.0.1 (only a port is ever given) and every loop is bounded: by a
count, a deadline, or a thread's stop with a ceiling on how long it may run. The callers keep their
own data (how many connections, which headers) and their own verdicts.

- :func:`connect`, :func:`connections`, :func:`close_all`: plain TCP connections, opened one after
  the other, each with a 2 s timeout; :func:`connect_close`: connect and close as fast as it goes;
- :func:`client_context`, :func:`client_hello`: a TLS client that verifies the chain, not the name,
  and the first flight of a handshake (the ClientHello) as bytes, to send and then stall;
- :class:`Trickle`: one more header line every half second on each socket, never the end;
- :func:`watch_closes`: when the agent closed each socket (EOF or reset);
- :func:`request_with`, :func:`exchange`: a request with one extra header line, on its own
  connection;
- :func:`http_connection`, :class:`Prober`: ``GET /healthz`` on a new connection, paced, on a
  thread, the latencies kept;
- :func:`rss_mib`, :func:`open_fds`, :class:`Sampler`: a process's resident memory and open
  descriptors from /proc, and their peaks sampled on a thread.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: The one address this client talks to.
LOOPBACK = "127.0.0.1"

#: How long a background thread (:class:`Trickle`, :class:`Prober`, :class:`Sampler`) runs at the
#: most when nobody stops it (seconds).
THREAD_CEILING = 300.0

#: A failed or late probe's latency.
FAILED = math.inf


# -- a process, from /proc ------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    """The resident memory of ``pid`` (VmRSS in /proc/PID/status) in MiB; NaN if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def open_fds(pid: int) -> int:
    """How many descriptors ``pid`` has open (entries of /proc/PID/fd); -1 if unreadable."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class _Background:
    """A daemon thread that calls :meth:`_step` until stopped, or until :data:`THREAD_CEILING`
    passes: the first step after ``first`` seconds, then one every ``every`` seconds, counted from
    the start of a step if ``paced``, else from its end."""

    def __init__(self, every: float, *, first: float, paced: bool) -> None:
        self.every = every
        self._first = first
        self._paced = paced
        self._stop = threading.Event()
        self._end = time.monotonic() + THREAD_CEILING
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _start(self) -> None:
        self._thread.start()

    def _step(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        wait = self._first
        while not self._stop.wait(wait) and time.monotonic() < self._end:
            t = time.monotonic()
            self._step()
            wait = max(0.0, self.every - (time.monotonic() - t)) if self._paced else self.every

    def _halt(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout)


class Sampler(_Background):
    """The peak RSS (MiB) and open descriptors of ``pid``, sampled every ``every`` seconds on a
    thread, from its first sample ``every`` seconds after the start."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        super().__init__(every, first=every, paced=False)
        self.pid = pid
        self.peak_rss_mib = 0.0
        self.peak_fds = 0
        self._start()

    def _step(self) -> None:
        rss = rss_mib(self.pid)
        if not math.isnan(rss):
            self.peak_rss_mib = max(self.peak_rss_mib, rss)
        self.peak_fds = max(self.peak_fds, open_fds(self.pid))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling (waiting up to ``timeout`` seconds for the thread)."""
        self._halt(timeout)


# -- HTTP on loopback: /healthz -------------------------------------------------------------------


def client_context(cafile: Path | str) -> ssl.SSLContext:
    """A TLS client context trusting ``cafile``: the chain is verified, the name is not (the
    client connects to 127.0.0.1)."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.check_hostname = False
    return ctx


def http_connection(
    port: int, timeout: float, context: ssl.SSLContext | None = None
) -> http.client.HTTPConnection:
    """A connection (not opened yet) to 127.0.0.1:``port``, HTTPS with ``context``."""
    if context is not None:
        return http.client.HTTPSConnection(LOOPBACK, port, timeout=timeout, context=context)
    return http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)


class Prober(_Background):
    """``GET /healthz`` every ``every`` seconds on a new connection from ``connect`` (which sets
    the timeout), on a thread; :attr:`latencies` in seconds, :data:`FAILED` for a probe that did
    not get ``200 ok`` within ``within`` seconds. A probe's time includes ``connect()``."""

    def __init__(
        self,
        connect: Callable[[], http.client.HTTPConnection],
        every: float = 0.05,
        within: float = 1.0,
    ) -> None:
        super().__init__(every, first=0.0, paced=True)
        self.connect = connect
        self.within = within
        self.latencies: list[float] = []
        self._start()

    def _step(self) -> None:
        t = time.monotonic()
        conn = self.connect()
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            ok = r.status == 200 and r.read() == b"ok\n"
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            conn.close()
        took = time.monotonic() - t
        self.latencies.append(took if ok and took <= self.within else FAILED)

    def stop(self, timeout: float = 5.0) -> list[float]:
        """Stop probing (waiting up to ``timeout`` seconds for the thread); the latencies."""
        self._halt(timeout)
        return self.latencies


# -- raw connections ------------------------------------------------------------------------------


def connect(port: int, timeout: float = 2.0) -> socket.socket | None:
    """A TCP connection to 127.0.0.1:``port`` (``timeout`` for the connect and later calls); None
    if it could not be made."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((LOOPBACK, port))
    except OSError:
        s.close()
        return None
    return s


def connections(port: int, count: int, first: bytes = b"") -> list[socket.socket]:
    """Up to ``count`` connections to 127.0.0.1:``port``, opened one after the other (those that
    could not be made are left out), each sent ``first`` if given (a failed send is let be: the
    agent may have closed that one already)."""
    socks = [s for s in (connect(port) for _ in range(count)) if s is not None]
    if first:
        for s in socks:
            with contextlib.suppress(OSError):
                s.sendall(first)
    return socks


def close_all(socks: Sequence[socket.socket]) -> None:
    for s in socks:
        s.close()


def connect_close(port: int, until: float, most: int | None = None) -> int:
    """TCP connect and close on 127.0.0.1:``port`` as fast as it goes, until ``time.monotonic()``
    passes ``until`` or ``most`` connections were made; how many were."""
    n = 0
    while time.monotonic() < until and (most is None or n < most):
        s = connect(port)
        if s is not None:
            s.close()
            n += 1
    return n


def client_hello(context: ssl.SSLContext, server_hostname: str) -> bytes:
    """The ClientHello that ``context`` sends for ``server_hostname``: a handshake's first bytes,
    to send and then say nothing more."""
    out = ssl.MemoryBIO()
    obj = context.wrap_bio(ssl.MemoryBIO(), out, server_hostname=server_hostname)
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


class Trickle(_Background):
    """Slow headers: every ``every`` seconds, one more header line (``X-Slow-N: N``, N from 1) on
    each of ``socks``, never the blank line that ends a request; a failed send is let be."""

    def __init__(self, socks: Sequence[socket.socket], every: float = 0.5) -> None:
        super().__init__(every, first=every, paced=False)
        self.socks = list(socks)
        self.sent = 0
        self._start()

    def _step(self) -> None:
        self.sent += 1
        line = f"X-Slow-{self.sent}: {self.sent}\r\n".encode()
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.send(line)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sending (waiting up to ``timeout`` seconds for the thread)."""
        self._halt(timeout)


def watch_closes(
    socks: Sequence[socket.socket], opened: Sequence[float], until: float
) -> list[float]:
    """Seconds from each socket's opening (``opened[i]``, ``time.monotonic()``) until the agent
    closed it (EOF or reset), watching until ``time.monotonic()`` passes ``until``; inf for one
    still open then. What the agent sends meanwhile is read and dropped; the sockets are made
    non-blocking and left open."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    after = [math.inf] * len(socks)
    while sel.get_map() and time.monotonic() < until:
        for key, _ in sel.select(timeout=0.1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                after[key.data] = time.monotonic() - opened[key.data]
                sel.unregister(sock)
    sel.close()
    return after


# -- requests with bad headers --------------------------------------------------------------------


def request_with(header: bytes, *, path: str = "/v1/config", close: bool = False) -> bytes:
    """``GET PATH`` with ``header`` (one header line, no line end; e.g. a bad Authorization) as
    its last header, ``Connection: close`` before it if ``close``."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode()
        + (b"Connection: close\r\n" if close else b"")
        + header
        + b"\r\n\r\n"
    )


def exchange(
    port: int, request: bytes, *, once: int | None = None, most: int = 1 << 20, seconds: float = 10
) -> bytes | None:
    """``request`` sent on a new connection to 127.0.0.1:``port``, and the answer: one read of at
    most ``once`` bytes if given, else what comes until the agent closes (at most ``most`` bytes,
    reading for ``seconds`` at the most). None if no connection could be made; OSError from a
    failed send or read (2 s timeout). The connection is closed either way."""
    s = connect(port)
    if s is None:
        return None
    try:
        s.sendall(request)
        if once is not None:
            return s.recv(once)
        answer = b""
        end = time.monotonic() + seconds
        while len(answer) < most and time.monotonic() < end:
            chunk = s.recv(min(65536, most - len(answer)))
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        s.close()
