"""Start-up: the whole `ascad diff a b` process on two small confs, beside its floor.

Run: .venv/bin/python bench/startup.py [--repeat 20]

The modules are byte-compiled first (as pip does when it installs the wheel). Each figure is the
median wall time of a fresh process (interpreter start-up included), run
interleaved so that load on a shared machine hits every row alike. The floor is measured in the
same run: `python -c pass` (the interpreter alone, with its site-packages), `python -S -c pass`
(without them) and `python -c "import asyncio"` (the event
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

from measure import FloorError, child_env, compile_sources

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
PY = sys.executable
ASCAD = str(Path(PY).with_name("ascad"))  # the console script pip installs, as users run it

ROWS = {
    "floor: python -c pass": [PY, "-c", "pass"],
    "floor: python -S -c pass": [PY, "-S", "-c", "pass"],
    "floor: python -c 'import asyncio'": [PY, "-c", "import asyncio"],
    "ascad --version": [ASCAD, "--version"],
    "ascad --help": [ASCAD, "--help"],
    "ascad diff --help": [ASCAD, "diff", "--help"],
    "ascad diff a.conf a.conf": [ASCAD, "diff", str(CONF), str(CONF)],
    "python -m ascad diff a.conf a.conf": [PY, "-m", "ascad", "diff", str(CONF), str(CONF)],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    compile_sources()
    env = child_env()
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in range(args.repeat):
        for name, cmd in ROWS.items():
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
            times[name].append(time.perf_counter() - t0)
            if proc.returncode != 0:  # a floor that did not run (or a broken ascad) is no figure
                tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise FloorError(f"{name} exited {proc.returncode}: {tail}")
    floor = statistics.median(times["floor: python -c pass"])
    print(f"median of {args.repeat} runs each, interleaved")
    print(f"{'command':36} {'ms':>8} {'x floor':>8}")
    for name, got in times.items():
        ms = statistics.median(got)
        print(f"{name:36} {ms * 1000:8.1f} {ms / floor:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
