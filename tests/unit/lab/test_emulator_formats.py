"""The emulator against the server's own formats (tests/fixtures/server-formats, transcribed from
aerospike-server 8.1.2.0): every info command Aerospike's admin tool sends for info, summary,
show config/pmap/udfs/statistics and health, on a 3-node cluster over real sockets, and the
admin protocol's QUERY_USERS / QUERY_ROLES."""

from __future__ import annotations

import asyncio
import base64
import re
import struct
from collections.abc import Awaitable, Callable

import pytest

from ascad.lab.emulator import cluster as ec
from ascad.lab.emulator.node import EmulatedNode
from ascad.lab.emulator.server import EmulatorCluster, Security, User
from ascad.runtime import admin
from ascad.runtime.address import parse_peers, parse_service
from ascad.runtime.info import InfoClient
from tests.helpers import FIXTURES

FORMATS = FIXTURES / "server-formats"
CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"


def lines(name: str) -> list[str]:
    return (FORMATS / name).read_text().splitlines()


def pairs(value: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (p.partition("=") for p in value.split(";") if p)]


def three(test: Callable[[EmulatorCluster, list[EmulatedNode]], Awaitable[None]]) -> None:
    """``test(cluster, nodes)`` on three wired nodes of CONF, bounded, always stopped."""
    nodes = ec.load_nodes([str(CONF)] * 3)

    async def go() -> None:
        async with ec.running(nodes) as cluster:
            await asyncio.wait_for(test(cluster, nodes), 30)

    asyncio.run(go())


async def ask(cluster: EmulatorCluster, i: int, *commands: str) -> dict[str, str | None]:
    node = cluster.nodes[i]
    async with InfoClient(node.host, node.port, timeout=5) as c:
        return await c.request(*commands)


def test_statistics_keys_in_the_servers_order_with_a_real_uptime() -> None:
    async def t(cluster: EmulatorCluster, nodes: list[EmulatedNode]) -> None:
        nodes[0].started -= 125  # the node has been up for two minutes
        stats = pairs((await ask(cluster, 0, "statistics"))["statistics"] or "")
        assert [k for k, _ in stats] == lines("statistics-keys.txt")
        got = dict(stats)
        assert 125 <= int(got["uptime"]) < 200
        ids = sorted((n.node_id for n in nodes), reverse=True)
        assert got["cluster_size"] == "3" and got["cluster_principal"] == ids[0]
        assert got["cluster_integrity"] == "true"
        # the same cluster key on every node
        keys = set()
        for i in range(3):
            keys.add(
                dict(pairs((await ask(cluster, i, "statistics"))["statistics"] or ""))[
                    "cluster_key"
                ]
            )
        assert len(keys) == 1

    three(t)


def test_identity_answers() -> None:
    node = EmulatedNode("service {\n}\n", source="a.conf", build="8.1.2.2")
    release = pairs(node.answer("release") or "")
    assert [k for k, _ in release] == lines("release-fields.txt")
    assert dict(release)["edition"] == "Aerospike Enterprise Edition"
    assert dict(release)["version"] == "8.1.2.2"
    assert node.answer("features") == lines("features.txt")[0]
    for line in lines("answers.txt"):
        if line.startswith("#"):
            continue
        command, _, value = line.partition("\t")
        assert node.answer(command) == value.replace("{BUILD}", "8.1.2.2"), command
    assert (
        EmulatedNode("service {\n}\n", source="a.conf", build="8.1.0.0").answer("release") is None
    )


def test_peers_services_and_generation_as_the_server_prints_them() -> None:
    async def t(cluster: EmulatorCluster, nodes: list[EmulatedNode]) -> None:
        gens = set()
        for i, wire in enumerate(cluster.nodes):
            got = await ask(cluster, i, "peers-clear-std", "peers-generation", "services")
            value = got["peers-clear-std"] or ""
            # the default port is the literal 3000, so every emulated port is written out
            assert value.startswith(f"{got['peers-generation']},3000,[")
            peers = parse_peers(value)
            others = {(o.host, o.port) for o in cluster.nodes if o is not wire}
            assert {p.endpoints[0] for p in peers.peers} == others
            assert all(f":{port}" in value for _h, port in others)
            assert set(parse_service(got["services"] or "")) == others
            gens.add(peers.generation)
        assert gens == {2}  # one change per peer, the same on every node

    three(t)


