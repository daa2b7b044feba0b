"""``ascad fleet --format json``: a :class:`~ascad.checks.fleet.FleetReport` as the documented
``ascad.fleet/1`` document (docs/fleet.md); the HTML page is rendered from the same document."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ascad.checks.fleet import FleetReport
from ascad.conf.model import display
from ascad.report.jsonout import difference_to_dict

SCHEMA = "ascad.fleet/1"


def report_to_dict(report: FleetReport) -> dict[str, Any]:
    """The report as the documented ``ascad.fleet/1`` JSON document."""
    ids = {n.name: n.node_id for n in report.nodes}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "mode": report.mode,
        "clean": report.clean,
        "summary": {
            "nodes": len(report.nodes),
            "reachable": len(report.nodes) - len(report.unreachable),
            "unreachable": len(report.unreachable),
            "groups": len(report.groups),
            "parameters": len(report.parameters),
            "golden_differences": report.golden_differences,
        },
        "nodes": [
            {
                "name": n.name,
                "node_id": n.node_id,
                "label": n.label,
                "build": n.build,
                "reachable": n.reachable,
                "group": n.group,
                "error": n.error,
                "seconds": round(n.seconds, 6),
            }
            for n in report.nodes
        ],
        "groups": [
            {
                "id": g.id,
                "fingerprint": g.fingerprint,
                "size": len(g.members),
                "members": g.members,
                "node_ids": [ids.get(m) for m in g.members],
                "golden": report.golden_match(g.id),
            }
            for g in report.groups
        ],
        "matrix": {
            "by": "group",
            "groups": [g.id for g in report.groups],
            "counts": report.matrix,
        },
        "parameters": [
            {
                "path": display(p.path),
                "stanza": p.stanza,
                "restart": p.restart,
                "values": [
                    {
                        "value": None if h.value is None else display(h.value),
                        "canonical": None if h.canonical is None else display(h.canonical),
                        "absent": h.value is None,
                        "groups": h.groups,
                        "nodes": h.nodes,
                        "golden": h.golden,
                    }
                    for h in p.values
                ],
                **({"acknowledged": asdict(p.acknowledged)} if p.acknowledged is not None else {}),
            }
            for p in report.parameters
        ],
        "unreachable": [
            {"name": n.name, "node_id": n.node_id, "error": n.error} for n in report.unreachable
        ],
        "complete": not report.unreachable,
        "builds": report.builds,
        "golden": None,
        "ignored": len(report.ignored),
        "ignored_paths": report.ignored,
        "patterns": report.patterns,
        "seconds": round(report.seconds, 6),
    }
    if report.version_warnings:  # a running node older than every schema (3.x)
        doc["version_warnings"] = [w.to_dict() for w in report.version_warnings]
    if report.golden is not None:
        doc["golden"] = {
            "source": report.golden,
            "template": report.golden_template,
            "differences": report.golden_differences,
            "groups": [
                {
                    "group": gr.group,
                    "equal": gr.result.equal,
                    "differences": [difference_to_dict(d) for d in gr.result.differences],
                    "wildcards": len(gr.result.wildcards),
                    "values_not_checked": [
                        {"path": display(p), "value": display(v)}
                        for p, v in gr.result.wildcard_values.items()
                    ],
                    "ignored": len(gr.result.ignored),
                }
                for gr in report.golden_results
            ],
        }
    return doc
