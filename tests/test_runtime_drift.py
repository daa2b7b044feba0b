"""Conf-vs-runtime drift over the real info protocol: replayed real captures and emulated nodes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.pipeline import Comparison, Rules, compare_sources
from ascad.cli import main
from ascad.compare.diff import CHANGED, ONLY_LEFT, ONLY_RIGHT
from ascad.compare.drift import SET_AT_RUNTIME, drift
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.knowledge.table import table_or_none as table_for_build
from ascad.lab.emulator import cluster as emu
from ascad.lab.emulator.node import load_node
from ascad.lab.emulator.replay import ReplayHandler
from ascad.lab.emulator.server import EmulatorCluster
from ascad.report.jsonout import comparison_to_dict
from ascad.runtime.info import InfoClient
from ascad.runtime.login import NodeLogin
from ascad.runtime.snapshot import RuntimeSnapshot, kv_get, parse_kv
from ascad.sources.loader import LoadOptions
from tests.helpers import FIXTURES, cli_against_node, free_port, info_on_first, node_url

RUNTIME = FIXTURES / "runtime"
CONFS = FIXTURES / "runtime-confs"
OPTS = NodeLogin(timeout=5.0)


async def runtime_diff(
    left: str, right: str, load: LoadOptions, login: NodeLogin, ignore: list[str]
) -> Comparison:
    """``ascad diff LEFT RIGHT`` through the pipeline, as the command runs it."""
    return await compare_sources(left, right, load, login, Rules(ignore=tuple(ignore)))


def doc(out: Comparison) -> dict[str, Any]:
    """The comparison's ``ascad.diff/1`` document (what ``--format json`` prints)."""
    return comparison_to_dict(out)


def _service_node_id(directory: str, command: str) -> str:
    handler = ReplayHandler(RUNTIME / directory)
    return kv_get(parse_kv(handler.answer(command) or ""), "node-id") or "BB9000000000001"


def replay(directory: str) -> ReplayHandler:
    """A replay handler over one capture directory, with the few answers the capture lacks.

    The captures were taken by other tools and omit ``node`` (its value is the captured
    service's ``node-id``), and some trim the namespace list or answer ``sets`` for all
    namespaces; each override below says which real answer it is derived from.
    """
    if directory == "exporter-8.1.2.2":
        h = ReplayHandler(RUNTIME / directory)
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": _service_node_id(directory, "get-config:context=service"),
                # only these two namespaces' configs were kept in the split capture
                "namespaces": "test;employees_flash",
                "sets/test": h.answer("sets"),  # `sets` holds only namespace test's set
            },
        )
    if directory == "exporter-6.x":
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": _service_node_id(directory, "get-config:context=service"),
                "build": "6.3",  # full-captures/exporter-6.x: build=6.3
                "namespaces": "test",
                # full capture's xdr line, trimmed to the one dc whose config was split out
                "get-config:context=xdr": "dcs=backup_dc_asdev20;src-id=0;trace-sample=0",
            },
        )
    if directory == "jdbc-4.5.1.5":
        return ReplayHandler(
            RUNTIME / directory, overrides={"node": _service_node_id(directory, "get-config")}
        )
    if directory == "mgmtlib-6.4-excerpts":
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": "BB9060011AC4202",
                "build": "6.4.0.0",
                "namespaces": "test",
                # the excerpt lists dcs=DC1,DC2 but kept only DC1's config
                "get-config:context=xdr": "dcs=DC1;src-id=0;trace-sample=0",
            },
        )
    raise AssertionError(directory)


async def _diff(handler: object, conf: str, *, node_left: bool = False, ignore=()):
    async with EmulatorCluster([handler]) as cluster:
        spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
        left, right = (spec, conf) if node_left else (conf, spec)
        return await runtime_diff(left, right, LoadOptions(), OPTS, list(ignore))


CAPTURES = ["exporter-8.1.2.2", "exporter-6.x", "jdbc-4.5.1.5", "mgmtlib-6.4-excerpts"]


