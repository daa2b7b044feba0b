"""An emulated cluster (ascad.lab.emulator.cluster): nodes wired as peers, seen over the wire."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from ascad.lab.emulator import cluster as emu_cluster
from tests.helpers import raw_info


def test_cluster_wires_peers_over_the_wire(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        p = tmp_path / f"n{i}.conf"
        p.write_text(
            f"service {{\n cluster-name c\n}}\nnamespace ns{i} {{\n storage-engine memory {{\n data-size 1G\n }}\n}}\n"
        )
        paths.append(str(p))

    async def main() -> None:
        nodes = emu_cluster.load_nodes(paths)
        async with emu_cluster.running(nodes) as cluster:
            for node, wire in zip(nodes, cluster.nodes, strict=True):
                got = await raw_info(
                    wire.port, ["node", "peers-clear-std", "service-clear-std", "namespaces"]
                )
                assert got["node"] == node.node_id
                assert got["service-clear-std"] == f"127.0.0.1:{wire.port}"
                listed = re.findall(r"\[([0-9A-F]+),,\[([^\]]+)\]\]", got["peers-clear-std"])
                others = {(n.node_id, f"127.0.0.1:{n.port}") for n in nodes if n is not node}
                assert set(listed) == others
                assert got["namespaces"] == f"ns{nodes.index(node)}"

    asyncio.run(asyncio.wait_for(main(), 20))
