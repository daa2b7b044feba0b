"""The emulator's wire server (ascad.lab.emulator.server) seen through raw sockets."""

from __future__ import annotations

import asyncio
import base64
import struct

import pytest

from ascad.lab.emulator.server import EmulatorCluster, Security, version_tuple
from ascad.runtime import admin
from ascad.runtime.address import parse_peers
from ascad.runtime.info import InfoClient
from tests.helpers import RUNTIME, DictHandler, RawSocket, info_message, run_cluster


def test_exact_reply_bytes() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        reply = await raw.exchange(info_message(b"node\nbuild\n"))
        body = b"node\tBB9020011AC4202\nbuild\t8.1.2.2\n"
        assert reply == b"\x02\x01" + struct.pack(">Q", len(body))[2:] + body
        # text after the last LF is dropped; an empty line is skipped
        reply = await raw.exchange(info_message(b"build\n\nnode"))
        assert reply[8:] == b"build\t8.1.2.2\n"
        await raw.close()

    run_cluster(t, [DictHandler({"node": "BB9020011AC4202"})])


def test_echo_is_exact_and_in_order() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        reply = await raw.exchange(info_message(b"b;\na\nb;\n"))
        assert reply[8:] == b"b;\tB\na\tA\nb;\tB\n"
        await raw.close()

    run_cluster(t, [DictHandler({"a": "A", "b;": "B"})])


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        ("8.1.2.2", b"zz\tERROR:4:unrecognized command\nbuild\t8.1.2.2\n"),
        ("7.1.0.0", b"zz\tERROR:4:unrecognized command\nbuild\t7.1.0.0\n"),
        ("7.0.0.10", b"build\t7.0.0.10\n"),
        ("4.5.1.5", b"build\t4.5.1.5\n"),
    ],
)
def test_unknown_command_by_version(build: str, expected: bytes) -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        assert (await raw.exchange(info_message(b"zz\nbuild\n")))[8:] == expected
        await raw.close()

    run_cluster(t, [DictHandler(build=build)])


def test_version_tuple() -> None:
    assert version_tuple("8.1.2.2") == (8, 1, 2, 2)
    assert version_tuple("7.1.0.0-rc1") == (7, 1, 0, 0)
    assert version_tuple(None) == (99,)


def test_empty_body_gives_summary() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        body = (await raw.exchange(info_message(b"")))[8:].decode()
        lines = dict(line.split("\t") for line in body.splitlines())
        assert lines["build"] == "8.1.2.2" and lines["node"] == cluster.nodes[0].node_id
        assert lines["cluster-name"] == "c9"
        await raw.close()

    run_cluster(t, [DictHandler()], cluster_name="c9")


def test_not_authenticated_has_no_echo() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        reply = await raw.exchange(info_message(b"node\nbuild\n"))
        assert reply[8:] == b"ERROR:80:not authenticated\n"
        assert reply[:2] == b"\x02\x01"
        await raw.close()

    run_cluster(t, [DictHandler()], security=Security({"admin": "admin"}))


def test_admin_exchange_with_asadm_bytes() -> None:
    """asadm's exact LOGIN packet (version 0 header) works; the replies have the server's form."""
    text = (RUNTIME / "asadm-unit" / "admin-protocol-bytes.txt").read_text()
    hexes = [bytes.fromhex(line[4:]) for line in text.splitlines() if line.startswith("hex:")]
    login, auth_ok, unknown_user = hexes[0], hexes[4], hexes[5]

    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        raw = await RawSocket.open(node)
        reply = await raw.exchange(login)
        assert reply[:2] == b"\x02\x02" and reply[9] == 0
        msg = admin.decode_admin(reply[8:])
        token = msg.fields[admin.SESSION_TOKEN]
        assert admin.session_ttl(msg.fields) == 120
        # the login socket is authenticated
        assert (await raw.exchange(info_message(b"build\n")))[8:] == b"build\t8.1.2.2\n"
        await raw.close()
        # a new socket authenticates with the token: the reply is asadm's "OK" bytes
        raw = await RawSocket.open(node)
        assert await raw.exchange(admin.authenticate_request("admin", token, version=0)) == auth_ok
        assert (await raw.exchange(info_message(b"build\n")))[8:] == b"build\t8.1.2.2\n"
        # a token that was never issued: 65; an unknown user: asadm's result-60 bytes
        bogus = await raw.exchange(admin.authenticate_request("admin", b"x" * 64))
        assert bogus[9] == admin.INVALID_CREDENTIAL
        assert await raw.exchange(admin.login_request("nobody", "admin")) == unknown_user
        assert (await raw.exchange(admin.login_request("admin", "nope")))[9] == 62
        await raw.close()

    run_cluster(t, [DictHandler()], security=Security({"admin": "admin"}, session_ttl=120))


