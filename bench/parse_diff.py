"""Parse + flatten + diff time per sample conf and over a large generated conf.

Run: .venv/bin/python bench/parse_diff.py  (or ./dev bench parse_diff)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ascad.compare.diff import compare
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "tests" / "fixtures" / "confs").glob("*.conf"))


def generated_conf(namespaces: int, sets_per_ns: int = 4) -> str:
    out = [
        "service {\n    proto-fd-max 15000\n    cluster-name bench\n}\n",
        "network {\n    service {\n        port 3000\n    }\n    heartbeat {\n        mode mesh\n        port 3002\n",
    ]
    out += [f"        mesh-seed-address-port 10.0.{i // 250}.{i % 250} 3002\n" for i in range(50)]
    out.append("    }\n    fabric {\n        port 3001\n    }\n}\n")
    for n in range(namespaces):
        out.append(
            f"namespace ns{n} {{\n    replication-factor 2\n    default-ttl 30d\n    nsup-period 120\n"
            f"    storage-engine device {{\n        device /dev/nvme{n % 8}n1p{n % 4}\n        write-block-size 128K\n"
            f"        flush-size 1M\n        data-size 64G\n    }}\n"
        )
        for s in range(sets_per_ns):
            out.append(
                f"    set s{s} {{\n        stop-writes-count 10M\n        default-ttl 1d\n    }}\n"
            )
        out.append("}\n")
    return "".join(out)


def time_one(text: str, repeat: int) -> tuple[float, int]:
    times = []
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        left = flatten(parse_text(text, "a"))
        right = flatten(parse_text(text, "b"))
        compare(left, right)
        times.append(time.perf_counter() - t0)
        n = len(left)
    return statistics.median(times), n


def main() -> None:
    print("parse+flatten both sides+diff, median of repeats")
    print(f"{'file':52} {'bytes':>7} {'settings':>8} {'ms':>8}")
    total_bytes = 0
    total_time = 0.0
    for path in SAMPLES:
        text = path.read_text()
        t, n = time_one(text, 20)
        total_bytes += 2 * len(text)
        total_time += t
        print(f"{path.name:52} {len(text):7d} {n:8d} {t * 1000:8.2f}")
    print(
        f"samples: {len(SAMPLES)} files, {total_time * 1000:.1f} ms in all, "
        f"{total_bytes / total_time / 1e6:.1f} MB/s of conf text"
    )
    for namespaces in (100, 500):
        text = generated_conf(namespaces)
        t, n = time_one(text, 3)
        print(
            f"generated: {namespaces} namespaces, {len(text) / 1e3:.0f} KB, {n} settings: "
            f"{t * 1000:.0f} ms per parse+diff pair, {2 * len(text) / t / 1e6:.1f} MB/s"
        )


if __name__ == "__main__":
    main()
