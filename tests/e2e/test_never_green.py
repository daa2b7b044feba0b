"""A check that fails is never shown as passing: input that breaks a cycle, a bug, a cycle that
never finishes and a conf that is a pipe all give `warning` results with their reason, in the
status document, /metrics and a Riemann event; `ascad diff` gives one line and exit 2.
Also: inputs that once took quadratic time or blew the stack are refused or fast."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ascad.agent.daemon import Agent
from ascad.cli import main
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.lab.emulator import cluster as ec
from ascad.lab.riemann_sink import RiemannSink
from ascad.report.status import cycle_to_dict
from tests.helpers import AGENT_CONF, loop_settings

DEEP = "service {\n" + "".join(f"namespace n{i} {{\n" for i in range(1000)) + "}\n" * 1001


async def _cycle_with_sink(
    tmp: Path, prepare: Any = None, node_fault: dict[str, Any] | None = None
) -> tuple[Agent, Any, list[dict[str, Any]], float]:
    """One real cycle of a master agent (its node emulated from AGENT_CONF, a Riemann sink on
    loopback); ``prepare(agent)`` runs before it. Returns the agent, the cycle, the events the
    sink received and the cycle's wall time."""
    s = loop_settings(tmp, 0, tmp / "golden.conf", role="master")
    sink = RiemannSink(udp=False)
    await sink.start()
    s.riemann_host, s.riemann_port, s.riemann_transport = "127.0.0.1", sink.port, "tcp"
    nodes = [ec.load_node(str(AGENT_CONF), node_id="A1")]
    agent = Agent(s, serve=False)
    try:
        async with ec.running(nodes) as cluster:
            s.aerospike_address = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            if node_fault:
                await cluster.nodes[0].set_fault(**node_fault)
            if prepare is not None:
                prepare(agent)
            t0 = time.monotonic()
            cycle = await agent.run_cycle()
            took = time.monotonic() - t0
        events = await sink.wait_for(2, timeout=10)
    finally:
        await agent.stop()
        await sink.stop()
    return agent, cycle, events, took


def _assert_warned(agent: Agent, cycle: Any, events: list[dict[str, Any]], words: str) -> None:
    states = {c.check: c.state for c in cycle.checks}
    assert states == {"runtime": "warning", "golden": "warning"}, states
    assert all(words in (c.reason or "") for c in cycle.checks), [c.reason for c in cycle.checks]
    doc = cycle_to_dict(cycle)
    assert agent.status_doc == doc and doc["exit_code"] == 2
    assert {e["service"]: e["state"] for e in events} == {
        "ascad runtime": "warning",
        "ascad golden": "warning",
    }
    assert all(words in e["description"] for e in events)


def test_a_conf_nested_1000_deep_is_a_warning_with_its_line(tmp_path: Path) -> None:
    def deep(agent: Agent) -> None:
        Path(agent.settings.conf).write_text(DEEP)

    agent, cycle, events, _ = asyncio.run(asyncio.wait_for(_cycle_with_sink(tmp_path, deep), 60))
    where = f"{agent.settings.conf}:17:1: stanzas nested more than 16 deep"
    _assert_warned(agent, cycle, events, where)


def test_a_bug_in_the_cycle_is_a_warning_not_the_last_result(tmp_path: Path) -> None:
    """Fault injection (a bug cannot be made to happen otherwise): the node reader raises."""

    def broken(agent: Agent) -> None:
        async def read_local() -> Any:
            raise RuntimeError("boom")

        agent.runner.read_local = read_local  # type: ignore[method-assign]

    agent, cycle, events, _ = asyncio.run(asyncio.wait_for(_cycle_with_sink(tmp_path, broken), 60))
    _assert_warned(agent, cycle, events, "internal error: RuntimeError: boom")


