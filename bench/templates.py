"""Wildcard-mode template matching: the cost of finding the way a template comes out for a node.

For each field template (tests/fixtures/field-templates) against its rendered conf: the first
comparison (every candidate rendered and parsed), the next one (candidates cached, as for the
next node of a fleet), and, as the floor measured in the same run, the plain parse + diff of the
rendered conf against itself.

Run: .venv/bin/python bench/templates.py  (or ./dev bench templates)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ascad.checks.pipeline import Rules, conf_vs_conf
from ascad.sources.loader import conf_from_text

ROOT = Path(__file__).resolve().parent.parent
FIELD = ROOT / "tests" / "fixtures" / "field-templates"


def main() -> None:
    print(f"{'template':40} {'choices':>7} {'first ms':>9} {'next ms':>8} {'floor ms':>9}")
    firsts, floors = [], []
    for path in sorted(p for p in FIELD.iterdir() if p.is_file() and p.suffix != ".md"):
        stem = path.name.split(".")[0]
        rendered = (FIELD / "rendered" / f"{stem}.rendered.conf").read_text()
        template = path.read_text()
        node = conf_from_text("node.conf", rendered)
        t0 = time.perf_counter()
        golden = conf_from_text(path.name, template)
        result = conf_vs_conf(golden, node, Rules()).result
        first = time.perf_counter() - t0
        assert result.equal, f"{path.name}: {len(result.differences)} differences"
        nexts = []
        for _ in range(5):
            t0 = time.perf_counter()
            conf_vs_conf(golden, node, Rules())
            nexts.append(time.perf_counter() - t0)
        floor_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            conf_vs_conf(conf_from_text("a", rendered), conf_from_text("b", rendered), Rules())
            floor_times.append(time.perf_counter() - t0)
        floor = statistics.median(floor_times)
        choices = len(golden.variants.default.points) if golden.variants else 0
        firsts.append(first)
        floors.append(floor)
        print(
            f"{path.name:40} {choices:7d} {first * 1000:9.1f} "
            f"{statistics.median(nexts) * 1000:8.1f} {floor * 1000:9.2f}"
        )
    print(
        f"all {len(firsts)}: first comparisons {sum(firsts) * 1000:.0f} ms in all, "
        f"{sum(firsts) / sum(floors):.0f}x the plain parse+diff floor ({sum(floors) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
