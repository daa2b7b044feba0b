"""Start-up: the whole `ascad diff a b` process on two small confs, beside its floor.

Run: .venv/bin/python bench/startup.py [--repeat 20]

Each figure is the median wall time of a fresh process (interpreter start-up included), run
interleaved so that load on a shared machine hits every row alike. The floor is measured in the
same run: `python -c pass` (the interpreter alone) and `python -c "import asyncio"` (the event
loop every node reader needs). The modules each command loads are listed by `python -X importtime`
(tests/e2e/test_startup_imports.py checks that `ascad diff` on files loads no aiohttp, Jinja2,
agent or lab).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
PY = sys.executable

ROWS = {
    "floor: python -c pass": [PY, "-c", "pass"],
    "floor: python -c 'import asyncio'": [PY, "-c", "import asyncio"],
    "ascad --version": [PY, "-m", "ascad", "--version"],
    "ascad diff --help": [PY, "-m", "ascad", "diff", "--help"],
    "ascad diff a.conf a.conf": [PY, "-m", "ascad", "diff", str(CONF), str(CONF)],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in range(args.repeat):
        for name, cmd in ROWS.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            times[name].append(time.perf_counter() - t0)
    floor = statistics.median(times["floor: python -c pass"])
    print(f"median of {args.repeat} runs each, interleaved")
    print(f"{'command':36} {'ms':>8} {'x floor':>8}")
    for name, got in times.items():
        ms = statistics.median(got)
        print(f"{name:36} {ms * 1000:8.1f} {ms / floor:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
