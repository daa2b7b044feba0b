"""Fleet analysis (ascad.checks.fleet): fingerprints, grouping, matrix and per-parameter
findings, bounded gathering, and no false alarm between nodes rendered from one conf."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.fleet import NodeConfig, analyse, fingerprint, gather_nodes
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.errors import AscadError
from ascad.report.fleet_text import render
from tests.helpers import CONFS, PEER_PATTERNS, as_node, flat_of, fleet_confs, fleet_node_conf


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
    report = analyse(nodes, PEER_PATTERNS)

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

    text = render(report, width=200)
    assert "g2" in text and "n03" in text and "n21: cannot connect" in text
    assert (
        "drift: 4 groups, 3 parameters differ; incomplete: 1 unreachable (not compared); "
        "ignored: " in text
    )
    assert report.exit_code == 2  # incomplete: a node could not be read


def test_identical_fleet_is_clean_and_no_per_node_splits_it() -> None:
    nodes = [NodeConfig(f"n{i}", flat_of(fleet_node_conf(i), f"n{i}")) for i in range(5)]
    report = analyse(nodes, PEER_PATTERNS)
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
            return NodeConfig(source, flat_of(fleet_node_conf(0), source))
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


@pytest.mark.parametrize("path", CONFS, ids=lambda p: p.name)
def test_no_false_alarm_between_nodes_rendered_from_one_conf(path: Path) -> None:
    """Different nodes of one cluster differ in addresses, seeds, node-id and pidfile: with the
    default per-node list they are one group, and a real change still splits them."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    variants = [as_node(text, n) for n in (1, 2, 3)]
    assert variants[0] != variants[1]
    nodes = [NodeConfig(f"n{i}", flatten(parse_text(t, f"n{i}"))) for i, t in enumerate(variants)]
    report = analyse(nodes, PEER_PATTERNS)
    assert len(report.groups) == 1, [
        (p.path, [v.value for v in p.values]) for p in report.parameters
    ]
    assert report.parameters == [] and report.clean
    # Without the per-node list the same nodes differ: the list is what made them equal.
    assert len(analyse(nodes, []).groups) == 3


def test_matrix_of_groups_one_value_apart_counts_each_pairs_own_comparison() -> None:
    """A drifting fleet's groups each differ from the majority in one value: the matrix counts
    such a pair without the general sets, and gets what comparing the pair counts (a changed
    value, the same path changed two ways, a logging context with its ``context any`` sibling,
    a value written in another unit)."""
    from ascad.checks.fleet import pair_differences

    base = (
        "service {\n    proto-fd-max 15000\n}\n"
        "logging {\n    console {\n        context any info\n        context misc info\n"
        "    }\n}\n"
        "namespace test {\n    replication-factor 2\n    default-ttl 30d\n"
        "    storage-engine memory {\n        data-size 4G\n    }\n}\n"
    )
    variants = [
        base,
        base.replace("proto-fd-max 15000", "proto-fd-max 20000"),
        base.replace("proto-fd-max 15000", "proto-fd-max 25000"),
        base.replace("default-ttl 30d", "default-ttl 1d"),
        base.replace("context misc info", "context misc debug"),
        base.replace("context any info", "context any warning"),
        base.replace("data-size 4G", "data-size 4096M"),  # the same canonical value
        base.replace("replication-factor 2", "replication-factor 3"),
    ]
    nodes = [
        NodeConfig(f"n{i}", flatten(parse_text(t, f"n{i}.conf"))) for i, t in enumerate(variants)
    ]
    nodes.append(NodeConfig("n-again", flatten(parse_text(base, "again.conf"))))
    report = analyse(nodes, [])
    assert len(report.groups) == len(variants) - 1  # 4096M is 4G
    for i, a in enumerate(report.groups):
        for j, b in enumerate(report.groups):
            want = 0 if i == j else len(pair_differences(a, b).differences)
            assert report.matrix[i][j] == want, (a.members, b.members)
    assert {report.matrix[0][j] for j in range(1, len(report.groups))} == {1}


def test_matrix_counts_are_each_pairs_own_comparison() -> None:
    """The matrix (each pair from the groups' differences to the majority) counts what comparing
    the two groups' whole configs counts, for groups that differ in many ways."""
    from ascad.checks.fleet import pair_differences
    from ascad.checks.pipeline import Rules, compare_confs
    from ascad.compare.expected import PathMatcher

    confs = sorted((Path(__file__).parents[2] / "fixtures" / "confs").glob("real-*.conf"))[:6]
    nodes = [
        NodeConfig(f"n{i}", flatten(parse_text(p.read_text(), p.name))) for i, p in enumerate(confs)
    ]
    nodes.append(NodeConfig("n-again", flatten(parse_text(confs[0].read_text(), confs[0].name))))
    report = analyse(nodes, PEER_PATTERNS)
    skip = PathMatcher(PEER_PATTERNS)
    assert len(report.groups) == len(confs)
    for i, a in enumerate(report.groups):
        for j, b in enumerate(report.groups):
            if i == j:
                assert report.matrix[i][j] == 0
                continue
            assert report.matrix[i][j] == len(pair_differences(a, b).differences)
            whole = compare_confs(a.flat, b.flat, Rules(ignore=tuple(PEER_PATTERNS)))
            assert report.matrix[i][j] == len([d for d in whole.differences if not skip(d.path)])
