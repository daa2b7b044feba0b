"""JSON output of a comparison. Schema documented in docs/json-schema.md (``ascad.diff/1``)."""

from __future__ import annotations

import json
from typing import Any

from ascad.compare.diff import CompareResult, Difference
from ascad.conf.model import display

SCHEMA = "ascad.diff/1"


def difference_to_dict(d: Difference) -> dict[str, Any]:
    """One difference as JSON: wildcard markers shown as ``{{…}}``."""
    return {
        "path": display(d.path),
        "kind": d.kind,
        "left": None if d.left is None else display(d.left),
        "right": None if d.right is None else display(d.right),
        "left_line": d.left_line,
        "right_line": d.right_line,
        "restart": d.restart,
        "note": d.note,
        "stanza": d.stanza,
    }


def result_to_dict(
    result: CompareResult,
    *,
    warnings: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A comparison as an ``ascad.diff/1`` document; ``extra`` adds keys (runtime reads)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "left": result.left,
        "right": result.right,
        "equal": result.equal,
        "differences": [difference_to_dict(d) for d in result.differences],
        "ignored": len(result.ignored),
        "ignored_paths": [display(p) for p in result.ignored],
        "wildcards": [display(p) for p in result.wildcards],
        "defaults": [display(p) for p in result.defaults],
        "warnings": warnings or [],
    }
    if extra:
        doc.update(extra)
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """A document as indented JSON text ending with a newline."""
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
