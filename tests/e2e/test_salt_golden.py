"""A ``salt://`` golden rendered by Salt itself: the pinned Salt (.venv-salt, deploy/salt/
test-requirements.txt) run as ``salt-call --local`` with a minion config in a temporary directory
(file_roots, pillar_roots, a static grain), the Salt formula sample with its ``map.jinja``
(tests/fixtures/salt-formula/SOURCES.md), compared with its rendered conf and with an emulated
node running that conf. A pillar change is found as exactly one difference, every templated value
is checked, and Salt's own render error reaches the user as one line with the template line.

No root needed: ``root_dir`` is the temporary directory, so Salt's cache and logs stay in it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ascad.lab.emulator.cluster import load_node
from tests.helpers import (
    FIXTURES,
    ROOT,
    ThreadedNode,
    call_with_emulated,
    node_url,
    run_ascad,
    write_agent_toml,
)

pytestmark = pytest.mark.slow

FORMULA = FIXTURES / "salt-formula"
RENDERED = FORMULA / "salt-guiltias.rendered.conf"
SOURCE = "salt://aerospike/files/aerospike.conf.jinja"
BUILD = "4.9.0.3"  # the oldest the parameter table knows; the formula is for 3.x (memory-size)


@pytest.fixture(scope="module")
def salt_call() -> Path:
    """The pinned salt-call: ``./dev salt-venv`` makes .venv-salt when it is missing or its pin
    changed (about two minutes, once), else returns at once (as tests/e2e/test_salt.py does)."""
    proc = subprocess.run(
        ["bash", str(ROOT / "dev"), "salt-venv"],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return ROOT / ".venv-salt" / "bin" / "salt-call"


class Minion:
    """A masterless minion under ``work``: config, the formula as file root, a pillar."""

    def __init__(self, work: Path, salt_call: Path) -> None:
        self.salt_call = salt_call
        self.config = work / "salt-conf"
        self.file_root = work / "file_root"
        self.pillar = work / "pillar"
        self.config.mkdir()
        self.pillar.mkdir()
        shutil.copytree(FORMULA / "file_root", self.file_root)
        (self.config / "minion").write_text(
            json.dumps(
                {
                    "file_client": "local",
                    "root_dir": str(work / "salt-root"),
                    "id": "aero-test",
                    "file_roots": {"base": [str(self.file_root)]},
                    "pillar_roots": {"base": [str(self.pillar)]},
                    # the formula's custom grain, as a static grain of this minion
                    "grains": {"local_interfaces": [{"eth0": "10.20.0.4"}]},
                }
            )
        )
        (self.pillar / "top.sls").write_text("base:\n  '*':\n    - aerospike\n")
        values = json.loads((FORMULA / "salt-guiltias.vars.json").read_text())
        self.set_pillar(values["aerospike"])

    def set_pillar(self, aerospike: dict[str, Any]) -> None:
        (self.pillar / "aerospike.sls").write_text(json.dumps({"aerospike": aerospike}, indent=1))

    def options(self) -> list[str]:
        return ["--salt-call", str(self.salt_call), "--salt-config-dir", str(self.config)]

    def diff(self, other: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_ascad("diff", SOURCE, other, *self.options(), *extra, timeout=180)


@pytest.fixture
def minion(tmp_path: Path, salt_call: Path) -> Minion:
    return Minion(tmp_path, salt_call)


def pillar_values() -> dict[str, Any]:
    values: dict[str, Any] = json.loads((FORMULA / "salt-guiltias.vars.json").read_text())
    return dict(values["aerospike"])


def test_salt_renders_the_formula_exactly_as_its_rendered_conf(minion: Minion) -> None:
    t0 = time.monotonic()
    proc = minion.diff(str(RENDERED), "--format", "json")
    print(f"salt-call render and diff: {time.monotonic() - t0:.1f} s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["differences"] == []
    assert doc["left"] == f"{SOURCE} (rendered by Salt)"
    # A plain conf: nothing is a wildcard, every templated value was compared.
    assert doc.get("wildcards", []) == []


def test_a_pillar_change_is_exactly_one_difference_against_conf_and_node(
    minion: Minion,
) -> None:
    values = pillar_values()
    values["replication_factor"] = 3
    minion.set_pillar(values)
    proc = minion.diff(str(RENDERED), "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    diffs = json.loads(proc.stdout)["differences"]
    assert [(d["path"], d["left"], d["right"]) for d in diffs] == [
        ("namespace[bidder].replication-factor", "3", "2")
    ]

    def against_node(cluster: Any) -> subprocess.CompletedProcess[str]:
        return minion.diff(node_url(cluster.nodes[0].port), "--format", "json")

    node = load_node(str(RENDERED), build=BUILD)
    proc = call_with_emulated([node], against_node, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    diffs = json.loads(proc.stdout)["differences"]
    assert [(d["path"], d["left"], d["right"]) for d in diffs] == [
        ("namespace[bidder].replication-factor", "3", "2")
    ]


def test_the_node_matches_the_golden_salt_renders(minion: Minion) -> None:
    def against_node(cluster: Any) -> subprocess.CompletedProcess[str]:
        return minion.diff(node_url(cluster.nodes[0].port))

    proc = call_with_emulated([load_node(str(RENDERED), build=BUILD)], against_node, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no differences" in proc.stdout


def test_a_grain_is_a_real_value_too(minion: Minion) -> None:
    """The service address comes from a grain: another node's grain is another value."""
    conf = json.loads((minion.config / "minion").read_text())
    conf["grains"] = {"local_interfaces": [{"eth0": "10.20.0.9"}]}
    (minion.config / "minion").write_text(json.dumps(conf))
    proc = minion.diff(str(RENDERED))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "address[10.20.0.9]" in proc.stdout and "address[10.20.0.4]" in proc.stdout