@pytest.mark.parametrize("capture", CAPTURES)
def test_real_capture_with_matching_conf_has_zero_drift(capture: str) -> None:
    conf = str(CONFS / f"{capture}.conf")
    out = asyncio.run(_diff(replay(capture), conf))
    assert out.result.differences == [], out.result.differences
    paths = {u["path"] for u in doc(out)["unverifiable"]}
    if capture != "mgmtlib-6.4-excerpts":
        assert "service.user" in paths and "service.group" in paths
    assert doc(out)["node"]["build"]


def test_8_1_capture_unverifiable_lists_mod_lua_and_missing_network() -> None:
    out = asyncio.run(_diff(replay("exporter-8.1.2.2"), str(CONFS / "exporter-8.1.2.2.conf")))
    by_path = {u["path"]: u for u in doc(out)["unverifiable"]}
    assert by_path["mod-lua"]["line"] == 38
    assert "get-config:context=network" in by_path["network"]["reason"]
    # the warnings carry the same, for the terminal
    assert any("mod-lua" in w["message"] for w in doc(out)["warnings"])


def test_capture_detects_a_changed_conf_value_with_its_line(tmp_path: Path) -> None:
    text = (CONFS / "exporter-8.1.2.2.conf").read_text()
    text = text.replace("proto-fd-max 15000", "proto-fd-max 20000")
    conf = tmp_path / "a.conf"
    conf.write_text(text)
    line = text.splitlines().index("    proto-fd-max 20000") + 1
    out = asyncio.run(_diff(replay("exporter-8.1.2.2"), str(conf)))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right, d.left_line) == (
        "service.proto-fd-max",
        CHANGED,
        "20000",
        "15000",
        line,
    )
    assert d.restart is False  # proto-fd-max is dynamic


def test_capture_logging_override_is_attributed_to_its_line(tmp_path: Path) -> None:
    text = (CONFS / "exporter-8.1.2.2.conf").read_text()
    text = text.replace("context any info", "context any info\n        context migrate debug")
    conf = tmp_path / "a.conf"
    conf.write_text(text)
    out = asyncio.run(_diff(replay("exporter-8.1.2.2"), str(conf)))
    [d] = out.result.differences
    assert d.path == "logging.file[/var/log/aerospike.log].context[migrate]"
    assert (d.left, d.right) == ("debug", "info")
    assert d.left_line == text.splitlines().index("        context migrate debug") + 1


# --- emulated nodes: set-config, log-set, namespaces ------------------------------------------

CONF_81 = str(CONFS / "exporter-8.1.2.2.conf")


def line_of(text: str, conf: str = CONF_81) -> int:
    """The 1-based line of the first line of ``conf`` that contains ``text``."""
    lines = Path(conf).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


async def _emulated(conf: str, action, *, node_left: bool = False, build: str = "8.1.2.2"):
    node = load_node(conf, build=build)
    async with emu.running([node]) as cluster:
        port = cluster.nodes[0].port
        if action is not None:
            await info_on_first(action, "ok")(cluster)
        spec = f"aerospike://127.0.0.1:{port}"
        left, right = (spec, conf) if node_left else (conf, spec)
        return await runtime_diff(left, right, LoadOptions(), OPTS, [])


def test_emulated_node_of_the_conf_has_zero_drift() -> None:
    out = asyncio.run(_emulated(CONF_81, None))
    assert out.result.differences == []


def test_set_config_of_a_conf_parameter_is_reported_at_its_line() -> None:
    out = asyncio.run(_emulated(CONF_81, "set-config:context=service;proto-fd-max=30000"))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right) == ("service.proto-fd-max", CHANGED, "15000", "30000")
    assert d.left_line == line_of("proto-fd-max")
    assert d.restart is False


def test_set_config_of_a_namespace_parameter() -> None:
    out = asyncio.run(
        _emulated(CONF_81, "set-config:context=namespace;namespace=test;default-ttl=3600")
    )
    [d] = out.result.differences
    assert (d.path, d.left, d.right, d.left_line) == (
        "namespace[test].default-ttl",
        "0",
        "3600",
        line_of("default-ttl 0"),
    )


