"""`ascad fleet` end to end: conf files, exit codes, per-node paths, a golden from git or a
template, emulated clusters, 0 and 1 sources and duplicates, and seeds that never answer."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.fleet import FleetOptions, NodeLogin, run_fleet, source_identity
from ascad.cli import main
from ascad.errors import AscadError
from ascad.lab.emulator import cluster as emu
from ascad.lab.emulator.node import EmulatedNode
from ascad.report.fleet_json import SCHEMA, report_to_dict
from ascad.runtime.info import InfoClient
from tests.helpers import (
    FLEET_DOWN,
    FLEET_DRIFT_EXTRA,
    FLEET_DRIFT_VALUE,
    FLEET_N,
    FLEET_RUNTIME_ONLY,
    PEER_PATTERNS,
    BackgroundLoop,
    fleet_confs,
    fleet_node_conf,
    init_repo,
    run_cli,
    write_nodes,
)

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
    assert doc["groups"][1]["members"] == [conf_files[FLEET_DRIFT_VALUE]]
    assert doc["groups"][2]["members"] == [conf_files[FLEET_DRIFT_EXTRA]]
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
        "nodes": [conf_files[FLEET_DRIFT_EXTRA]],
        "golden": None,  # no --golden
    }
    assert doc["ignored"] == len(doc["ignored_paths"]) > 0
    assert doc["golden"] is None and doc["unreachable"] == []
    assert {n["group"] for n in doc["nodes"]} == {1, 2, 3}


def test_cli_text_exit_codes(conf_files: list[str], tmp_path: Path, capsys) -> None:
    same = [p for i, p in enumerate(conf_files) if i not in (FLEET_DRIFT_VALUE, FLEET_DRIFT_EXTRA)]
    code, out, _ = run_cli(["fleet", *same, "--color", "never"], capsys)
    assert code == 0
    assert "all 18 nodes identical; ignored: " in out

    missing = str(tmp_path / "gone.conf")
    code, out, _ = run_cli(["fleet", *same, missing], capsys)
    assert code == 2  # incomplete
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
        text = fleet_node_conf(i).replace(
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
    repo = init_repo(tmp_path / "salt", {"aerospike/aerospike.conf": fleet_node_conf(0)})
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
        fleet_node_conf(0)
        .replace("node-id A001", "node-id {{ grains['node_id'] }}")
        .replace("proto-fd-max 15000", "{% if big %}\n    proto-fd-max 15000\n{% endif %}"),
        encoding="utf-8",
    )
    same = [p for i, p in enumerate(conf_files) if i not in (FLEET_DRIFT_VALUE, FLEET_DRIFT_EXTRA)]
    code, out, _ = run_cli(["fleet", *same, "--golden", str(template), "--color", "never"], capsys)
    assert code == 0, out
    assert "g1: no differences" in out
    template.write_text(
        fleet_node_conf(0)
        .replace("interval 150", "interval {{ hb }}")
        .replace("timeout 10", "timeout 20"),
        encoding="utf-8",
    )
    code, out, _ = run_cli(["fleet", *same, "--golden", str(template), "--color", "never"], capsys)
    assert code == 1
    # The golden's line is given with the golden's own file name, the group's with a member's.
    assert f"network.heartbeat.timeout: 20 ({template}:" in " ".join(out.split())
    assert "(golden:" not in out and "(g1:" not in out


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
        node = cluster.nodes[FLEET_RUNTIME_ONLY]
        async with InfoClient(node.host, node.port, timeout=5) as client:
            answer = await client.info(
                "set-config:context=namespace;namespace=test;nsup-period=300"
            )
            assert answer == "ok"
        await cluster.nodes[FLEET_DOWN].set_fault(refuse=True)

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
    assert code == 2  # drift, and one node down: incomplete
    doc = json.loads(out)
    assert doc["mode"] == "runtime"
    assert doc["summary"]["nodes"] == FLEET_N  # every peer found through peers-clear-std
    assert [u["name"] for u in doc["unreachable"]] == [name(cluster, FLEET_DOWN)]
    assert "refused" in doc["unreachable"][0]["error"]
    sizes = [g["size"] for g in doc["groups"]]
    assert sizes == [16, 1, 1, 1]
    odd = {g["members"][0] for g in doc["groups"][1:]}
    assert odd == {
        name(cluster, i) for i in (FLEET_DRIFT_VALUE, FLEET_DRIFT_EXTRA, FLEET_RUNTIME_ONLY)
    }
    params = {p["path"]: p["values"] for p in doc["parameters"]}
    assert set(params) == {
        "namespace[test].replication-factor",
        "namespace[test].default-ttl",
        "namespace[test].nsup-period",
    }
    assert params["namespace[test].nsup-period"][1]["nodes"] == [name(cluster, FLEET_RUNTIME_ONLY)]
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
    sources = [name(cluster, i) for i in range(FLEET_N)]
    code, out, _ = run_cli(["fleet", "--runtime", *sources, "--color", "never"], capsys)
    assert code == 2  # incomplete: one node is down (the drift is still reported)
    assert f"! {name(cluster, FLEET_DOWN)}: connection refused" in out
    assert "difference matrix (node × node" in out
    flat = " ".join(out.split())  # laid out for 80 columns: compare across line breaks
    assert (
        "drift: 4 groups, 3 parameters differ; incomplete: 1 unreachable (not compared); "
        "ignored: " in flat
    )
    # The healthy nodes alone, at runtime: identical.
    healthy = [
        s
        for i, s in enumerate(sources)
        if i not in (FLEET_DRIFT_VALUE, FLEET_DRIFT_EXTRA, FLEET_RUNTIME_ONLY, FLEET_DOWN)
    ]
    code, out, _ = run_cli(["fleet", *healthy, "--color", "never"], capsys)
    assert code == 0 and "all 16 nodes identical" in out
    code, _, err = run_cli(["fleet", "--runtime", "/etc/aerospike/aerospike.conf"], capsys)
    assert code == 2 and "--runtime compares running nodes" in err


def test_runtime_fleet_against_golden(drifted_cluster, tmp_path: Path) -> None:
    bg, cluster = drifted_cluster
    golden = tmp_path / "golden.conf"
    golden.write_text(fleet_node_conf(0), encoding="utf-8")
    options = FleetOptions(
        discover=name(cluster, 0), golden=str(golden), patterns=PEER_PATTERNS, timeout=3.0
    )
    report = bg.run(run_fleet(options))
    by_member = {g.members[0]: g for g in report.groups}
    results = {gr.group: gr.result for gr in report.golden_results}
    assert results[1].equal  # conf vs runtime semantics: defaults and logging 'any' are fine
    drifted = results[by_member[name(cluster, FLEET_DRIFT_VALUE)].id]
    assert [(d.path, d.left, d.right) for d in drifted.differences] == [
        ("namespace[test].replication-factor", "2", "3")
    ]
    runtime_only = results[by_member[name(cluster, FLEET_RUNTIME_ONLY)].id]
    assert [d.path for d in runtime_only.differences] == ["namespace[test].nsup-period"]
    doc = report_to_dict(report)
    assert doc["golden"]["differences"] == 3
    assert json.dumps(doc)  # serialisable


def test_discover_seed_down_is_exit_2(drifted_cluster, capsys) -> None:
    _bg, cluster = drifted_cluster
    code, _, err = run_cli(
        ["fleet", "--discover", name(cluster, FLEET_DOWN), "--timeout", "2"], capsys
    )
    assert code == 2 and "refused" in err


# --- sources as given: none, one, duplicates, a silent seed or node -------------------------------


def test_zero_one_and_duplicate_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_nodes(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["fleet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "SOURCE" in err
    code, out, _ = run_cli(["fleet", files[0], "--color", "never"], capsys)
    assert code == 0 and "1 node" in out
    # One file under two spellings is one node: counting it twice would fake a majority.
    code, _, err = run_cli(["fleet", "node1.conf", files[1], "./node1.conf"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "./node1.conf and node1.conf" in err
    assert source_identity("node1.conf") == source_identity(files[0])
    assert source_identity("aerospike://LOCALHOST:3000") == source_identity("aerospike://localhost")
    assert source_identity("http://h:9145/") == source_identity("http://H:9145")
    assert source_identity(f"{tmp_path}#a.conf@main") != source_identity(f"{tmp_path}#a.conf@v1")
    # Unreadable sources beside readable ones are findings (exit 2, incomplete, the others still
    # reported); all unreadable is exit 2 with one error line.
    code, out, _ = run_cli(["fleet", *files, "missing.conf", "--color", "never"], capsys)
    assert code == 2 and "missing.conf: no such file" in out
    code, _, err = run_cli(["fleet", "missing.conf", "gone.conf"], capsys)
    assert code == 2 and err.count("\n") == 1 and "no node could be read" in err


class SilentSeed:
    """A TCP listener that accepts and never answers: a hung node, or a firewall that eats
    packets after the handshake."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent_seed() -> Iterator[SilentSeed]:
    seed = SilentSeed()
    try:
        yield seed
    finally:
        seed.close()


