"""Parse + flatten + diff: the 36 sample confs and a generated 500-namespace pair, each beside its
floor measured in the same run (bench/floor_tokenise.py: read the file and tokenise it with one
regular expression).

Run: .venv/bin/python bench/parse_diff.py [--repeat 15]  (or ./dev bench parse_diff)

Each round times the floor and ascad back to back on the same files (read from disk both), so
load on a shared machine hits both alike; two ratios are printed: of the median rounds, and of
the fastest rounds (the least disturbed run of each: load only ever adds time); a third ratio is
of the median rounds' CPU time (this process's own, ``time.process_time``: time spent waiting
for a core while other work runs is not counted, as it is in the wall time). ascad's work
per pair: read, decode and parse both files, flatten both, diff (``ascad.compare.diff.compare``).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from floor_tokenise import read_and_tokenise
from measure import FloorError, ratio

from ascad.compare.diff import compare
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_bytes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "tests" / "fixtures" / "confs").glob("*.conf"))


def generated_conf(namespaces: int, sets_per_ns: int = 4, drift_every: int = 0) -> str:
    """A conf with ``namespaces`` namespaces; ``drift_every`` N gives every Nth one its own TTL."""
    out = [
        "service {\n    proto-fd-max 15000\n    cluster-name bench\n}\n",
        "network {\n    service {\n        port 3000\n    }\n    heartbeat {\n        mode mesh\n        port 3002\n",
    ]
    out += [f"        mesh-seed-address-port 10.0.{i // 250}.{i % 250} 3002\n" for i in range(50)]
    out.append("    }\n    fabric {\n        port 3001\n    }\n}\n")
    for n in range(namespaces):
        ttl = "31d" if drift_every and n % drift_every == 0 else "30d"
        out.append(
            f"namespace ns{n} {{\n    replication-factor 2\n    default-ttl {ttl}\n    nsup-period 120\n"
            f"    storage-engine device {{\n        device /dev/nvme{n % 8}n1p{n % 4}\n        write-block-size 128K\n"
            f"        flush-size 1M\n        data-size 64G\n    }}\n"
        )
        for s in range(sets_per_ns):
            out.append(
                f"    set s{s} {{\n        stop-writes-count 10M\n        default-ttl 1d\n    }}\n"
            )
        out.append("}\n")
    return "".join(out)


def ascad_pair(left: Path, right: Path) -> int:
    a = flatten(parse_bytes(left.read_bytes(), str(left)))
    b = flatten(parse_bytes(right.read_bytes(), str(right)))
    return len(compare(a, b).differences) + len(a)


def floor_pair(left: Path, right: Path) -> int:
    return read_and_tokenise(left) + read_and_tokenise(right)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


class Figures(NamedTuple):
    """Seconds for all pairs: ascad and the floor, the median round and the fastest round (wall
    time), and the median round's CPU time."""

    ours: float
    floor: float
    ours_best: float
    floor_best: float
    ours_cpu: float
    floor_cpu: float


def interleaved(pairs: list[tuple[Path, Path]], repeat: int) -> Figures:
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    for _ in range(repeat):
        gc.collect()
        floor.append(timed(lambda: [floor_pair(a, b) for a, b in pairs]))
        ours.append(timed(lambda: [ascad_pair(a, b) for a, b in pairs]))
    ours_wall, ours_cpu = [w for w, _ in ours], [c for _, c in ours]
    floor_wall, floor_cpu = [w for w, _ in floor], [c for _, c in floor]
    return Figures(
        statistics.median(ours_wall),
        statistics.median(floor_wall),
        min(ours_wall),
        min(floor_wall),
        statistics.median(ours_cpu),
        statistics.median(floor_cpu),
    )


def row(label: str, fig: Figures) -> str:
    return (
        f"{label:50} {fig.ours * 1000:9.2f} {fig.floor * 1000:9.2f} {ratio(fig.ours, fig.floor):>7}"
        f" {ratio(fig.ours_best, fig.floor_best):>7} {ratio(fig.ours_cpu, fig.floor_cpu):>7}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    if not SAMPLES:
        raise FloorError("no sample confs in tests/fixtures/confs")
    for path in SAMPLES:  # the floor must run on every input, or the comparison means nothing
        if read_and_tokenise(path) <= 0:
            raise FloorError(f"the tokenising floor found no token in {path}")
    print(
        f"{args.repeat} interleaved rounds (floor, then ascad); floor = read + one regex"
        " tokenisation;\nratio = median/median, and best = fastest/fastest round (load on a shared"
        " machine only adds time);\ncpu = median/median of the CPU time (waits for a core not"
        " counted); ms are wall time"
    )
    print(f"{'what':50} {'ascad ms':>9} {'floor ms':>9} {'ratio':>7} {'best':>7} {'cpu':>7}")
    size = sum(p.stat().st_size for p in SAMPLES)
    label = f"{len(SAMPLES)} sample confs ({size / 1e3:.0f} KB), each diffed with itself"
    print(row(label, interleaved([(p, p) for p in SAMPLES], args.repeat)))
    with tempfile.TemporaryDirectory(prefix="ascad-bench-") as tmp:
        for namespaces in (100, 500):
            left = Path(tmp) / f"left-{namespaces}.conf"
            right = Path(tmp) / f"right-{namespaces}.conf"
            left.write_text(generated_conf(namespaces))
            right.write_text(generated_conf(namespaces, drift_every=50))  # a few differences
            fig = interleaved([(left, right)], max(3, args.repeat // 3))
            label = f"{namespaces}-namespace pair ({left.stat().st_size / 1e3:.0f} KB each)"
            print(row(label, fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
