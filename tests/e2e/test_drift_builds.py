"""Runtime drift across server builds: each runtime change (set-config, log-set, a seed added with
`tip`) and a namespace missing from the node is exactly one difference, with the conf line, the
kind and the restart flag; in both argument orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ascad.lab.emulator.node import EmulatedNode
from tests.helpers import cli_against_node, info_on_first, node_url

BUILDS = ["4.9.0.10", "5.7.0.17", "6.4.0.1", "7.0.0.0", "7.2.0.1", "8.1.2.2"]


def conf_text(build: str, *, extra_namespace: bool = False) -> str:
    """One conf every build accepts: 7.0 replaced memory-size by storage-engine memory data-size."""
    old = tuple(int(x) for x in build.split(".")[:2]) < (7, 0)
    ns_body = "    replication-factor 2\n"
    if old:
        ns_body += "    memory-size 1G\n    storage-engine memory\n"
    else:
        ns_body += "    storage-engine memory {\n        data-size 1G\n    }\n"
    text = (
        "service {\n    proto-fd-max 10000\n}\n"  # line 2
        "logging {\n    file /var/log/aerospike/aerospike.log {\n"
        "        context any info\n"  # line 6
        "    }\n}\n"
        "network {\n    service {\n        port 3000\n    }\n"
        "    heartbeat {\n        mode mesh\n        port 3002\n"
        "        mesh-seed-address-port 10.0.0.1 3002\n"
        "        interval 150\n        timeout 10\n    }\n"
        "    fabric {\n        port 3001\n    }\n}\n"
        f"namespace test {{\n{ns_body}}}\n"
    )
    if extra_namespace:
        text += f"namespace bar {{\n{ns_body}}}\n"
    return text


def _diff(
    tmp_path: Path,
    build: str,
    action: str | None,
    capsys: pytest.CaptureFixture[str],
    *,
    extra_namespace: bool = False,
    node_left: bool = False,
) -> tuple[int, dict]:
    conf = tmp_path / "aerospike.conf"
    conf.write_text(conf_text(build, extra_namespace=extra_namespace))
    node = EmulatedNode(conf_text(build), source="node.conf", build=build)

    def argv(port: int) -> list[str]:
        sides = [node_url(port), str(conf)] if node_left else [str(conf), node_url(port)]
        return ["diff", "--format", "json", *sides]

    rc, _ = cli_against_node(node, argv, setup=info_on_first(action, "ok") if action else None)
    return rc, json.loads(capsys.readouterr().out)


CASES = {
    "set-config": (
        "set-config:context=service;proto-fd-max=20000",
        False,
        ("service.proto-fd-max", "changed", "10000", "20000", 2, False),
    ),
    "log-set": (
        "log-set:id=0;migrate=debug",
        False,
        (
            "logging.file[/var/log/aerospike/aerospike.log].context[migrate]",
            "changed",
            "info",
            "debug",
            6,
            False,
        ),
    ),
    "tip": (
        "tip:host=10.0.0.2;port=3002",
        False,
        (
            "network.heartbeat.mesh-seed-address-port[10.0.0.2:3002]",
            "only_right",
            None,
            "10.0.0.2 3002",
            None,
            True,
        ),
    ),
    "namespace-missing": (None, True, ("namespace[bar]", "only_left", "", None, "bar", True)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("build", BUILDS)
def test_one_runtime_change_is_one_difference(
    build: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    action, extra, (path, kind, left, right, line, restart) = CASES[case]
    rc, doc = _diff(tmp_path, build, action, capsys, extra_namespace=extra)
    assert rc == 1
    got = [
        (d["path"], d["kind"], d["left"], d["right"], d["left_line"], d["restart"])
        for d in doc["differences"]
    ]
    if line == "bar":  # the `namespace bar {` line: after the shared conf
        line = conf_text(build).count("\n") + 1
    assert got == [(path, kind, left, right, line, restart)]
    assert doc["node"]["build"] == build


def test_clean_node_of_every_build_has_zero_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for build in BUILDS:
        rc, doc = _diff(tmp_path, build, None, capsys)
        assert (rc, doc["differences"]) == (0, []), build


@pytest.mark.parametrize("build", ["6.4.0.1", "8.1.2.2"])
def test_reverse_order_swaps_sides_and_names_the_default_side(
    build: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ascad diff NODE CONF`: a set_at_runtime difference has the running value on the left and
    the default on the right, and its note says so (it said "left: the default")."""
    rc, doc = _diff(
        tmp_path,
        build,
        "set-config:context=service;migrate-threads=3",
        capsys,
        node_left=True,
    )
    assert rc == 1
    [d] = doc["differences"]
    assert (d["path"], d["kind"], d["left"], d["right"]) == (
        "service.migrate-threads",
        "set_at_runtime",
        "3",
        "1",
    )
    assert d["note"] == "not in the conf; right is the default, the other side the running value"
    rc, doc = _diff(tmp_path, build, "set-config:context=service;migrate-threads=3", capsys)
    [d] = doc["differences"]
    assert (d["left"], d["right"]) == ("1", "3")
    assert d["note"] == "not in the conf; left is the default, the other side the running value"


def test_tip_needs_mesh_and_a_port() -> None:
    node = EmulatedNode(conf_text("8.1.2.2"), source="n.conf", build="8.1.2.2")
    assert node.answer("tip:host=10.0.0.3") == "error"
    assert node.answer("tip:host=10.0.0.3;port=3002") == "ok"
    assert node.answer("tip:host=10.0.0.3;port=3002") == "ok"  # once only
    network = node.answer("get-config:context=network") or ""
    assert network.count("heartbeat.mesh-seed-address-port=10.0.0.3:3002") == 1
    multicast = (
        conf_text("8.1.2.2")
        .replace("mode mesh", "mode multicast")
        .replace(
            "        mesh-seed-address-port 10.0.0.1 3002\n",
            "        multicast-group 239.1.99.222\n",
        )
    )
    node = EmulatedNode(multicast, source="m.conf", build="8.1.2.2")
    assert node.answer("tip:host=10.0.0.3;port=3002") == "error"
