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
import queue
import resource
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ascad.agent import listener as limits
from ascad.lab import hostile
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
        ctx = hostile.client_context(TLS / "ca.pem") if self.tls else None
        return hostile.http_connection(self.port, timeout, ctx)

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


MIN_PROBES = 20


class Watch:
    """While a flood runs: the agent's peak RSS and descriptors (every 20 ms) and /healthz probed
    every 50 ms on a new connection (1 s timeout)."""

    def __init__(self, agent: Running) -> None:
        self.agent = agent
        self.agent.drain()
        self._sampler = hostile.Sampler(agent.pid)
        self._prober = hostile.Prober(lambda: agent.connection(1))

    @property
    def peak_rss_mib(self) -> float:
        return self._sampler.peak_rss_mib

    @property
    def peak_fds(self) -> int:
        return self._sampler.peak_fds

    @property
    def probes(self) -> list[float]:
        """Seconds; inf for a failed or late probe."""
        return self._prober.latencies

    def stop(self, settle: float = 1.0) -> str:
        """Stop after ``settle`` seconds and at least :data:`MIN_PROBES` probes (a short flood on
        a loaded machine may leave fewer; at most 15 s more); the agent's log written meanwhile."""
        time.sleep(settle)
        deadline = time.monotonic() + 15
        while len(self.probes) < MIN_PROBES and time.monotonic() < deadline:
            time.sleep(0.05)
        self._sampler.stop()
        self._prober.stop()
        return self.agent.drain()

    def check(self, log: str, what: str) -> None:
        answered = sum(1 for p in self.probes if p != float("inf"))
        assert len(self.probes) >= MIN_PROBES, (what, len(self.probes))
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


def in_thread(fn: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def test_tls_handshake_floods_keep_memory_healthz_logs_and_checks(tmp_path: Path) -> None:
    with flood_agent(tmp_path, tls=True) as agent:
        # 1. connect and close, 1,600 times, as fast as it goes (no token, no TLS at all)
        since = time.time()
        watch = Watch(agent)
        done: list[int] = []

        def connect_close() -> None:
            done.append(hostile.connect_close(agent.port, time.monotonic() + 10, most=1600))

        in_thread(connect_close).join(15)
        log = watch.stop()
        assert done == [1600]
        watch.check(log, "connect+close")
        assert_checks_ran_ok(agent, since)

        # 2. 1,600 connections that send a ClientHello and stall, held for 3 s
        hello = hostile.client_hello(
            ssl.create_default_context(cafile=str(TLS / "ca.pem")), "node1.ascad.test"
        )
        since = time.time()
        watch = Watch(agent)
        socks = hostile.connections(agent.port, 1600, first=hello)
        time.sleep(3)
        hostile.close_all(socks)
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
            s = hostile.connect(agent.port)
            assert s is not None
            if i >= 3 * cap:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
            opened.append(time.monotonic())
        trickle = hostile.Trickle(socks[3 * cap :])  # a header line every half second
        after = hostile.watch_closes(socks, opened, opened[0] + limits.KEEPALIVE_TIMEOUT + 4)
        trickle.stop()
        hostile.close_all(socks)
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
            header = BAD_AUTHORIZATION[sent % len(BAD_AUTHORIZATION)]
            answer = hostile.exchange(agent.port, hostile.request_with(header, close=True))
            assert answer is not None
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
