"""The master election rule (ascad.agent.roles): candidates ordered by node id, unreachable
masters skipped and named, static candidates."""

from __future__ import annotations

import asyncio

import pytest

from ascad.agent import roles
from ascad.errors import AscadError


def test_peers_candidates_are_ordered_by_hex_node_id() -> None:
    peers = "3,3000,[[BB9A,,[10.0.0.3]],[BB92,,[10.0.0.2:3100]],[BB9,,[::1]]]"
    cands = roles.peers_candidates("BB95", peers, "http://{host}:9145", {"BB92": "http://x:1/"})
    assert [c.node_id for c in cands] == ["BB9", "BB92", "BB95", "BB9A"]
    assert [c.url for c in cands] == [
        "http://[::1]:9145",
        "http://x:1",
        None,
        "http://10.0.0.3:9145",
    ]
    assert cands[2].is_self


def test_elect_skips_unreachable_and_says_so() -> None:
    cands = [
        roles.Candidate("A1", "http://a"),
        roles.Candidate("B2", None, is_self=True),
        roles.Candidate("C3", "http://c"),
    ]

    async def fetch(c: roles.Candidate) -> str:
        raise AscadError("cannot connect: refused", c.url)

    e = asyncio.run(roles.elect(cands, fetch))
    assert e.is_self and e.master.node_id == "B2"
    assert (
        e.fallback_note
        == "A1 http://a unreachable (cannot connect: refused); compared with self (B2)"
    )

    async def fetch_ok(c: roles.Candidate) -> str:
        if c.node_id == "A1":
            raise AscadError("HTTP 401", c.url)
        return "text"

    e = asyncio.run(roles.elect(cands, fetch_ok, self_first_ok=False))
    assert e.master.node_id == "C3" and e.value == "text"
    assert "A1 http://a unreachable (HTTP 401)" in (e.fallback_note or "")
    e = asyncio.run(roles.elect(cands[:1], fetch))
    assert e.master is None and e.fallback_note.endswith("compared with nobody")


def test_static_candidates() -> None:
    async def status(url: str) -> dict:
        if url == "http://down":
            raise AscadError("no answer", url)
        return {"node_id": {"http://a": "A1", "http://me": "B2"}[url]}

    cands, skipped = asyncio.run(
        roles.static_candidates("B2", ["http://me/", "http://down", "http://a"], status)
    )
    assert [(c.node_id, c.url, c.is_self) for c in cands] == [
        ("A1", "http://a", False),
        ("B2", None, True),
    ]
    assert [s.candidate.url for s in skipped] == ["http://down"]


@pytest.mark.parametrize(("a", "b"), [("FF", "100"), ("BB9", "bb90"), ("9", "A")])
def test_node_id_key_is_numeric(a: str, b: str) -> None:
    assert roles.node_id_key(a) < roles.node_id_key(b)
