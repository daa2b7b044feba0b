"""The agent's footprint and its config server's throughput.

Run: .venv/bin/python bench/agent.py [--duration 10] [--connections 1000]

Prints, each beside its floor measured in the same run:

- idle RSS of a running ``ascad agent`` (after its first cycles), beside the idle RSS of the raw
  asyncio floor server (bench/floor_http.py) and of a Python that has imported aiohttp.web and
  nothing else (the libraries' share: what ascad adds is the difference);
- the CPU time (user+sys) of one cycle (runtime check against an emulated node + golden check
  against a file), measured in the agent's own process from /proc over ``--cycles`` cycles a
  second apart (the clock tick is 10 ms: one cycle alone is below it);
- requests per second and p99 latency of ``GET /v1/config`` (with the bearer token) under
  ``--connections`` concurrent clients, and the error count, which must be zero, for the agent,
  for the floor (bench/floor_http.py: a raw asyncio protocol with the same logic) and for the
  seed's design, Flask + waitress (bench/flask_config.py, the bench extra); the ratio agent/floor.
  A floor that does not start or gives errors fails the bench.

Load tool: Debian's ``wrk`` (``apt-get install wrk``; it is not a project dependency, install it
for the bench). Without it, a Python load generator with the same number of concurrent
connections runs in a separate process (``--tool python``); its figures include Python's own
client overhead and are lower.

Set-up: the emulated node runs in its own process (``ascad emulator``), the agent in another
(``ascad agent``, priority lowering off so the figures are not skewed by nice), the load tool in a
third. The conf served is the sample the node runs (tests/fixtures/confs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent_toml import agent_toml
from lines import Lines
from measure import FloorError, child_env, compile_sources

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
TOKEN = "bench-token"


def _env() -> dict[str, str]:
    return child_env()


def _readline(lines: Lines, pattern: str, timeout: float = 30) -> str:
    """The first line containing ``pattern``; exits the bench if none comes within ``timeout``."""
    deadline = time.monotonic() + timeout
    while (line := lines.next(deadline)) is not None:
        if pattern in line:
            return line
    raise SystemExit(f"bench: {pattern!r} not seen within {timeout:g} s")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _imports_rss(modules: str) -> float:
    """The RSS of a Python process that has imported ``modules`` and done nothing else.

    ``aiohttp.web`` alone (the agent's server and client library, with the two SSL contexts
    aiohttp makes at import) is the part of the agent's idle RSS that is not ascad's; with the
    agent's own modules too (what ``ascad agent`` imports before its first cycle), the rest of
    the idle RSS is what the cycles keep (tables, memos, the history store's pages)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, {modules}; print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        _readline(Lines(proc.stdout), "ready")  # (exits the bench if it never comes)
        return _rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def run_wrk(url: str, connections: int, duration: int) -> dict[str, float]:
    threads = max(1, min(os.cpu_count() or 1, 4))
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Authorization: Bearer {TOKEN}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p99_ms": p99_ms, "errors": errors, "requests": total}


def python_load(url: str, connections: int, duration: float) -> dict[str, float]:
    """A separate-process load generator: ``connections`` clients, each on its own keep-alive
    connection, looping GETs until the time is up."""
    import aiohttp

    async def main() -> dict[str, float]:
        latencies: list[float] = []
        errors = 0
        end = time.monotonic() + duration
        conn = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(connector=conn) as s:

            async def client() -> None:
                nonlocal errors
                while time.monotonic() < end:
                    t = time.monotonic()
                    try:
                        async with s.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                            await r.read()
                            if r.status != 200:
                                errors += 1
                    except (aiohttp.ClientError, OSError):
                        errors += 1
                    latencies.append(time.monotonic() - t)

            t0 = time.monotonic()
            await asyncio.gather(*(client() for _ in range(connections)))
            elapsed = time.monotonic() - t0
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
        return {
            "rps": len(latencies) / elapsed,
            "p99_ms": p99,
            "errors": errors,
            "requests": len(latencies),
        }

    return asyncio.run(main())


def load(tool: str, url: str, connections: int, duration: int) -> dict[str, float]:
    if tool == "wrk":
        return run_wrk(url, connections, duration)
    out = subprocess.run(
        [sys.executable, __file__, "--python-load", url, str(connections), str(duration)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=duration + 120,
        check=True,
    ).stdout.split()
    return dict(zip(("rps", "p99_ms", "errors", "requests"), map(float, out), strict=True))


def serve_floor(script: str, conf: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a floor server (bench/floor_http.py or bench/flask_config.py): (process, url)."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name(script)), str(conf), TOKEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    lines = Lines(proc.stderr)
    deadline = time.monotonic() + 30
    while (line := lines.next(deadline)) is not None:
        if "serving on " in line:
            url = line.rsplit(" ", 1)[1].strip()
            time.sleep(0.5)  # waitress binds after printing
            return proc, url
        print(line, end="", file=sys.stderr)
    proc.kill()
    raise FloorError(f"{script} did not start (exit {proc.wait()})")


def stop(proc: subprocess.Popen[str] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def report(name: str, r: dict[str, float], floor: dict[str, float] | None = None) -> None:
    share = f", {r['rps'] / floor['rps']:.2f} of the floor" if floor else ""
    print(
        f"  {name:34} {r['rps']:8.0f} req/s, p99 {r['p99_ms']:7.1f} ms,"
        f" {int(r['requests'])} requests, errors {int(r['errors'])}{share}",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--python-load", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.python_load:
        url, conns, dur = args.python_load
        r = python_load(url, int(conns), float(dur))
        print(f"{r['rps']} {r['p99_ms']} {r['errors']} {r['requests']}")
        return 0
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    compile_sources()

    with tempfile.TemporaryDirectory(prefix="ascad-bench-") as tmp_s:
        tmp = Path(tmp_s)
        node_conf = tmp / "aerospike.conf"
        node_conf.write_bytes(CONF.read_bytes())
        emu = subprocess.Popen(
            [sys.executable, "-m", "ascad.cli", "emulator", str(node_conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_env(),
        )
        agent = floor = flask = None
        try:
            line = _readline(Lines(emu.stdout), str(node_conf))
            port = int(re.search(r":(\d+)\s", line).group(1))  # type: ignore[union-attr]
            (tmp / "token").write_text(TOKEN + "\n")
            (tmp / "token").chmod(0o600)  # a secret: other users may not read it
            config = tmp / "ascad.toml"
            config.write_text(
                agent_toml(
                    name="bench",
                    conf=node_conf,
                    interval="1s",
                    state_dir=tmp / "state",
                    node_port=port,
                    golden=CONF,
                    token_file=tmp / "token",
                )
            )
            agent = subprocess.Popen(
                [sys.executable, "-m", "ascad.cli", "agent", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(),
            )
            agent_log = Lines(agent.stderr)
            url = _readline(agent_log, "serving on ").rsplit(" ", 1)[1].strip()
            _readline(agent_log, "check golden")  # the first cycle (imports, first reads)
            _readline(agent_log, "check golden")
            cpu_before = _cpu_seconds(agent.pid)
            for _ in range(args.cycles):
                _readline(agent_log, "check golden")
            cpu_cycle = (_cpu_seconds(agent.pid) - cpu_before) / args.cycles
            time.sleep(1.5)
            rss = _rss_mib(agent.pid)
            floor, floor_url = serve_floor("floor_http.py", node_conf)
            time.sleep(1)
            floor_rss = _rss_mib(floor.pid)
            libs_rss = _imports_rss("aiohttp.web")
            modules_rss = _imports_rss("aiohttp.web, ascad.cli, ascad.commands.agent, sqlite3")
            print(
                f"idle agent RSS: {rss:.1f} MiB (floor: the raw asyncio server, {floor_rss:.1f} MiB;"
                f" Python with aiohttp.web imported and nothing else, {libs_rss:.1f} MiB;"
                f" with the agent's modules imported too, {modules_rss:.1f} MiB)"
            )
            print(
                f"CPU time of one cycle (runtime + golden, {CONF.name}), mean of {args.cycles}:"
                f" {cpu_cycle * 1000:.1f} ms (clock tick {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms)"
            )
            print(
                f"GET /v1/config ({node_conf.stat().st_size} B conf with ETag),"
                f" {args.connections} connections, {args.duration}s, {tool}:"
            )
            floor_r = load(tool, floor_url + "/v1/config", args.connections, args.duration)
            report("floor (raw asyncio protocol)", floor_r)
            if floor_r["errors"] or floor_r["requests"] == 0:
                raise FloorError("the raw asyncio floor gave errors: its figure is no floor")
            stop(floor)
            floor = None
            r = load(tool, url + "/v1/config", args.connections, args.duration)
            report("ascad agent (aiohttp)", r, floor_r)
            print(f"  agent RSS after the load: {_rss_mib(agent.pid):.1f} MiB")
            flask, flask_url = serve_floor("flask_config.py", node_conf)
            flask_r = load(tool, flask_url + "/v1/config", args.connections, args.duration)
            report("Flask + waitress (8 threads)", flask_r, floor_r)
            if flask_r["requests"] == 0:
                raise FloorError("Flask + waitress answered no request")
            print(f"  agent / Flask + waitress: {r['rps'] / flask_r['rps']:.2f}")
            return 0 if r["errors"] == 0 else 1
        finally:
            for proc in (flask, floor, agent, emu):
                stop(proc)


if __name__ == "__main__":
    sys.exit(main())
