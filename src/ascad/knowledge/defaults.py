"""A parameter one side states at its default and the other leaves out is no difference.

``namespace test { replication-factor 2 }`` and a namespace that says nothing about it run the
same: 2 is the default. Which value is the default depends on the server version, so this needs
the node's build (the agent knows it; ``ascad diff --server-version``). Machine-dependent defaults
(thread counts, MTU, node-id) are never assumed: ascad cannot know the other machine.
"""

from __future__ import annotations

from ascad.compare import ONLY_LEFT, ONLY_RIGHT, CompareResult
from ascad.conf.model import FlatConfig
from ascad.knowledge.table import table_for


def same_default(value: str, default: str) -> bool:
    """Equal, or the same huge integer: a JSON number over 2**53 (u64 max) comes back rounded."""
    if value == default:
        return True
    if value.isdigit() and len(value) > 15:
        try:
            return float(value) == float(default)
        except ValueError:
            return False
    return False


def settle_defaults(
    result: CompareResult, left: FlatConfig, right: FlatConfig, build: str | None
) -> CompareResult:
    """Move one-sided differences whose value is the version's default to ``result.defaults``."""
    if not build:
        return result
    table = table_for(build)
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
