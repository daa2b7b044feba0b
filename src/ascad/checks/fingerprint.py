"""A configuration's fingerprint: one short hash that is the same for every node deployed from
one template, and changes when a value that should be the same everywhere changes.

The hash is sha256 over the sorted ``(path, canonical value)`` pairs of the flat config
(docs/paths.md spelling, docs/json-schema.md canonical values), each pair written as
``path NUL value SOH`` in UTF-8, with the expected per-node paths (``[compare]``, the peer check's
rules) left out. Comments, order of lines and stanzas, whitespace and units therefore never change
it; any other difference does. It is stable across ascad versions unless the documented
canonical form or path spelling changes (which the changelog would say). ``ascad fleet`` groups
nodes by the full hash; the agent's metric shows the first :data:`SHORT` hex digits.

The running config's fingerprint is made the same way from the node's running values, leaving
out also the parameters whose defaults depend on the machine (thread counts, node-id, the heartbeat MTU), so
two identical nodes on different hardware still agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import attrgetter

from ascad.compare.expected import PathMatcher
from ascad.conf.model import FlatConfig, Setting
from ascad.knowledge.table import table_or_none
from ascad.runtime.mapping import runtime_to_flat
from ascad.runtime.snapshot import RuntimeSnapshot

SHORT = 16


def fingerprint(values: dict[str, str]) -> str:
    """sha256 over the sorted (path, canonical) pairs, NUL-separated (neither holds NUL)."""
    text = "".join([f"{path}\x00{values[path]}\x01" for path in sorted(values)])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def compared_settings(
    flat: FlatConfig, skip: Callable[[str], bool], ignored: set[str]
) -> tuple[tuple[str, ...], tuple[Setting, ...]]:
    """The paths not skipped, in order, and their settings; skipped paths are added to
    ``ignored``. (Two tuples made in C: a fleet keys its nodes by them, :func:`compared_values`
    makes its dict of them.)"""
    settings = flat.settings
    if isinstance(skip, PathMatcher):  # a fleet's: set operations, no call per path
        skipped = skip.matching(settings)
    else:
        skipped = {path for path in settings if skip(path)}
    if not skipped:
        return tuple(settings), tuple(settings.values())
    ignored |= skipped
    kept = dict(settings)  # (a copy of a dict is made in C, and keeps its order)
    for path in skipped:
        del kept[path]
    return tuple(kept), tuple(kept.values())


def compared_values(
    flat: FlatConfig, skip: Callable[[str], bool], ignored: set[str]
) -> dict[str, str]:
    """path -> canonical for every path not skipped; skipped paths are added to ``ignored``."""
    return values_of(*compared_settings(flat, skip, ignored))


def values_of(paths: tuple[str, ...], settings: tuple[Setting, ...]) -> dict[str, str]:
    """path -> canonical of :func:`compared_settings`' two tuples."""
    return dict(zip(paths, map(_canonical, settings), strict=True))


_canonical = attrgetter("canonical")


@lru_cache(maxsize=32)
def per_node_matcher(patterns: tuple[str, ...]) -> PathMatcher:
    """The matcher of a list of per-node globs, kept with its answers: the agent fingerprints
    the same paths against the same globs every cycle (a pure function of the globs). Its one
    user is the agent's cycle, which runs one at a time: a PathMatcher's memo is not made for
    threads that use it at once."""
    return PathMatcher(patterns)


@lru_cache(maxsize=1 << 16)
def _machine_dependent(build: str | None, path: str) -> bool:
    """Does the parameter at ``path`` have a machine-dependent default in server ``build``?
    (knowledge table facts: a pure function of its arguments, remembered)"""
    table = table_or_none(build)
    info = table.lookup(path) if table is not None else None
    return info is not None and bool(info.machine_dependent)


def conf_fingerprint(flat: FlatConfig, patterns: Iterable[str]) -> str:
    """The short fingerprint of a conf with the per-node ``patterns`` left out."""
    matcher = per_node_matcher(tuple(patterns))
    return fingerprint(compared_values(flat, matcher, set()))[:SHORT]


def running_fingerprint(snap: RuntimeSnapshot, patterns: Iterable[str]) -> str:
    """The short fingerprint of a node's running config: per-node ``patterns`` and the
    parameters with machine-dependent defaults left out."""
    flat = runtime_to_flat(snap)
    per_node = per_node_matcher(tuple(patterns)).matching(flat.settings)
    build = snap.build

    def skip(path: str) -> bool:
        return path in per_node or _machine_dependent(build, path)

    return fingerprint(compared_values(flat, skip, set()))[:SHORT]
