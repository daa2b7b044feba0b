"""Start N emulated nodes from N conf files on loopback ports, with their peers wired.

Each :class:`~ascad.lab.emulator.node.EmulatedNode` is a handler of the wire server
(:class:`~ascad.lab.emulator.server.EmulatorCluster`); once the ports are bound, every node learns
its own address (``service-clear-std``) and the other nodes (``peers-clear-std``), as a real
cluster's nodes learn each other through heartbeats. A node's ``peers-clear-std`` never lists
itself (info-protocol-and-asadm.md section c).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Sequence

from ascad.lab.emulator.node import EmulatedNode, load_node
from ascad.lab.emulator.server import EmulatorCluster, Security, ServerTls


def load_nodes(
    confs: Sequence[str], *, build: str = "8.1.2.2", base_port: int = 0
) -> list[EmulatedNode]:
    """One node per conf file; ``base_port`` N gives ports N, N+1, … (0: any free port).

    Node ids are distinct, as in a real cluster: a conf given twice without its own ``node-id``
    gets an id per position (the id otherwise comes from the conf path and the port)."""
    nodes = []
    seen: set[str] = set()
    for i, path in enumerate(confs):
        port = (base_port + i) if base_port else None
        node = load_node(path, build=build, service_port=port)
        if node.node_id in seen:
            node = load_node(path, build=build, service_port=port, node_id=_position_id(path, i))
        seen.add(node.node_id)
        nodes.append(node)
    return nodes


def _position_id(path: str, index: int) -> str:
    return "BB9" + hashlib.sha1(f"{path}#{index}".encode()).hexdigest().upper()[:12]


def wire(cluster: EmulatorCluster, nodes: Sequence[EmulatedNode]) -> None:
    """Tell every node its bound address and the other nodes (call after the cluster started)."""
    bound = [
        (node.node_id, wire_node.host, wire_node.port)
        for node, wire_node in zip(nodes, cluster.nodes, strict=True)
    ]
    for i, node in enumerate(nodes):
        node.set_service(bound[i][1], bound[i][2])
        node.set_peers([b for j, b in enumerate(bound) if j != i])


async def start(
    nodes: Sequence[EmulatedNode],
    *,
    base_port: int = 0,
    security: Security | None = None,
    tls: ServerTls | None = None,
) -> EmulatorCluster:
    """Bind and start the nodes (ports ``base_port``+i, or free ones) and wire their peers.

    ``tls``: the nodes' ports speak TLS only (like a node whose clients use its tls-port).
    """
    ports = [base_port + i if base_port else 0 for i in range(len(nodes))]
    cluster = EmulatorCluster(list(nodes), security=security, tls=tls, ports=ports)
    await cluster.start()
    wire(cluster, nodes)
    return cluster


@contextlib.asynccontextmanager
async def running(
    nodes: Sequence[EmulatedNode],
    *,
    base_port: int = 0,
    security: Security | None = None,
    tls: ServerTls | None = None,
) -> AsyncIterator[EmulatorCluster]:
    """``async with running(nodes) as cluster:`` start (as :func:`start`), wire, yield, always
    stop."""
    cluster = await start(nodes, base_port=base_port, security=security, tls=tls)
    try:
        yield cluster
    finally:
        await cluster.stop()
