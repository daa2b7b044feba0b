"""The history store: findings per check across cycles, agent restarts and a writer killed
mid-write (a real subprocess, SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ascad.agent.daemon import Agent, build_events
from ascad.agent.history import HistoryStore, record_cycle
from ascad.checks.results import CRITICAL, OK, WARNING, CheckResult, CycleResult
from ascad.compare.diff import CHANGED, Difference
from ascad.lab.emulator import cluster as ec
from ascad.report.status import cycle_to_dict
from tests.helpers import AGENT_CONF, info_on_first, loop_settings, subprocess_env

T0 = 1_800_000_000.0


def diff(path: str, left: str = "1", right: str = "2") -> Difference:
    return Difference(path, CHANGED, left, right, 3, None)


def cycle(*checks: CheckResult) -> CycleResult:
    return CycleResult("n1", "A1", "master", "auto", "c", None, T0, 0.1, list(checks))


def runtime(*diffs: Difference, state: object = None) -> CheckResult:
    st = state or (CRITICAL if diffs else OK)
    return CheckResult("runtime", st, list(diffs))  # type: ignore[arg-type]


def test_first_seen_last_seen_resolved_and_changes(tmp_path: Path) -> None:
    with HistoryStore(str(tmp_path)) as store:
        a = store.record(cycle(runtime()), now=T0)
        assert a.checks[0].first_seen == "2027-01-15T08:00:00Z" and a.checks[0].changed
        b = store.record(cycle(runtime(diff("service.x"))), now=T0 + 60)
        rb = b.checks[0]
        assert rb.changed and rb.change == "ok -> critical; new: service.x"
        assert rb.first_seen == rb.last_seen == "2027-01-15T08:01:00Z"
        assert rb.differences[0].first_seen == "2027-01-15T08:01:00Z"
        c = store.record(cycle(runtime(diff("service.x"), diff("service.y"))), now=T0 + 120)
        rc = c.checks[0]
        assert rc.changed and rc.change == "new: service.y"
        assert rc.first_seen == "2027-01-15T08:01:00Z"  # critical since the first finding
        assert [d.first_seen for d in rc.differences] == [
            "2027-01-15T08:01:00Z",
            "2027-01-15T08:02:00Z",
        ]
        same = store.record(cycle(runtime(diff("service.x"), diff("service.y"))), now=T0 + 180)
        assert same.checks[0].changed is False and same.checks[0].change is None
        # a check that could not run resolves nothing
        w = store.record(cycle(CheckResult("runtime", WARNING, reason="down")), now=T0 + 200)
        assert w.checks[0].change == "critical -> warning"
        d = store.record(cycle(runtime(diff("service.y"))), now=T0 + 240)
        assert d.checks[0].change == "warning -> critical; resolved: service.x"
        assert d.checks[0].resolved == ["service.x"]
        # it comes back: a new row, the old one stays resolved
        store.record(cycle(runtime(diff("service.x"), diff("service.y"))), now=T0 + 300)
        rows = [(f.path, f.first_seen, f.resolved_at) for f in store.findings()]
        assert rows == [
            ("service.x", T0 + 300, None),
            ("service.y", T0 + 120, None),
            ("service.x", T0 + 60, T0 + 240),
        ]
        assert store.integrity() == "ok"
        mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
        sync = store.db.execute("PRAGMA synchronous").fetchone()[0]
        assert (mode, sync) == ("wal", 2)  # 2 = FULL


def test_history_survives_a_reopen(tmp_path: Path) -> None:
    with HistoryStore(str(tmp_path)) as store:
        store.record(cycle(runtime(diff("service.x"))), now=T0)
    with HistoryStore(str(tmp_path)) as store:
        again = store.record(cycle(runtime(diff("service.x"))), now=T0 + 3600)
    assert again.checks[0].first_seen == "2027-01-15T08:00:00Z"
    assert again.checks[0].differences[0].first_seen == "2027-01-15T08:00:00Z"
    assert again.checks[0].changed is False


def test_an_unusable_store_never_fails_the_cycle(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite").write_bytes(b"this is not a database" * 100)
    c = cycle(runtime(diff("service.x")))
    assert record_cycle(str(tmp_path), c) is c
    # `ascad check` without the agent's directory: no history, no directory made
    assert record_cycle(str(tmp_path / "missing"), c, keep=False) is c
    assert not (tmp_path / "missing").exists()
    # nor in an agent's directory that has no store yet: none is made
    (tmp_path / "fresh").mkdir()
    assert record_cycle(str(tmp_path / "fresh"), c, keep=False) is c
    assert not (tmp_path / "fresh" / "history.sqlite").exists()


def test_a_cycle_not_kept_reads_the_store_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    """`ascad check` beside a running agent: its report says what changed since the agent's last
    cycle, and the agent's next cycle still sees (and sends) that change itself."""
    with HistoryStore(str(tmp_path)) as store:
        store.record(cycle(runtime()), now=T0)
        seen = store.record(cycle(runtime(diff("service.x"))), now=T0 + 60, keep=False)
        assert seen.checks[0].changed is True
        assert seen.checks[0].change == "ok -> critical; new: service.x"
        assert store.findings() == []
        assert store.check_states() == [("runtime", "ok", T0, T0)]
        after = store.record(cycle(runtime(diff("service.x"))), now=T0 + 120)
    assert after.checks[0].changed is True
    assert after.checks[0].change == "ok -> critical; new: service.x"
    assert after.checks[0].first_seen == "2027-01-15T08:02:00Z"


