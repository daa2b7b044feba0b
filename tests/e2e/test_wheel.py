"""The release as ``./dev dist`` builds it: the wheel carries what ascad needs at run time, the
sdist is the source without the tests, the licence is Apache-2.0 in both, and the wheel installs
into a fresh venv without an index (from the wheelhouse beside it) and runs from there."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from ascad import __version__
from tests.e2e.conftest import Release
from tests.helpers import CONFS, ROOT

pytestmark = pytest.mark.slow
DIST_INFO = f"ascad-{__version__}.dist-info"
DATA = f"ascad-{__version__}.data/data"


def test_the_licence_is_the_apache_2_0_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text == (ROOT / "tools/schemas/LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n                           Version 2.0")
    debian = Path("/usr/share/common-licenses/Apache-2.0")
    if debian.exists():  # Debian's copy of the licence, verbatim
        assert text.strip() == debian.read_text().strip()


def test_the_wheel_carries_what_ascad_needs(release: Release) -> None:
    print(f"./dev dist: {release.seconds:.1f} s")
    with zipfile.ZipFile(release.wheel) as whl:
        names = set(whl.namelist())
        metadata = email.parser.Parser().parsestr(whl.read(f"{DIST_INFO}/METADATA").decode())
    for needed in (
        "ascad/py.typed",
        "ascad/knowledge/params.json",
        "ascad/knowledge/units.json",
        "ascad/lab/demo_data/aerospike.conf.j2",
        "ascad/report/templates/diff.html.j2",
        "ascad/report/templates/fleet.html.j2",
        "ascad/report/templates/ui_live.html.j2",
        "ascad/report/static/ascad.css",
        "ascad/report/static/ascad.js",
        "ascad/report/static/favicon.svg",
        "ascad/agent/notify.py",
        f"{DIST_INFO}/licenses/LICENSE",
        f"{DIST_INFO}/licenses/tools/schemas/LICENSE",
        f"{DATA}/share/doc/ascad/README.md",
        f"{DATA}/share/doc/ascad/LICENSE",
        f"{DATA}/share/doc/ascad/docs/agent.md",
        f"{DATA}/share/doc/ascad/examples/ascad.toml.example",
        f"{DATA}/share/doc/ascad/examples/ascad.service",
        f"{DATA}/share/man/man1/ascad.1",  # generated from the parser (tools/gen_man.py)
    ):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "bench/", "tools/gen")) for n in names)
    # every module of the tree is in it
    modules = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src/ascad").rglob("*.py")}
    assert modules <= names, modules - names
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE", "tools/schemas/LICENSE"]
    classifiers = metadata.get_all("Classifier") or []
    assert "Topic :: System :: Monitoring" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # the SPDX form only
    assert metadata["Requires-Python"] == ">=3.11"


def test_the_sdist_is_the_source_without_the_tests(release: Release) -> None:
    with tarfile.open(release.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "tools/schemas/LICENSE",
        "README.md",
        "pyproject.toml",
        "docs/agent.md",
        "deploy/ascad.toml.example",
        "deploy/ascad.service",
        "src/ascad/knowledge/params.json",
        "src/ascad/knowledge/units.json",
        "src/ascad/lab/demo_data/aerospike.conf.j2",
    ):
        assert needed in names, needed
    # the tests need the repository around them (MANIFEST.in says why): none half-shipped
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_the_wheel_installs_offline_into_a_fresh_venv_and_runs(
    release: Release, tmp_path: Path, base_python: str
) -> None:
    venv = tmp_path / "venv"
    t0 = time.monotonic()
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    proc = subprocess.run(
        [
            str(venv / "bin/pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            str(release.wheels),
            f"ascad=={__version__}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    print(f"fresh venv + offline install: {time.monotonic() - t0:.1f} s")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASCAD_", "PYTHON"))}

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path
        )

    python, ascad = str(venv / "bin/python"), str(venv / "bin/ascad")
    where = run(python, "-c", "import ascad; print(ascad.__file__)").stdout
    assert where.startswith(str(venv / "lib")), where  # the installed package, not the tree
    assert run(python, "-m", "ascad", "--version").stdout.strip() == f"ascad {__version__}"
    assert (venv / "share/doc/ascad/docs/agent.md").is_file()  # the unit's Documentation=
    assert (venv / "share/doc/ascad/LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (venv / "share/man/man1/ascad.1").read_text() == (ROOT / "docs/ascad.1").read_text()
    # the installed help points at the installed docs
    assert (venv / "share/doc/ascad/docs/fleet.md").as_uri() in run(ascad, "fleet", "--help").stdout

    conf = next(c for c in CONFS if c.name == "server-8.1-default-systemd.conf")
    proc = run(ascad, "validate", str(conf), "--server-version", "8.1.0.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # params.json is in the wheel
    other = tmp_path / "other.conf"
    other.write_text(conf.read_text().replace("proto-fd-max 15000", "proto-fd-max 20000"))
    proc = run(ascad, "diff", str(conf), str(other), "--format", "html")
    assert proc.returncode == 1 and "proto-fd-max" in proc.stdout  # the HTML templates too
    assert proc.stdout.lstrip().lower().startswith("<!doctype html>")
    proc = run(ascad, "demo", timeout=240)  # the demo data, the emulator, the agents
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "every injected drift was found" in proc.stdout
    if shutil.which("systemd-analyze"):
        unit = tmp_path / "ascad.service"
        text = (venv / "share/doc/ascad/examples/ascad.service").read_text()
        unit.write_text(text.replace("/opt/ascad/bin/ascad", ascad))
        proc = run("systemd-analyze", "verify", str(unit))
        assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
