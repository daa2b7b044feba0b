"""Provenance from a 1 GB server log: bounded time and memory (docs/provenance.md).

Writes a real 1 GB log of server-format lines (ticker noise, set-config lines near the start and
the end) into a temporary directory, then times:

- the floor: reading the same number of bytes from the file's end with plain ``read()`` calls
  (what any tail search must at least do);
- a path whose line is in the last MiB (the search stops at once);
- a path with no line at all (the search reads its whole budget, 256 MiB, and stops);
- peak Python memory of the search (tracemalloc).

Run: .venv/bin/python bench/serverlog.py [SIZE_MB]  (or ./dev bench serverlog)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ascad.sources.serverlog import CHUNK, DEFAULT_BUDGET, scan_logs

NOISE = (
    "Dec 01 2026 10:00:00 GMT: INFO (info): (ticker.c:1034) {test} memory-usage: total-bytes 0 "
    "index-bytes 0 set-index-bytes 0 sindex-bytes 0 data-bytes 0 used-pct 0.00\n"
)
SET_LINE = (
    "Dec 01 2026 {t} GMT: INFO (info): (cfg_info.c:914) set-config command completed: "
    "params context=service;{key}=20000\n"
)


def write_log(path: Path, size: int) -> None:
    block = (NOISE * (CHUNK // len(NOISE))).encode()
    with open(path, "wb") as fh:
        fh.write(SET_LINE.format(t="08:00:00", key="early-key").encode())
        written = 0
        while written < size:
            fh.write(block)
            written += len(block)
        fh.write(SET_LINE.format(t="12:00:00", key="proto-fd-max").encode())
        fh.write(block[: 100 * len(NOISE)])


def floor(path: Path, budget: int) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        pos = size
        while pos > 0 and size - pos < budget:
            step = min(CHUNK, pos)
            pos -= step
            fh.seek(pos)
            fh.read(step)
    return time.perf_counter() - t0


def timed(path: Path, want: str) -> tuple[float, int, int, bool]:
    tracemalloc.start()
    t0 = time.perf_counter()
    scan = scan_logs([str(path)], [want])
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, scan.bytes_read, peak, want in scan.changes


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory(prefix="ascad-bench-log.") as tmp:
        path = Path(tmp) / "aerospike.log"
        t0 = time.perf_counter()
        write_log(path, size_mb * 1024 * 1024)
        size = path.stat().st_size
        print(f"log: {size / 1e9:.2f} GB written in {time.perf_counter() - t0:.1f}s")
        f_all = floor(path, DEFAULT_BUDGET)
        print(f"floor: plain read of the last {DEFAULT_BUDGET >> 20} MiB: {f_all * 1000:.0f} ms")
        print(f"{'case':36} {'ms':>8} {'MiB read':>9} {'peak MiB':>9} found")
        for name, want in (
            ("line in the last MiB", "service.proto-fd-max"),
            ("no line (whole budget)", "service.nope"),
            ("line before the budget's reach", "service.early-key"),
        ):
            took, read, peak, found = timed(path, want)
            print(
                f"{name:36} {took * 1000:8.0f} {read / 1048576:9.1f} {peak / 1048576:9.1f} {found}"
            )
        print(f"(the search never reads more than {DEFAULT_BUDGET >> 20} MiB, whatever the size)")


if __name__ == "__main__":
    main()
