"""HTML reports: well-formed, self-contained, escaped, and saying what the JSON says."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ascad.cli import main
from tests.helpers import FIXTURES

BASE = (FIXTURES / "confs" / "server-8.1-default-systemd.conf").read_text()


class Page(HTMLParser):
    """Collects tags, table cells by table id, and anything that would load or run something."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "wbr", "col"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if (
            tag == "script"
            or any(k in a for k in ("src", "href"))
            or any(k.startswith("on") for k in a)
        ):
            self.external.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "table":
            self.table = a.get("id") or a.get("class") or "table"
            self.tables.setdefault(self.table, [])
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (
            f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        )
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None and self.table is not None:
            self.tables[self.table][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.stack == [], f"unclosed tags: {page.stack}"
    assert page.external == [], "the report must be self-contained and script-free"
    return page


def test_diff_html_matches_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = tmp_path / "a.conf"
    right = tmp_path / "b.conf"
    left.write_text(BASE)
    right.write_text(
        BASE.replace("proto-fd-max 15000", "proto-fd-max 16000").replace(
            "cluster-name cakery", "cluster-name <b>&co"
        )
    )
    assert main(["diff", "--format", "json", str(left), str(right)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert main(["diff", "--format", "html", str(left), str(right)]) == 1
    html = capsys.readouterr().out
    page = parse(html)
    rows = page.tables["differences"][1:]
    assert [(r[0], r[1]) for r in rows] == [
        (d["path"], d["kind"].replace("_", " ")) for d in doc["differences"]
    ]
    assert "<b>&co" not in html and "&lt;b&gt;&amp;co" in html  # conf values are text, never markup
    assert rows[0][2] == "15000 line 4" and rows[0][3] == "16000 line 4"


def test_fleet_html_shows_groups_matrix_parameters_unreachable_and_golden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for i in range(5):
        p = tmp_path / f"n{i}.conf"
        text = BASE if i != 3 else BASE.replace("replication-factor 2", "replication-factor 3", 1)
        p.write_text(text)
        files.append(str(p))
    missing = str(tmp_path / "gone.conf")
    golden = str(FIXTURES / "confs" / "server-8.1-default-systemd.conf")
    args = ["fleet", *files, missing, "--golden", golden]
    assert main([*args, "--format", "json"]) == 2  # incomplete: gone.conf
    doc = json.loads(capsys.readouterr().out)
    assert main([*args, "--format", "html"]) == 2
    page = parse(capsys.readouterr().out)
    assert [r[0] for r in page.tables["unreachable"][1:]] == [u["name"] for u in doc["unreachable"]]
    groups = page.tables["groups"][1:]
    assert [(r[0].split()[0], int(r[1])) for r in groups] == [
        (str(g["id"]), g["size"]) for g in doc["groups"]
    ]
    # the golden is the reference: the group that matches it says so (issue 13)
    assert [r[0].endswith("= golden") for r in groups] == [g["golden"] for g in doc["groups"]]
    matrix = page.tables["matrix"][1:]
    assert [[int(c) for c in r[1:]] for r in matrix] == doc["matrix"]["counts"]
    params = page.tables["parameters"][1:]
    assert params[0][0] == doc["parameters"][0]["path"]
    assert "golden" in " ".join(page.text).lower()
    golden_rows = page.tables["golden"]
    assert golden_rows[0][2:4] == ["golden", f"group {doc['golden']['groups'][1]['group']}"]
    assert golden_rows[1][:4] == ["namespace[test].replication-factor", "changed", "2 :46", "3 :46"]


def test_diff_html_names_the_sources_and_keeps_paths_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = tmp_path / "left-node.conf"
    right = tmp_path / "right-node.conf"
    left.write_text(BASE)
    right.write_text(
        BASE.replace("proto-fd-max 15000\n", "proto-fd-max 15000\n\tservice-threads 8\n")
    )
    assert main(["diff", "--format", "html", str(left), str(right)]) == 1
    html = capsys.readouterr().out
    page = parse(html)
    row = page.tables["differences"][1]
    assert row[0] == "service.service-threads" and row[1] == f"only in {right}"
    assert "only right" not in html and "only_right" not in html
    # a path breaks only between its segments, never at a hyphen; the widths are fixed
    assert '<span class="seg">service.</span><wbr><span class="seg">service-threads</span>' in html
    assert "table-layout: fixed" in html and '<col class="c-path">' in html


def test_fleet_html_names_nodes_by_id_and_shows_what_the_document_adds() -> None:
    from ascad.report.html import render_fleet_html

    doc = {
        "mode": "runtime",
        "clean": False,
        "summary": {
            "nodes": 2,
            "reachable": 2,
            "unreachable": 0,
            "groups": 2,
            "parameters": 0,
            "golden_differences": 0,
        },
        "nodes": [
            {
                "name": "aerospike://10.0.0.1:3000",
                "node_id": "A1",
                "reachable": True,
                "group": 1,
                "error": None,
                "seconds": 0.01,
            },
            {
                "name": "aerospike://10.0.0.2:3000",
                "node_id": "B2",
                "reachable": True,
                "group": 2,
                "error": None,
                "seconds": 0.02,
            },
        ],
        "groups": [
            {
                "id": 1,
                "fingerprint": "f" * 64,
                "size": 1,
                "members": ["aerospike://10.0.0.1:3000"],
                "golden": True,
            },
            {"id": 2, "fingerprint": "e" * 64, "size": 1, "members": ["aerospike://10.0.0.2:3000"]},
        ],
        "matrix": {"by": "group", "groups": [1, 2], "counts": [[0, 3], [3, 0]]},
        "parameters": [],
        "unreachable": [],
        "golden": None,
        "ignored": 0,
    }
    page = parse(render_fleet_html(doc))
    assert page.tables["nodes"][1][0] == "A1 aerospike://10.0.0.1:3000"
    assert page.tables["groups"][1][0] == "1 = golden" and page.tables["groups"][2][0] == "2"
    assert page.tables["groups"][2][3] == "B2 aerospike://10.0.0.2:3000"
    assert [r[1:] for r in page.tables["matrix"][1:]] == [["0", "3"], ["3", "0"]]
