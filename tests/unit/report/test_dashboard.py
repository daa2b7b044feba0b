"""The /ui/ page's view from status documents: states, filters, sorts, links to lines, and the
keys a newer status document adds (history, provenance, origin, acknowledgements) shown when
present and absent without error."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from ascad.report.dashboard import Filters, NodeStatus, build_view, node_label
from ascad.report.html import path_segments, render_dashboard, when


def check(name: str, state: str, diffs: list[dict[str, Any]] | None = None, **kw: Any) -> dict:
    diffs = diffs or []
    return {"check": name, "state": state, "count": len(diffs), "differences": diffs, **kw}


def diff(path: str, left: str = "1", right: str = "2", **kw: Any) -> dict[str, Any]:
    return {
        "path": path,
        "kind": "changed",
        "left": left,
        "right": right,
        "left_line": 4,
        "right_line": 7,
        "restart": False,
        **kw,
    }


def doc(node: str, node_id: str, *checks: dict[str, Any], role: str = "slave") -> dict[str, Any]:
    return {"node": node, "node_id": node_id, "role": role, "checks": list(checks)}


MASTER_URL = "http://127.0.0.1:9001"
NODES = [
    NodeStatus(
        "node1",
        "A1",
        None,
        doc("node1", "A1", check("runtime", "ok"), check("golden", "ok"), role="master"),
        is_self=True,
    ),
    NodeStatus(
        "node2",
        "B2",
        "http://127.0.0.1:9002",
        doc(
            "node2",
            "B2",
            check("runtime", "ok"),
            check(
                "peer",
                "critical",
                [diff("service.proto-fd-max"), diff("namespace[test].default-ttl")],
                right=f"{MASTER_URL}/v1/config",
            ),
        ),
    ),
    NodeStatus("node3", "C3", "http://127.0.0.1:9003", error="connection refused"),
    NodeStatus(
        "node4", "D4", "http://127.0.0.1:9004", doc("node4", "D4", check("peer", "warning"))
    ),
]
NODES[0].url = None


def test_states_counts_and_default_sort_worst_first() -> None:
    view = build_view(NODES, Filters())
    assert [n["state"] for n in view["nodes"]] == ["ok", "critical", "unreachable", "warning"]
    assert view["state"] == "critical"
    assert view["counts"] == {"critical": 1, "unreachable": 1, "warning": 1, "pending": 0, "ok": 1}
    assert [(r["node"], r["check"], r["state"]) for r in view["rows"]] == [
        ("node2", "peer", "critical"),
        ("node3", None, "unreachable"),
        ("node4", "peer", "warning"),
        ("node1", "golden", "ok"),
        ("node1", "runtime", "ok"),
        ("node2", "runtime", "ok"),
    ]
    assert view["rows"][1]["reason"] == "connection refused"
    assert node_label("node2", "B2") == "node2 (B2)" and node_label("B2", "B2") == "B2"


def test_filters_by_state_check_and_path() -> None:
    f = Filters.from_query({"state": "critical", "check": "peer", "path": "proto"})
    view = build_view(NODES, f)
    assert [(r["node"], r["check"]) for r in view["rows"]] == [("node2", "peer")]
    assert [d["path"] for d in view["differences"]] == ["service.proto-fd-max"]
    glob = build_view(NODES, Filters(path="namespace[[]test].*"))
    assert [d["path"] for d in glob["differences"]] == ["namespace[test].default-ttl"]
    assert build_view(NODES, Filters(state="unreachable"))["rows"][0]["node"] == "node3"
    # unknown values are dropped, never an error; a long path filter is cut
    bad = Filters.from_query({"state": "<x>", "check": "nope", "sort": "evil", "path": "p" * 999})
    assert (bad.state, bad.check, bad.sort, len(bad.path)) == ("", "", "state", 200)
    assert (
        Filters(state="ok", path="a b&c").query(state="critical")
        == "?state=critical&path=a%20b%26c"
    )


def test_sorts() -> None:
    by_count = build_view(NODES, Filters(sort="differences"))["rows"]
    assert (by_count[0]["node"], by_count[0]["count"]) == ("node2", 2)
    by_node = build_view(NODES, Filters(sort="node"))["rows"]
    assert [r["node"] for r in by_node] == ["node1", "node1", "node2", "node2", "node3", "node4"]


def test_differences_link_to_both_sides_lines() -> None:
    nodes = [*NODES]
    nodes[0] = NodeStatus("node1", "A1", MASTER_URL, NODES[0].doc, is_self=True)
    view = build_view(nodes, Filters())
    d = view["differences"][0]
    assert d["left_link"] == "conf?node=node2#L4"
    assert d["right_link"] == "conf?node=node1#L7"  # the peer check's other side is the master


def test_history_provenance_origin_ack_shown_when_present() -> None:
    rich = diff(
        "service.proto-fd-max",
        origin="runtime",
        acknowledged={"by": "ops", "reason": "load test"},
        first_seen="2026-11-30T10:00:00Z",
        provenance={
            "time": "2026-11-30T09:59:58Z",
            "command": "set-config:proto-fd-max=16000",
            "source": "aerospike.log:12",
        },
    )
    status = doc(
        "n1",
        "A1",
        check(
            "runtime", "critical", [rich], first_seen="2026-11-30T10:00:00Z", last_seen=1764631200.0
        ),
        role="master",
    )
    view = build_view([NodeStatus("n1", "A1", None, status, is_self=True)], Filters())
    assert view["rows"][0]["since"] == "2026-11-30T10:00:00Z"
    page = render_dashboard({**view, "refresh": 10.0})
    text = " ".join(Text.of(page).split())
    assert "since 2026-11-30 10:00:00 UTC" in text
    assert "acknowledged by ops" in text and "runtime" in text
    assert "set-config:proto-fd-max=16000 at 2026-11-30 09:59:58 UTC (aerospike.log:12)" in text
    # without those keys (a status document before they existed) the page renders all the same
    plain = build_view(NODES, Filters())
    assert "acknowledged" not in Text.of(render_dashboard({**plain, "refresh": 10.0}))


def test_page_escapes_and_has_no_inline_script() -> None:
    evil = '<img src=x onerror="alert(1)">'
    status = doc("n<1>", "A1", check("golden", "critical", [diff("service.x", evil, "<script>")]))
    view = build_view([NodeStatus("n<1>", "A1", None, status, is_self=True)], Filters(path=evil))
    page = render_dashboard({**view, "refresh": 10.0})
    assert evil not in page and "<script>" not in page.replace(
        '<script src="static/ascad.js" defer></script>', ""
    )
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "n&lt;1&gt;" in page


def test_path_segments_and_times() -> None:
    assert path_segments("namespace[a.b].storage-engine.write-block-size") == [
        "namespace[a.b].",
        "storage-engine.",
        "write-block-size",
    ]
    assert path_segments("x") == ["x"] and path_segments(None) == []
    assert when(0) == "" and when(None) == ""
    assert when(1764631200) == "2025-12-01 23:20:00 UTC"
    assert when("2026-12-01T23:20:00+01:00") == "2026-12-01 22:20:00 UTC"
    assert when("yesterday") == "yesterday"


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def of(cls, page: str) -> str:
        t = cls()
        t.feed(page)
        return "".join(t.parts)


def test_a_peers_odd_document_does_not_break_the_page() -> None:
    odd = {
        "node": 7,
        "checks": [
            "not a check",
            {
                "check": "peer",
                "state": "critical",
                "count": "2",
                "differences": [
                    {"path": None, "left_line": "4", "right_line": True, "restart": "yes"},
                    "nor a difference",
                    {"kind": "only_right", "right": 5, "acknowledged": True, "provenance": "text"},
                ],
            },
        ],
    }
    view = build_view([NodeStatus("7", None, "http://x", odd)], Filters())
    assert [d["path"] for d in view["differences"]] == ["", ""]
    assert view["differences"][0]["left_line"] is None and view["differences"][0]["restart"] is None
    assert view["rows"][0]["count"] is None
    page = render_dashboard({**view, "refresh": 10.0})
    assert "only in" in page and "acknowledged" in page
