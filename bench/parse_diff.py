"""Parse + flatten + diff: the 36 sample confs and a generated 500-namespace pair, each beside its
floor measured in the same run (bench/floor_tokenise.py: read the file and tokenise it with one
regular expression).

Run: .venv/bin/python bench/parse_diff.py [--repeat 15]  (or ./dev bench parse_diff)

Each round times the floor and ascad back to back on the same files (read from disk both), so
load on a shared machine hits both alike; the figure is the median over the rounds. ascad's work
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


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(
    pairs: list[tuple[Path, Path]], repeat: int
) -> tuple[float, float]:  # (ascad, floor) seconds for all pairs, median of rounds
    ours: list[float] = []
    floor: list[float] = []
    for _ in range(repeat):
        gc.collect()
        floor.append(timed(lambda: [floor_pair(a, b) for a, b in pairs]))
        ours.append(timed(lambda: [ascad_pair(a, b) for a, b in pairs]))
    return statistics.median(ours), statistics.median(floor)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    if not SAMPLES:
        raise FloorError("no sample confs in tests/fixtures/confs")
    for path in SAMPLES:  # the floor must run on every input, or the comparison means nothing
        if read_and_tokenise(path) <= 0:
            raise FloorError(f"the tokenising floor found no token in {path}")
    print(f"median of {args.repeat} interleaved rounds; floor = read + one regex tokenisation")
    print(f"{'what':50} {'ascad ms':>9} {'floor ms':>9} {'ratio':>7}")
    size = sum(p.stat().st_size for p in SAMPLES)
    ours, floor = interleaved([(p, p) for p in SAMPLES], args.repeat)
    print(
        f"{f'{len(SAMPLES)} sample confs ({size / 1e3:.0f} KB), each diffed with itself':50}"
        f" {ours * 1000:9.2f} {floor * 1000:9.2f} {ratio(ours, floor):>7}"
    )
    with tempfile.TemporaryDirectory(prefix="ascad-bench-") as tmp:
        for namespaces in (100, 500):
            left = Path(tmp) / f"left-{namespaces}.conf"
            right = Path(tmp) / f"right-{namespaces}.conf"
            left.write_text(generated_conf(namespaces))
            right.write_text(generated_conf(namespaces, drift_every=50))  # a few differences
            ours, floor = interleaved([(left, right)], max(3, args.repeat // 3))
            label = f"{namespaces}-namespace pair ({left.stat().st_size / 1e3:.0f} KB each)"
            print(f"{label:50} {ours * 1000:9.2f} {floor * 1000:9.2f} {ratio(ours, floor):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
