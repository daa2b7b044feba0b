"""The emulator's wire behaviour seen through raw sockets, and the replay handler."""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path

import pytest

from ascad.errors import AscadError
from ascad.lab.emulator.replay import ReplayHandler, read_capture
from ascad.lab.emulator.server import EmulatorCluster, EmulatorNode, Security, version_tuple
from ascad.runtime import admin
from ascad.runtime.address import parse_peers
from ascad.runtime.info import InfoClient
from tests.helpers import DictHandler, run_cluster

RUNTIME = Path(__file__).parent / "fixtures" / "runtime"
EXPORTER = RUNTIME / "exporter-8.1.2.2"


class Raw:
    """A bare socket to one node: send bytes, read one whole message."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, node: EmulatorNode) -> Raw:
        return cls(*await asyncio.open_connection(node.host, node.port))

    async def exchange(self, data: bytes) -> bytes:
        """Send; return the whole reply (header included)."""
        self.writer.write(data)
        await self.writer.drain()
        header = await asyncio.wait_for(self.reader.readexactly(8), 5)
        size = admin.parse_proto_header(header)[2]
        return header + await asyncio.wait_for(self.reader.readexactly(size), 5)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def info_message(body: bytes) -> bytes:
    return admin.proto_header(admin.PROTO_TYPE_INFO, len(body)) + body


def test_exact_reply_bytes() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await Raw.open(cluster.nodes[0])
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
        raw = await Raw.open(cluster.nodes[0])
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
        raw = await Raw.open(cluster.nodes[0])
        assert (await raw.exchange(info_message(b"zz\nbuild\n")))[8:] == expected
        await raw.close()

    run_cluster(t, [DictHandler(build=build)])


def test_version_tuple() -> None:
    assert version_tuple("8.1.2.2") == (8, 1, 2, 2)
    assert version_tuple("7.1.0.0-rc1") == (7, 1, 0, 0)
    assert version_tuple(None) == (99,)


def test_empty_body_gives_summary() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await Raw.open(cluster.nodes[0])
        body = (await raw.exchange(info_message(b"")))[8:].decode()
        lines = dict(line.split("\t") for line in body.splitlines())
        assert lines["build"] == "8.1.2.2" and lines["node"] == cluster.nodes[0].node_id
        assert lines["cluster-name"] == "c9"
        await raw.close()

    run_cluster(t, [DictHandler()], cluster_name="c9")


def test_not_authenticated_has_no_echo() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        raw = await Raw.open(cluster.nodes[0])
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
        raw = await Raw.open(node)
        reply = await raw.exchange(login)
        assert reply[:2] == b"\x02\x02" and reply[9] == 0
        msg = admin.decode_admin(reply[8:])
        token = msg.fields[admin.SESSION_TOKEN]
        assert admin.session_ttl(msg.fields) == 120
        # the login socket is authenticated
        assert (await raw.exchange(info_message(b"build\n")))[8:] == b"build\t8.1.2.2\n"
        await raw.close()
        # a new socket authenticates with the token: the reply is asadm's "OK" bytes
        raw = await Raw.open(node)
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
        raw = await Raw.open(cluster.nodes[0])
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


def test_handler_answer_beats_topology() -> None:
    handler = ReplayHandler(EXPORTER)
    live = ReplayHandler(EXPORTER, live_topology=True)

    async def t(cluster: EmulatorCluster) -> None:
        assert cluster.nodes[0].answer("service-clear-std") == "172.17.0.4:3000"
        assert cluster.nodes[1].answer("service-clear-std") == f"127.0.0.1:{cluster.nodes[1].port}"

    run_cluster(t, [handler, live])


def test_stop_closes_everything() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        await node.set_fault(hang=True)
        raw = await Raw.open(node)
        raw.writer.write(info_message(b"build\n"))
        await raw.writer.drain()
        idle = await Raw.open(node)
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
        raw = await Raw.open(node)
        raw.writer.write(info_message(b"build\n"))
        header = await asyncio.wait_for(raw.reader.readexactly(8), 5)
        rest = await asyncio.wait_for(raw.reader.read(), 5)
        assert admin.parse_proto_header(header)[2] > len(rest)
        raw.writer.close()
        await node.set_fault(oversize=True)
        raw = await Raw.open(node)
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
        raw = await Raw.open(node)
        assert (await raw.exchange(info_message(b"build\n")))[8:] == b"build\t8.1.2.2\n"
        await raw.close()

    run_cluster(t, [DictHandler()])


# --- replay --------------------------------------------------------------------------------------


def test_replay_serves_captures_byte_for_byte() -> None:
    files = sorted(EXPORTER.glob("*.info"))
    handler = ReplayHandler(EXPORTER)
    assert len(handler.answers) == len(files) == 15

    async def t(cluster: EmulatorCluster) -> None:
        raw = await Raw.open(cluster.nodes[0])
        for path in files:
            command = read_capture(path)[0]
            reply = await raw.exchange(info_message(command.encode() + b"\n"))
            assert reply[8:] == path.read_bytes(), path.name
        # all of them in one request: the reply body is the files concatenated in request order
        commands = [read_capture(p)[0] for p in reversed(files)]
        reply = await raw.exchange(info_message("".join(c + "\n" for c in commands).encode()))
        assert reply[8:] == b"".join(p.read_bytes() for p in reversed(files))
        await raw.close()
        async with InfoClient("127.0.0.1", cluster.nodes[0].port, timeout=5) as c:
            got = await c.request(*commands)
        for path in files:
            command, value = read_capture(path)
            assert got[command] == value

    run_cluster(t, [handler])


def test_replay_old_server_drops_unknown() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with InfoClient("127.0.0.1", cluster.nodes[0].port, timeout=5) as c:
            got = await c.request("build", "get-config:context=service", "services")
        assert got == {"build": "4.5.1.5", "get-config:context=service": None, "services": ""}

    run_cluster(t, [ReplayHandler(RUNTIME / "jdbc-4.5.1.5")])


def test_replay_overrides() -> None:
    h = ReplayHandler(EXPORTER, overrides={"build": "7.0.0.1", "cluster-name": None, "x": "1"})
    assert (h.answer("build"), h.answer("cluster-name"), h.answer("x")) == ("7.0.0.1", None, "1")


@pytest.mark.parametrize(
    "content", [b"no tab here\n", b"a\tb", b"a\tb\nc\td\n", b"\tvalue\n"], ids=str
)
def test_replay_rejects_malformed(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.info").write_bytes(content)
    with pytest.raises(AscadError) as exc:
        ReplayHandler(tmp_path)
    assert exc.value.where == f"{tmp_path / 'bad.info'}:1"


def test_replay_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(AscadError, match="not found"):
        ReplayHandler(tmp_path / "nope")


def test_replay_duplicate_command(tmp_path: Path) -> None:
    (tmp_path / "a.info").write_bytes(b"build\t1\n")
    (tmp_path / "b.info").write_bytes(b"build\t2\n")
    with pytest.raises(AscadError, match="captured twice"):
        ReplayHandler(tmp_path)
