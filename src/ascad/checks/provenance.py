"""Provenance and origin for a conf-vs-node comparison: the server log searched (in a worker
thread, bounded), the node's uptime and the conf file's mtime (``ascad.compare.origin``).

Which log: the files given (``--server-log``, ``[agent] server_log``; ``journal`` for
``journalctl -u aerospike``), else, when ascad runs on the node, the conf's ``logging`` file sinks.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ascad.checks.pipeline import Comparison
from ascad.compare.origin import parse_uptime, with_origin
from ascad.runtime.mapping import DEFAULT_SYSLOG_PATHS, sink_path
from ascad.runtime.snapshot import RuntimeSnapshot
from ascad.sources.serverlog import DEFAULT_BUDGET, scan_logs

#: The info command whose answer holds the uptime; asked with the snapshot's first request.
STATISTICS = "statistics"


@dataclass(frozen=True)
class LogPlan:
    """Where to look: ``files`` (rotated siblings included), the conf file for its mtime."""

    files: tuple[str, ...] = ()
    conf_file: str | None = None
    budget: int = DEFAULT_BUDGET


def _mtime(path: str | None) -> datetime | None:
    if not path:
        return None
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
    except OSError:
        return None


async def add_provenance(
    comparison: Comparison, snap: RuntimeSnapshot, plan: LogPlan, *, now: float | None = None
) -> Comparison:
    """:func:`provenance_of` in a worker thread (the log search reads files)."""
    return await asyncio.to_thread(provenance_of, comparison, snap, plan, now=now)


def provenance_of(
    comparison: Comparison, snap: RuntimeSnapshot, plan: LogPlan, *, now: float | None = None
) -> Comparison:
    """``comparison`` (a conf against ``snap``) with provenance and origin on each difference,
    and ``provenance_note`` saying once why some or all have no provenance."""
    result = comparison.result
    if not result.differences:
        return comparison
    uptime = parse_uptime(snap.extra.get(STATISTICS))
    started = None
    if uptime is not None:
        started = datetime.fromtimestamp((time.time() if now is None else now) - uptime, UTC)
    changes = {}
    notes: list[str] = []
    if plan.files:
        want = [d.path for d in result.differences]
        scan = scan_logs(plan.files, want, budget=plan.budget)
        changes = scan.changes
        notes = scan.notes
        mib = scan.bytes_read / 1048576
        if scan.sources:
            searched = ", ".join(scan.sources)
            reason = f"no set-config line for it in {searched} ({mib:.1f} MiB searched)"
        else:
            reason = "no server log could be read"
    else:
        reason = "no server log to search (--server-log FILE, or the conf's logging file sinks)"
    sinks = {i: sink_path(s, DEFAULT_SYSLOG_PATHS) for i, s in snap.logs}
    result.differences = with_origin(
        result.differences, changes, started=started, conf_mtime=_mtime(plan.conf_file), sinks=sinks
    )
    missing = sum(d.provenance is None for d in result.differences)
    if missing:
        which = "any difference" if missing == len(result.differences) else f"{missing} of them"
        comparison.provenance_note = "; ".join([f"no provenance for {which}: {reason}", *notes])
    return comparison


__all__ = ["STATISTICS", "LogPlan", "add_provenance", "plan_for", "provenance_of"]


def plan_for(conf_spec: str, comparison: Comparison, given: Sequence[str]) -> LogPlan:
    """``ascad diff CONF NODE``: the conf's file (when local) for its mtime, and the logs:
    ``given``, else the conf's file sinks when the node runs on this machine (loopback)."""
    from ascad.sources.spec import Kind, parse_source

    spec = parse_source(conf_spec)
    conf_file = spec.path if spec.kind is Kind.FILE else None
    snap = comparison.snapshot
    host = (snap.address if snap else "").rsplit(":", 1)[0].strip("[]")
    on_node = conf_file is not None and _is_loopback(host)
    files = tuple(given) if given else (tuple(comparison.conf_logs) if on_node else ())
    return LogPlan(files, conf_file)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
