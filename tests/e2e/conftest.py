"""Fixtures of the deployment tests: the release as ``./dev dist`` builds it, once per session, and
a Python interpreter for fresh venvs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ascad import __version__
from tests.helpers import ROOT


@dataclass(frozen=True)
class Release:
    """What ``./dev dist DIR`` made: the wheel, the sdist, the wheelhouse and the Salt file root."""

    dir: Path
    wheel: Path
    sdist: Path
    wheels: Path
    salt: Path
    seconds: float


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """``./dev dist`` into a temporary directory (python -m build in its isolated env, then pip
    download of the dependencies' wheels: a few seconds once pip's cache holds them)."""
    out = tmp_path_factory.mktemp("dist")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "dev"), "dist", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Release(
        dir=out,
        wheel=out / f"ascad-{__version__}-py3-none-any.whl",
        sdist=out / f"ascad-{__version__}.tar.gz",
        wheels=out / "wheels",
        salt=out / "salt",
        seconds=time.monotonic() - t0,
    )


def _version_of(python: str) -> str:
    proc = subprocess.run(
        [python, "-c", "import sys, venv; print('{}.{}'.format(*sys.version_info[:2]))"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _reachable_by_all(path: str) -> bool:
    """Every directory above the interpreter lets other users through (a venv's python is a
    symlink to it, so an agent's user must reach it)."""
    real = Path(os.path.realpath(path))
    return all(p.stat().st_mode & 0o001 for p in real.parents)


@pytest.fixture(scope="session")
def base_python() -> str:
    """The interpreter fresh venvs are made from, as on a node: the system's python3 when it is
    this Python version (the wheelhouse holds wheels for this version) and every user can run
    it, else the one this venv was made from."""
    want = "{}.{}".format(*sys.version_info[:2])
    base = str(getattr(sys, "_base_executable", None) or sys.executable)
    candidates = ["/usr/bin/python3", base]
    for python in candidates:
        if os.path.exists(python) and _version_of(python) == want and _reachable_by_all(python):
            return python
    return base