def test_discover_from_a_seed_that_never_answers(
    silent_seed: SilentSeed, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was a TimeoutError traceback; now one line naming the seed, exit 2."""
    seed = f"aerospike://127.0.0.1:{silent_seed.port}"
    options = FleetOptions(discover=seed, login=NodeLogin(timeout=0.5), timeout=0.5)
    with pytest.raises(AscadError) as err:
        asyncio.run(run_fleet(options))
    assert f"127.0.0.1:{silent_seed.port}" in str(err.value)
    assert "did not answer 'peers-clear-std' within 0.5 s" in str(err.value)
    code, out, err_text = run_cli(["fleet", "--discover", seed, "--timeout", "0.5"], capsys)
    assert code == 2 and out == ""
    assert err_text.count("\n") == 1 and "Traceback" not in err_text


def test_a_silent_node_in_the_list_is_unreachable_not_a_hang(
    silent_seed: SilentSeed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_nodes(tmp_path, 2)
    agent = f"http://127.0.0.1:{silent_seed.port}"
    code, out, _ = run_cli(["fleet", *files, agent, "--timeout", "0.5", "--format", "json"], capsys)
    assert code == 2  # incomplete
    doc = json.loads(out)
    assert doc["complete"] is False
    assert (
        doc["unreachable"]
        == [{"name": agent, "node_id": None, "error": doc["unreachable"][0]["error"]}]
        and "0.5" in doc["unreachable"][0]["error"]
    )


def test_a_context_that_repeats_context_any_is_no_difference_between_nodes(tmp_path: Path) -> None:
    """`context any info` + `context misc info` is the same logging as `context any info` alone."""

    plain = "logging {\n    console {\n        context any info\n    }\n}\nnamespace t {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    extra = plain.replace("context any info\n", "context any info\n        context misc info\n")
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text(plain)
    b.write_text(extra)
    assert main(["fleet", str(a), str(b)]) == 0  # one group: the same logging

    b.write_text(extra.replace("context misc info", "context misc debug"))
    assert main(["fleet", str(a), str(b)]) == 1


def test_the_golden_is_the_reference_even_for_a_minority(
    conf_files: list[str], tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The golden says replication-factor 3, as one node has: that node's group is the one that
    matches, its value comes first and is marked, and the 18 others are the odd ones."""
    monkeypatch.setenv("COLUMNS", "4000")  # wide: this test reads content, not layout
    golden = tmp_path / "golden.conf"
    golden.write_text(Path(conf_files[FLEET_DRIFT_VALUE]).read_text(), encoding="utf-8")
    code, out, _ = run_cli(
        ["fleet", *conf_files, "--golden", str(golden), "--format", "json"], capsys
    )
    assert code == 1
    doc = json.loads(out)
    by_id = {g["id"]: g for g in doc["groups"]}
    assert [by_id[i]["golden"] for i in (1, 2, 3)] == [False, True, False]
    assert by_id[2]["members"] == [conf_files[FLEET_DRIFT_VALUE]]
    rf = {p["path"]: p for p in doc["parameters"]}["namespace[test].replication-factor"]
    assert [(v["value"], v["golden"], len(v["nodes"])) for v in rf["values"]] == [
        ("3", True, 1),
        ("2", False, 19),
    ]
    assert doc["golden"]["template"] is False

    code, out, _ = run_cli(
        ["fleet", *conf_files, "--golden", str(golden), "--color", "never"], capsys
    )
    lines = out.splitlines()
    assert any(ln.startswith("  g1 ") and ln.endswith("≠ golden") for ln in lines), out
    assert any(ln.startswith("  g2 ") and ln.endswith("= golden") for ln in lines), out
    at = lines.index("  ~ namespace[test].replication-factor")
    assert lines[at + 1].strip().startswith("3  g2 (1 node)") and lines[at + 1].endswith("(golden)")
    assert lines[at + 2].strip().startswith("2  g1 g3 (19 nodes)")
    assert "wildcard" not in out and "templated" not in out  # a plain file has no wildcards
    # coloured: the golden's value green, the group's red (never the golden's)
    code, out, _ = run_cli(
        ["fleet", *conf_files, "--golden", str(golden), "--color", "always"], capsys
    )
    assert "\x1b[32m3\x1b[0m" in out and "\x1b[31m2\x1b[0m" in out
    assert f"replication-factor: \x1b[32m3\x1b[0m ({golden}:" in out


def test_template_golden_says_how_many_values_were_not_checked(
    conf_files: list[str], tmp_path: Path, capsys
) -> None:
    template = tmp_path / "aerospike.conf.j2"
    template.write_text(
        fleet_node_conf(0).replace("replication-factor 2", "replication-factor {{ rf }}"),
        encoding="utf-8",
    )
    same = [p for i, p in enumerate(conf_files) if i not in (FLEET_DRIFT_VALUE, FLEET_DRIFT_EXTRA)]
    code, out, _ = run_cli(["fleet", *same, "--golden", str(template), "--color", "never"], capsys)
    assert code == 0, out
    assert "g1: no differences (2 values not checked: templated)" in out  # both namespaces
    code, out, _ = run_cli(
        ["fleet", *same, "--golden", str(template), "--color", "never", "-v"], capsys
    )
    assert "* namespace[test].replication-factor = 2 (templated)" in out
