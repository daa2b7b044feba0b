"""The agent's HTTP listener under hostile clients, on loopback: memory, descriptors, /healthz and
log volume during each flood, against a floor measured in the same run.

Run: .venv/bin/python bench/hostile.py [--nofile 1024] [--src DIR]

Two agents run as subprocesses (``ascad agent``, one plain HTTP with a token, one TLS), each with
its open-files limit set to ``--nofile`` (soft and hard, 1024 by default: the tester's soft limit,
which the agent cannot raise here) and a cycle every 2 s against an emulated node (``ascad
emulator``), so the checks run during the floods. The floods run in a separate process:

- ``floor``: nothing (the same figures with no flood);
- ``tls-connect-close``: TCP connect and close on the TLS port, as fast as it goes, 3 s;
- ``tls-hello-stall``: 1,600 connections that send a TLS ClientHello and then nothing, held 3 s;
- ``idle``: 1,100 plain connections that send nothing, held until the agent closes them (8 s);
- ``slow-headers``: 300 connections sending one header line every 0.5 s, never finishing;
- ``bad-auth``: requests with a non-UTF-8, control-byte, oversized or wrong Authorization
  header, one per connection, 3 s.

For each: the agent's RSS before, peak (sampled every 20 ms) and 1 s after; its open descriptors
at the peak; /healthz probed every 50 ms on a new connection with a 1 s timeout (p50, p99, the
share answered within 1 s); the bytes the agent logged; the checks' states from /v1/status after
the flood; and what the flood saw (connections closed by the agent and when, statuses).

``--src DIR`` runs the agents from another source tree (e.g. ``git archive`` of an older commit)
for a before/after comparison; the flood client and the measurements stay the same.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import resource
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from lines import Lines

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
TLS = ROOT / "tests" / "fixtures" / "tls"
TOKEN = "bench-hostile-token"
FLOODS = ["floor", "tls-connect-close", "tls-hello-stall", "idle", "slow-headers", "bad-auth"]


def _env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCAD_")}
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _status(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def _limit_nofile(n: int) -> Any:
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return set_limit


def _client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
    ctx.check_hostname = False  # probes go to 127.0.0.1; the chain is still verified
    return ctx


# -- the flood process ----------------------------------------------------------------------------


def _connect(port: int) -> socket.socket | None:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


def _client_hello() -> bytes:
    out = ssl.MemoryBIO()
    obj = _client_tls().wrap_bio(ssl.MemoryBIO(), out, server_hostname="x")
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def _watch_closes(socks: list[socket.socket], t0: float, until: float) -> list[float]:
    """When (seconds after ``t0``) the agent closed each socket (EOF or reset), up to ``until``."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed: list[float] = []
    while sel.get_map() and time.monotonic() < until:
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
                closed.append(time.monotonic() - t0)
                sel.unregister(s)
    sel.close()
    return closed


def flood(name: str, port: int) -> dict[str, Any]:
    """One flood against 127.0.0.1:``port``; what the client saw."""
    t0 = time.monotonic()
    out: dict[str, Any] = {}
    if name == "tls-connect-close":
        n = 0
        while time.monotonic() - t0 < 3:
            s = _connect(port)
            if s is not None:
                s.close()
                n += 1
        out["connections"] = n
    elif name == "tls-hello-stall":
        hello = _client_hello()
        socks = [s for s in (_connect(port) for _ in range(1600)) if s is not None]
        for s in socks:
            with contextlib.suppress(OSError):
                s.sendall(hello)
        closed = _watch_closes(socks, t0, t0 + 3)
        out.update(connections=len(socks), closed_by_agent=len(closed))
        for s in socks:
            s.close()
    elif name in ("idle", "slow-headers"):
        count, head = (1100, b"") if name == "idle" else (300, b"GET /healthz HTTP/1.1\r\n")
        socks = [s for s in (_connect(port) for _ in range(count)) if s is not None]
        for s in socks:
            if head:
                s.sendall(head)
        if name == "slow-headers":
            stop = threading.Event()

            def trickle() -> None:
                i = 0
                while not stop.wait(0.5):
                    i += 1
                    for s in socks:
                        with contextlib.suppress(OSError):
                            s.send(f"X-Slow-{i}: {i}\r\n".encode())

            threading.Thread(target=trickle, daemon=True).start()
        closed = _watch_closes(socks, t0, t0 + 8)
        if name == "slow-headers":
            stop.set()
        out.update(connections=len(socks), closed_by_agent=len(closed))
        if closed:
            out["closed_after_s"] = {
                "p50": round(statistics.median(closed), 2),
                "max": round(max(closed), 2),
            }
        for s in socks:
            s.close()
    elif name == "bad-auth":
        headers = [
            b"Authorization: Bearer \xff\xfe" + TOKEN.encode(),
            b"Authorization: Bearer " + TOKEN.encode() + b"\x01",
            b"Authorization: Bearer " + b"A" * 9000,
            b"Authorization: Bearer wrong-" + TOKEN.encode(),
        ]
        statuses: dict[str, int] = {}
        i = 0
        while time.monotonic() - t0 < 3:
            s = _connect(port)
            if s is None:
                statuses["no connection"] = statuses.get("no connection", 0) + 1
                continue
            try:
                s.sendall(
                    b"GET /v1/config HTTP/1.1\r\nHost: x\r\n"
                    + headers[i % len(headers)]
                    + b"\r\n\r\n"
                )
                line = s.recv(64).split(b"\r\n", 1)[0].decode("latin-1")
                code = line.split(" ")[1] if " " in line else "no answer"
            except OSError:
                code = "error"
            finally:
                s.close()
            statuses[code] = statuses.get(code, 0) + 1
            i += 1
        out["statuses"] = statuses
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


