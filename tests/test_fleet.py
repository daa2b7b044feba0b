"""ascad fleet: grouping, matrix and per-parameter findings, on conf files and emulated clusters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.fleet import (
    FleetOptions,
    NodeConfig,
    analyse,
    fingerprint,
    gather_nodes,
    run_fleet,
)
from ascad.compare.expected import CompareSettings
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.errors import AscadError
from ascad.lab.emulator import cluster as emu
from ascad.lab.emulator.node import EmulatedNode
from ascad.report.fleet_json import SCHEMA, report_to_dict
from ascad.report.fleet_text import render
from ascad.runtime.info import InfoClient
from tests.helpers import BackgroundLoop, init_repo, run_cli

N = 20
DRIFT_VALUE = 2  # n03: a namespace value differs in its conf
DRIFT_EXTRA = 6  # n07: one extra parameter in its conf
RUNTIME_ONLY = 10  # n11: set-config on the running node only
DOWN = 14  # n15: refuses connections

TEMPLATE = """\
service {{
    proto-fd-max 15000
    cluster-name cakery
    node-id {node_id}
    pidfile /var/run/aerospike/asd-{i}.pid
}}
logging {{
    console {{
        context any info
    }}
}}
network {{
    service {{
        address 10.0.0.{ip}
        access-address 10.0.0.{ip}
        port 3000
    }}
    heartbeat {{
        mode mesh
        port 3002
{seeds}
        interval 150
        timeout 10
    }}
    fabric {{
        port 3001
    }}
}}
namespace test {{
    replication-factor {rf}
{extra}
    rack-id {rack}
    storage-engine memory {{
        data-size 4G
    }}
}}
namespace bar {{
    replication-factor 2
    storage-engine memory {{
        data-size 4G
    }}
}}
"""


def node_conf(i: int, *, rf: int = 2, extra: str = "") -> str:
    seeds = "\n".join(
        f"        mesh-seed-address-port 10.0.0.{j + 1} 3002" for j in range(min(N, 4)) if j != i
    )
    return TEMPLATE.format(
        i=i,
        node_id=f"A{i + 1:03X}",
        ip=i + 1,
        seeds=seeds,
        rf=rf,
        extra=extra,
        rack=i % 3,
    )


def fleet_confs() -> list[str]:
    confs = [node_conf(i) for i in range(N)]
    confs[DRIFT_VALUE] = node_conf(DRIFT_VALUE, rf=3)
    confs[DRIFT_EXTRA] = node_conf(DRIFT_EXTRA, extra="    default-ttl 1h")
    return confs


def flat_of(text: str, name: str):
    return flatten(parse_text(text, name))


PATTERNS = CompareSettings().peer_patterns()


# --- pure logic ---------------------------------------------------------------------------------


def test_fingerprint_ignores_order_but_not_values() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1", "b": "2"}) != fingerprint({"a": "1", "b": "3"})
    # No ambiguity between a value and the next path.
    assert fingerprint({"a": "1b", "c": ""}) != fingerprint({"a": "1", "bc": ""})


def test_groups_matrix_and_parameters_from_files() -> None:
    confs = fleet_confs()
    confs[5] = confs[5].replace(
        "namespace bar {",
        "namespace extra {\n    replication-factor 1\n"
        "    storage-engine memory\n}\nnamespace bar {",
    )
    nodes = [NodeConfig(f"n{i + 1:02d}", flat_of(t, f"n{i + 1:02d}")) for i, t in enumerate(confs)]
    nodes.append(NodeConfig("n21", error="cannot connect: connection refused"))
    report = analyse(nodes, PATTERNS)

    assert [len(g.members) for g in report.groups] == [17, 1, 1, 1]
    majority = report.groups[0]
    assert majority.id == 1 and "n01" in majority.members
    assert [g.members for g in report.groups[1:]] == [["n03"], ["n06"], ["n07"]]
    assert [n.name for n in report.unreachable] == ["n21"]
    assert report.group_of("n21") is None
    assert not report.clean

    # Matrix: per group pair; n06 carries a whole extra namespace, counted once.
    assert report.matrix == [[0, 1, 1, 1], [1, 0, 2, 2], [1, 2, 0, 2], [1, 2, 2, 0]]
    names, rows = report.node_matrix()
    assert rows[0][1] == 0 and rows[0][2] == 1 and rows[2][6] == 2 and rows[0][20] is None
    assert len(names) == 21

    by_path = {p.path: p for p in report.parameters}
    assert set(by_path) == {
        "namespace[test].replication-factor",
        "namespace[test].default-ttl",
        "namespace[extra]",
    }
    rf = by_path["namespace[test].replication-factor"]
    assert [(h.canonical, len(h.nodes)) for h in rf.values] == [("2", 19), ("3", 1)]
    assert rf.values[1].nodes == ["n03"]
    ttl = by_path["namespace[test].default-ttl"]  # present on one node only: a finding
    assert [(h.value, h.nodes[:1]) for h in ttl.values] == [(None, ["n01"]), ("1h", ["n07"])]
    assert ttl.values[1].canonical == "3600"
    extra = by_path["namespace[extra]"]  # the stanza is reported, not each parameter inside it
    assert extra.stanza and extra.values[1].nodes == ["n06"]

    # Per-node paths were skipped (node-id, addresses, seeds, rack-id, pidfile) and counted.
    assert "service.node-id" in report.ignored
    assert "namespace[test].rack-id" in report.ignored
    assert any(p.startswith("network.heartbeat.mesh-seed-address-port[") for p in report.ignored)

    text = render(report)
    assert "g2" in text and "n03" in text and "n21: cannot connect" in text
    assert "drift: 4 groups, 3 parameters differ, 1 unreachable; ignored: " in text


def test_identical_fleet_is_clean_and_no_per_node_splits_it() -> None:
    nodes = [NodeConfig(f"n{i}", flat_of(node_conf(i), f"n{i}")) for i in range(5)]
    report = analyse(nodes, PATTERNS)
    assert report.clean and len(report.groups) == 1 and report.matrix == [[0]]
    assert report.parameters == []
    assert "all 5 nodes identical" in render(report)
    every = analyse(nodes, [])  # nothing per node: every node is its own group
    assert len(every.groups) == 5 and not every.clean


def test_gather_is_bounded_and_times_out() -> None:
    running = 0
    peak = 0

    async def fetch(source: Any) -> NodeConfig:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            if source == "slow":
                await asyncio.sleep(30)
            if source == "bad":
                raise AscadError("no such file", "bad")
            await asyncio.sleep(0.01)
            return NodeConfig(source, flat_of(node_conf(0), source))
        finally:
            running -= 1

    sources = [f"s{i}" for i in range(20)] + ["slow", "bad"]
    nodes = asyncio.run(gather_nodes(sources, fetch, concurrency=4, timeout=0.5))
    assert peak <= 4
    assert [n.name for n in nodes] == sources  # order kept
    assert nodes[-2].error == "no answer within 0.5s"
    assert nodes[-1].error == "no such file"
    assert all(n.reachable for n in nodes[:20])
    with pytest.raises(AscadError):
        asyncio.run(gather_nodes(sources, fetch, concurrency=0))


# --- conf files through the CLI -----------------------------------------------------------------


@pytest.fixture
def conf_files(tmp_path: Path) -> list[str]:
    paths = []
    for i, text in enumerate(fleet_confs()):
        p = tmp_path / f"n{i + 1:02d}.conf"
        p.write_text(text, encoding="utf-8")
        paths.append(str(p))
    return paths


def test_cli_conf_files_json(conf_files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["fleet", *conf_files, "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == SCHEMA == "ascad.fleet/1"
    assert doc["mode"] == "conf"
    for key in ("nodes", "groups", "matrix", "parameters", "unreachable", "golden", "ignored"):
        assert key in doc
    assert doc["summary"] == {
        "nodes": 20,
        "reachable": 20,
        "unreachable": 0,
        "groups": 3,
        "parameters": 2,
        "golden_differences": 0,
    }
    assert [g["size"] for g in doc["groups"]] == [18, 1, 1]
    assert doc["groups"][1]["members"] == [conf_files[DRIFT_VALUE]]
    assert doc["groups"][2]["members"] == [conf_files[DRIFT_EXTRA]]
    assert all(len(g["fingerprint"]) == 64 for g in doc["groups"])
    assert doc["matrix"] == {
        "by": "group",
        "groups": [1, 2, 3],
        "counts": [[0, 1, 1], [1, 0, 2], [1, 2, 0]],
    }
    params = {p["path"]: p for p in doc["parameters"]}
    ttl = params["namespace[test].default-ttl"]["values"]
    assert ttl[0]["absent"] and len(ttl[0]["nodes"]) == 19
    assert ttl[1] == {
        "value": "1h",
        "canonical": "3600",
        "absent": False,
        "groups": [3],
        "nodes": [conf_files[DRIFT_EXTRA]],
    }
    assert doc["ignored"] == len(doc["ignored_paths"]) > 0
    assert doc["golden"] is None and doc["unreachable"] == []
    assert {n["group"] for n in doc["nodes"]} == {1, 2, 3}


def test_cli_text_exit_codes(conf_files: list[str], tmp_path: Path, capsys) -> None:
    same = [p for i, p in enumerate(conf_files) if i not in (DRIFT_VALUE, DRIFT_EXTRA)]
    code, out, _ = run_cli(["fleet", *same, "--color", "never"], capsys)
    assert code == 0
    assert "all 18 nodes identical; ignored: " in out

    missing = str(tmp_path / "gone.conf")
    code, out, _ = run_cli(["fleet", *same, missing], capsys)
    assert code == 1
    assert f"{missing}: no such file" in out or f"{missing}: " in out
    assert "1 unreachable" in out

    # --ignore hides a real difference; the settings file can do the same.
    code, out, _ = run_cli(
        [
            "fleet",
            *conf_files,
            "--ignore",
            "namespace[test].replication-factor",
            "--ignore",
            "namespace[test].default-ttl",
        ],
        capsys,
    )
    assert code == 0
    settings = tmp_path / "ascad.toml"
    settings.write_text('[compare]\nignore = ["namespace[test].*"]\n', encoding="utf-8")
    assert run_cli(["fleet", *conf_files, "--settings", str(settings)], capsys)[0] == 0

    # Could not run at all: exit 2 with one line.
    code, _, err = run_cli(["fleet"], capsys)
    assert code == 2 and "give SOURCE" in err
    code, _, err = run_cli(["fleet", missing, str(tmp_path / "also-gone.conf")], capsys)
    assert code == 2 and "no node could be read" in err
    settings.write_text("[compare]\nper_nodes = []\n", encoding="utf-8")
    code, _, err = run_cli(["fleet", *same, "--settings", str(settings)], capsys)
    assert code == 2 and str(settings) in err and "[compare] per_nodes" in err
    code, _, err = run_cli(["fleet", same[0], "aerospike://127.0.0.1:1"], capsys)
    assert code == 2 and "cannot mix" in err
    code, _, err = run_cli(["fleet", same[0], same[0]], capsys)
    assert code == 2 and "given twice" in err


def test_per_node_paths_option(tmp_path: Path, capsys) -> None:
    files = []
    for i in range(3):
        text = node_conf(i).replace(
            "storage-engine memory {\n        data-size 4G\n    }",
            f"storage-engine device {{\n        file /opt/aerospike/n{i}.dat\n        filesize 4G\n    }}",
            1,
        )
        p = tmp_path / f"d{i}.conf"
        p.write_text(text, encoding="utf-8")
        files.append(str(p))
    code, out, _ = run_cli(["fleet", *files, "--color", "never"], capsys)
    assert code == 1 and "storage-engine.file[0]" in out
    assert run_cli(["fleet", *files, "--per-node-paths"], capsys)[0] == 0


def test_golden_from_git_and_template(conf_files: list[str], tmp_path: Path, capsys) -> None:
    repo = init_repo(tmp_path / "salt", {"aerospike/aerospike.conf": node_conf(0)})
    spec = f"{repo}#aerospike/aerospike.conf@main"

    code, out, _ = run_cli(["fleet", *conf_files, "--golden", spec, "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    golden = doc["golden"]
    assert "aerospike/aerospike.conf" in golden["source"]
    per_group = {g["group"]: g for g in golden["groups"]}
    assert per_group[1]["equal"]  # the majority matches the golden (per-node paths skipped)
    assert [(d["path"], d["left"], d["right"]) for d in per_group[2]["differences"]] == [
        ("namespace[test].replication-factor", "2", "3")
    ]
    assert [(d["path"], d["kind"]) for d in per_group[3]["differences"]] == [
        ("namespace[test].default-ttl", "only_right")
    ]
    assert golden["differences"] == doc["summary"]["golden_differences"] == 2

    # A Salt template golden: {{ … }} values match anything, {% … %} blocks are handled.
    template = tmp_path / "aerospike.conf.j2"
    template.write_text(
        node_conf(0)
        .replace("node-id A001", "node-id {{ grains['node_id'] }}")
        .replace("proto-fd-max 15000", "{% if big %}\n    proto-fd-max 15000\n{% endif %}"),
        encoding="utf-8",
    )
    same = [p for i, p in enumerate(conf_files) if i not in (DRIFT_VALUE, DRIFT_EXTRA)]
    code, out, _ = run_cli(["fleet", *same, "--golden", str(template), "--color", "never"], capsys)
    assert code == 0, out
    assert "g1: no differences" in out
    template.write_text(
        node_conf(0)
        .replace("interval 150", "interval {{ hb }}")
        .replace("timeout 10", "timeout 20"),
        encoding="utf-8",
    )
    code, out, _ = run_cli(["fleet", *same, "--golden", str(template), "--color", "never"], capsys)
    assert code == 1
    assert "network.heartbeat.timeout: 20 (golden:" in out


# --- emulated cluster ---------------------------------------------------------------------------


@pytest.fixture
def drifted_cluster() -> Iterator[tuple[BackgroundLoop, Any]]:
    """20 emulated nodes: n03 and n07 drift in their confs, n11 only at runtime, n15 is down."""
    bg = BackgroundLoop()
    nodes = [
        EmulatedNode(text, source=f"n{i + 1:02d}.conf") for i, text in enumerate(fleet_confs())
    ]
    cluster = bg.run(emu.start(nodes))

    async def inject() -> None:
        node = cluster.nodes[RUNTIME_ONLY]
        async with InfoClient(node.host, node.port, timeout=5) as client:
            answer = await client.info(
                "set-config:context=namespace;namespace=test;nsup-period=300"
            )
            assert answer == "ok"
        await cluster.nodes[DOWN].set_fault(refuse=True)

    try:
        bg.run(inject())
        yield bg, cluster
    finally:
        bg.run(cluster.stop())
        bg.close()


def name(cluster: Any, i: int) -> str:
    return f"aerospike://127.0.0.1:{cluster.nodes[i].port}"


def test_runtime_fleet_names_exactly_the_drifted_nodes(drifted_cluster, capsys) -> None:
    _bg, cluster = drifted_cluster
    seed = name(cluster, 0)
    code, out, _ = run_cli(
        ["fleet", "--discover", seed, "--format", "json", "--timeout", "3"], capsys
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["mode"] == "runtime"
    assert doc["summary"]["nodes"] == N  # every peer found through peers-clear-std
    assert [u["name"] for u in doc["unreachable"]] == [name(cluster, DOWN)]
    assert "refused" in doc["unreachable"][0]["error"]
    sizes = [g["size"] for g in doc["groups"]]
    assert sizes == [16, 1, 1, 1]
    odd = {g["members"][0] for g in doc["groups"][1:]}
    assert odd == {name(cluster, i) for i in (DRIFT_VALUE, DRIFT_EXTRA, RUNTIME_ONLY)}
    params = {p["path"]: p["values"] for p in doc["parameters"]}
    assert set(params) == {
        "namespace[test].replication-factor",
        "namespace[test].default-ttl",
        "namespace[test].nsup-period",
    }
    assert params["namespace[test].nsup-period"][1]["nodes"] == [name(cluster, RUNTIME_ONLY)]
    assert params["namespace[test].nsup-period"][1]["canonical"] == "300"
    assert params["namespace[test].default-ttl"][1]["canonical"] == "3600"
    assert len(params["namespace[test].default-ttl"][0]["nodes"]) == 18
    counts = doc["matrix"]["counts"]
    assert [row[0] for row in counts] == [0, 1, 1, 1]
    assert counts[1][2] == counts[1][3] == counts[2][3] == 2
    ids = {n["name"]: n["node_id"] for n in doc["nodes"]}
    assert ids[name(cluster, 0)] == "A001"
    # Node ids, addresses, seeds and rack-ids differ on every node, and were ignored.
    assert "service.node-id" in doc["ignored_paths"]
    assert "namespace[test].rack-id" in doc["ignored_paths"]


def test_runtime_fleet_text_and_explicit_sources(drifted_cluster, capsys) -> None:
    _bg, cluster = drifted_cluster
    sources = [name(cluster, i) for i in range(N)]
    code, out, _ = run_cli(["fleet", "--runtime", *sources, "--color", "never"], capsys)
    assert code == 1
    assert f"! {name(cluster, DOWN)}: connection refused" in out
    assert "difference matrix (node × node" in out
    assert "drift: 4 groups, 3 parameters differ, 1 unreachable; ignored: " in out
    # The healthy nodes alone, at runtime: identical.
    healthy = [
        s for i, s in enumerate(sources) if i not in (DRIFT_VALUE, DRIFT_EXTRA, RUNTIME_ONLY, DOWN)
    ]
    code, out, _ = run_cli(["fleet", *healthy, "--color", "never"], capsys)
    assert code == 0 and "all 16 nodes identical" in out
    code, _, err = run_cli(["fleet", "--runtime", "/etc/aerospike/aerospike.conf"], capsys)
    assert code == 2 and "--runtime compares running nodes" in err


def test_runtime_fleet_against_golden(drifted_cluster, tmp_path: Path) -> None:
    bg, cluster = drifted_cluster
    golden = tmp_path / "golden.conf"
    golden.write_text(node_conf(0), encoding="utf-8")
    options = FleetOptions(
        discover=name(cluster, 0), golden=str(golden), patterns=PATTERNS, timeout=3.0
    )
    report = bg.run(run_fleet(options))
    by_member = {g.members[0]: g for g in report.groups}
    results = {gr.group: gr.result for gr in report.golden_results}
    assert results[1].equal  # conf vs runtime semantics: defaults and logging 'any' are fine
    drifted = results[by_member[name(cluster, DRIFT_VALUE)].id]
    assert [(d.path, d.left, d.right) for d in drifted.differences] == [
        ("namespace[test].replication-factor", "2", "3")
    ]
    runtime_only = results[by_member[name(cluster, RUNTIME_ONLY)].id]
    assert [d.path for d in runtime_only.differences] == ["namespace[test].nsup-period"]
    doc = report_to_dict(report)
    assert doc["golden"]["differences"] == 3
    assert json.dumps(doc)  # serialisable


def test_discover_seed_down_is_exit_2(drifted_cluster, capsys) -> None:
    _bg, cluster = drifted_cluster
    code, _, err = run_cli(["fleet", "--discover", name(cluster, DOWN), "--timeout", "2"], capsys)
    assert code == 2 and "refused" in err
