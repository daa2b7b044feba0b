"""Every sample conf, loaded into an emulated node of its server version, shows zero drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ascad.lab.emulator.cluster import load_node
from ascad.lab.emulator.node import EmulatedNode
from tests.helpers import FIXTURES, build_of, cli_against_node, node_url, sample_versions


def diff_json(
    node: EmulatedNode, path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict]]:
    """``ascad diff --format json PATH NODE`` with the node emulated: (exit code, differences)."""
    rc, _ = cli_against_node(
        node, lambda port: ["diff", "--format", "json", str(path), node_url(port)]
    )
    return rc, json.loads(capsys.readouterr().out)["differences"]


SAMPLES = sample_versions()


@pytest.mark.parametrize(("name", "version"), SAMPLES, ids=[n for n, _ in SAMPLES])
def test_sample_conf_in_emulator_has_zero_drift(
    name: str, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / "confs" / name
    node = load_node(str(path), build=build_of(version))

    rc, differences = diff_json(node, path, capsys)
    assert differences == [], differences
    assert rc == 0


def test_machine_dependent_values_never_show_as_set_at_runtime(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The emulated machine has 10 CPUs and a 1500-byte MTU: thread counts, the MTU and the node id
    differ from the schemas' defaults, yet a conf silent on them has no drift."""
    path = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
    node = load_node(str(path), build="8.1.2.2")
    service = dict(
        kv.split("=", 1) for kv in (node.answer("get-config:context=service") or "").split(";")
    )
    network = dict(
        kv.split("=", 1) for kv in (node.answer("get-config:context=network") or "").split(";")
    )
    assert service["service-threads"] != "1" and service["batch-index-threads"] != "1"
    assert network["heartbeat.mtu"] == "1500"

    rc, differences = diff_json(node, path, capsys)
    assert rc == 0 and differences == []
    # and an operator's set-config of a machine-dependent parameter is not "set at runtime" either:
    # its default is the machine's, which ascad cannot know.
    assert node.answer("set-config:context=service;service-threads=7") == "ok"

    rc, differences = diff_json(node, path, capsys)
    assert rc == 0
    assert differences == []
