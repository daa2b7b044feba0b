"""`ascad agent` as a real subprocess on 127.0.0.1 under hostile clients that need no token: a TLS
connect-and-close flood and a ClientHello-and-stall flood, idle and slow-header connections past
the connection cap under a lowered open-files limit, and a flood of malformed Authorization
headers. During each: the agent's RSS stays under 128 MiB (/proc/PID/status), /healthz answers
within 1 s for at least 95% of the probes, the log grows by less than 64 KB, the checks keep
running (ok, not turned to warning by a lack of descriptors), and the agent closes idle
connections within its timeout."""

from __future__ import annotations

import http.client
import json
import os
import queue
import resource
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from ascad.agent import listener as limits
from tests.helpers import (
    FIXTURES,
    Lines,
    ThreadedNode,
    agent_files,
    ascad_agent,
    write_agent_toml,
)

TLS = FIXTURES / "tls"
TOKEN = "flood-test-token"
RSS_LIMIT_MIB = 128
LOG_LIMIT = 64 * 1024
HEALTHZ_SHARE = 0.95


@pytest.fixture(autouse=True)
def _enough_descriptors_for_the_flood() -> None:
    """The floods open up to 1,600 sockets from this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard open-files limit ({hard}) is too low for the floods")
    if soft != resource.RLIM_INFINITY and soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Running:
    pid: int
    port: int
    tls: bool
    lines: Lines

    def drain(self) -> str:
        """The agent's log lines written since the last drain."""
        got: list[str] = []
        while True:
            try:
                got.append(self.lines.q.get_nowait())
            except queue.Empty:
                break
        self.lines.seen.extend(got)
        return "".join(got)

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.tls:
            ctx = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
            ctx.check_hostname = False  # 127.0.0.1; the chain is still verified
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def status(self) -> dict[str, str]:
        conn = self.connection(5)
        try:
            conn.request("GET", "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
            doc = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        return doc


@contextmanager
def flood_agent(tmp: Path, *, tls: bool = False, nofile: int = 1024) -> Iterator[Running]:
    """An agent with a token, a cycle every 2 s against an emulated node, its open-files limit
    (soft and hard) set to ``nofile``."""
    golden, config = agent_files(tmp)
    token = tmp / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    with ThreadedNode(tmp / "aerospike.conf") as node:
        write_agent_toml(config, tmp, node.port, golden)
        text = config.read_text().replace('interval = "1h"', 'interval = "2s"')
        text += f'token_file = "{token}"\n'  # the last table is [server]
        if tls:
            text += f'tls_cert = "{TLS / "server.pem"}"\ntls_key = "{TLS / "server.key"}"\n'
        config.write_text(text)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with ascad_agent(config, "--no-priority", preexec_fn=limit) as (proc, lines):
            lines.wait_for(f"open files limit {nofile}")
            url = lines.wait_for("serving on ").rsplit(" ", 1)[1].strip()
            lines.wait_for("check golden: ok")
            agent = Running(proc.pid, int(url.rsplit(":", 1)[1]), tls, lines)
            yield agent
            assert proc.poll() is None, "the agent died"


class Watch:
    """While a flood runs: the agent's peak RSS and descriptors (every 20 ms) and /healthz probed
    every 50 ms on a new connection (1 s timeout)."""

    def __init__(self, agent: Running) -> None:
        self.agent = agent
        self.peak_rss_mib = 0.0
        self.peak_fds = 0
        self.probes: list[float] = []  # seconds; inf for a failed or late probe
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._sample, daemon=True),
            threading.Thread(target=self._probe, daemon=True),
        ]
        self.agent.drain()
        for t in self._threads:
            t.start()

    def _sample(self) -> None:
        pid = self.agent.pid
        while not self._stop.wait(0.02):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_rss_mib = max(self.peak_rss_mib, int(line.split()[1]) / 1024)
            self.peak_fds = max(self.peak_fds, len(os.listdir(f"/proc/{pid}/fd")))

    def _probe(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            conn = self.agent.connection(1)
            try:
                conn.request("GET", "/healthz")
                r = conn.getresponse()
                ok = r.status == 200 and r.read() == b"ok\n"
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                conn.close()
            took = time.monotonic() - t
            self.probes.append(took if ok and took <= 1.0 else float("inf"))
            self._stop.wait(max(0.0, 0.05 - took))

    def stop(self, settle: float = 1.0) -> str:
        """Stop after ``settle`` seconds; the agent's log written meanwhile."""
        time.sleep(settle)
        self._stop.set()
        for t in self._threads:
            t.join(5)
        return self.agent.drain()

    def check(self, log: str, what: str) -> None:
        answered = sum(1 for p in self.probes if p != float("inf"))
        assert len(self.probes) >= 20, (what, len(self.probes))
        assert answered / len(self.probes) >= HEALTHZ_SHARE, (what, answered, len(self.probes))
        assert self.peak_rss_mib < RSS_LIMIT_MIB, (what, self.peak_rss_mib)
        assert len(log.encode()) < LOG_LIMIT, (what, len(log))
        assert "Traceback" not in log and "Too many open files" not in log, (what, log[-2000:])


def assert_checks_ran_ok(agent: Running, since: float) -> None:
    """A cycle finished after ``since`` (epoch seconds) and every check in it is ok."""
    deadline = time.monotonic() + 10
    while True:
        doc = agent.status()
        checks = doc["checks"]
        if all(c["finished"] and c["finished"] > since for c in checks):
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.5)
    assert {c["check"]: c["state"] for c in checks} == {"runtime": "ok", "golden": "ok"}, doc


