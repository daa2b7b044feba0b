"""Conf-vs-runtime drift over the real info protocol: replayed real captures and emulated nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.pipeline import Comparison, Rules, compare_sources
from ascad.compare.diff import CHANGED, ONLY_LEFT, ONLY_RIGHT
from ascad.compare.drift import SET_AT_RUNTIME, drift
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.knowledge.table import table_or_none as table_for_build
from ascad.lab.emulator import cluster as emu
from ascad.lab.emulator.node import load_node
from ascad.lab.emulator.server import EmulatorCluster
from ascad.report.jsonout import comparison_to_dict
from ascad.runtime.info import InfoClient
from ascad.runtime.login import NodeLogin
from ascad.runtime.snapshot import RuntimeSnapshot, parse_kv
from ascad.sources.loader import LoadOptions
from tests.helpers import CONF_81, FIXTURES, info_on_first, line_of, replay

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
    # Found by tests/property/test_runtime_properties.py: `mtu 0` is the schema's default, the same
    # stored value as a silent conf, so the node prints its smallest interface MTU (facts c: the
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


# --- field captures: a 7.0 node and a 3.14 node (older than every schema) -----------------------

FIELD = {
    "exporter-7.0.0.0-rc4": "exporter-7.0.0.0-rc4.conf",
    "mgmtlib-3.14.1.1-reconstructed": "mgmtlib-3.14.1.1.conf",
}


def _service_with(capture: str, old: str, new: str) -> str:
    """The capture's service answer with one value changed (a set-config never written back)."""
    answer = replay(capture).answer("get-config:context=service") or ""
    assert old in answer
    return answer.replace(old, new)


@pytest.mark.parametrize("capture", sorted(FIELD))
def test_field_capture_with_its_conf_has_zero_drift(capture: str) -> None:
    out = asyncio.run(_diff(replay(capture), str(CONFS / FIELD[capture])))
    assert out.result.differences == [], out.result.differences
    older = capture.startswith("mgmtlib-3.14")
    kinds = [w["kind"] for w in doc(out).get("version_warnings", [])]
    assert kinds == (["older_than_table"] if older else [])


@pytest.mark.parametrize(
    ("capture", "old", "new", "path"),
    [
        (
            "exporter-7.0.0.0-rc4",
            "nsup-period 600",
            "nsup-period 700",
            "namespace[test].nsup-period",
        ),
        (
            "mgmtlib-3.14.1.1-reconstructed",
            "proto-fd-max 15000",
            "proto-fd-max 20000",
            "service.proto-fd-max",
        ),
    ],
)
def test_field_capture_one_conf_change_is_exactly_one_difference(
    capture: str, old: str, new: str, path: str, tmp_path: Path
) -> None:
    text = (CONFS / FIELD[capture]).read_text()
    assert old in text
    conf = tmp_path / "a.conf"
    conf.write_text(text.replace(old, new))
    out = asyncio.run(_diff(replay(capture), str(conf)))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left) == (path, CHANGED, new.split()[1])
    # a 3.14 node: restart flags are not assumed from the 4.0 schema
    assert (d.restart is None) == capture.startswith("mgmtlib-3.14")


def test_7_0_capture_one_runtime_change_is_exactly_one_set_at_runtime() -> None:
    capture = "exporter-7.0.0.0-rc4"
    service = _service_with(capture, "enable-health-check=false", "enable-health-check=true")
    handler = replay(capture, **{"get-config:context=service": service})
    out = asyncio.run(_diff(handler, str(CONFS / FIELD[capture])))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right) == (
        "service.enable-health-check",
        SET_AT_RUNTIME,
        "false",
        "true",
    )


def test_3_14_capture_one_runtime_change_is_exactly_one_and_no_default_is_assumed() -> None:
    capture = "mgmtlib-3.14.1.1-reconstructed"
    # 3.x defaults differ from the oldest schema's (read-consistency-level-override: the 3.14
    # node prints off, schema 4.0.0 says all; 4.9 had high-water-disk-pct 0 where 3.14 prints 50):
    # a value the conf does not set is not "set at runtime" on a node older than every schema
    namespace = replay(capture).answer("get-config:context=namespace;id=test") or ""
    assert "read-consistency-level-override=off" in namespace
    oldest = table_for_build("4.0.0.1")
    assert oldest is not None
    rclo = oldest.get("namespace[*].read-consistency-level-override")
    assert rclo is not None and rclo.default_canonical == "all"
    service = _service_with(capture, "proto-fd-max=15000", "proto-fd-max=16000")
    service = service.replace("migrate-threads=1", "migrate-threads=3")  # not in the conf
    handler = replay(capture, **{"get-config:context=service": service})
    out = asyncio.run(_diff(handler, str(CONFS / FIELD[capture])))
    [d] = out.result.differences
    assert (d.path, d.kind, d.left, d.right) == ("service.proto-fd-max", CHANGED, "15000", "16000")
    [w] = doc(out)["version_warnings"]
    assert w["build"].startswith("3.14.1.1") and "no default is assumed" in w["message"]


def test_3_14_old_xdr_digestlog_path_and_size_are_the_confs_one_line(tmp_path: Path) -> None:
    capture = "mgmtlib-3.14.1.1-reconstructed"
    xdr = replay(capture).answer("get-config:context=xdr") or ""
    xdr = xdr.replace(
        "xdr-digestlog-path=NULL;xdr-digestlog-size=0",
        "xdr-digestlog-path=/opt/aerospike/xdr/digestlog;xdr-digestlog-size=107374182400",
    )
    handler = replay(capture, **{"get-config:context=xdr": xdr})
    text = (CONFS / FIELD[capture]).read_text()
    conf = tmp_path / "x.conf"
    conf.write_text(text + "\nxdr {\n\txdr-digestlog-path /opt/aerospike/xdr/digestlog 100G\n}\n")
    out = asyncio.run(_diff(handler, str(conf)))
    assert out.result.differences == []
    conf.write_text(text + "\nxdr {\n\txdr-digestlog-path /opt/aerospike/xdr/digestlog 50G\n}\n")
    out = asyncio.run(_diff(handler, str(conf)))
    [d] = out.result.differences
    assert (d.path, d.kind) == ("xdr.xdr-digestlog-path", CHANGED)
    assert d.right == "/opt/aerospike/xdr/digestlog 107374182400"
