"""The server log as a source of provenance: real line formats (tests/fixtures/serverlog/NOTES.md),
rotated and gzipped files, bounded reading of a large file."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from ascad.sources.serverlog import (
    LogScan,
    params_paths,
    parse_journal_entry,
    parse_line,
    rotated_files,
    scan_logs,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "serverlog"
MTIMES = {
    "aerospike.log": datetime(2026, 12, 1, 11, 47, tzinfo=UTC),
    "aerospike.log.1": datetime(2026, 11, 30, 22, 11, tzinfo=UTC),
    "aerospike.log.2.gz": datetime(2026, 11, 29, 22, 5, tzinfo=UTC),
}


def logs(tmp: Path) -> Path:
    for name, when in MTIMES.items():
        shutil.copy(FIXTURES / name, tmp / name)
        os.utime(tmp / name, (when.timestamp(), when.timestamp()))
    return tmp / "aerospike.log"


def test_set_config_line_in_the_servers_format() -> None:
    line = (
        b"Dec 01 2026 10:02:44 GMT: INFO (info): (cfg_info.c:914) set-config command completed:"
        b" params context=namespace;id=test;default-ttl=86400\n"
    )
    (change,) = parse_line(line, "a.log:5")
    assert change.path == "namespace[test].default-ttl"
    assert change.time == datetime(2026, 12, 1, 10, 2, 44, tzinfo=UTC)
    assert change.command == "set-config:context=namespace;id=test;default-ttl=86400"
    assert change.source == "a.log:5"


def test_millis_and_local_time() -> None:
    (a,) = parse_line(
        b"Nov 30 2026 22:11:00.456 GMT: INFO (info): (cfg_info.c:914) set-config command "
        b"completed: params context=service;proto-fd-max=16000",
        "x",
    )
    assert a.time == datetime(2026, 11, 30, 22, 11, 0, 456000, tzinfo=UTC)
    (b,) = parse_line(
        b"Nov 29 2026 23:00:00.000 GMT+0100: INFO (info): (cfg_info.c:914) set-config command "
        b"completed: params context=service;proto-fd-max=1",
        "x",
    )
    assert b.time == datetime(2026, 11, 29, 23, 0, tzinfo=timezone(timedelta(hours=1)))
    assert b.time.astimezone(UTC).hour == 22


def test_other_lines_are_no_change() -> None:
    assert (
        parse_line(b"Dec 01 2026 09:20:00 GMT: WARNING (info): (cfg_info.c:230) invalid", "x") == []
    )
    assert parse_line(b"set-config command completed: params context=service;x=1", "x") == []
    assert parse_line(b"garbage \xff\xfe", "x") == []


def test_params_to_paths() -> None:
    assert params_paths("context=service;proto-fd-max=20000") == [("service.proto-fd-max", "20000")]
    assert params_paths("context=network;heartbeat.interval=250") == [
        ("network.heartbeat.interval", "250")
    ]
    assert params_paths("context=namespace;namespace=test;set=s1;stop-writes-count=5") == [
        ("namespace[test].set[s1].stop-writes-count", "5")
    ]
    assert params_paths("context=namespace;id=test;storage-engine.defrag-lwm-pct=40") == [
        ("namespace[test].storage-engine.defrag-lwm-pct", "40")
    ]
    assert params_paths("context=xdr;dc=DC1;namespace=test;ship-only-specified-sets=true") == [
        ("xdr.dc[DC1].namespace[test].ship-only-specified-sets", "true")
    ]
    assert params_paths("context=security;ldap.polling-period=600") == [
        ("security.ldap.polling-period", "600")
    ]
    assert params_paths("context=bogus;x=1") == []


def test_last_line_per_path_wins_and_line_numbers(tmp_path: Path) -> None:
    live = logs(tmp_path)
    scan = scan_logs([str(live)])
    fd = scan.changes["service.proto-fd-max"]
    assert fd.command == "set-config:context=service;proto-fd-max=18000"
    assert fd.time == datetime(2026, 12, 1, 11, 45, 59, tzinfo=UTC)
    assert fd.source == f"{live}:7"
    assert scan.changes["namespace[test].default-ttl"].source == f"{live}:5"
    assert scan.changes["log-set[0].context[misc]"].command == "log-set:id=0;misc=detail"


def test_rotated_and_gzipped_files_are_read_newest_first(tmp_path: Path) -> None:
    live = logs(tmp_path)
    assert rotated_files(str(live)) == [
        str(live),
        str(tmp_path / "aerospike.log.1"),
        str(tmp_path / "aerospike.log.2.gz"),
    ]
    scan = scan_logs([str(live)])
    assert scan.sources == rotated_files(str(live))
    sw = scan.changes["namespace[test].set[s1].stop-writes-count"]
    assert sw.source == f"{tmp_path / 'aerospike.log.1'}:1"
    xdr = scan.changes["xdr.dc[DC1].namespace[test].ship-only-specified-sets"]
    assert xdr.source == f"{tmp_path / 'aerospike.log.2.gz'}:1"
    assert xdr.time.astimezone(UTC) == datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    # the newest file's line wins over the rotated one's for the same path
    assert scan.changes["service.proto-fd-max"].source.startswith(str(live))


def test_search_stops_when_every_wanted_path_is_found(tmp_path: Path) -> None:
    live = logs(tmp_path)
    scan = scan_logs([str(live)], want=["service.proto-fd-max"])
    assert scan.sources == [str(live)]  # the rotated files were not needed
    assert set(scan.changes) >= {"service.proto-fd-max"}
    assert "namespace[test].default-ttl" not in scan.changes


def test_missing_file_and_bad_gzip_are_notes(tmp_path: Path) -> None:
    (tmp_path / "bad.log.1.gz").write_bytes(b"not gzip")
    (tmp_path / "bad.log").write_bytes(b"")
    scan = scan_logs([str(tmp_path / "nope.log"), str(tmp_path / "bad.log")])
    assert scan.changes == {}
    assert any("nope.log: no such file" in n for n in scan.notes)
    assert any("bad.log.1.gz: cannot read" in n for n in scan.notes)


def test_a_huge_file_is_read_from_its_end_within_the_budget(tmp_path: Path) -> None:
    """A sparse 1 GiB log (no disk used) with the change in its last lines: only a bounded tail
    is read, and the line is found, its place given as a byte offset."""
    path = tmp_path / "aerospike.log"
    line = (
        b"Dec 01 2026 12:00:00 GMT: INFO (info): (cfg_info.c:914) set-config command completed:"
        b" params context=service;proto-fd-max=20000\n"
    )
    with open(path, "wb") as fh:
        fh.truncate(1 << 30)
        fh.seek(1 << 30)
        fh.write(b"\n" + line + b"Dec 01 2026 12:00:01 GMT: INFO (info): (ticker.c:1) x\n")
    budget = 8 << 20
    scan: LogScan = scan_logs([str(path)], want=["service.proto-fd-max"], budget=budget)
    change = scan.changes["service.proto-fd-max"]
    assert change.source == f"{path}@{(1 << 30) + 1}"
    assert scan.bytes_read <= 1 << 20  # found in the first chunk from the end
    # a path that is not there: the search reads the budget and no more
    scan = scan_logs([str(path)], want=["service.nope"], budget=budget)
    assert scan.bytes_read == budget
    assert "service.nope" not in scan.changes


def test_gzip_over_budget_is_skipped_with_a_note(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "a.log.1.gz", "wb") as fh:
        fh.write(b"x" * 100 + b"\n" * 10_000)
    (tmp_path / "a.log").write_bytes(b"")
    os.utime(tmp_path / "a.log.1.gz", (1, 1))
    scan = scan_logs([str(tmp_path / "a.log")], want=["service.x"], budget=1000)
    assert not scan.complete
    assert any("a.log.1.gz: not searched" in n for n in scan.notes)


def test_journal_entries() -> None:
    stamp = int(datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp() * 1_000_000)
    entry = {
        "MESSAGE": "INFO (info): (cfg_info.c:914) set-config command completed: params "
        "context=service;proto-fd-max=20000",
        "__REALTIME_TIMESTAMP": str(stamp),
    }
    (change,) = parse_journal_entry(json.dumps(entry), "aerospike")
    assert change.path == "service.proto-fd-max"
    assert change.time == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert change.source == "journal:aerospike"
    assert parse_journal_entry("{not json", "aerospike") == []
    assert parse_journal_entry(json.dumps({"MESSAGE": "x"}), "aerospike") == []


def test_lines_across_block_boundaries_are_found_whole(tmp_path: Path) -> None:
    """Lines crossing the 1 MiB read blocks (searched from the end) are cut out whole, at their
    right line numbers."""
    from ascad.sources.serverlog import CHUNK

    noise = b"Dec 01 2026 10:00:00 GMT: INFO (info): (ticker.c:1) noise\n"
    line = (
        b"Dec 01 2026 12:00:%02d GMT: INFO (info): (cfg_info.c:914) set-config command completed:"
        b" params context=service;key%d=1\n"
    )
    path = tmp_path / "a.log"
    out, lines, expect = bytearray(), 0, {}
    for i in range(40):
        # put change i so that it straddles a block boundary counted from the end
        while len(out) < (i + 1) * CHUNK // 2 - 30:
            out += noise
            lines += 1
        out += line % (i % 60, i)
        lines += 1
        expect[f"service.key{i}"] = lines
    out += noise * 3
    path.write_bytes(bytes(out))
    scan = scan_logs([str(path)], budget=len(out) + 1)
    assert {p: int(c.source.rsplit(":", 1)[1]) for p, c in scan.changes.items()} == expect