def test_set_config_of_an_unset_parameter_is_set_at_runtime() -> None:
    out = asyncio.run(_emulated(CONF_81, "set-config:context=service;migrate-threads=4"))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right) == (
        "service.migrate-threads",
        SET_AT_RUNTIME,
        "1",
        "4",
    )
    assert d.left_line is None and d.restart is False


def test_restoring_the_default_clears_set_at_runtime() -> None:
    async def go():
        node = load_node(CONF_81, build="8.1.2.2")
        async with emu.running([node]) as cluster:
            port = cluster.nodes[0].port
            spec = f"aerospike://127.0.0.1:{port}"
            async with InfoClient("127.0.0.1", port, timeout=5) as client:
                await client.info("set-config:context=service;migrate-threads=4")
                first = await runtime_diff(CONF_81, spec, LoadOptions(), OPTS, [])
                await client.info("set-config:context=service;migrate-threads=1")
                second = await runtime_diff(CONF_81, spec, LoadOptions(), OPTS, [])
            return first, second

    first, second = asyncio.run(go())
    assert [d.kind for d in first.result.differences] == [SET_AT_RUNTIME]
    assert second.result.differences == []


def test_log_set_reports_that_context_at_the_any_line() -> None:
    out = asyncio.run(_emulated(CONF_81, "log-set:id=0;migrate=debug"))
    [d] = out.result.differences
    assert d.path == "logging.file[/var/log/aerospike.log].context[migrate]"
    assert (d.left, d.right, d.left_line) == ("info", "debug", line_of("context any info"))


