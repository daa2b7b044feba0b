"""Provenance, origin, acknowledgement and first_seen in JSON, text, the status document and
events (the keys the dashboard reads: docs/json-schema.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ascad.checks.results import CRITICAL, CheckResult, CycleResult
from ascad.compare.diff import CHANGED, Acknowledgement, CompareResult, Difference, Provenance
from ascad.report.events import cycle_events
from ascad.report.jsonout import difference_to_dict
from ascad.report.status import cycle_to_dict
from ascad.report.terminal import age, difference_line, render_differences

PROV = Provenance(
    "2026-12-01T10:02:44Z", "set-config:context=service;proto-fd-max=20000", "a.log:3"
)
ACK = Acknowledgement("service.*", "more clients", "b.toml:1", owner="alice", until="2026-12-31")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp()
D = Difference("service.proto-fd-max", CHANGED, "15000", "20000", 9, None, restart=False)


def test_json_keys_only_when_known() -> None:
    assert {"provenance", "origin", "acknowledged", "first_seen"}.isdisjoint(difference_to_dict(D))
    full = replace(
        D,
        provenance=PROV,
        origin="runtime",
        origin_note="n",
        acknowledged=ACK,
        first_seen="2026-11-28T10:00:00Z",
    )
    doc = difference_to_dict(full)
    assert doc["provenance"] == {
        "time": "2026-12-01T10:02:44Z",
        "command": "set-config:context=service;proto-fd-max=20000",
        "source": "a.log:3",
    }
    assert doc["origin"] == "runtime" and doc["origin_note"] == "n"
    assert doc["acknowledged"] == {
        "path": "service.*",
        "reason": "more clients",
        "source": "b.toml:1",
        "owner": "alice",
        "until": "2026-12-31",
    }
    assert doc["first_seen"] == "2026-11-28T10:00:00Z"


def test_text_and_event_lines() -> None:
    d = replace(D, provenance=PROV, origin="runtime", acknowledged=ACK)
    text = render_differences(CompareResult("a.conf", "node", [d]))
    assert (
        "      set by set-config:context=service;proto-fd-max=20000 at 2026-12-01T10:02:44Z "
        "(a.log:3)\n" in text
    )
    assert "      acknowledged until 2026-12-31, alice: more clients (b.toml:1)\n" in text
    assert "acknowledged (baseline): 1" in text
    line = difference_line(d, "a.conf", "node")
    assert line.endswith(
        "[dynamic]; changed at runtime by set-config:context=service;proto-fd-max=20000 at "
        "2026-12-01T10:02:44Z (acknowledged: more clients)"
    )
    f = replace(D, origin="file")
    assert "the file was edited after the server started" in difference_line(f, "a", "b")


def test_status_and_events_carry_the_history() -> None:
    d = replace(D, first_seen="2026-11-28T10:00:00Z")
    check = CheckResult(
        "runtime",
        CRITICAL,
        [d],
        finished=NOW,
        first_seen="2026-11-28T10:00:00Z",
        last_seen="2026-12-05T12:00:00Z",
        changed=False,
    )
    cycle = CycleResult("n1", "A1", "master", "auto", "c", None, NOW, 0.1, [check])
    (c,) = cycle_to_dict(cycle)["checks"]
    assert (c["first_seen"], c["last_seen"], c["changed"]) == (
        "2026-11-28T10:00:00Z",
        "2026-12-05T12:00:00Z",
        False,
    )
    assert c["differences"][0]["first_seen"] == "2026-11-28T10:00:00Z"
    (event,) = cycle_events(cycle, host="n1", ttl=60)
    attrs = {a.key: a.value for a in event.attributes}
    assert attrs["changed"] == "false" and attrs["since"] == "2026-11-28T10:00:00Z"
    assert "(since 7 days)" in event.description


def test_age() -> None:
    assert [age(s) for s in (0, 1, 59, 60, 7200, 3 * 86400 + 5)] == [
        "0 seconds",
        "1 second",
        "59 seconds",
        "1 minute",
        "2 hours",
        "3 days",
    ]
