"""Aerospike's own Python client (PyPI ``aerospike``, C client inside) against the emulator.

A client nobody here wrote discovers the emulated cluster (node, peers, partition map), logs in,
and reads ``get-config:context=service`` through ``info_all`` and ``info_single_node``: it agrees
with the emulator's wire format. The commands it sent are listed in docs/info-protocol.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from ascad.lab.emulator.replay import ReplayHandler, read_capture
from ascad.lab.emulator.server import EmulatorCluster, Security
from tests.helpers import EXPORTER

aerospike = pytest.importorskip("aerospike")
exception = pytest.importorskip("aerospike.exception")

SERVICE = read_capture(EXPORTER / "get-config-service.info")[1]
# What the C client sends while connecting (logged from aerospike 19.3.0). Its periodic tend
# (every second) adds ``peers-generation``, which a short test may or may not see.
DISCOVERY = {"node", "partition-generation", "build", "peers-clear-std", "replicas"}


def with_cluster(nodes: int, body: Callable[[EmulatorCluster], Any], **kw: Any) -> Any:
    """Run the blocking official client in a thread while the emulator serves in this loop."""

    async def main() -> Any:
        handlers = [ReplayHandler(EXPORTER, live_topology=True) for _ in range(nodes)]
        async with EmulatorCluster(handlers, **kw) as cluster:
            result = await asyncio.wait_for(asyncio.to_thread(body, cluster), 60)
            return cluster, result

    return asyncio.run(main())


def connect(cluster: EmulatorCluster, **extra: Any) -> Any:
    node = cluster.nodes[0]
    config = {
        "hosts": [(node.host, node.port)],
        "timeout": 3000,
        "policies": {"info": {"timeout": 3000}},
        **extra,
    }
    return aerospike.client(config).connect()


def test_info_all_reads_get_config_from_every_node() -> None:
    def body(cluster: EmulatorCluster) -> Any:
        client = connect(cluster)
        try:
            return client.info_all("get-config:context=service")
        finally:
            client.close()

    cluster, result = with_cluster(3, body)
    assert set(result) == {n.node_id for n in cluster.nodes}  # found the peers itself
    for err, value in result.values():
        assert err is None
        assert value.rstrip("\n") == SERVICE
    for node in cluster.nodes:
        sent = set(node.commands)
        assert sent >= DISCOVERY | {"get-config:context=service"}
        for command in sent:  # every command it sent was one the emulator answers
            assert node.answer(command) is not None, command


def test_info_single_node_with_login() -> None:
    def body(cluster: EmulatorCluster) -> Any:
        client = connect(cluster, user="admin", password="secret")
        try:
            name = cluster.nodes[1].node_id
            return client.info_single_node("get-config:context=service", name)
        finally:
            client.close()

    cluster, result = with_cluster(2, body, security=Security({"admin": "secret"}))
    assert result == f"get-config:context=service\t{SERVICE}\n"
    assert all(node.logins >= 1 for node in cluster.nodes)


def test_wrong_password_is_refused() -> None:
    def body(cluster: EmulatorCluster) -> Any:
        with pytest.raises(exception.AerospikeError) as exc:
            connect(cluster, user="admin", password="wrong")
        return exc.value

    cluster, err = with_cluster(1, body, security=Security({"admin": "secret"}))
    assert (20, 62) in cluster.nodes[0].admin_results  # LOGIN answered "invalid password"
    assert err.code == 62  # the client passes the server's result code through