def test_the_watchdog_ends_a_cycle_that_never_finishes(tmp_path: Path) -> None:
    """The node hangs and the agent's own timeout is long: the watchdog's limit ends the cycle."""

    def slow(agent: Agent) -> None:
        agent.settings.aerospike_timeout = 60.0
        agent.runner.settings.aerospike_timeout = 60.0
        agent.watchdog = 1.0

    agent, cycle, events, took = asyncio.run(
        asyncio.wait_for(_cycle_with_sink(tmp_path, slow, {"hang": True}), 60)
    )
    assert took < 10
    _assert_warned(agent, cycle, events, "did not finish within 1 s (watchdog")


def test_a_conf_replaced_by_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    def pipe(agent: Agent) -> None:
        conf = Path(agent.settings.conf)
        conf.unlink()
        os.mkfifo(conf)

    agent, cycle, events, took = asyncio.run(asyncio.wait_for(_cycle_with_sink(tmp_path, pipe), 60))
    assert took < 5  # not the 10 s a named pipe may be waited for on the command line
    _assert_warned(agent, cycle, events, "not a regular file (a pipe or a device); refused")


def test_diff_of_a_deeply_nested_conf_is_one_line_and_exit_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.conf"
    deep.write_text(DEEP)
    proc = subprocess.run(
        [sys.executable, "-m", "ascad", "diff", str(deep), str(AGENT_CONF)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        proc.stderr
        == f"ascad: {deep}:17:1: stanzas nested more than 16 deep; an aerospike.conf nests at most 4 (xdr > dc > namespace > …)\n"
    )


def test_an_internal_error_is_exit_2_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fault injection: the diff command raises something no stage foresaw."""
    import ascad.commands.diff as diff

    def bug(args: Any) -> int:
        raise RecursionError("x" * 5000)

    monkeypatch.setattr(diff, "run", bug)
    assert main(["diff", "a", "b"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("ascad: internal error: RecursionError: xxx")
    assert "more characters) (please report it)" in err and len(err) < 1200


def test_many_context_any_lines_flatten_in_linear_time() -> None:
    """Was 14.6 s for 10,000 lines (each `context any` scanned every setting); now ~0.25 s."""
    lines = ["logging {", "    file /var/log/a.log {"]
    for i in range(5000):
        lines += ["        context any info", f"        context misc{i % 50} warning"]
    lines += ["    }", "}", "service {", *(f"    k{i} {i}" for i in range(5000)), "}"]
    t0 = time.perf_counter()
    flat = flatten(parse_text("\n".join(lines) + "\n", "ctx.conf"))
    assert time.perf_counter() - t0 < 10
    assert flat.settings["logging.file[/var/log/a.log].context[any]"].value == "info"
    assert flat.settings["logging.file[/var/log/a.log].context[misc49]"].value == "warning"


def test_a_huge_answer_from_the_node_gives_a_bounded_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 3 MB error value (under the 4 MiB reply limit) and a 10 MB reply (over it): one line of
    bounded length on stderr, and in an agent's reason; never the whole value."""
    from ascad.lab.emulator.server import EmulatorCluster
    from tests.helpers import DictHandler

    bad_build = DictHandler({"node": "A1"}, build="ERROR:" + "x" * 3_000_000)
    huge = DictHandler({"node": "A1", "logs": "0:" + "y" * 10_000_000})
    conf = str(AGENT_CONF)

    async def run() -> list[tuple[int, str]]:
        cluster = EmulatorCluster([bad_build, huge])
        await cluster.start()
        try:
            out = []
            for node in cluster.nodes:
                url = f"aerospike://127.0.0.1:{node.port}"
                rc = await asyncio.to_thread(main, ["diff", conf, url])
                out.append((rc, capsys.readouterr().err))
            return out
        finally:
            await cluster.stop()

    results = asyncio.run(asyncio.wait_for(run(), 60))
    for rc, err in results:
        assert rc == 2 and err.count("\n") == 1 and len(err) < 1600, err[:200]
    [(_, first), (_, second)] = results
    assert "more characters)" in first
    assert "over the 4194304-byte limit" in second