def test_admin_without_security_answers_52() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
        reply = await raw.exchange(admin.login_request("admin", "admin"))
        assert reply == admin.result_reply(admin.SECURITY_NOT_ENABLED)
        await raw.close()

    run_cluster(t, [DictHandler()])


def test_topology_of_three_nodes() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with InfoClient("127.0.0.1", cluster.nodes[0].port, timeout=2) as c:
            got = await c.request("peers-clear-std", "service-clear-std", "peers-generation")
        peers = parse_peers(got["peers-clear-std"] or "")
        others = cluster.nodes[1:]
        assert [p.node_id for p in peers.peers] == [n.node_id for n in others]
        assert [p.endpoints for p in peers.peers] == [[("127.0.0.1", n.port)] for n in others]
        assert got["service-clear-std"] == f"127.0.0.1:{cluster.nodes[0].port}"
        assert got["peers-generation"] == "1"
        assert len({n.node_id for n in cluster.nodes}) == 3

    run_cluster(t, [DictHandler() for _ in range(3)])


def test_replicas_cover_every_partition_once() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        owners = [0] * 4096
        for node in cluster.nodes:
            value = node.answer("replicas") or ""
            entries = value.split(";")
            assert [e.split(":")[0] for e in entries] == ["test", "bar"]
            bitmap = base64.b64decode(entries[0].split(",")[2])
            for p in range(4096):
                owners[p] += bool(bitmap[p >> 3] & (0x80 >> (p & 7)))
        assert set(owners) == {1}

    run_cluster(t, [DictHandler({"namespaces": "test;bar"}) for _ in range(3)])


def test_stop_closes_everything() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        await node.set_fault(hang=True)
        raw = await RawSocket.open(node)
        raw.writer.write(info_message(b"build\n"))
        await raw.writer.drain()
        idle = await RawSocket.open(node)
        await asyncio.sleep(0.05)
        assert node.open_connections == 2
        await cluster.stop()
        assert node.open_connections == 0
        assert await asyncio.wait_for(raw.reader.read(), 5) == b""  # the hung socket is closed
        assert await asyncio.wait_for(idle.reader.read(), 5) == b""
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(node.host, node.port)
        raw.writer.close()
        idle.writer.close()

    run_cluster(t, [DictHandler()])


def test_truncate_and_oversize_headers() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        await node.set_fault(truncate=True)
        raw = await RawSocket.open(node)
        raw.writer.write(info_message(b"build\n"))
        header = await asyncio.wait_for(raw.reader.readexactly(8), 5)
        rest = await asyncio.wait_for(raw.reader.read(), 5)
        assert admin.parse_proto_header(header)[2] > len(rest)
        raw.writer.close()
        await node.set_fault(oversize=True)
        raw = await RawSocket.open(node)
        raw.writer.write(info_message(b"build\n"))
        header = await asyncio.wait_for(raw.reader.readexactly(8), 5)
        assert admin.parse_proto_header(header)[2] > 128 * 1024 * 1024
        raw.writer.close()

    run_cluster(t, [DictHandler()])


def test_refuse_then_recover_same_port() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        port = node.port
        await node.set_fault(refuse=True)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(node.host, port)
        await node.set_fault()
        assert node.port == port
        raw = await RawSocket.open(node)
        assert (await raw.exchange(info_message(b"build\n")))[8:] == b"build\t8.1.2.2\n"
        await raw.close()

    run_cluster(t, [DictHandler()])
