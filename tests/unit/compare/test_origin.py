"""Origin of a runtime difference: each case (file older than the start, file edited after the
start, a set-config line present, before a restart, unknown)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ascad.compare.diff import CHANGED, Difference
from ascad.compare.origin import change_for, parse_uptime, with_origin
from ascad.sources.serverlog import LogChange

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
D = Difference("service.proto-fd-max", CHANGED, "15000", "20000", 9, None, restart=False)


def change(
    path: str = "service.proto-fd-max", at: datetime = START + timedelta(hours=1)
) -> LogChange:
    return LogChange(path, at, "set-config:context=service;proto-fd-max=20000", "a.log:3")


def test_file_older_than_the_start_is_runtime() -> None:
    (d,) = with_origin([D], {}, started=START, conf_mtime=START - timedelta(days=2))
    assert d.origin == "runtime"
    assert d.provenance is None
    assert "older than the server's start" in (d.origin_note or "")


def test_file_edited_after_the_start_is_file_and_says_the_restart() -> None:
    (d,) = with_origin([D], {}, started=START, conf_mtime=START + timedelta(minutes=5))
    assert d.origin == "file"
    assert "next restart, or now with set-config (dynamic)" in (d.origin_note or "")
    static = Difference("namespace[test].replication-factor", CHANGED, "2", "3", 1, None, True)
    (s,) = with_origin([static], {}, started=START, conf_mtime=START + timedelta(minutes=5))
    assert s.origin == "file"
    assert "a restart is needed" in (s.origin_note or "")


def test_a_set_config_line_after_the_start_is_runtime_with_provenance() -> None:
    # even when the file was edited after the start: the log line names the path
    (d,) = with_origin(
        [D], {D.path: change()}, started=START, conf_mtime=START + timedelta(hours=2)
    )
    assert d.origin == "runtime"
    assert d.provenance is not None
    assert d.provenance.time == "2026-12-01T09:00:00Z"
    assert d.provenance.command == "set-config:context=service;proto-fd-max=20000"
    assert d.provenance.source == "a.log:3"


def test_a_line_before_the_last_restart_is_no_provenance() -> None:
    old = change(at=START - timedelta(hours=1))
    (d,) = with_origin([D], {D.path: old}, started=START, conf_mtime=START - timedelta(days=1))
    assert d.provenance is None
    assert d.origin == "runtime"  # still: the file is older than the start


def test_unknown_without_uptime_or_mtime() -> None:
    (d,) = with_origin([D], {}, started=None, conf_mtime=START)
    assert d.origin == "unknown"
    (d,) = with_origin([D], {}, started=START, conf_mtime=None)
    assert d.origin == "unknown"
    # a log line is enough, even without the uptime
    (d,) = with_origin([D], {D.path: change()}, started=None, conf_mtime=None)
    assert d.origin == "runtime" and d.provenance is not None


def test_log_set_matches_the_sinks_context_and_any() -> None:
    sinks = {"0": "logging.file[/var/log/aerospike.log]"}
    path = "logging.file[/var/log/aerospike.log].context[misc]"
    misc = LogChange("log-set[0].context[misc]", START, "log-set:id=0;misc=detail", "a:1")
    any_ = LogChange(
        "log-set[0].context[any]", START + timedelta(1), "log-set:id=0;any=info", "a:2"
    )
    assert change_for(path, {misc.path: misc}, sinks) is misc
    assert change_for(path, {misc.path: misc, any_.path: any_}, sinks) is any_
    assert change_for(path, {"log-set[1].context[misc]": misc}, sinks) is None


def test_uptime() -> None:
    assert parse_uptime("cluster_size=3;uptime=3600;x=1") == 3600
    assert parse_uptime(None) is None
    assert parse_uptime("ERROR:4:nope") is None
    assert parse_uptime("uptime=abc") is None
