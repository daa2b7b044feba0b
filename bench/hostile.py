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
for a before/after comparison; the flood client and the measurements stay the same (the client is
``ascad.lab.hostile`` from this tree, shared with tests/e2e/test_agent_floods.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_toml import agent_toml
from lines import Lines

from ascad.lab.hostile import (
    FAILED,
    Prober,
    Sampler,
    Trickle,
    client_context,
    client_hello,
    close_all,
    connect_close,
    connections,
    exchange,
    http_connection,
    request_with,
    rss_mib,
    watch_closes,
)

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
TLS = ROOT / "tests" / "fixtures" / "tls"
TOKEN = "bench-hostile-token"
FLOODS = ["floor", "tls-connect-close", "tls-hello-stall", "idle", "slow-headers", "bad-auth"]


def _env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCAD_")}
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _limit_nofile(n: int) -> Any:
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return set_limit


def _client_tls() -> ssl.SSLContext:
    return client_context(TLS / "ca.pem")  # probes go to 127.0.0.1; the chain is still verified


# -- the flood process ----------------------------------------------------------------------------


def _closed(socks: list[socket.socket], t0: float, until: float) -> list[float]:
    """When (seconds after ``t0``) the agent closed each socket it closed, up to ``until``."""
    return [a for a in watch_closes(socks, [t0] * len(socks), until) if a != math.inf]


def flood(name: str, port: int) -> dict[str, Any]:
    """One flood against 127.0.0.1:``port``; what the client saw."""
    t0 = time.monotonic()
    out: dict[str, Any] = {}
    if name == "tls-connect-close":
        out["connections"] = connect_close(port, t0 + 3)
    elif name == "tls-hello-stall":
        socks = connections(port, 1600, first=client_hello(_client_tls(), "x"))
        closed = _closed(socks, t0, t0 + 3)
        out.update(connections=len(socks), closed_by_agent=len(closed))
        close_all(socks)
    elif name in ("idle", "slow-headers"):
        count, head = (1100, b"") if name == "idle" else (300, b"GET /healthz HTTP/1.1\r\n")
        socks = connections(port, count, first=head)
        trickle = Trickle(socks) if name == "slow-headers" else None
        closed = _closed(socks, t0, t0 + 8)
        if trickle is not None:
            trickle.stop()
        out.update(connections=len(socks), closed_by_agent=len(closed))
        if closed:
            out["closed_after_s"] = {
                "p50": round(statistics.median(closed), 2),
                "max": round(max(closed), 2),
            }
        close_all(socks)
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
            try:
                answer = exchange(port, request_with(headers[i % len(headers)]), once=64)
            except OSError:
                code = "error"
            else:
                if answer is None:
                    statuses["no connection"] = statuses.get("no connection", 0) + 1
                    continue
                line = answer.split(b"\r\n", 1)[0].decode("latin-1")
                code = line.split(" ")[1] if " " in line else "no answer"
            statuses[code] = statuses.get(code, 0) + 1
            i += 1
        out["statuses"] = statuses
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


# -- measuring ------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    v = sorted(values)[min(len(values) - 1, int(len(values) * q))]
    return "fail" if v == FAILED else f"{v * 1000:.1f} ms"


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
            agent_toml(
                name=name,
                conf=tmp / "aerospike.conf",
                interval="2s",
                state_dir=tmp / name,
                node_port=node_port,
                golden=CONF,
                token_file=tmp / "token",
                aerospike="timeout = 2\n",
                server=tls_lines if tls else "",
            )
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
        conn = http_connection(self.port, 3, _client_tls() if self.tls else None)
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


def measure(agent: AgentProc, name: str) -> dict[str, Any]:
    time.sleep(0.5)
    before = rss_mib(agent.proc.pid)
    log_before = agent.log_path.stat().st_size
    sampler = Sampler(agent.proc.pid)
    ctx = _client_tls() if agent.tls else None
    prober = Prober(lambda: http_connection(agent.port, 1, ctx))
    if name == "floor":
        time.sleep(3)
        seen: dict[str, Any] = {}
    else:
        out = subprocess.run(
            [sys.executable, __file__, "--flood", name, str(agent.port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(ROOT / "src"),  # the flood client is this tree's, whatever --src says
        )
        seen = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}
    latencies = prober.stop(3)
    time.sleep(1)
    sampler.stop(2)
    ok = [x for x in latencies if x != FAILED]
    return {
        "flood": name,
        "agent": "tls" if agent.tls else "http",
        "rss_before": before,
        "rss_peak": sampler.peak_rss_mib,
        "rss_after": rss_mib(agent.proc.pid),
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
                    r = measure(agent, name)
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
