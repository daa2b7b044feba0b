"""Baseline entries: parsing with lines, matching (globs, nodes, groups), active, expired and
unmatched entries."""

from __future__ import annotations

from datetime import date

import pytest

from ascad.checks.baseline import acknowledge, parse_baseline, unmatched
from ascad.compare.diff import CHANGED, Difference
from ascad.errors import AscadError

TEXT = """\
# known differences (kept in git)

[[ack]]
path = "namespace[*].default-ttl"   # every namespace
reason = "load test"
owner = "alice"
until = 2026-12-31

[[ack]]
path = "service.proto-fd-max"
reason = "A1 has more clients"
node = ["A1", "node-a*"]

[[ack]]
path = "network.heartbeat.interval"
reason = "old"
until = "2026-01-01"

[[ack]]
path = "xdr.*"
reason = "another cluster's"
group = "other"
"""

TTL = Difference("namespace[test].default-ttl", CHANGED, "0", "86400", 44, None)
FD = Difference("service.proto-fd-max", CHANGED, "15000", "20000", 9, None)
HB = Difference("network.heartbeat.interval", CHANGED, "150", "250", 20, None)


def test_entries_and_their_lines() -> None:
    b = parse_baseline(TEXT, "b.toml")
    assert [(e.path, e.line) for e in b.entries] == [
        ("namespace[*].default-ttl", 3),
        ("service.proto-fd-max", 9),
        ("network.heartbeat.interval", 14),
        ("xdr.*", 19),
    ]
    assert b.entries[0].until == date(2026, 12, 31)
    assert b.entries[2].until == date(2026, 1, 1)
    assert b.entries[1].nodes == ("A1", "node-a*")


def test_active_expired_and_unmatched() -> None:
    b = parse_baseline(TEXT, "b.toml")
    used: set[int] = set()
    ttl, fd, hb = acknowledge(
        [TTL, FD, HB],
        b,
        identities=["node-b", "B2"],
        group="cakery",
        today=date(2026, 12, 1),
        used=used,
    )
    assert ttl.acknowledged is not None
    assert ttl.acknowledged.reason == "load test" and ttl.acknowledged.source == "b.toml:3"
    assert ttl.acknowledged.until == "2026-12-31" and ttl.acknowledged.owner == "alice"
    assert fd.acknowledged is None  # another node's entry
    assert hb.acknowledged is None
    assert hb.note == "acknowledgement expired on 2026-01-01 (b.toml:14: old)"
    # the last day still holds; the day after it counts again
    (last,) = acknowledge([TTL], b, today=date(2026, 12, 31))
    (after,) = acknowledge([TTL], b, today=date(2027, 1, 1))
    assert last.acknowledged is not None and after.acknowledged is None
    # entries about other nodes or clusters are not this node's to warn about
    assert unmatched(b, used, ["node-b", "B2"], "cakery") == []
    assert unmatched(b, {0}, None) == [
        "b.toml:9: service.proto-fd-max",
        "b.toml:14: network.heartbeat.interval",
        "b.toml:19: xdr.*",
    ]


def test_node_and_group_filters() -> None:
    b = parse_baseline(TEXT, "b.toml")
    (fd,) = acknowledge([FD], b, identities=["node-a3"], today=date(2026, 12, 1))
    assert fd.acknowledged is not None and fd.acknowledged.node == "A1,node-a*"
    x = Difference("xdr.dc[DC1].period-ms", CHANGED, "1", "2", 1, None)
    assert acknowledge([x], b, group="cakery")[0].acknowledged is None
    assert acknowledge([x], b, group="other")[0].acknowledged is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[ack]]\npath = 1\n", "b.toml:1: an [[ack]] entry needs path"),
        ('\n\n[[ack]]\npath = "a"\n', "b.toml:3: [[ack]] a: needs reason"),
        ('[[ack]]\npath = "a"\nreason = "r"\nuntil = "soon"\n', "b.toml:1: until must be a date"),
        ('[[ack]]\npath = "a"\nreason = "r"\nwhy = 1\n', "b.toml:1: unknown key 'why'"),
        ("[[ack]\n", "b.toml: not valid TOML"),
        ("[other]\nx = 1\n", "b.toml: unknown table or key 'other'"),
    ],
)
def test_bad_entries_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(AscadError) as err:
        parse_baseline(text, "b.toml")
    assert str(err.value).startswith(message), str(err.value)