def connect(port: int) -> socket.socket | None:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


def agent_closes(socks: list[socket.socket], opened: list[float], limit: float) -> list[float]:
    """Seconds from each socket's opening until the agent closed it (EOF or reset), watching up
    to ``limit`` seconds from the first opening; inf for one still open then."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    after = [float("inf")] * len(socks)
    end = opened[0] + limit
    while sel.get_map() and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                after[key.data] = time.monotonic() - opened[key.data]
                sel.unregister(s)
    sel.close()
    return after


def client_hello() -> bytes:
    out = ssl.MemoryBIO()
    obj = ssl.create_default_context(cafile=str(TLS / "ca.pem")).wrap_bio(
        ssl.MemoryBIO(), out, server_hostname="node1.ascad.test"
    )
    with suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def in_thread(fn: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def test_tls_handshake_floods_keep_memory_healthz_logs_and_checks(tmp_path: Path) -> None:
    with flood_agent(tmp_path, tls=True) as agent:
        # 1. connect and close, 1,600 times, as fast as it goes (no token, no TLS at all)
        since = time.time()
        watch = Watch(agent)
        done = [0]

        def connect_close() -> None:
            deadline = time.monotonic() + 10
            while done[0] < 1600 and time.monotonic() < deadline:
                s = connect(agent.port)
                if s is not None:
                    s.close()
                    done[0] += 1

        in_thread(connect_close).join(15)
        log = watch.stop()
        assert done[0] == 1600
        watch.check(log, "connect+close")
        assert_checks_ran_ok(agent, since)

        # 2. 1,600 connections that send a ClientHello and stall, held for 3 s
        hello = client_hello()
        since = time.time()
        watch = Watch(agent)
        socks = [s for s in (connect(agent.port) for _ in range(1600)) if s is not None]
        for s in socks:
            with suppress(OSError):
                s.sendall(hello)
        time.sleep(3)
        for s in socks:
            s.close()
        log = watch.stop()
        assert len(socks) == 1600
        watch.check(log, "ClientHello and stall")
        assert_checks_ran_ok(agent, since)


def test_idle_and_slow_connections_past_the_cap_under_a_low_descriptor_limit(
    tmp_path: Path,
) -> None:
    nofile = 512
    cap, _ = limits.budget(nofile, tls=False)
    with flood_agent(tmp_path, nofile=nofile) as agent:
        assert f"at most {cap} connections (open files limit {nofile})" in "".join(agent.lines.seen)
        since = time.time()
        watch = Watch(agent)
        socks: list[socket.socket] = []
        opened: list[float] = []
        for i in range(3 * cap + 50):  # idle ones, then 50 that send half a request
            s = connect(agent.port)
            assert s is not None
            if i >= 3 * cap:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
            opened.append(time.monotonic())
        stop = threading.Event()

        def trickle() -> None:  # the slow ones add a header line every half second
            n = 0
            while not stop.wait(0.5):
                n += 1
                for s in socks[3 * cap :]:
                    with suppress(OSError):
                        s.send(f"X-Slow-{n}: {n}\r\n".encode())

        trickler = in_thread(trickle)
        after = agent_closes(socks, opened, limits.KEEPALIVE_TIMEOUT + 4)
        stop.set()
        trickler.join(5)
        for s in socks:
            s.close()
        log = watch.stop()
        late = [a for a in after if a > limits.KEEPALIVE_TIMEOUT + 1.5]
        assert not late, f"{len(late)} connections not closed by the agent in time: {late[:5]}"
        assert sum(1 for a in after if a < 1.0) >= 2 * cap  # over the cap: closed for new ones
        assert watch.peak_fds < nofile
        watch.check(log, "idle and slow connections")
        assert_checks_ran_ok(agent, since)


BAD_AUTHORIZATION = [
    b"Authorization: Bearer \xff\xfe" + TOKEN.encode(),
    b"Authorization: Bearer " + TOKEN.encode() + b"\x01",
    b"Authorization: Bearer " + TOKEN.encode() + b"\x1b[2J",
    b"Authorization: Bearer " + TOKEN.encode() + b"A" * 9000,
    b"Authorization: Bearer wrong-" + TOKEN.encode(),
]


def test_a_flood_of_bad_authorization_headers_is_401_quietly(tmp_path: Path) -> None:
    with flood_agent(tmp_path) as agent:
        watch = Watch(agent)
        statuses: dict[bytes, int] = {}
        sent = 0
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            s = connect(agent.port)
            assert s is not None
            header = BAD_AUTHORIZATION[sent % len(BAD_AUTHORIZATION)]
            s.sendall(
                b"GET /v1/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + header
                + b"\r\n\r\n"
            )
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            s.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            key = head.split(b"\r\n", 1)[0].split(b" ", 1)[1] + b" " + body
            statuses[key] = statuses.get(key, 0) + 1
            sent += 1
        log = watch.stop()
        assert statuses == {b"401 Unauthorized 401 unauthorized\n": sent}, statuses
        assert sent >= 500
        watch.check(log, "bad Authorization headers")
        assert len(log.encode()) < 4096, log  # the first refusal, counts, the cycles' lines
        agent.drain()
    everything = "".join(agent.lines.seen)
    assert TOKEN not in everything
    assert "Traceback" not in everything