def test_salt_render_error_is_one_line_with_the_template_line(minion: Minion) -> None:
    broken = minion.file_root / "aerospike" / "files" / "aerospike.conf.jinja"
    lines = broken.read_text().splitlines(keepends=True)
    lines[49] = "  replication-factor {{ aerospike.no_such_key }}\n"  # line 50
    broken.write_text("".join(lines))
    proc = minion.diff(str(RENDERED))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"ascad: {SOURCE}: Salt could not render it: Jinja variable"), err
    assert "no_such_key" in err and "line 50" in err, err
    assert "'replication-factor {{ aerospike.no_such_key }}'" in err, err


def test_a_file_salt_does_not_have_is_a_clear_error(minion: Minion) -> None:
    proc = run_ascad("diff", "salt://aerospike/nope.conf", str(RENDERED), *minion.options())
    assert proc.returncode == 2
    assert "Salt rendered nothing: aerospike/nope.conf is not in" in proc.stderr, proc.stderr


def test_file_and_pillar_roots_given_on_the_command_line(minion: Minion, tmp_path: Path) -> None:
    """--salt-file-root/--salt-pillar-root replace the config's roots."""
    other = tmp_path / "other"
    shutil.copytree(minion.file_root, other / "files")
    shutil.copytree(minion.pillar, other / "pillar")
    values = pillar_values()
    values["default_ttl"] = "31d"
    (other / "pillar" / "aerospike.sls").write_text(json.dumps({"aerospike": values}))
    proc = minion.diff(
        str(RENDERED),
        "--salt-file-root",
        str(other / "files"),
        "--salt-pillar-root",
        str(other / "pillar"),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "default-ttl: 31d" in proc.stdout and proc.stdout.count("~ ") == 1, proc.stdout


def test_a_pillar_that_does_not_render_is_an_error_not_the_defaults(minion: Minion) -> None:
    """Salt's cp.get_template renders on without a broken pillar SLS (map.jinja would fill in
    defaults.yaml's values); state.apply refuses to run, and so does ascad."""
    (minion.pillar / "top.sls").write_text("base:\n  '*':\n    - aerospike\n    - broken\n")
    (minion.pillar / "broken.sls").write_text("aerospike: [unclosed\n")
    proc = minion.diff(str(RENDERED))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert "\n" not in err, err
    assert "Salt's pillar did not render (a state would not run): Rendering SLS 'broken'" in err


def test_a_minion_config_salt_cannot_read(minion: Minion) -> None:
    (minion.config / "minion").write_text("file_client: local\nroot_dir: [unclosed\n")
    proc = minion.diff(str(RENDERED))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "\n" not in err, err
    assert "salt-call failed" in err and "exit status 1" in err, err
    assert "Error parsing configuration file" in err and "minion" in err, err


def _running_with(argv: list[str]) -> list[int]:
    """Pids of processes whose command line is ``argv``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")[:-1]
            except OSError:
                continue
            if cmdline == [a.encode() for a in argv]:
                found.append(int(entry.name))
    return found


def test_a_salt_call_that_hangs_is_killed_at_the_timeout(minion: Minion) -> None:
    """An external pillar that never answers (here ``cmd_yaml: sleep``): salt-call and its
    children are killed at --salt-timeout."""
    marker = ["sleep", "47.123"]
    conf = json.loads((minion.config / "minion").read_text())
    conf["ext_pillar"] = [{"cmd_yaml": " ".join(marker)}]
    (minion.config / "minion").write_text(json.dumps(conf))
    t0 = time.monotonic()
    proc = minion.diff(str(RENDERED), "--salt-timeout", "8")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() == f"ascad: {SOURCE}: salt-call did not finish within 8 s"
    assert time.monotonic() - t0 < 40
    for _ in range(50):
        if not _running_with(marker):
            break
        time.sleep(0.1)
    assert _running_with(marker) == []


def test_the_agent_cycle_renders_a_salt_golden(minion: Minion, tmp_path: Path) -> None:
    """``ascad check`` with ``[golden] source = "salt://…"`` and the ``salt_*`` settings: the
    master's golden check compares its conf with what Salt renders, a pillar change included."""
    conf = tmp_path / "aerospike.conf"
    conf.write_text(RENDERED.read_text())
    config = tmp_path / "ascad.toml"
    with ThreadedNode(conf) as node:
        write_agent_toml(config, tmp_path, node.port, Path("GOLDEN"))
        config.write_text(
            config.read_text().replace(
                'source = "GOLDEN"\n',
                f'source = "{SOURCE}"\nsalt_call = "{minion.salt_call}"\n'
                f'salt_config_dir = "{minion.config}"\n',
            )
        )
        ok = run_ascad("check", "--config", str(config), "--format", "json", timeout=180)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        golden = next(c for c in json.loads(ok.stdout)["checks"] if c["check"] == "golden")
        assert golden["state"] == "ok" and golden["differences"] == []

        values = pillar_values()
        values["high_water_disk_pct"] = 55
        minion.set_pillar(values)
        drift = run_ascad("check", "--config", str(config), "--format", "json", timeout=180)
        assert drift.returncode == 1, drift.stdout + drift.stderr
        golden = next(c for c in json.loads(drift.stdout)["checks"] if c["check"] == "golden")
        assert golden["state"] == "critical"
        assert [(d["path"], d["right"]) for d in golden["differences"]] == [
            ("namespace[bidder].high-water-disk-pct", "55")
        ]
