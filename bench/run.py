"""Run every benchmark and print its figures: `./dev bench [NAME…]` (names: the scripts here).

Every figure is printed beside its floor, measured in the same run by a program in this
directory (floor_tokenise.py, floor_info.py, floor_http.py, and flask_config.py for the seed's
Flask + waitress design, the bench extra); a floor that cannot run fails its benchmark, and a
failed benchmark makes this exit 1. ASCAD_BENCH_SRC=DIR measures another source tree (e.g.
`git archive` of an older commit) with the same benchmarks, for before/after figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "startup",
    "knowledge",
    "parse_diff",
    "templates",
    "runtime",
    "fleet",
    "fleet_scale",
    "agent",
    "hostile",
    "serverlog",
    "dashboard",
]


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    failed = 0
    for name in names:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"bench: no such benchmark '{name}' (have: {', '.join(ORDER)})", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc:
            print(f"bench: {name} exited {rc}", file=sys.stderr)
            failed += 1
        print(flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
