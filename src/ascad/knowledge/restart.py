"""Does fixing a difference need a restart? The schema's ``dynamic`` flag for the node's version.

A dynamic parameter can be put right with ``set-config`` (or ``log-set``); a static one only takes
effect when the node restarts (aerospike/schemas ``dynamic``; docs/knowledge.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from ascad.compare import Difference
from ascad.knowledge.table import ParamTable, table_for


def restart_flag(d: Difference, table: ParamTable) -> Difference:
    """``d`` with ``restart`` set when the table knows its parameter (left alone otherwise)."""
    if d.restart is not None:
        return d
    info = table.lookup(d.path)
    if info is None:
        return d
    return d.with_(restart=not info.dynamic)


def with_restart_flags(diffs: Iterable[Difference], build: str | None) -> list[Difference]:
    """Every difference flagged for the server ``build``; unchanged when the build is unknown."""
    diffs = list(diffs)
    if not build:
        return diffs
    table = table_for(build)
    return [restart_flag(d, table) for d in diffs]