# -- measuring ------------------------------------------------------------------------------------


class Sampler:
    """The agent's peak RSS and descriptors, sampled every 20 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss = 0.0
        self.peak_fds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss = _status(self.pid, "VmRSS")
            if rss == rss:
                self.peak_rss = max(self.peak_rss, rss)
            self.peak_fds = max(self.peak_fds, _fds(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


class Prober:
    """GET /healthz every 50 ms on a new connection, 1 s timeout; latencies (inf: failed)."""

    def __init__(self, port: int, tls: bool) -> None:
        self.port = port
        self.ctx = _client_tls() if tls else None
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _once(self) -> float:
        t = time.monotonic()
        conn: http.client.HTTPConnection
        if self.ctx is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=1, context=self.ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            ok = r.status == 200 and r.read() == b"ok\n"
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            conn.close()
        elapsed = time.monotonic() - t
        return elapsed if ok and elapsed <= 1.0 else float("inf")

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            self.latencies.append(self._once())
            self._stop.wait(max(0.0, 0.05 - (time.monotonic() - t)))

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join(3)
        return self.latencies


def _pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    v = sorted(values)[min(len(values) - 1, int(len(values) * q))]
    return "fail" if v == float("inf") else f"{v * 1000:.1f} ms"


class AgentProc:
    def __init__(self, tmp: Path, name: str, node_port: int, tls: bool, nofile: int, src: Path):
        self.log_path = tmp / f"{name}.log"
        (tmp / "token").write_text(TOKEN + "\n")
        (tmp / "token").chmod(0o600)
        key = tmp / "server.key"  # the agent refuses a key others may read (a checkout: 0644)
        key.write_bytes((TLS / "server.key").read_bytes())
        key.chmod(0o600)
        tls_lines = f'tls_cert = "{TLS / "server.pem"}"\ntls_key = "{key}"\n'
        config = tmp / f"{name}.toml"
        config.write_text(
            f"""
