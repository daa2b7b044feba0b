"""The ``ascad.diff/1`` JSON document matches its documentation field by field and type by type.

``ascad diff --format json`` against docs/json-schema.md (the field table is read from the doc, so
a field added to one and not the other fails here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, run_json

DOC = (ROOT / "docs" / "json-schema.md").read_text(encoding="utf-8")

A = """\
service {
    proto-fd-max 15K
    cluster-name prod
    node-id a1
}
namespace test {
    replication-factor 2
    storage-engine memory {
        data-size 4G
    }
}
namespace gone {
    storage-engine memory {
        data-size 1G
    }
}
"""
B = """\
service {
    proto-fd-max 15360
    proto-fd-max 15360
    node-id b2
}
namespace test {
    replication-factor 3
    index-type flash {
        mount /a /b
    }
    storage-engine memory {
        data-size 4096M
    }
}
"""
TEMPLATE = """\
service {
    proto-fd-max 15K
    cluster-name {{ cluster }}
    node-id {{ node_id }}
}
namespace {{ ns }} {
    replication-factor 2
    storage-engine memory {
        data-size 4G
    }
}
namespace gone {
    storage-engine memory {
        data-size 1G
    }
}
"""


def documented_fields() -> tuple[set[str], set[str]]:
    """(top-level fields, difference fields) from the doc's field table."""
    top: set[str] = set()
    diff: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", DOC, flags=re.MULTILINE):
        for name in re.findall(r"`([^`]+)`", row):
            name = name.lstrip(".")
            if name.startswith("differences[]."):
                diff.add(name.removeprefix("differences[]."))
            elif row.startswith("`differences[]"):
                diff.add(name)  # `.right` in "`differences[].left`, `.right`"
            else:
                top.add(name)
    return top, diff


def test_the_doc_table_is_read() -> None:
    top, diff = documented_fields()
    assert top == {
        "schema",
        "left",
        "right",
        "equal",
        "ignored",
        "ignored_paths",
        "wildcards",
        "values_not_checked",
        "defaults",
        "warnings",
    }
    assert diff == {
        "path",
        "kind",
        "left",
        "right",
        "left_line",
        "right_line",
        "restart",
        "note",
        "stanza",
    }


def _int_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)


def check_diff_document(doc: dict[str, Any]) -> None:
    top, diff_fields = documented_fields()
    assert set(doc) == top | {"differences"}
    assert doc["schema"] == "ascad.diff/1"
    assert isinstance(doc["left"], str) and isinstance(doc["right"], str)
    assert isinstance(doc["equal"], bool)
    assert doc["equal"] is (doc["differences"] == [])
    for d in doc["differences"]:
        assert set(d) == diff_fields
        assert isinstance(d["path"], str) and d["path"] and "\x00" not in d["path"]
        assert d["kind"] in ("changed", "only_left", "only_right")
        for side in ("left", "right"):
            assert d[side] is None or isinstance(d[side], str)
            assert _int_or_none(d[f"{side}_line"])
            # null on the side that lacks the path, and only there
            assert (d[side] is None) == (d[f"{side}_line"] is None)
        assert (d["left"] is None) == (d["kind"] == "only_right")
        assert (d["right"] is None) == (d["kind"] == "only_left")
        assert d["restart"] is None or isinstance(d["restart"], bool)
        assert d["note"] is None or isinstance(d["note"], str)
        assert isinstance(d["stanza"], bool)
    assert isinstance(doc["ignored"], int) and not isinstance(doc["ignored"], bool)
    assert isinstance(doc["ignored_paths"], list)
    assert doc["ignored"] == len(doc["ignored_paths"])
    assert all(isinstance(p, str) and "\x00" not in p for p in doc["ignored_paths"])
    assert isinstance(doc["wildcards"], list)
    assert all(isinstance(p, str) and "\x00" not in p for p in doc["wildcards"])
    assert isinstance(doc["warnings"], list)
    for w in doc["warnings"]:
        assert set(w) == {"source", "line", "col", "message"}
        assert isinstance(w["source"], str) and w["source"] in (doc["left"], doc["right"])
        assert _int_or_none(w["line"]) and _int_or_none(w["col"])
        assert isinstance(w["message"], str) and "\n" not in w["message"]


@pytest.fixture
def confs(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, text in {"a": A, "b": B, "t": TEMPLATE}.items():
        p = tmp_path / f"{name}.conf"
        p.write_text(text, encoding="utf-8")
        out[name] = str(p)
    return out


def test_diff_json_every_field_and_type(
    confs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = run_json(
        ["diff", "--format", "json", "--ignore", "service.node-id", confs["a"], confs["b"]],
        capsys,
    )
    assert code == 1
    check_diff_document(doc)
    assert (doc["left"], doc["right"]) == (confs["a"], confs["b"])
    by_path = {d["path"]: d for d in doc["differences"]}
    assert by_path["namespace[test].replication-factor"] == {
        "path": "namespace[test].replication-factor",
        "kind": "changed",
        "left": "2",
        "right": "3",
        "left_line": 7,
        "right_line": 7,
        "restart": None,
        "note": None,
        "stanza": False,
    }
    assert by_path["namespace[gone]"]["stanza"] is True
    assert by_path["namespace[gone]"]["kind"] == "only_left"
    assert by_path["namespace[test].index-type"]["kind"] == "only_right"
    assert by_path["namespace[test].index-type"]["right"] == "flash"
    assert "service.cluster-name" in by_path
    # equivalent spellings never show: 15K = 15360, 4G = 4096M
    assert "service.proto-fd-max" not in by_path
    assert "namespace[test].storage-engine.data-size" not in by_path
    assert doc["ignored_paths"] == ["service.node-id"]
    # the duplicate proto-fd-max and the dropped '/b' are warnings of the right file and line
    assert {(w["source"], w["line"]) for w in doc["warnings"]} == {(confs["b"], 3), (confs["b"], 9)}


def test_diff_json_equal_document(
    confs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = run_json(["diff", "--format", "json", confs["a"], confs["a"]], capsys)
    assert code == 0
    check_diff_document(doc)
    assert doc["equal"] is True and doc["differences"] == [] and doc["warnings"] == []


def test_diff_json_template_wildcards(
    confs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = run_json(["diff", "--format", "json", confs["t"], confs["a"]], capsys)
    assert code == 0, doc
    check_diff_document(doc)
    assert "service.cluster-name" in doc["wildcards"]
    assert all("\x00" not in p for p in doc["wildcards"])  # the node's real paths, never a marker
    assert "namespace[test].replication-factor" in doc["wildcards"]


def test_diff_json_ignored_template_path_is_displayed(
    confs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path(confs["b"]).write_text(
        A.replace("replication-factor 2", "replication-factor 5"), encoding="utf-8"
    )
    code, doc = run_json(
        ["diff", "--format", "json", "--ignore", "*.replication-factor", confs["t"], confs["b"]],
        capsys,
    )
    assert code == 0
    assert doc["ignored"] == 1
    check_diff_document(doc)