def test_stripes_and_replication_factor_are_the_same_on_every_node() -> None:
    async def t(cluster: EmulatorCluster, nodes: list[EmulatedNode]) -> None:
        configs = []
        for i in range(3):
            got = await ask(
                cluster, i, "get-config:context=namespace;namespace=test", "namespace/bar"
            )
            configs.append(got["get-config:context=namespace;namespace=test"])
            stats = dict(pairs(got["namespace/bar"] or ""))
            assert stats["effective_replication_factor"] == "2"
            assert stats["ns_cluster_size"] == "3"
        assert configs[0] == configs[1] == configs[2]
        stripes = [v for k, v in pairs(configs[0] or "") if k.startswith("storage-engine.stripe[")]
        # test is the first namespace of the conf: xmem_id 1
        assert stripes == [f"stripe-{i}.0x{0xAD001000 + i:x}" for i in range(8)]

    three(t)


def test_effective_replication_factor_is_at_most_the_cluster_size() -> None:
    node = EmulatedNode("namespace t {\n replication-factor 3\n}\n", source="a.conf")
    assert dict(pairs(node.answer("namespace/t") or ""))["effective_replication_factor"] == "1"
    node.set_peers([("A1", "127.0.0.1", 3001), ("A2", "127.0.0.1", 3002), ("A3", "h", 3003)])
    assert dict(pairs(node.answer("namespace/t") or ""))["effective_replication_factor"] == "3"


def test_partition_info_and_replicas_give_each_partition_its_copies() -> None:
    async def t(cluster: EmulatorCluster, nodes: list[EmulatedNode]) -> None:
        masters: dict[tuple[str, int], int] = {}
        copies: dict[tuple[str, int], int] = {}
        for i in range(3):
            got = await ask(cluster, i, "partition-info", "replicas")
            rows = (got["partition-info"] or "").split(";")
            assert rows[0] == lines("partition-info-header.txt")[0]
            assert len(rows) == 1 + 2 * 4096
            for row in rows[1:]:
                f = row.split(":")
                assert len(f) == 18
                ns, pid, state, replica = f[0], int(f[1]), f[2], int(f[4])
                assert state in ("S", "A") and (state == "S") == (replica >= 0)
                copies[(ns, pid)] = copies.get((ns, pid), 0) + (replica >= 0)
                if replica == 0:
                    masters[(ns, pid)] = masters.get((ns, pid), 0) + 1
                    assert re.fullmatch(r"[0-9a-f]{12}\.0\.m-p-", f[16])
            # replicas: per namespace REGIME,COUNT then one bitmap per position, master first
            for item in (got["replicas"] or "").split(";"):
                ns, _, rest = item.partition(":")
                regime, count, *maps = rest.split(",")
                assert (regime, count, len(maps)) == ("0", "2", 2)
                master = base64.b64decode(maps[0])
                for pid in range(4096):
                    if master[pid >> 3] & (0x80 >> (pid & 7)):
                        assert (ns, pid) in masters
        assert set(masters.values()) == {1} and len(masters) == 2 * 4096
        assert set(copies.values()) == {2}

    three(t)


def test_latencies_in_the_servers_shape() -> None:
    node = EmulatedNode("namespace a {\n}\nnamespace b {\n}\n", source="a.conf")
    entries = (node.answer("latencies:") or "").split(";")
    assert entries[-1] == ""  # every histogram ends with ';'
    names = [e.partition(":")[0] for e in entries[:-1]]
    ns_hists = lines("latencies-namespace-histograms.txt")
    assert names == ["batch-index"] + [f"{{{ns}}}-{h}" for ns in "ab" for h in ns_hists]
    example = lines("latencies-example.txt")[0]
    shape = [len(x.split(",")) for x in (example, entries[1])]
    assert shape[0] == shape[1] == 19 and entries[1].split(":")[1].startswith("msec,")
    assert node.answer("latencies:hist={a}-write") == entries[2] + ";"
    assert node.answer("latencies:hist={z}-write") == "ERROR:4:bad hist name"


