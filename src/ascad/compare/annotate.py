"""What the knowledge table says about differences the compare stage found.

This stage comes after ``compare`` (it takes its results) and reads the per-version parameter
table; ``compare`` itself knows nothing of server versions.

- **Restart flags.** A dynamic parameter can be put right with ``set-config`` (or ``log-set``); a
  static one only takes effect when the node restarts (aerospike/schemas ``dynamic``;
  docs/knowledge.md).
- **Defaults stated on one side only.** ``namespace test { replication-factor 2 }`` and a
  namespace that says nothing about it run the same: 2 is the default. Which value is the default
  depends on the server version, so this needs the node's build (the agent knows it; ``ascad diff
  --server-version``). Machine-dependent defaults (thread counts, MTU, node-id) are never assumed:
  ascad cannot know the other machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ascad.compare.diff import ONLY_LEFT, ONLY_RIGHT, CompareResult, Difference
from ascad.conf.model import FlatConfig
from ascad.knowledge.table import ParamTable, same_default, table_or_none


def restart_flag(d: Difference, table: ParamTable) -> Difference:
    """``d`` with ``restart`` set when the table knows its parameter (left alone otherwise)."""
    if d.restart is not None:
        return d
    info = table.lookup(d.path)
    if info is None:
        return d
    return replace(d, restart=not info.dynamic)


def with_restart_flags(diffs: Iterable[Difference], build: str | None) -> list[Difference]:
    """Every difference flagged for the server ``build``; unchanged when the build is unknown."""
    diffs = list(diffs)
    table = table_or_none(build)
    if table is None:  # no build, or one older than every schema (no flag is assumed)
        return diffs
    return [restart_flag(d, table) for d in diffs]


def settle_defaults(
    result: CompareResult, left: FlatConfig, right: FlatConfig, build: str | None
) -> CompareResult:
    """Move one-sided differences whose value is the version's default to ``result.defaults``."""
    table = table_or_none(build)
    if table is None:  # no build, or one older than every schema (no default is assumed)
        return result
    kept = []
    for d in result.differences:
        side = left if d.kind == ONLY_LEFT else right if d.kind == ONLY_RIGHT else None
        setting = side.settings.get(d.path) if side is not None else None
        if setting is None or setting.stanza:
            kept.append(d)
            continue
        info = table.lookup(d.path)
        if (
            info is not None
            and not info.machine_dependent
            and info.default_canonical is not None
            and same_default(setting.canonical, info.default_canonical)
        ):
            result.defaults.append(d.path)
        else:
            kept.append(d)
    result.differences = kept
    return result