[agent]
node_name = "{name}"
role = "master"
conf = "{tmp / "aerospike.conf"}"
interval = "2s"
jitter = 0
state_dir = "{tmp / name}"
[aerospike]
address = "aerospike://127.0.0.1:{node_port}"
timeout = 2
[golden]
source = "{CONF}"
[server]
listen = "127.0.0.1"
port = 0
token_file = "{tmp / "token"}"
{tls_lines if tls else ""}"""
        )
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ascad.cli", "agent", "--config", str(config), "--no-priority"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=_env(src),
            preexec_fn=_limit_nofile(nofile),
        )
        self.tls = tls
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"serving on (\S+):(\d+)", self.log_path.read_text())
            if m:
                self.port = int(m.group(2))
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: the agent exited:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        else:
            raise SystemExit("bench: the agent did not start serving within 30 s")
        m = re.search(r"at most (\d+) connections", self.log_path.read_text())
        self.cap = m.group(1) if m else "no cap"

    def checks(self) -> str:
        ctx = _client_tls() if self.tls else None
        conn: http.client.HTTPConnection
        if ctx is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=3, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
        try:
            conn.request("GET", "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
            doc = json.loads(conn.getresponse().read())
            return ",".join(f"{c['check']}={c['state']}" for c in doc.get("checks", []))
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return f"status unreadable ({exc.__class__.__name__})"
        finally:
            conn.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def measure(agent: AgentProc, name: str, src: Path) -> dict[str, Any]:
    time.sleep(0.5)
    before = _status(agent.proc.pid, "VmRSS")
    log_before = agent.log_path.stat().st_size
    sampler = Sampler(agent.proc.pid)
    prober = Prober(agent.port, agent.tls)
    if name == "floor":
        time.sleep(3)
        seen: dict[str, Any] = {}
    else:
        out = subprocess.run(
            [sys.executable, __file__, "--flood", name, str(agent.port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(src),
        )
        seen = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}
    latencies = prober.stop()
    time.sleep(1)
    sampler.stop()
    ok = [x for x in latencies if x != float("inf")]
    return {
        "flood": name,
        "agent": "tls" if agent.tls else "http",
        "rss_before": before,
        "rss_peak": sampler.peak_rss,
        "rss_after": _status(agent.proc.pid, "VmRSS"),
        "fds_peak": sampler.peak_fds,
        "probes": len(latencies),
        "ok_share": len(ok) / len(latencies) if latencies else 0.0,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
        "log_bytes": agent.log_path.stat().st_size - log_before,
        "checks": agent.checks(),
        "seen": seen,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nofile", type=int, default=1024)
    ap.add_argument("--src", type=Path, default=ROOT / "src")
    ap.add_argument("--only", nargs="*", choices=FLOODS)
    ap.add_argument("--flood", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the flood's own sockets
    if args.flood:
        print(json.dumps(flood(args.flood[0], int(args.flood[1]))))
        return 0
    src = args.src.resolve()
    with tempfile.TemporaryDirectory(prefix="ascad-hostile-") as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "aerospike.conf").write_bytes(CONF.read_bytes())
        emu = subprocess.Popen(
            [sys.executable, "-m", "ascad.cli", "emulator", str(tmp / "aerospike.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_env(src),
        )
        agents: list[AgentProc] = []
        try:
            deadline = time.monotonic() + 30
            line = ""
            lines = Lines(emu.stdout)
            while (got := lines.next(deadline)) is not None:
                if str(tmp / "aerospike.conf") in got:
                    line = got
                    break
            m = re.search(r":(\d+)\s", line)
            if not m:
                raise SystemExit("bench: the emulator did not start")
            node_port = int(m.group(1))
            plain = AgentProc(tmp, "plain", node_port, False, args.nofile, src)
            agents.append(plain)
            tls = AgentProc(tmp, "tls", node_port, True, args.nofile, src)
            agents.append(tls)
            print(
                f"agents from {src}, open files limit {args.nofile};"
                f" cap: http {plain.cap}, tls {tls.cap}"
            )
            print(
                f"{'flood':18} {'agent':5} {'RSS MiB before/peak/after':26} {'fds':>5}"
                f" {'healthz ok':>10} {'p50':>9} {'p99':>9} {'log B':>8}  checks; seen"
            )
            worst = 0.0
            for name in args.only or FLOODS:
                targets = [tls] if name.startswith("tls-") else [plain]
                if name == "floor":
                    targets = [plain, tls]
                for agent in targets:
                    r = measure(agent, name, src)
                    worst = max(worst, r["rss_peak"])
                    rss = f"{r['rss_before']:.1f} / {r['rss_peak']:.1f} / {r['rss_after']:.1f}"
                    print(
                        f"{r['flood']:18} {r['agent']:5} {rss:26} {r['fds_peak']:>5}"
                        f" {r['ok_share']:>9.0%} {r['p50']:>9} {r['p99']:>9}"
                        f" {r['log_bytes']:>8}  {r['checks']}; {json.dumps(r['seen'])}",
                        flush=True,
                    )
            for agent in agents:
                text = agent.log_path.read_text(errors="replace")
                print(
                    f"{'tls' if agent.tls else 'http'} agent log: {len(text)} bytes,"
                    f" {text.count('Traceback')} tracebacks, token in log: {TOKEN in text}"
                )
            print(f"peak RSS of any agent: {worst:.1f} MiB")
            return 0
        finally:
            for agent in agents:
                agent.close()
            if emu.poll() is None:
                emu.terminate()
                emu.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
