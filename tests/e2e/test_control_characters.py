"""Text from a node never drives the terminal: a running value holding ESC, BEL or CR is shown
escaped by `ascad diff` and `ascad show`, and in the Riemann description built from it."""

from __future__ import annotations

import asyncio

import pytest

from ascad.cli import main
from ascad.lab.emulator.server import EmulatorCluster
from ascad.runtime.snapshot import CMD_SERVICE
from tests.helpers import FIXTURES, DictHandler

CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
EVIL = "x\x1b[2J\x07\ry"  # clear screen, bell, carriage return


def _node() -> DictHandler:
    return DictHandler(
        {
            "node": "A1",
            "cluster-name": "c",
            "namespaces": "",
            "logs": "",
            CMD_SERVICE: f"proto-fd-max=15000;cluster-name={EVIL}",
        }
    )


@pytest.mark.parametrize("command", ["diff", "show"])
def test_a_value_with_control_characters_is_escaped(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def run() -> int:
        cluster = EmulatorCluster([_node()])
        await cluster.start()
        try:
            url = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            argv = ["diff", str(CONF), url] if command == "diff" else ["show", url]
            return await asyncio.to_thread(main, argv)
        finally:
            await cluster.stop()

    rc = asyncio.run(asyncio.wait_for(run(), 30))
    out, err = capsys.readouterr()
    assert rc in (0, 1), err
    assert "\x1b" not in out + err and "\x07" not in out + err and "\r" not in out + err
    assert "x\\x1b[2J\\x07\\ry" in out


def test_a_riemann_description_escapes_them_too() -> None:
    from ascad.checks.results import CheckResult, CycleResult
    from ascad.compare.diff import CHANGED, Difference
    from ascad.report.events import cycle_events

    d = Difference("service.cluster-name", CHANGED, "c", EVIL, 3, None)
    cycle = CycleResult(
        "n1", "A1", "master", "auto", "c", None, 1.7e9, 0.1,
        [CheckResult("runtime", "critical", [d], left="a.conf", right="aerospike://n1:3000")],
    )  # fmt: skip
    [event] = cycle_events(cycle, host="n1", ttl=60)
    assert "\x1b" not in event.description and "x\\x1b[2J\\x07\\ry" in event.description
