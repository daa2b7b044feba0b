"""The knowledge table: size of params.json, its load time, and the cost of one version's table.

Run: .venv/bin/python bench/knowledge.py [--repeat 20] [--params PATH]

params.json ships in the wheel and is read by every command that needs a version's parameters
(validate, diff with a node or --server-version, the agent). Each figure is the median of fresh
processes, interleaved, beside the floor measured in the same run (`import json` alone):

- load: ``json.loads`` of the file;
- one table: load + ``table_for`` of the newest version (what ``ascad validate`` builds);
- every table: load + ``table_for`` of all 34 versions (the worst case; no command does it).

``--params PATH`` measures the load of another file too (e.g. an older params.json, for a
before/after comparison).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "src" / "ascad" / "knowledge" / "params.json"
PY = sys.executable

LOAD = "import json,sys; json.loads(open(sys.argv[1], encoding='utf-8').read())"
ONE = "from ascad.knowledge.table import table_for; table_for('8.1.2.2')"
ALL = (
    "from ascad.knowledge.table import schema_versions, table_for\n"
    "for v in schema_versions(): table_for(v)"
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--params", type=Path, help="another params.json to load, for comparison")
    args = ap.parse_args()
    rows = {
        "floor: python -c 'import json'": [PY, "-c", "import json"],
        f"load params.json ({PARAMS.stat().st_size} bytes)": [PY, "-c", LOAD, str(PARAMS)],
        "load + table_for(8.1.2.2)": [PY, "-c", ONE],
        "load + table_for(every version)": [PY, "-c", ALL],
    }
    if args.params:
        rows[f"load {args.params.name} ({args.params.stat().st_size} bytes)"] = [
            PY,
            "-c",
            LOAD,
            str(args.params),
        ]
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.repeat):
        for name, cmd in rows.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            times[name].append(time.perf_counter() - t0)
    floor = statistics.median(times["floor: python -c 'import json'"])
    print(f"median of {args.repeat} runs each, interleaved")
    print(f"{'what':44} {'ms':>8} {'- floor':>8}")
    for name, got in times.items():
        ms = statistics.median(got)
        print(f"{name:44} {ms * 1000:8.1f} {(ms - floor) * 1000:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