WRITER = r"""
import sys, time
from ascad.agent.history import HistoryStore
from ascad.checks.results import CRITICAL, CheckResult, CycleResult
from ascad.compare.diff import CHANGED, Difference

store = HistoryStore(sys.argv[1])
i = 0
while True:
    diffs = [Difference(f"namespace[ns{i}].k{j}", CHANGED, "1", "2", j, None) for j in range(50)]
    check = CheckResult("runtime", CRITICAL, diffs)
    store.record(CycleResult("n1", "A1", "master", "auto", "c", None, 0.0, 0.0, [check]),
                 now=1e9 + i)
    i += 1
"""


@pytest.mark.parametrize("round_", range(3))
def test_a_writer_killed_mid_write_leaves_the_store_intact(tmp_path: Path, round_: int) -> None:
    """SIGKILL a real process in the middle of its writes (each cycle: 50 new findings, 50
    resolved, one transaction), at a different moment each round: the store opens, is intact,
    and holds whole cycles only."""
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(state)], env=subprocess_env(), cwd=Path.cwd()
    )
    try:
        deadline = time.monotonic() + 60
        cycles = 0
        while time.monotonic() < deadline and cycles < 20 + 7 * round_:
            time.sleep(0.05)
            try:
                with sqlite3.connect(state / "history.sqlite", timeout=5) as db:
                    cycles = db.execute("SELECT count(*) FROM cycles").fetchone()[0]
            except sqlite3.Error:
                cycles = 0
        assert cycles >= 20, "the writer did not get going"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore(str(state)) as store:
        assert store.integrity() == "ok"
        n_cycles, total = store.db.execute("SELECT count(*), sum(findings) FROM cycles").fetchone()
        rows = store.db.execute("SELECT count(*) FROM findings").fetchone()[0]
        open_ = store.db.execute(
            "SELECT count(*) FROM findings WHERE resolved_at IS NULL"
        ).fetchone()[0]
        assert n_cycles >= 20
        assert rows == total == 50 * n_cycles  # every committed cycle whole, nothing else
        assert open_ == 50  # the last committed cycle's findings, the older ones resolved
        # and it takes the next cycle
        store.record(cycle(runtime(diff("service.x"))), now=T0)
        assert store.integrity() == "ok"


def test_agent_restarts_keep_first_seen_in_status_and_events(tmp_path: Path) -> None:
    """Two agents one after the other on one state_dir (a restart) against an emulated node with
    a set-config never written back: first_seen stays; the second cycle is no state change."""

    async def one_cycle(port: int, serve: bool = True) -> tuple[dict[str, object], list[object]]:
        s = loop_settings(tmp_path, 0)
        s.aerospike_address = f"aerospike://127.0.0.1:{port}"
        agent = Agent(s, serve=serve)  # serve: the daemon (its server is not started)
        try:
            c = await agent.guarded_cycle()
        finally:
            await agent.stop()
        return cycle_to_dict(c), build_events(c, s)

    async def main() -> tuple[object, ...]:
        (tmp_path / "state").mkdir(exist_ok=True)
        nodes = [ec.load_node(str(tmp_path / "aerospike.conf"), node_id="A1")]
        async with ec.running(nodes) as cl:
            await info_on_first("set-config:context=service;proto-fd-max=20000", "ok")(cl)
            first = await one_cycle(cl.nodes[0].port)
            await one_cycle(cl.nodes[0].port, serve=False)  # `ascad check` between: not kept
            await asyncio.sleep(1.1)
            second = await one_cycle(cl.nodes[0].port)
        return first, second

    (tmp_path / "aerospike.conf").write_text(AGENT_CONF.read_text())
    (doc1, ev1), (doc2, ev2) = asyncio.run(asyncio.wait_for(main(), 60))
    r1 = next(c for c in doc1["checks"] if c["check"] == "runtime")  # type: ignore[attr-defined]
    r2 = next(c for c in doc2["checks"] if c["check"] == "runtime")  # type: ignore[attr-defined]
    assert r1["state"] == r2["state"] == "critical"
    assert r1["first_seen"] == r2["first_seen"] and r1["first_seen"] is not None
    assert r2["last_seen"] > r1["last_seen"]
    (d1,) = r1["differences"]
    (d2,) = r2["differences"]
    assert d1["path"] == "service.proto-fd-max"
    assert d1["first_seen"] == d2["first_seen"] == r1["first_seen"]
    assert r1["changed"] is True and r2["changed"] is False
    with HistoryStore(str(tmp_path / "state")) as store:  # the two daemon cycles only
        assert store.db.execute("SELECT count(*) FROM cycles").fetchone()[0] == 2

    def attrs(events: list[object]) -> dict[str, str]:
        e = next(e for e in events if e.service == "ascad runtime")  # type: ignore[attr-defined]
        return {a.key: a.value for a in e.attributes} | {"tags": ",".join(e.tags)}  # type: ignore[attr-defined]

    assert attrs(ev1)["changed"] == "true"
    assert attrs(ev2)["changed"] == "false"
    assert attrs(ev1)["tags"] == attrs(ev2)["tags"] == "ascad,aerospike"
    assert attrs(ev2)["since"] == r1["first_seen"]
