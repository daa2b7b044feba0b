"""The replay handler (ascad.lab.emulator.replay): real captures served byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.errors import AscadError
from ascad.lab.emulator.replay import ReplayHandler, read_capture
from ascad.lab.emulator.server import EmulatorCluster
from ascad.runtime.info import InfoClient
from tests.helpers import EXPORTER, RUNTIME, RawSocket, info_message, run_cluster


def test_handler_answer_beats_topology() -> None:
    handler = ReplayHandler(EXPORTER)
    live = ReplayHandler(EXPORTER, live_topology=True)

    async def t(cluster: EmulatorCluster) -> None:
        assert cluster.nodes[0].answer("service-clear-std") == "172.17.0.4:3000"
        assert cluster.nodes[1].answer("service-clear-std") == f"127.0.0.1:{cluster.nodes[1].port}"

    run_cluster(t, [handler, live])


def test_replay_serves_captures_byte_for_byte() -> None:
    files = sorted(EXPORTER.glob("*.info"))
    handler = ReplayHandler(EXPORTER)
    assert len(handler.answers) == len(files) == 15

    async def t(cluster: EmulatorCluster) -> None:
        raw = await RawSocket.open(cluster.nodes[0])
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
