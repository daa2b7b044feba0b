"""`ascad history`: the findings of the agent's store, text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ascad.agent.history import HistoryStore
from ascad.checks.results import CRITICAL, OK, CheckResult, CycleResult
from ascad.compare.diff import CHANGED, Difference
from tests.helpers import run_cli

T0 = 1_800_000_000.0


def _store(state: Path) -> None:
    def cyc(check: CheckResult) -> CycleResult:
        return CycleResult("n1", "A1", "master", "auto", "c", None, T0, 0.1, [check])

    d = Difference("service.proto-fd-max", CHANGED, "15000", "20000", 9, None)
    e = Difference("namespace[test].default-ttl", CHANGED, "0", "86400", 44, None)
    with HistoryStore(str(state)) as store:
        store.record(cyc(CheckResult("runtime", CRITICAL, [d, e])), now=T0)
        store.record(cyc(CheckResult("runtime", CRITICAL, [e])), now=T0 + 3 * 86400)
        store.record(cyc(CheckResult("golden", OK)), now=T0 + 3 * 86400)


def test_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path)
    rc, out, _ = run_cli(["history", "--state-dir", str(tmp_path)], capsys)
    assert rc == 0
    assert "runtime: critical since 2027-01-15T08:00:00Z" in out
    assert "golden: ok since 2027-01-18T08:00:00Z" in out
    open_part, resolved = out.split("\nresolved\n")
    assert "namespace[test].default-ttl: 0 -> 86400 (first seen 2027-01-15T08:00:00Z" in open_part
    assert "service.proto-fd-max: 15000 -> 20000" in resolved
    assert "resolved 2027-01-18T08:00:00Z after 3 days" in resolved
    rc, out, _ = run_cli(["history", "--state-dir", str(tmp_path), "--open"], capsys)
    assert "proto-fd-max" not in out


def test_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path)
    rc, out, _ = run_cli(["history", "--state-dir", str(tmp_path), "--format", "json"], capsys)
    doc = json.loads(out)
    assert rc == 0 and doc["schema"] == "ascad.history/1"
    assert [(f["path"], f["resolved_at"]) for f in doc["findings"]] == [
        ("namespace[test].default-ttl", None),
        ("service.proto-fd-max", "2027-01-18T08:00:00Z"),
    ]


def test_no_history_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_cli(["history", "--state-dir", str(tmp_path / "none")], capsys)
    assert rc == 2
    assert (
        err
        == f"ascad: {tmp_path / 'none'}: no such directory (the agent makes it at its first cycle)\n"
    )
    (tmp_path / "empty").mkdir()
    rc, _, err = run_cli(["history", "--state-dir", str(tmp_path / "empty")], capsys)
    assert rc == 2
    assert (
        err == f"ascad: {tmp_path / 'empty'}: no history here (the agent has not run a cycle yet)\n"
    )
    assert list((tmp_path / "empty").iterdir()) == []  # reading made no store


def test_an_unknown_check_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(["history", "--state-dir", str(tmp_path), "--check", "bogus"], capsys)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus' (choose from 'runtime', 'golden', 'peer')" in err
