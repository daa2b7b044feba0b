"""Fleet scaling: `ascad fleet --runtime` over 10/100/500/1000/2000 emulated nodes, CPU per node
and peak RSS, beside its floor measured in the same run (bench/floor_info.py: a bare asyncio
client sending the same info requests and reading the answers).

Run: .venv/bin/python bench/fleet_scale.py [--sizes 10,100,500,1000,2000] [--repeat 3]

Set-up: the emulated nodes run in ONE separate process (bench/fleet.py --serve), so the nodes'
CPU is not ascad's. ascad runs as ``python -m ascad fleet --discover aerospike://SEED --runtime
--concurrency 64 --format json`` (every 10th node drifts, so the report has N/10 + 1 groups);
the floor as ``floor_info.py`` with the same concurrency. CPU (user + system) and peak RSS are
the kernel's figures for that process alone (``os.wait4``); CPU per node is the whole process's
CPU, start-up included, divided by N. Each figure is the median of ``--repeat`` runs, ascad and
floor interleaved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lines import Lines
from measure import FloorError, Run, child_env, compile_sources, ratio, run

HERE = Path(__file__).resolve().parent
PY = sys.executable


def start_fleet(n: int) -> tuple[subprocess.Popen[str], int, list[int]]:
    child = subprocess.Popen(
        [PY, str(HERE / "fleet.py"), "--serve", str(n), "--drift", "--ports"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    line = Lines(child.stdout).next(time.monotonic() + 300)
    if line is None:
        child.kill()
        raise FloorError(f"the emulated fleet of {n} nodes did not start within 300 s")
    doc = json.loads(line)
    return child, doc["seed"], doc["ports"]


def stop_fleet(child: subprocess.Popen[str]) -> None:
    if child.stdin:
        child.stdin.close()
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def measure(n: int, repeat: int) -> tuple[list[Run], list[Run], dict]:
    child, seed, ports = start_fleet(n)
    try:
        ours: list[Run] = []
        floor: list[Run] = []
        doc: dict = {}
        for _ in range(repeat):
            floor.append(
                run(
                    [
                        PY,
                        str(HERE / "floor_info.py"),
                        "--seed",
                        str(seed),
                        "--ports",
                        ",".join(map(str, ports)),
                        "--concurrency",
                        "64",
                    ],
                    env=child_env(),
                    what=f"the floor client over {n} nodes",
                )
            )
            r = run(
                [
                    PY,
                    "-m",
                    "ascad",
                    "fleet",
                    "--discover",
                    f"aerospike://127.0.0.1:{seed}",
                    "--runtime",
                    "--concurrency",
                    "64",
                    "--format",
                    "json",
                ],
                env=child_env(),
                ok=(0, 1),
                what=f"ascad fleet over {n} nodes",
            )
            doc = json.loads(r.stdout)
            if doc["summary"]["nodes"] != n or doc["summary"].get("unreachable"):
                raise FloorError(f"ascad fleet saw {doc['summary']} of {n} nodes")
            ours.append(r)
        return ours, floor, doc
    finally:
        stop_fleet(child)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,500,1000,2000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_sources()
    start = [run([PY, "-m", "ascad", "fleet", "--help"], env=child_env()) for _ in range(5)]
    print(
        f"ascad fleet --help (start-up alone): CPU {statistics.median(r.cpu for r in start) * 1000:.0f}"
        f" ms, peak RSS {statistics.median(r.rss_mib for r in start):.1f} MiB"
    )
    print(f"median of {args.repeat} runs; floor = floor_info.py (bare asyncio, same requests)")
    print(
        f"{'nodes':>6} {'groups':>6} {'wall s':>7} {'CPU ms/node':>11} {'RSS MiB':>8}"
        f" {'floor wall':>10} {'floor ms/node':>13} {'floor RSS':>9} {'CPU ratio':>9}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        ours, floor, doc = measure(n, args.repeat)
        cpu = statistics.median(r.cpu for r in ours) / n
        fcpu = statistics.median(r.cpu for r in floor) / n
        print(
            f"{n:>6} {doc['summary']['groups']:>6} {statistics.median(r.wall for r in ours):>7.2f}"
            f" {cpu * 1000:>11.2f} {max(r.rss_mib for r in ours):>8.1f}"
            f" {statistics.median(r.wall for r in floor):>10.2f} {fcpu * 1000:>13.3f}"
            f" {max(r.rss_mib for r in floor):>9.1f} {ratio(cpu, fcpu):>9}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
