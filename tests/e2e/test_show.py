"""`ascad show aerospike://…`: the running config as conf text that our parser reads back; over
every sample conf, its output is valid conf for the node's version and diffs against the same node
with zero differences (default and --all)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ascad.checks.validate import validate_tree
from ascad.cli import main
from ascad.commands.show import not_conf_reason, render_snapshot
from ascad.compare.drift import drift
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.knowledge.table import table_for
from ascad.knowledge.table import table_or_none as table_for_build
from ascad.lab.emulator.cluster import load_node, running
from ascad.lab.emulator.replay import ReplayHandler
from ascad.lab.emulator.server import EmulatorCluster
from ascad.runtime.login import NodeLogin, read_node
from ascad.runtime.snapshot import RuntimeSnapshot
from tests.helpers import (
    EXPECTED_ERRORS,
    FIXTURES,
    NO_STORAGE,
    build_of,
    call_with_emulated,
    cli_against_node,
    info_on_first,
    node_url,
    sample_versions,
)

T = TypeVar("T")

CONF_81 = str(FIXTURES / "runtime-confs" / "exporter-8.1.2.2.conf")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _with_node(fn: Callable[[str], T], *, action: str | None = None) -> T:
    """``fn(address)`` in a thread while an emulated node of CONF_81 serves (``action`` sent
    first)."""
    return call_with_emulated(
        [load_node(CONF_81, build="8.1.2.2")],
        lambda cluster: fn(node_url(cluster.nodes[0].port)),
        setup=info_on_first(action) if action else None,
    )


def test_show_prints_non_default_values_that_parse() -> None:
    code, out, _ = _with_node(lambda spec: _run(["show", spec]))
    assert code == 0
    tree = parse_text(out, "shown.conf")
    assert tree.root.find("namespace", "employees_flash") is not None
    assert "cluster-name as80_cluster_1" in out
    assert "mounts-budget 4G" in out  # sizes written with the conf's suffixes
    assert "context any info" in out
    assert "migrate-threads" not in out  # a default
    assert "service-threads" not in out  # machine-dependent
    assert " null" not in out


def test_show_all_includes_defaults_and_still_parses() -> None:
    code, out, _ = _with_node(lambda spec: _run(["show", spec, "--all"]))
    assert code == 0
    assert "migrate-threads 1" in out and "index-type shmem" in out
    parse_text(out, "all.conf")


def test_show_reflects_set_config_and_saved_output_has_zero_drift(tmp_path: Path) -> None:
    def both(spec: str):
        code, out, _ = _run(["show", spec])
        saved = tmp_path / "saved.conf"
        saved.write_text(out)
        return code, out, _run(["diff", str(saved), spec])

    code, out, (dcode, dout, _) = _with_node(
        both, action="set-config:context=service;migrate-threads=3"
    )
    assert code == 0 and "migrate-threads 3" in out
    assert dcode == 0, dout


def test_show_of_a_replayed_6_x_capture_uses_the_one_line_memory_engine() -> None:
    handler = ReplayHandler(
        FIXTURES / "runtime" / "exporter-6.x",
        overrides={"node": "BB9060011AC4202", "build": "6.3", "namespaces": "test"},
    )

    async def go():
        async with EmulatorCluster([handler]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            return await asyncio.to_thread(_run, ["show", spec])

    code, out, _ = asyncio.run(go())
    assert code == 0
    assert "    storage-engine memory\n" in out and "memory-size 4G" in out
    parse_text(out, "six.conf")


def test_show_of_a_missing_conf_is_an_error_naming_it() -> None:
    code, out, err = _run(["show", "some.conf"])
    assert code == 2 and out == "" and err.startswith("ascad: some.conf: ")


def test_show_refuses_a_template() -> None:
    template = FIXTURES / "templates" / "ansible-role-aerospike.conf.j2"
    code, _, err = _run(["show", str(template)])
    assert code == 2 and "a template: ascad show writes plain configs" in err


SAMPLES = sample_versions()


async def _snapshot(name: str, build: str) -> RuntimeSnapshot:
    node = load_node(str(FIXTURES / "confs" / name), build=build)
    async with running([node]) as cluster:
        spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
        return await asyncio.wait_for(read_node(spec, NodeLogin(timeout=5)), 30)


@pytest.mark.parametrize("show_all", [False, True], ids=["default", "all"])
@pytest.mark.parametrize(("name", "version"), SAMPLES, ids=[n for n, _ in SAMPLES])
def test_show_output_is_valid_conf_with_zero_drift(name: str, version: str, show_all: bool) -> None:
    build = build_of(version)
    snap = asyncio.run(_snapshot(name, build))
    text = render_snapshot(snap, show_all=show_all)
    tree = parse_text(text, "shown.conf")
    assert tree.root.children, text[:500]
    result, _unchecked = drift(tree, flatten(tree), snap, table=table_for_build(snap.build))
    assert [(d.path, d.kind, d.left, d.right) for d in result.differences] == []
    errors = [p for p in validate_tree(tree, build) if p.severity == "error"]
    # the SSD samples name no device (commented out, to be filled in): the node shows none either
    errors = [
        p for p in errors if not (name in EXPECTED_ERRORS and p.message.startswith(NO_STORAGE))
    ]
    assert [(p.line, p.message) for p in errors] == []


def test_runtime_only_and_obsolete_keys_are_listed_not_written() -> None:
    """A 6.4 node prints `downgrading` (no conf line sets it) and, with ldap, `enable-ldap` and
    `ldap-login-threads` (obsolete in the conf since 5.7: the server would refuse them)."""
    snap = asyncio.run(_snapshot("operator-cr-ldap.conf", "6.4.0.1"))
    assert ("downgrading", "false") in snap.service
    for show_all in (False, True):
        text = render_snapshot(snap, show_all=show_all)
        body = [line for line in text.splitlines() if not line.startswith("#")]
        assert not any("downgrading" in line or "enable-ldap" in line for line in body)
        assert not any("ldap-login-threads" in line for line in body)
        head = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        assert "service.downgrading=false: printed by the node, but no conf line sets it" in head
        assert "security.enable-ldap=true" in head and "obsolete in server 6.4.0.1" in head


def test_forced_runtime_value_is_left_out_of_all() -> None:
    """--all prints every value, but not mrt-duration 0 (an AP namespace prints it; the conf's
    range is 1-120, so the line would stop the server)."""
    snap = asyncio.run(_snapshot("server-8.1-dev.conf", "8.1.2.2"))
    text = render_snapshot(snap, show_all=True)
    assert "mrt-duration 0" not in text
    assert "namespace[test].mrt-duration=0, namespace[bar].mrt-duration=0: the server's own" in text
    assert "migrate-threads 1" in text  # defaults are still there


def test_not_conf_reason_keeps_keys_of_a_node_between_schemas() -> None:
    """6.3 sits between schemas 6.0 and 6.4: a key first in 6.4 that a 6.3 node prints is kept;
    the same key on a 6.0 node is not one of its parameters."""
    path = "namespace[test].set[s1].stop-writes-size"
    assert not_conf_reason(path, "6.3.0.6", table_for("6.3.0.6")) is None
    reason = not_conf_reason(path, "6.0.0.1", table_for("6.0.0.1"))
    assert reason is not None and "not a parameter of server 6.0.0.1" in reason
    assert not_conf_reason("service.proto-fd-max", "6.0.0.1", table_for("6.0.0.1")) is None


def test_show_cli_names_the_address_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    node = load_node(str(FIXTURES / "confs" / "server-8.1-dev.conf"), build="8.1.2.2")
    code, port = cli_against_node(node, lambda port: ["show", node_url(port)])
    spec = node_url(port)
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"# Running configuration of {spec}\n")
    assert "proto-fd-max 1024" in out


def test_saved_show_output_diffs_clean_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = load_node(str(FIXTURES / "confs" / "real-6.1-xdr-18ns.conf"), build="6.1.0.3")

    async def go() -> int:
        async with running([node]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            assert await asyncio.to_thread(main, ["show", spec]) == 0
            saved = tmp_path / "saved.conf"
            saved.write_text(capsys.readouterr().out)
            rc = await asyncio.to_thread(main, ["diff", "--format", "json", spec, str(saved)])
            return rc

    rc = asyncio.run(go())
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [] and rc == 0


@pytest.mark.parametrize("show_all", [False, True], ids=["default", "all"])
@pytest.mark.parametrize("capture", ["exporter-8.1.2.2", "exporter-6.x", "jdbc-4.5.1.5"])
def test_show_of_real_captures_is_valid_with_zero_drift(capture: str, show_all: bool) -> None:
    """The same over the real captured answers (replayed byte for byte). The 6.4 excerpts are
    left out: they hold only a few keys per context, not a node's whole configuration."""
    from ascad.lab.emulator.server import EmulatorCluster
    from tests.helpers import replay

    async def go() -> RuntimeSnapshot:
        async with EmulatorCluster([replay(capture)]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            return await asyncio.wait_for(read_node(spec, NodeLogin(timeout=5)), 30)

    snap = asyncio.run(go())
    text = render_snapshot(snap, show_all=show_all)
    tree = parse_text(text, "shown.conf")
    result, _ = drift(tree, flatten(tree), snap, table=table_for_build(snap.build))
    assert [(d.path, d.kind, d.left, d.right) for d in result.differences] == []
    errors = [p for p in validate_tree(tree, snap.build or "") if p.severity == "error"]
    assert [(p.line, p.message) for p in errors] == []