def test_racks_roster_rack_ids() -> None:
    ap = EmulatedNode("namespace a {\n rack-id 2\n}\n", source="a.conf", node_id="A1")
    ap.set_peers([("B2", "127.0.0.1", 3001)])
    assert ap.answer("racks:") == "ns=a:rack_2=B2,A1"
    assert ap.answer("racks:namespace=a") == "rack_2=B2,A1"
    assert ap.answer("rack-ids") == "a:2"
    assert ap.answer("roster:") == "ns=a:roster=null:pending_roster=null:observed_nodes=null"
    assert ap.answer("roster:namespace=x") == "ERROR:20:namespace not found on node"
    sc = EmulatedNode("namespace s {\n strong-consistency true\n}\n", source="s.conf", node_id="A1")
    assert sc.answer("roster:namespace=s") == "roster=A1:pending_roster=A1:observed_nodes=A1"


def test_xdr_stats() -> None:
    text = "namespace n {\n}\nxdr {\n dc d1 {\n  namespace n {\n  }\n }\n}\n"
    node = EmulatedNode(text, source="x.conf")
    dc = dict(pairs(node.answer("get-stats:context=xdr;dc=d1") or ""))
    assert {"success", "retry_conn_reset", "retry_dest", "recoveries_pending", "lag"} <= set(dc)
    assert {"latency_ms", "throughput"} <= set(dc)
    assert "lag" in dict(pairs(node.answer("get-stats:context=xdr;dc=d1;namespace=n") or ""))
    assert node.answer("get-stats:context=xdr;dc=nope") == "ERROR:4:DC not found"
    assert node.answer("get-stats:context=nope") == "ERROR:4:unknown context"


# --- QUERY_USERS / QUERY_ROLES -------------------------------------------------------------------


async def _admin_exchange(port: int, messages: list[bytes]) -> list[list[admin.AdminMessage]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    try:
        for message in messages:
            writer.write(message)
            await writer.drain()
            header = await reader.readexactly(8)
            _v, kind, size = admin.parse_proto_header(header)
            assert kind == admin.PROTO_TYPE_SECURITY
            out.append(admin.decode_records(await reader.readexactly(size)))
    finally:
        writer.close()
    return out


def _roles(data: bytes) -> list[str]:
    names, pos = [], 1
    for _ in range(data[0]):
        n = data[pos]
        names.append(data[pos + 1 : pos + 1 + n].decode())
        pos += 1 + n
    return names


@pytest.mark.parametrize("secured", [True, False])
def test_query_users_and_roles(secured: bool) -> None:
    security = Security(
        {"admin": User("pw", roles=("sys-admin", "user-admin")), "app": "x"},
        roles={"ops": ["read.test", "write.test.s1"]},
    )

    async def go() -> None:
        nodes = ec.load_nodes([str(CONF)])
        async with ec.running(nodes, security=security if secured else None) as cluster:
            port = cluster.nodes[0].port
            if not secured:
                (reply,) = await _admin_exchange(port, [admin.query_request(admin.QUERY_USERS)])
                assert reply[0].result == admin.SECURITY_NOT_ENABLED
                return
            unauth = await _admin_exchange(port, [admin.query_request(admin.QUERY_USERS)])
            assert unauth[0][0].result == admin.NOT_AUTHENTICATED
            login, users, roles, one = await _admin_exchange(
                port,
                [
                    admin.login_request("admin", "pw"),
                    admin.query_request(admin.QUERY_USERS),
                    admin.query_request(admin.QUERY_ROLES),
                    admin.query_request(admin.QUERY_ROLES, "ops"),
                ],
            )
            assert login[0].result == admin.OK
            assert [r.result for r in users] == [0, 0, admin.QUERY_END]
            by_name = {r.fields[admin.USER].decode(): r for r in users[:-1]}
            assert _roles(by_name["admin"].fields[admin.ROLES]) == ["sys-admin", "user-admin"]
            assert _roles(by_name["app"].fields[admin.ROLES]) == ["read-write"]
            assert struct.unpack(">I", by_name["app"].fields[admin.CONNECTIONS])[0] == 0
            names = [r.fields[admin.ROLE].decode() for r in roles[:-1]]
            assert "read-write" in names and "ops" in names and roles[-1].result == 50
            (ops, end) = one
            assert end.result == admin.QUERY_END
            # PRIVILEGES: count 2; read(10) ns "test" set ""; write(13) ns "test" set "s1"
            assert ops.fields[admin.PRIVILEGES] == bytes(
                [2, 10, 4, *b"test", 0, 13, 4, *b"test", 2, *b"s1"]
            )

    asyncio.run(asyncio.wait_for(go(), 30))
