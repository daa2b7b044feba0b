"""Shared by the benchmarks: a child process's wall time, CPU time and peak RSS, and a loud
failure when a floor (or ascad itself) cannot run.

The CPU time (user + system) and peak RSS come from the kernel's accounting of the child alone
(``os.wait4``), so a figure is the process's own, whatever else the shared machine runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """One finished child: wall seconds, CPU seconds (user+sys), peak RSS in MiB, exit status."""

    wall: float
    cpu: float
    rss_mib: float
    returncode: int
    stdout: str
    stderr: str


class FloorError(SystemExit):
    """A floor (or the measured program) could not run: the benchmark stops, non-zero."""

    def __init__(self, message: str) -> None:
        print(f"bench: FAILED: {message}", file=sys.stderr, flush=True)
        super().__init__(1)


def run(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    ok: Sequence[int] = (0,),
    what: str | None = None,
) -> Run:
    """Run ``cmd`` to its end; :class:`FloorError` when it exits with a status not in ``ok``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise FloorError(f"{what or cmd[0]} did not finish within {timeout:g} s")
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Run(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            rss_mib=usage.ru_maxrss / 1024,
            returncode=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
        )
    if result.returncode not in ok:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise FloorError(f"{what or ' '.join(cmd)} exited {result.returncode}: {tail}")
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(value: float, floor: float) -> str:
    """``value / floor`` as ``12.3x``, refusing a floor that measured nothing."""
    if floor <= 0:
        raise FloorError(f"a floor measured {floor!r}: it did not run")
    return f"{value / floor:.1f}x"


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The source tree measured: this checkout's src/, or another (ASCAD_BENCH_SRC=DIR, e.g. `git
# archive` of an older commit) for a before/after comparison with the same benchmarks.
SRC = os.environ.get("ASCAD_BENCH_SRC") or os.path.join(ROOT, "src")
if os.environ.get("ASCAD_BENCH_SRC"):
    sys.path.insert(0, SRC)  # the benchmarks that import ascad measure that tree too


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured ascad process: as installed from the wheel (pip compiles
    every module), so bytecode is written and used; no ASCAD_ setting of the caller's leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ASCAD_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def compile_sources() -> None:
    """Byte-compile the measured src/ once, as pip does on install, so no figure includes compiling."""
    run(
        [sys.executable, "-m", "compileall", "-q", SRC],
        what="python -m compileall src",
        timeout=600,
    )
