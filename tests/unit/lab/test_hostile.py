"""The flood client (ascad.lab.hostile) against a plain socket server on 127.0.0.1 in this process:
connections and what they send, close watching, a request and its answer, the slow-header
trickle, the /proc readings and the ClientHello."""

from __future__ import annotations

import math
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ascad.lab import hostile
from tests.helpers import FIXTURES


@contextmanager
def listening() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback listener whose accepted sockets are kept (and closed on the way out)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(5)
        server.close()
        for s in accepted:
            s.close()


def wait_for(cond: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_connections_send_first_and_closes_are_seen_per_socket() -> None:
    with listening() as (port, accepted):
        socks = hostile.connections(port, 3, first=b"hello")
        opened = [time.monotonic()] * len(socks)
        wait_for(lambda: len(accepted) == 3)
        assert [s.recv(5) for s in accepted] == [b"hello"] * 3
        accepted[1].close()
        after = hostile.watch_closes(socks, opened, time.monotonic() + 0.5)
        hostile.close_all(socks)
    assert len(after) == 3 and after[1] < 0.5
    assert after[0] == after[2] == math.inf


def test_nobody_listening_gives_no_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening
    assert hostile.connect(port) is None
    assert hostile.connections(port, 5) == []
    assert hostile.exchange(port, b"x") is None
    assert hostile.connect_close(port, time.monotonic() + 0.2) == 0


def test_connect_close_stops_at_most() -> None:
    with listening() as (port, _):
        assert hostile.connect_close(port, time.monotonic() + 10, most=20) == 20


def test_a_request_with_a_header_and_its_answer() -> None:
    request = hostile.request_with(b"Authorization: Bearer \xff", close=True)
    assert request == (
        b"GET /v1/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer \xff\r\n\r\n"
    )
    assert (
        hostile.request_with(b"A: b", path="/healthz")
        == b"GET /healthz HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n"
    )
    with listening() as (port, accepted):
        answers: list[bytes | None] = []
        asker = threading.Thread(target=lambda: answers.append(hostile.exchange(port, request)))
        asker.start()
        wait_for(lambda: len(accepted) == 1)
        got = b""
        while not got.endswith(b"\r\n\r\n"):
            got += accepted[0].recv(4096)
        assert got == request
        accepted[0].sendall(b"HTTP/1.1 401 Unauthorized\r\n\r\nno")
        accepted[0].close()
        asker.join(5)
        assert answers == [b"HTTP/1.1 401 Unauthorized\r\n\r\nno"]


def test_trickle_sends_one_more_header_line_each_round() -> None:
    with listening() as (port, accepted):
        socks = hostile.connections(port, 2)
        trickle = hostile.Trickle(socks, every=0.05)
        wait_for(lambda: trickle.sent >= 2)
        trickle.stop()
        wait_for(lambda: len(accepted) == 2)
        got = accepted[0].recv(4096)
        hostile.close_all(socks)
    assert got.startswith(b"X-Slow-1: 1\r\nX-Slow-2: 2\r\n")


def test_proc_readings_and_the_sampler() -> None:
    assert 0 < hostile.rss_mib(os.getpid()) < 1 << 20
    assert hostile.open_fds(os.getpid()) > 2
    assert math.isnan(hostile.rss_mib(1 << 30)) and hostile.open_fds(1 << 30) == -1
    sampler = hostile.Sampler(os.getpid(), every=0.01)
    wait_for(lambda: sampler.peak_fds > 0)
    sampler.stop()
    assert sampler.peak_rss_mib > 0


def test_a_prober_that_gets_no_answer_counts_failures() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prober = hostile.Prober(lambda: hostile.http_connection(port, 0.5), every=0.01)
    wait_for(lambda: len(prober.latencies) >= 3)
    assert set(prober.stop()) == {hostile.FAILED}


def test_client_hello_is_a_tls_handshake_record() -> None:
    ctx = hostile.client_context(FIXTURES / "tls" / "ca.pem")
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
    hello = hostile.client_hello(ctx, "node1.ascad.test")
    assert hello[:1] == b"\x16" and b"node1.ascad.test" in hello  # handshake record, SNI
