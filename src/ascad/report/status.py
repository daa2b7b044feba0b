"""An agent cycle as JSON: the ``ascad.agent.status/1`` document (docs/agent.md) that
``/v1/status``, ``status.json`` and ``ascad check --format json`` give."""

from __future__ import annotations

from typing import Any

from ascad.checks.results import CheckResult, CycleResult
from ascad.report.jsonout import difference_to_dict

STATUS_SCHEMA = "ascad.agent.status/1"


def check_to_dict(c: CheckResult) -> dict[str, Any]:
    return {
        "check": c.check,
        "state": str(c.state),
        "differences": [difference_to_dict(d) for d in c.differences],
        "count": len(c.differences),
        "reason": c.reason,
        "duration": round(c.duration, 6),
        "master": c.master,
        "fallback": c.fallback,
        "left": c.left,
        "right": c.right,
        "ignored": c.ignored,
        "finished": c.finished,
        # the build was older than every schema (3.x): docs/agent.md
        "version_warnings": [w.to_dict() for w in c.version_warnings],
        # issue 14 (history store): since when the check is in its state, its last cycle
        "first_seen": c.first_seen,
        "last_seen": c.last_seen,
        "changed": c.changed,
        "change": c.change,
        "resolved": list(c.resolved),
        "provenance_note": c.provenance_note,
        "baseline_unmatched": list(c.baseline_unmatched),
    }


def cycle_to_dict(cycle: CycleResult) -> dict[str, Any]:
    return {
        "schema": STATUS_SCHEMA,
        "node": cycle.node,
        "node_id": cycle.node_id,
        "role": cycle.role,
        "configured_role": cycle.configured_role,
        "cluster": cycle.cluster,
        "master": cycle.master,
        "fallback": cycle.fallback,
        "started": cycle.started,
        "duration": round(cycle.duration, 6),
        "exit_code": cycle.exit_code,
        "checks": [check_to_dict(c) for c in cycle.checks],
        "fingerprints": dict(cycle.fingerprints),
    }
