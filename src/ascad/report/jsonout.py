"""JSON output of a comparison. Schema documented in docs/json-schema.md (``ascad.diff/1``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ascad.compare.diff import Difference
from ascad.conf.model import display

if TYPE_CHECKING:  # (the fleet's report needs none of them: start-up)
    from ascad.checks.pipeline import Comparison, ConfWarning, NodeFacts

SCHEMA = "ascad.diff/1"


def difference_to_dict(d: Difference) -> dict[str, Any]:
    """One difference as JSON: wildcard markers shown as ``{{…}}``. ``provenance``, ``origin``
    (with ``origin_note``), ``acknowledged`` and ``first_seen`` only when known (issue 14)."""
    out: dict[str, Any] = {
        "path": display(d.path),
        "kind": str(d.kind),
        "left": None if d.left is None else display(d.left),
        "right": None if d.right is None else display(d.right),
        "left_line": d.left_line,
        "right_line": d.right_line,
        "restart": d.restart,
        "note": d.note,
        "stanza": d.stanza,
    }
    if d.provenance is not None:
        out["provenance"] = asdict(d.provenance)
    if d.origin is not None:
        out["origin"] = d.origin
        out["origin_note"] = d.origin_note
    if d.acknowledged is not None:
        out["acknowledged"] = {k: v for k, v in asdict(d.acknowledged).items() if v is not None}
    if d.first_seen is not None:
        out["first_seen"] = d.first_seen
    return out


def warning_to_dict(w: ConfWarning) -> dict[str, Any]:
    return {"source": w.source, "line": w.line, "col": w.col, "message": w.message}


def node_to_dict(n: NodeFacts) -> dict[str, Any]:
    return asdict(n)


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """A comparison as an ``ascad.diff/1`` document. A running node adds ``unverifiable`` and
    ``node`` (conf vs node), or ``nodes`` (node vs node)."""
    result = c.result
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "left": result.left,
        "right": result.right,
        "equal": result.equal,
        "differences": [difference_to_dict(d) for d in result.differences],
        "ignored": len(result.ignored),
        "ignored_paths": [display(p) for p in result.ignored],
        "wildcards": [display(p) for p in result.wildcards],
        "values_not_checked": [
            {"path": display(p), "value": display(v)} for p, v in result.wildcard_values.items()
        ],
        "defaults": [display(p) for p in result.defaults],
        "warnings": [warning_to_dict(w) for w in c.warnings],
    }
    if c.version_warnings:  # a build older than every schema (3.x): docs/json-schema.md
        doc["version_warnings"] = [w.to_dict() for w in c.version_warnings]
    if c.provenance_note is not None:
        doc["provenance_note"] = c.provenance_note
    if c.baseline_unmatched:
        doc["baseline_unmatched"] = list(c.baseline_unmatched)
    if c.unverifiable is not None:
        doc["unverifiable"] = [
            {"path": u.path, "line": u.line, "reason": u.reason} for u in c.unverifiable
        ]
        doc["node"] = node_to_dict(c.nodes[0])
    elif c.nodes:
        doc["nodes"] = [node_to_dict(n) for n in c.nodes]
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """A document as indented JSON text ending with a newline."""
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
