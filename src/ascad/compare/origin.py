"""Where a runtime difference comes from: provenance (the log line that set it) and origin.

A difference between a conf and its running node arose one of two ways:

- ``runtime``: the node was changed while running and the change was never written back to the
  file: a ``set-config``/``log-set`` line after the server's start names the path, or the file is
  older than the server's start (the server read this very file when it started);
- ``file``: the file was edited after the server started; the running value is the one the server
  started with, and the file's value takes effect at the next restart (or now with set-config,
  for a dynamic parameter);
- ``unknown``: neither the start time nor the file's time is known.

The server's start is ``now - uptime`` (``statistics``: ``uptime``, as/src/base/thr_info.c).
A log line from before the start is no provenance: a restart forgot what it set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ascad.compare.diff import Difference, Provenance
from ascad.sources.serverlog import LogChange

RUNTIME, FILE, UNKNOWN = "runtime", "file", "unknown"
#: The uptime is whole seconds: a line up to this long before the computed start still counts.
SLACK = timedelta(seconds=2)

_SINK_CONTEXT_RE = re.compile(r"^(logging\.(?:file\[.*\]|console|syslog))\.context\[([^\]]+)\]\Z")


def parse_uptime(statistics: str | None) -> int | None:
    """Seconds since the server started, from a ``statistics`` answer (None when absent)."""
    if not statistics or statistics.startswith(("ERROR", "error")):
        return None
    for pair in statistics.split(";"):
        key, _, value = pair.partition("=")
        if key == "uptime" and value.strip().isdigit():
            return int(value)
    return None


def iso(when: datetime) -> str:
    """ISO 8601 in UTC, to the second (``2026-12-01T10:02:44Z``)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_for(
    path: str, changes: Mapping[str, LogChange], sinks: Mapping[str, str]
) -> LogChange | None:
    """The last logged change of ``path``; a logging context also by its sink's ``log-set``
    (``sinks``: sink id -> the sink's conf path, ``logging.file[/var/log/a.log]``), where a
    ``log-set`` of ``any`` sets every context."""
    found = changes.get(path)
    if found is None and ".storage-engine." in path and path.startswith("namespace["):
        # set-config takes storage keys without the prefix (cfg_info.c:2524 defrag-lwm-pct)
        found = changes.get(path.replace(".storage-engine.", ".", 1))
    m = _SINK_CONTEXT_RE.match(path)
    if m is None:
        return found
    candidates = [found] if found else []
    for sink_id, sink in sinks.items():
        if sink == m.group(1):
            for ctx in (m.group(2), "any"):
                c = changes.get(f"log-set[{sink_id}].context[{ctx}]")
                if c is not None:
                    candidates.append(c)
    return max(candidates, key=lambda c: c.time) if candidates else None


def with_origin(
    differences: Sequence[Difference],
    changes: Mapping[str, LogChange],
    *,
    started: datetime | None,
    conf_mtime: datetime | None,
    sinks: Mapping[str, str] | None = None,
) -> list[Difference]:
    """Each runtime difference with its provenance (when a log line after the start names it)
    and its origin."""
    out: list[Difference] = []
    for d in differences:
        change = change_for(d.path, changes, sinks or {})
        if change is not None and started is not None and change.time < started - SLACK:
            change = None  # set before the last restart: the restart undid it
        prov = None
        if change is not None:
            prov = Provenance(iso(change.time), change.command, change.source)
        origin, note = _origin(d, prov, started, conf_mtime)
        out.append(replace(d, provenance=prov, origin=origin, origin_note=note))
    return out


def _origin(
    d: Difference, prov: Provenance | None, started: datetime | None, mtime: datetime | None
) -> tuple[str, str]:
    if prov is not None:
        return RUNTIME, f"changed at runtime ({prov.command.split(':', 1)[0]} at {prov.time}), " + (
            "never written back to the file"
        )
    if started is not None and mtime is not None:
        if abs(mtime - started) <= SLACK:
            return UNKNOWN, (
                f"origin unknown: the file ({iso(mtime)}) was written when the server started "
                f"({iso(started)})"
            )
        if mtime < started:
            return RUNTIME, (
                f"changed at runtime: the file ({iso(mtime)}) is older than the server's start "
                f"({iso(started)}), so it was never written back"
            )
        if d.restart is False:
            then = "takes effect at the next restart, or now with set-config (dynamic)"
        elif d.restart is True:
            then = "takes effect only at the next restart (static): a restart is needed"
        else:
            then = "takes effect at the next restart"
        return FILE, (
            f"the file was edited ({iso(mtime)}) after the server started ({iso(started)}): "
            f"its value {then}"
        )
    return UNKNOWN, "origin unknown: " + (
        "the server's uptime is unknown" if started is None else "the file's time is unknown"
    )


__all__ = ["FILE", "RUNTIME", "UNKNOWN", "change_for", "iso", "parse_uptime", "with_origin"]
