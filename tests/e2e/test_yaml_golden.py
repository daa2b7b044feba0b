"""A YAML golden against a running node: ``ascad diff cluster.yaml aerospike://pod:3000`` finds an
out-of-band ``set-config`` that the operator, comparing its spec with what it applied, never sees;
``ascad show --format yaml`` writes a node's config as asconfig YAML that diffs clean against it.
The nodes are emulated, running the conf each YAML stands for (tests/fixtures/yaml)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ascad.cli import main
from ascad.commands.show import render_snapshot
from ascad.compare.drift import drift
from ascad.conf.flatten import flatten
from ascad.conf.yaml_tree import parse_yaml
from ascad.knowledge.table import table_or_none
from ascad.lab.emulator.cluster import load_node
from tests.e2e.test_show import _snapshot
from tests.helpers import (
    FIXTURES,
    build_of,
    call_with_emulated,
    info_on_first,
    node_url,
    run_ascad,
    sample_versions,
)

YAML_DIR = FIXTURES / "yaml"
CR = YAML_DIR / "operator-dim-nostorage-cr.yaml"
CR_CONF = YAML_DIR / "operator-dim-nostorage-cr.conf"
CR_BUILD = "8.1.2.0"  # the CR's image: aerospike-server-enterprise:8.1.2.0


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _diff_with_node(
    conf: Path, build: str, argv_of: Any, action: str | None = None
) -> tuple[int, str, str]:
    return call_with_emulated(
        [load_node(str(conf), build=build)],
        lambda cluster: _run(argv_of(node_url(cluster.nodes[0].port))),
        setup=info_on_first(action, "ok") if action else None,
    )


def test_the_cr_matches_the_node_it_deployed() -> None:
    code, out, err = _diff_with_node(CR_CONF, CR_BUILD, lambda url: ["diff", str(CR), url])
    assert code == 0, out + err
    assert "no differences" in out


def test_an_out_of_band_set_config_is_found_against_the_cr() -> None:
    code, out, err = _diff_with_node(
        CR_CONF,
        CR_BUILD,
        lambda url: ["diff", str(CR), url, "--format", "json"],
        action="set-config:context=namespace;namespace=test;default-ttl=86400",
    )
    assert code == 1, out + err
    diffs = json.loads(out)["differences"]
    assert [(d["path"], d["right"]) for d in diffs] == [("namespace[test].default-ttl", "86400")]


def test_a_set_config_on_a_value_the_yaml_states_names_the_yaml_line() -> None:
    pair = YAML_DIR / "asconfig-server812"
    code, out, err = _diff_with_node(
        pair.with_suffix(".conf"),
        "8.1.2.0",
        lambda url: ["diff", str(pair.with_suffix(".yaml")), url, "--format", "json"],
        action="set-config:context=namespace;namespace=ns1;nsup-period=60",
    )
    assert code == 1, out + err
    (diff,) = json.loads(out)["differences"]
    assert (diff["path"], diff["left"], diff["right"]) == (
        "namespace[ns1].nsup-period",
        "2048",
        "60",
    )
    lines = pair.with_suffix(".yaml").read_text().splitlines()
    assert lines[diff["left_line"] - 1].strip() == "nsup-period: 2048"


def test_show_format_yaml_of_a_node_reads_back_with_zero_drift(tmp_path: Path) -> None:
    def both(url: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        shown = _run(["show", url, "--format", "yaml"])
        saved = tmp_path / "node.yaml"
        saved.write_text(shown[1])
        return shown, _run(["diff", str(saved), url])

    (code, out, _), (dcode, dout, derr) = call_with_emulated(
        [load_node(str(CR_CONF), build=CR_BUILD)],
        lambda cluster: both(node_url(cluster.nodes[0].port)),
        setup=info_on_first("set-config:context=namespace;namespace=test;default-ttl=86400"),
    )
    assert code == 0
    assert out.startswith("# Running configuration of aerospike://127.0.0.1:")
    doc = yaml.safe_load(out)
    (ns,) = doc["namespaces"]
    assert ns["name"] == "test" and ns["default-ttl"] == 86400
    assert ns["storage-engine"]["type"] == "memory"
    assert ns["storage-engine"]["data-size"] == 1 << 30  # a plain number, not 1G
    assert dcode == 0, dout + derr


def test_show_format_yaml_of_a_conf_or_a_yaml() -> None:
    code, out, _ = _run(["show", str(YAML_DIR / "asconfig-server811.conf"), "--format", "yaml"])
    assert code == 0
    doc = yaml.safe_load(out)
    expected = yaml.safe_load((YAML_DIR / "asconfig-server811.yaml").read_text())
    flat_out = flatten(parse_yaml(out, "out.yaml"))
    flat_expected = flatten(parse_yaml(yaml.safe_dump(expected), "exp.yaml"))
    assert {p: s.canonical for p, s in flat_out.settings.items()} == {
        p: s.canonical for p, s in flat_expected.settings.items()
    }
    assert doc["network"]["heartbeat"]["multicast-groups"] == ["127.0.0.1"]
    code, out, _ = _run(["show", str(CR)])  # a YAML shown as conf text
    assert code == 0 and "namespace test {" in out and "data-size 1073741824" in out


def test_bad_yaml_golden_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "cluster.yaml"
    bad.write_text("spec:\n  aerospikeConfig:\n    service: {proto-fd-max: 1\n")
    code, out, err = _run(["diff", str(bad), str(CR_CONF)])
    assert code == 2 and out == ""
    assert err.startswith(f"ascad: {bad}:4:") and "not valid YAML" in err
    assert err.count("\n") == 1


SAMPLES = sample_versions()


@pytest.mark.parametrize(("name", "version"), SAMPLES, ids=[n for n, _ in SAMPLES])
def test_show_yaml_of_every_sample_node_has_zero_drift(name: str, version: str) -> None:
    snap = asyncio.run(_snapshot(name, build_of(version)))
    text = render_snapshot(snap, yaml=True)
    tree = parse_yaml(text, "shown.yaml")
    result, _ = drift(tree, flatten(tree), snap, table=table_or_none(snap.build))
    assert [(d.path, d.kind, d.left, d.right) for d in result.differences] == []


def test_validate_reads_yaml_and_names_its_lines(tmp_path: Path) -> None:
    code, _, err = _run(["validate", str(CR), "--server-version", CR_BUILD])
    assert code == 0, err
    bad = tmp_path / "cr.yaml"
    bad.write_text(CR.read_text().replace("replication-factor: 2", "replication-factr: 2"))
    code, out, err = _run(["validate", str(bad), "--server-version", CR_BUILD])
    assert code == 1
    assert f"{bad}:55:" in out + err and "replication-factr" in out + err


def test_yaml_on_standard_input_is_recognised_by_its_first_line() -> None:
    proc = run_ascad("diff", "-", str(CR_CONF), input=CR.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no differences" in proc.stdout
