"""Runtime snapshot + compare: one node's latency, and nodes per second from one process.

The emulated nodes run in a separate `ascad emulator` process (as a real cluster would be another
machine), so the figures are the client's: info requests, parsing, mapping and comparing.

Run: .venv/bin/python bench/runtime.py
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lines import Lines

from ascad.compare.drift import drift
from ascad.conf.flatten import flatten
from ascad.runtime.info import InfoClient
from ascad.runtime.snapshot import take_snapshot
from ascad.sources.local import parse_file

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "runtime-confs" / "exporter-8.1.2.2.conf"


def start_emulator(count: int) -> tuple[subprocess.Popen[str], list[int]]:
    exe = Path(sys.executable).with_name("ascad")
    proc = subprocess.Popen(
        [str(exe), "emulator", *([str(CONF)] * count)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ports = []
    lines = Lines(proc.stdout)
    deadline = time.monotonic() + 60
    while len(ports) < count and (line := lines.next(deadline)) is not None:
        ports.append(int(line.split()[1].rsplit(":", 1)[1]))
    if len(ports) < count:
        proc.kill()
        proc.wait(timeout=10)
        raise SystemExit(f"emulator started {len(ports)} of {count} nodes")
    return proc, ports


async def snapshot_and_compare(port: int, tree, flat) -> int:
    async with InfoClient("127.0.0.1", port, timeout=10) as client:
        snap = await take_snapshot(client)
    result, _ = drift(tree, flat, snap)
    return len(result.differences)


async def one_node(port: int, tree, flat, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        diffs = await snapshot_and_compare(port, tree, flat)
        times.append(time.perf_counter() - t0)
        assert diffs == 0, f"unexpected drift: {diffs}"
    return times


async def many_nodes(ports: list[int], tree, flat, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(port: int) -> int:
        async with sem:
            return await snapshot_and_compare(port, tree, flat)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(p) for p in ports))
    elapsed = time.perf_counter() - t0
    assert all(r == 0 for r in results)
    return elapsed


def main() -> None:
    tree = parse_file(CONF)
    flat = flatten(tree)
    proc, ports = start_emulator(100)
    try:
        times = asyncio.run(one_node(ports[0], tree, flat, 30))
        print(
            f"one node (8.1.2.2, 5 namespaces, xdr, logging): snapshot+compare median "
            f"{statistics.median(times) * 1000:.1f} ms, p90 {sorted(times)[int(len(times) * 0.9)] * 1000:.1f} ms "
            f"over {len(times)} runs (new connection each time)"
        )
        for concurrency in (1, 16, 64):
            elapsed = asyncio.run(many_nodes(ports, tree, flat, concurrency))
            print(
                f"100 emulated nodes, concurrency {concurrency:3d}: {elapsed:.2f} s, "
                f"{len(ports) / elapsed:.0f} nodes/s"
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
