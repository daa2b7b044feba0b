"""Every sample conf, loaded into an emulated node of its server version, shows zero drift."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from ascad.cli import main
from ascad.emulator.cluster import load_node, running
from tests.conftest import FIXTURES
from tests.test_validate import sample_versions


def build_of(version: str) -> str:
    """A four-part build for a SOURCES.md version (`8.1` -> `8.1.0.0`, `7.2.0.0-rc1` -> `7.2.0.0`)."""
    parts = re.findall(r"\d+", version.split("-")[0])
    return ".".join([*parts, "0", "0", "0", "0"][:4])


SAMPLES = sample_versions()


@pytest.mark.parametrize(("name", "version"), SAMPLES, ids=[n for n, _ in SAMPLES])
def test_sample_conf_in_emulator_has_zero_drift(
    name: str, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / "confs" / name
    node = load_node(str(path), build=build_of(version))

    async def run() -> int:
        async with running([node]) as cluster:
            port = cluster.nodes[0].port
            return await asyncio.to_thread(
                main, ["diff", "--format", "json", str(path), f"aerospike://127.0.0.1:{port}"]
            )

    rc = asyncio.run(run())
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [], doc["differences"]
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

    async def run() -> int:
        async with running([node]) as cluster:
            port = cluster.nodes[0].port
            return await asyncio.to_thread(
                main, ["diff", "--format", "json", str(path), f"aerospike://127.0.0.1:{port}"]
            )

    rc = asyncio.run(run())
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["differences"] == []
    # and an operator's set-config of a machine-dependent parameter is not "set at runtime" either:
    # its default is the machine's, which ascad cannot know.
    assert node.answer("set-config:context=service;service-threads=7") == "ok"

    async def again() -> int:
        async with running([node]) as cluster:
            port = cluster.nodes[0].port
            return await asyncio.to_thread(
                main, ["diff", "--format", "json", str(path), f"aerospike://127.0.0.1:{port}"]
            )

    assert asyncio.run(again()) == 0
    assert json.loads(capsys.readouterr().out)["differences"] == []
