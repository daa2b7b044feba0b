"""The Riemann protobuf schema (ascad.report.riemann_proto): field numbers and wire bytes."""

from __future__ import annotations

import struct

from ascad.report.riemann import frame
from ascad.report.riemann_proto import Event, Msg


def test_field_numbers_are_riemanns() -> None:
    numbers = {f.name: f.number for f in Event.DESCRIPTOR.fields}
    assert numbers == {
        "time": 1,
        "state": 2,
        "service": 3,
        "host": 4,
        "description": 5,
        "tags": 7,
        "ttl": 8,
        "attributes": 9,
        "time_micros": 10,
        "metric_sint64": 13,
        "metric_d": 14,
        "metric_f": 15,
    }
    assert {f.name: f.number for f in Msg.DESCRIPTOR.fields} == {
        "ok": 2,
        "error": 3,
        "states": 4,
        "query": 5,
        "events": 6,
    }


def test_wire_bytes_match_hand_encoding() -> None:
    # tag = field << 3 | wire type; sint64 is zigzag (-1 -> 1); ttl is a 32-bit float.
    assert Event(host="h").SerializeToString() == b"\x22\x01h"
    assert Event(metric_sint64=-1).SerializeToString() == b"\x68\x01"
    assert Event(ttl=1.0).SerializeToString() == b"\x45" + struct.pack("<f", 1.0)
    assert Event(metric_d=2.5).SerializeToString() == b"\x71" + struct.pack("<d", 2.5)
    assert Msg(ok=True).SerializeToString() == b"\x10\x01"
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