def test_namespace_in_conf_not_on_node_is_one_difference(tmp_path: Path) -> None:
    text = Path(CONF_81).read_text()
    conf = tmp_path / "more.conf"
    conf.write_text(
        text + "\nnamespace extra {\n    replication-factor 2\n    storage-engine memory {\n"
        "        data-size 1G\n    }\n}\n"
    )
    line = len(text.splitlines()) + 2

    async def go():
        node = load_node(CONF_81, build="8.1.2.2")
        async with emu.running([node]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            fwd = await runtime_diff(str(conf), spec, LoadOptions(), OPTS, [])
            rev = await runtime_diff(spec, str(conf), LoadOptions(), OPTS, [])
            return fwd, rev

    fwd, rev = asyncio.run(go())
    [d] = fwd.result.differences
    assert (d.path, d.kind, d.left_line, d.stanza) == ("namespace[extra]", ONLY_LEFT, line, True)
    assert d.restart is True
    [r] = rev.result.differences
    assert (r.path, r.kind, r.right_line, r.left_line) == (
        "namespace[extra]",
        ONLY_RIGHT,
        line,
        None,
    )


def test_node_left_swaps_values() -> None:
    out = asyncio.run(
        _emulated(CONF_81, "set-config:context=service;proto-fd-max=30000", node_left=True)
    )
    [d] = out.result.differences
    assert (d.left, d.right, d.left_line, d.right_line) == (
        "30000",
        "15000",
        None,
        line_of("proto-fd-max"),
    )
    assert out.result.left.startswith("aerospike://")


def test_extra_seed_on_node_is_drift(tmp_path: Path) -> None:
    conf = tmp_path / "mesh.conf"
    conf.write_text(
        "service {\n    cluster-name c1\n}\n"
        "network {\n    heartbeat {\n        mode mesh\n        port 3002\n"
        "        mesh-seed-address-port 10.0.0.1 3002\n    }\n}\n"
        "namespace test {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    )
    node_conf = tmp_path / "node.conf"
    node_conf.write_text(
        conf.read_text().replace(
            "        mesh-seed-address-port 10.0.0.1 3002\n",
            "        mesh-seed-address-port 10.0.0.1 3002\n"
            "        mesh-seed-address-port 10.0.0.2 3002\n",
        )
    )

    async def go():
        node = load_node(str(node_conf), build="8.1.2.2")
        async with emu.running([node]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            return await runtime_diff(str(conf), spec, LoadOptions(), OPTS, [])

    out = asyncio.run(go())
    [d] = out.result.differences
    assert d.path == "network.heartbeat.mesh-seed-address-port[10.0.0.2:3002]"
    assert d.kind == ONLY_RIGHT and d.right == "10.0.0.2 3002"


def test_node_against_node_compares_runtime_flats() -> None:
    async def go():
        a = load_node(CONF_81, build="8.1.2.2")
        b = load_node(CONF_81, build="8.1.2.2")
        async with emu.running([a, b]) as cluster:
            pa, pb = cluster.nodes[0].port, cluster.nodes[1].port
            async with InfoClient("127.0.0.1", pb, timeout=5) as client:
                await client.info("set-config:context=service;proto-fd-max=30000")
                await client.info("set-config:context=service;migrate-threads=2")
            return await runtime_diff(
                f"aerospike://127.0.0.1:{pa}",
                f"aerospike://127.0.0.1:{pb}",
                LoadOptions(),
                OPTS,
                ["service.migrate-*"],
            )

    out = asyncio.run(go())
    [d] = out.result.differences
    assert (d.path, d.left, d.right) == ("service.proto-fd-max", "15000", "30000")
    assert out.result.ignored == ["service.migrate-threads"]


# --- the CLI ----------------------------------------------------------------------------------


def _cli_against_emulated(args_of, action=None) -> tuple[int, str]:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code, _ = cli_against_node(
            load_node(CONF_81, build="8.1.2.2"),
            lambda port: args_of(node_url(port)),
            setup=info_on_first(action) if action else None,
        )
    return code, buf.getvalue()


def test_cli_exit_0_when_equal() -> None:
    code, out = _cli_against_emulated(lambda spec: ["diff", CONF_81, spec])
    assert code == 0 and "no differences" in out


def test_cli_exit_1_and_json_with_line_and_restart() -> None:
    code, out = _cli_against_emulated(
        lambda spec: ["diff", spec, CONF_81, "--format", "json"],
        "set-config:context=service;proto-fd-max=30000",
    )
    assert code == 1
    doc = json.loads(out)
    [d] = doc["differences"]
    assert d["path"] == "service.proto-fd-max" and d["right_line"] == line_of("proto-fd-max")
    assert d["restart"] is False
    assert {u["path"] for u in doc["unverifiable"]} >= {"service.user", "mod-lua"}


def test_cli_exit_2_when_node_is_down(tmp_path: Path) -> None:
    port = free_port()
    code = main(["diff", CONF_81, f"aerospike://127.0.0.1:{port}", "--timeout", "2"])
    assert code == 2


# --- facts behind the sample-conf fixes ---------------------------------------------------------

CONF_64_DIM = """service {
    cluster-name dim
}
namespace dim {
    memory-size 1G
    storage-engine device {
        file /opt/aerospike/dim.dat
        filesize 1G
        data-in-memory true
%s    }
}
namespace dev {
    memory-size 1G
    storage-engine device {
        file /opt/aerospike/dev.dat
        filesize 1G
    }
}
"""


def test_data_in_memory_forces_post_write_queue_to_0(tmp_path: Path) -> None:
    # cfg.c sets post-write-queue to 0 for a data-in-memory namespace (the 6.x capture prints
    # data-in-memory=true with post-write-queue=0): not set at runtime, and a conf value is
    # overridden (unverifiable, never drift).
    silent = tmp_path / "silent.conf"
    silent.write_text(CONF_64_DIM % "")
    out = asyncio.run(_emulated(str(silent), None, build="6.4.0.1"))
    assert out.result.differences == []
    stated = tmp_path / "stated.conf"
    stated.write_text(CONF_64_DIM % "        post-write-queue 512\n")
    out = asyncio.run(_emulated(str(stated), None, build="6.4.0.1"))
    assert out.result.differences == []
    [u] = [u for u in doc(out)["unverifiable"] if "post-write-queue" in u["path"]]
    assert u["path"] == "namespace[dim].storage-engine.post-write-queue"
    assert "overrides" in u["reason"] and u["line"] == 10


def test_post_write_queue_0_without_data_in_memory_is_set_at_runtime(tmp_path: Path) -> None:
    conf = tmp_path / "dev.conf"
    conf.write_text(CONF_64_DIM % "")
    action = "set-config:context=namespace;id=dev;storage-engine.post-write-queue=0"
    out = asyncio.run(_emulated(str(conf), action, build="6.4.0.1"))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right) == (
        "namespace[dev].storage-engine.post-write-queue",
        SET_AT_RUNTIME,
        "256",
        "0",
    )


def test_engine_specific_default_is_compared_for_its_engine_only() -> None:
    snap = RuntimeSnapshot(
        address="127.0.0.1:3000",
        node_id="A",
        build="6.4.0.1",
        namespaces={
            "m": parse_kv("storage-engine=memory;storage-engine.post-write-queue=0"),
            "d": parse_kv("storage-engine=device;storage-engine.post-write-queue=0"),
        },
    )
    text = (
        "namespace m {\n storage-engine memory\n}\nnamespace d {\n storage-engine device {\n }\n}\n"
    )
    tree = parse_text(text, "e.conf")
    result, _ = drift(tree, flatten(tree), snap, table=table_for_build("6.4.0.1"))
    # post-write-queue is device-only: its default says nothing about a memory namespace.
    assert [(d.path, d.kind) for d in result.differences] == [
        ("namespace[d].storage-engine.post-write-queue", SET_AT_RUNTIME)
    ]


def test_ldap_role_query_pattern_is_unverifiable(tmp_path: Path) -> None:
    conf = tmp_path / "ldap.conf"
    conf.write_text(
        "service {\n    cluster-name l\n}\nnamespace test {\n    memory-size 1G\n"
        "    storage-engine memory\n}\nsecurity {\n    ldap {\n"
        "        query-base-dn dc=example,dc=org\n"
        "        role-query-pattern (&(objectClass=posixGroup)(memberUid=${un}))\n"
        "        server ldap://ldap.example.org:389\n    }\n}\n"
    )
    out = asyncio.run(_emulated(str(conf), None, build="6.4.0.1"))
    assert out.result.differences == []
    [u] = [u for u in doc(out)["unverifiable"] if "role-query-pattern" in u["path"]]
    assert u["line"] == 11 and "EE" in u["reason"]


def test_masking_context_is_known_from_8_1_1_only(tmp_path: Path) -> None:
    conf = tmp_path / "masking.conf"
    conf.write_text(
        "service {\n    cluster-name m\n}\nlogging {\n    console {\n        context any info\n"
        "        context masking debug\n    }\n}\nnamespace test {\n"
        "    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    )
    out = asyncio.run(_emulated(str(conf), None, build="8.1.2.0"))
    assert out.result.differences == []
    out = asyncio.run(_emulated(str(conf), None, build="8.1.0.1"))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.left_line) == (
        "logging.console.context[masking]",
        ONLY_LEFT,
        "debug",
        7,
    )
    assert "8.1.0.1" in d.note and "refuse" in d.note


def test_heartbeat_mtu_0_asks_for_the_interface_mtu(tmp_path: Path) -> None:
    # Found by tests/test_runtime_properties.py: `mtu 0` is the schema's default, the same stored
    # value as a silent conf, so the node prints its smallest interface MTU (facts c: the
    # effective MTU). Not drift: unverifiable. Any other value is compared as usual.
    text = (
        "network {\n    heartbeat {\n        mode mesh\n        port 3002\n"
        "        mtu %s\n    }\n}\nnamespace test {\n"
        "    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    )
    conf = tmp_path / "mtu.conf"
    conf.write_text(text % "0K")
    out = asyncio.run(_emulated(str(conf), None))
    assert out.result.differences == []
    [u] = [u for u in doc(out)["unverifiable"] if u["path"] == "network.heartbeat.mtu"]
    assert u["line"] == 5 and "derives" in u["reason"]
    conf.write_text(text % "9000")
    out = asyncio.run(_emulated(str(conf), "set-config:context=network;heartbeat.mtu=1400"))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right, d.left_line) == (
        "network.heartbeat.mtu",
        CHANGED,
        "9000",
        "1400",
        5,
    )
