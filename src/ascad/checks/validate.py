"""Check a parsed aerospike.conf against one server version's parameter table.

Facts behind each rule (conf-format-and-runtime-mapping.md sections a, b and e; docs/knowledge.md):

- The server stops at startup on an unknown name, a bad value, or an obsolete name
  (``'X' is obsolete``), so each of these is an **error**: unknown parameter or stanza (with the
  closest known name), a parameter absent from that version (obsolete, or not yet there), a
  stanza or parameter in the wrong context, a typed stanza's unknown type, a parameter that its
  storage-engine type does not have, an integer outside the schema's range, an enum value not in
  the list, a size or duration that cannot be parsed.
- Integers take K/M/G/T/P (powers of 1024) on every integer parameter; the ``cfg_seconds``
  parameters take s/m/h/d instead (``2M`` is 2 MiB on a size, 2 minutes on a duration).
- Booleans are ``true``/``false`` in any case; enums are case-sensitive except logging context
  names and levels.
- ``storage-engine memory`` is a one-liner up to 6.4 and always opens a body from 7.0: the wrong
  form makes the next ``}`` close the wrong context.
- From 8.1, ``network { info { … } }`` is ignored with a log line ("info service is obsolete"): a
  **warning**, not an error.
- The schema holds one version per minor release that we have (4.9, 5.7, 6.0, 6.4, 7.0 …). For a
  build between two schemas (6.3 -> schema 6.0) a parameter that the next schema (6.4) has may
  already exist in the build, so it is not reported.
- A build of a newer minor release than the newest schema (8.2 while the newest is 8.1.x) may have
  parameters no schema lists: an unknown name there is a **warning**. Version 8.1.2 is the 8.1.1
  schema plus two parameters seen in a real 8.1.2.2 node's get-config (tools/gen_params.py).
- A value equal to the schema default is accepted even when the schema's range excludes it (the
  schemas give ``default 0`` with ``minimum 1`` for "off" values such as
  ``compression-acceleration``).
- Facts read from each version's parser (as/src/base/cfg.c at the first tag of each minor release,
  tools/gen_server_facts.py; each message cites ``cfg.c:LINE@TAG``):
  - 4.x names whose ``case`` only calls ``cfg_deprecated_name_tok()`` ("NAME is deprecated -
    please remove", 86 of them in 4.9: paxos-recovery-policy, batch-threads, …) are logged and
    ignored: a **warning**. A deprecated stanza (4.x namespace ``si``) is skipped whole.
  - 4.x names whose ``case`` calls ``cfg_renamed_name_tok()`` and falls through (client-fd-max
    -> proto-fd-max, limit-size -> memory-size, …) are read as the new name: a warning, and the
    value is checked as the new parameter's.
  - ``cfg_bool()`` takes ``yes``/``no`` up to 7.1 and only ``true``/``false`` from 7.2 (commit
    cf125e9b, first in 7.2.0.1).
  - ``enable-benchmarks-*`` are switched on without reading a value up to 7.1 (``= true;``); from
    7.2 they take ``cfg_bool()`` (commit 31853d59, AER-6767, first in 7.2.0.1), so a line with no
    value stops the server. Up to 7.1 a value other than true is ignored: a warning.
- No schema covers 3.x: such a build is checked against the oldest schema (4.0.0), and what only
  the table says (unknown or obsolete names, ranges, enums, engines, places) is a **warning**:
  the 3.x parser may differ.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from functools import cache

from ascad.conf.keys import TYPED_STANZAS
from ascad.conf.model import ConfTree, Param, Stanza, display
from ascad.conf.values import parse_duration, parse_size
from ascad.knowledge.table import (
    ParamInfo,
    ParamTable,
    all_patterns,
    deprecated_where,
    is_older_than_table,
    next_schema_after,
    parse_build,
    renamed_to,
    schema_version_for,
    schema_versions,
    split_pattern,
    table_for,
    value_ignored_where,
    version_key,
    versions_of,
    yes_no_where,
)

# Kinds that only the table decides: a warning for a build older than every schema (3.x).
TABLE_KINDS = frozenset({"unknown", "version", "engine", "range", "enum", "context"})

# Contexts the server reads but ignores from a version on (cfg.c): pattern -> first schema.
IGNORED_FROM = {"network.info": "8.1.0"}


@dataclass(frozen=True)
class Problem:
    """One finding: where, how bad, what. ``kind`` is a stable tag for scripts."""

    line: int
    col: int
    severity: str  # "error" | "warning"
    # unknown | version | context | engine | range | enum | unit | syntax | parser | deprecated
    # | renamed | value
    kind: str
    message: str
    path: str = ""

    def format(self, source: str) -> str:
        return f"{source}:{self.line}:{self.col}: {self.severity}: {display(self.message)}"

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["message"] = display(self.message)
        return out


def _join(ctx: str, segment: str) -> str:
    return f"{ctx}.{segment}" if ctx else segment


def _where(ctx: str) -> str:
    return ctx or "the top level"


def _parents(patterns: list[str]) -> list[str]:
    """The contexts the patterns live in, sorted: ``service``, ``the top level``."""
    return sorted({_where(split_pattern(h)[0]) for h in patterns})


@cache
def _stanza_homes() -> dict[str, list[str]]:
    """Stanza kind -> every pattern (any version) where a stanza of that kind lives."""
    homes: dict[str, list[str]] = {}
    for pattern in all_patterns():
        _, name = split_pattern(pattern)
        if versions_of(pattern) and _is_stanza_anywhere(pattern):
            homes.setdefault(name, []).append(pattern)
    return homes


@cache
def _is_stanza_anywhere(pattern: str) -> bool:
    for version in versions_of(pattern):
        info = table_for(version).get(pattern)
        if info is not None and info.is_stanza:
            return True
    return False


@cache
def _param_homes(version: str) -> dict[str, list[str]]:
    """Parameter name -> patterns of that version where it is a parameter."""
    table = table_for(version)
    homes: dict[str, list[str]] = {}
    for pattern in table.patterns():
        info = table.get(pattern)
        if info is not None and not info.is_stanza:
            homes.setdefault(split_pattern(pattern)[1], []).append(pattern)
    return homes


def _ranges_text(versions: tuple[str, ...]) -> str:
    """('5.7.0', '6.0.0', '7.1.0') -> '5.7.0–6.0.0, 7.1.0' (runs of consecutive schemas)."""
    all_v = schema_versions()
    runs: list[list[str]] = []
    for v in versions:
        if runs and all_v.index(v) == all_v.index(runs[-1][-1]) + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


class Validator:
    """Walks a :class:`ConfTree` with the table of one server build."""

    def __init__(self, build: str) -> None:
        self.build = build
        self.schema = schema_version_for(build)
        self.table: ParamTable = table_for(build)
        # A build newer than its schema's version may already have the next schema's parameters.
        nxt = next_schema_after(self.schema)
        self.next_schema = (
            nxt if nxt and parse_build(build)[:3] > version_key(self.schema) else None
        )
        # A build of a newer minor release than any schema may have parameters we cannot know.
        newest = schema_versions()[-1]
        self.beyond = parse_build(build)[:2] > version_key(newest)[:2]
        self.older = is_older_than_table(build)
        self.problems: list[Problem] = []

    # --- helpers -------------------------------------------------------------------------------

    def _add(self, node: Param | Stanza, severity: str, kind: str, message: str, path: str) -> None:
        universal = kind == "context" and path == "namespace[*].storage-engine"  # every version
        if self.older and severity == "error" and kind in TABLE_KINDS and not universal:
            severity = "warning"
            message += (
                f" (server {self.build} is older than every schema: checked against "
                f"{self.schema}, so this may be valid there)"
            )
        self.problems.append(Problem(node.line, node.col, severity, kind, message, path))

    def _deprecated(self, node: Param | Stanza, name: str, pattern: str) -> bool:
        """A name this version's parser logs as deprecated and ignores: a warning."""
        where = deprecated_where(pattern, self.schema)
        if where is None:
            return False
        what = "stanza" if pattern.endswith("{}") else "parameter"
        self._add(
            node,
            "warning",
            "deprecated",
            f"'{name}' is deprecated in {self._server()}: it logs '{name} is deprecated - please "
            f"remove' and ignores the {what} ({where})",
            pattern.removesuffix("{}"),
        )
        return True

    def _server(self) -> str:
        if self.schema == self.build:
            return f"server {self.build}"
        return f"server {self.build} (schema {self.schema})"

    def _version_problem(self, node: Param | Stanza, name: str, pattern: str) -> bool:
        """Report a pattern that exists in other versions but not this one. False if unknown."""
        present = versions_of(pattern)
        if not present:
            return False
        if self.next_schema and self.next_schema in present:
            return True  # may exist in this build (between two schemas): not reported
        what = "stanza" if _is_stanza_anywhere(pattern) else "parameter"
        mine = version_key(self.schema)
        older = [v for v in present if version_key(v) < mine]
        newer = [v for v in present if version_key(v) > mine]
        if older and not newer:
            gone = next_schema_after(older[-1])
            message = (
                f"'{name}' is obsolete in {self._server()}: last in schema {older[-1]}, gone "
                f"from {gone}; the server refuses to start on an obsolete {what}"
            )
        elif newer and not older:
            message = (
                f"'{name}' is not known to {self._server()}: the {what} first appears in "
                f"schema {newer[0]}"
            )
        else:
            message = (
                f"'{name}' is not known to {self._server()}: the {what} exists in schemas "
                f"{_ranges_text(present)}"
            )
        self._add(node, "error", "version", message, pattern)
        return True

    # --- the walk ------------------------------------------------------------------------------

    def run(self, tree: ConfTree) -> list[Problem]:
        for w in tree.warnings:
            self.problems.append(Problem(w.line, w.col, "warning", "parser", w.message))
        self._walk(tree.root, "", None)
        self.problems.sort(key=lambda p: (p.line, p.col))
        return self.problems

    def _walk(self, stanza: Stanza, ctx: str, engine: str | None) -> None:
        for child in stanza.children:
            if isinstance(child, Stanza):
                self._stanza(child, ctx)
            else:
                self._param(child, ctx, engine)

    def _stanza(self, node: Stanza, ctx: str) -> None:
        typed = node.kind in TYPED_STANZAS
        named = node.name is not None and not typed
        pattern = _join(ctx, f"{node.kind}[*]" if named else node.kind)
        info = self.table.get(pattern)
        if (info is None or not info.is_stanza) and self._deprecated(
            node, node.kind, _join(ctx, f"{node.kind}{{}}")
        ):
            return
        if info is None or not info.is_stanza:
            ignored_from = IGNORED_FROM.get(pattern)
            if ignored_from and version_key(self.schema) >= version_key(ignored_from):
                self._add(
                    node,
                    "warning",
                    "version",
                    f"'{node.kind}' stanza is obsolete from {ignored_from}: {self._server()} "
                    "ignores it and everything in it",
                    pattern,
                )
                return
            if self._version_problem(node, node.kind, pattern):
                return
            self._misplaced_or_unknown_stanza(node, ctx, pattern)
            return
        if typed:
            if info.enum and node.name not in info.enum:
                self._add(
                    node,
                    "error",
                    "enum",
                    f"'{node.kind} {node.name}': unknown type for {self._server()}; one of "
                    f"{', '.join(info.enum)}",
                    pattern,
                )
                return
            self._memory_form(node)
            self._device_needs_storage(node)
            self._walk(node, pattern, node.name)
            return
        if pattern == "namespace[*]":
            self._storage_engines(node)
        self._walk(node, pattern, None)

    def _storage_engines(self, node: Stanza) -> None:
        """One storage-engine per namespace; from 8.1 a namespace without one is refused (cfg.c).

        Before 8.1 (the 6.1 samples) a namespace without one is in memory, so it is not reported.
        """
        engines = list(node.stanzas("storage-engine"))
        for extra in engines[1:]:
            self._add(
                extra,
                "error",
                "context",
                f"second 'storage-engine' in namespace {node.name} (first at line "
                f"{engines[0].line}): a namespace has exactly one; {self._server()} refuses this",
                "namespace[*].storage-engine",
            )
        if not engines and version_key(self.schema) >= (8, 1, 0):
            self._add(
                node,
                "error",
                "context",
                f"namespace {node.name} has no 'storage-engine': {self._server()} refuses a "
                "namespace without one (e.g. 'storage-engine memory { data-size 4G }')",
                "namespace[*].storage-engine",
            )

    def _device_needs_storage(self, node: Stanza) -> None:
        """``storage-engine device`` keeps records on devices or files: with neither the storage
        layer refuses the namespace and the server stops at startup (aerospike-server
        as/src/storage/drv_ssd.c: ``{ns} has no devices or files``, then startup fails)."""
        if node.kind != "storage-engine" or node.name != "device":
            return
        if any(True for _ in node.params("device")) or any(True for _ in node.params("file")):
            return
        self._add(
            node,
            "error",
            "context",
            "'storage-engine device' names no 'device' and no 'file': the server refuses a "
            "device namespace without storage (add 'device /dev/…' or 'file /opt/…')",
            "namespace[*].storage-engine",
        )

    def _memory_form(self, node: Stanza) -> None:
        if node.kind != "storage-engine" or node.name != "memory":
            return
        body_from_70 = version_key(self.schema) >= (7, 0, 0)
        if body_from_70 and not node.braces:
            self._add(
                node,
                "error",
                "syntax",
                f"'storage-engine memory' must open a stanza on {self._server()}: from 7.0 "
                "write 'storage-engine memory {' with data-size inside; as a one-liner the next "
                "'}' closes it instead of the namespace",
                "namespace[*].storage-engine",
            )
        elif not body_from_70 and node.braces and self.next_schema != "7.0.0":
            self._add(
                node,
                "error",
                "syntax",
                f"'storage-engine memory' is a one-liner on {self._server()}: before 7.0 the "
                "server ignores '{' and takes the next '}' as the end of the namespace",
                "namespace[*].storage-engine",
            )

    def _misplaced_or_unknown_stanza(self, node: Stanza, ctx: str, pattern: str) -> None:
        homes = [h for h in _stanza_homes().get(node.kind, []) if h != pattern]
        here = [h for h in homes if self.table.get(h) is not None] or homes
        if here:
            parents = _parents(here)
            self._add(
                node,
                "error",
                "context",
                f"'{node.kind}' stanza is not allowed in {_where(ctx)} in {self._server()}; it "
                "belongs in "
                f"{' or '.join(parents)}",
                pattern,
            )
            return
        candidates = [
            n
            for n in self.table.keys_in(ctx)
            if (i := self.table.get(_join(ctx, n)) or self.table.get(_join(ctx, f"{n}[*]")))
            and i.is_stanza
        ]
        self._add(
            node,
            *self._unknown_severity(),
            f"unknown stanza '{node.kind}' in {_where(ctx)} for {self._server()}"
            f"{_did_you_mean(node.kind, candidates)}"
            f"{self._beyond_note()}",
            pattern,
        )

    def _unknown_severity(self) -> tuple[str, str]:
        return ("warning" if self.beyond else "error"), "unknown"

    def _beyond_note(self) -> str:
        if not self.beyond:
            return ""
        return (
            f" (server {self.build} is newer than the newest schema ascad knows, "
            f"{schema_versions()[-1]}: it may be new there)"
        )

    def _param(self, node: Param, ctx: str, engine: str | None) -> None:
        pattern = _join(ctx, node.key)
        if self._deprecated(node, node.key, pattern):
            return
        renamed = renamed_to(pattern, self.schema) if pattern not in self.table else None
        if renamed is not None:
            new, where = renamed
            self._add(
                node,
                "warning",
                "renamed",
                f"'{node.key}' was renamed: {self._server()} reads it as '{new}' and logs "
                f"'{node.key} was renamed - please use '{new}'' ({where})",
                pattern,
            )
            pattern = _join(ctx, new)
        info = self.table.get(pattern)
        if info is not None and info.is_stanza:
            self._add(
                node,
                "error",
                "syntax",
                f"'{node.key}' is a stanza in {_where(ctx)} in {self._server()}: it needs "
                "'{' … '}'",
                pattern,
            )
            return
        if info is None:
            if self._version_problem(node, node.key, pattern):
                return
            self._misplaced_or_unknown_param(node, ctx, pattern)
            return
        if engine is not None and info.engines and engine not in info.engines:
            stz = ctx.rpartition(".")[2]
            self._add(
                node,
                "error",
                "engine",
                f"'{node.key}' is not a parameter of '{stz} {engine}' in {self._server()} "
                f"(only {', '.join(info.engines)})",
                pattern,
            )
            return
        self._value(node, info)

    def _misplaced_or_unknown_param(self, node: Param, ctx: str, pattern: str) -> None:
        homes = _param_homes(self.schema).get(node.key, [])
        if homes:
            parents = _parents(homes)
            self._add(
                node,
                "error",
                "context",
                f"'{node.key}' is not a parameter of {_where(ctx)} in {self._server()}; it "
                "belongs in "
                f"{' or '.join(parents)}",
                pattern,
            )
            return
        local = self.table.keys_in(ctx)
        hint = _did_you_mean(node.key, local)
        if not hint:
            param_homes = _param_homes(self.schema)
            hint = _did_you_mean(node.key, list(param_homes), elsewhere=True)
            if hint:
                # Say where the close match lives: `proto-fd-maxx` in a namespace -> service.
                match = hint.split("'")[1]
                parents = _parents(param_homes[match])
                hint = f"{hint[:-1]} (in {' or '.join(parents)})?"
        self._add(
            node,
            *self._unknown_severity(),
            f"unknown parameter '{node.key}' in {_where(ctx)} for {self._server()}{hint}"
            f"{self._beyond_note()}",
            pattern,
        )

    # --- values --------------------------------------------------------------------------------

    def _value(self, node: Param, info: ParamInfo) -> None:
        values = node.values
        ignored = value_ignored_where(info.path, self.schema)
        if not values:
            if ignored is None and info.type == "boolean":
                self._add(
                    node,
                    "error",
                    "enum",
                    f"'{node.key}' has no value: {self._server()} requires true or false "
                    "(up to 7.1 the server switched it on without reading a value)",
                    info.path,
                )
            return
        token = values[0]
        if info.type == "integer":
            self._integer(node, info, token)
        elif info.type == "boolean":
            yes_no = yes_no_where(self.schema)
            accepted = ("true", "false", "yes", "no") if yes_no else ("true", "false")
            if token.lower() not in accepted:
                said = (
                    f"true, false, yes or no (any case; {yes_no})"
                    if yes_no
                    else "true or false (any case; yes/no only up to 7.1)"
                )
                self._add(
                    node,
                    "error",
                    "enum",
                    f"'{node.key}' takes {said} in {self._server()}, not '{token}'",
                    info.path,
                )
            elif ignored is not None and token.lower() not in ("true", "yes"):
                self._add(
                    node,
                    "warning",
                    "value",
                    f"'{node.key} {token}': {self._server()} ignores the value and switches "
                    f"it on ({ignored})",
                    info.path,
                )
        elif info.type == "enum" and info.keys is not None:
            self._log_context(node, info)
        elif info.type == "enum" and info.enum is not None and token not in info.enum:
            self._add(
                node,
                "error",
                "enum",
                f"'{node.key}' does not take '{token}' in {self._server()}; one of "
                f"{', '.join(info.enum)}"
                f"{_did_you_mean(token, list(info.enum))}",
                info.path,
            )

    def _integer(self, node: Param, info: ParamInfo, token: str) -> None:
        if info.unit == "duration":
            value = parse_duration(token)
            if value is None:
                self._add(
                    node,
                    "error",
                    "unit",
                    f"'{node.key}' is a duration in {self._server()}: '{token}' is not digits "
                    "with an optional s/m/h/d suffix (or -1)",
                    info.path,
                )
                return
            if value == -1:
                return  # the literal -1 ("never") is taken before any range check
        else:
            value = parse_size(token)
            if value is None and token.startswith("-") and token[1:].isdigit():
                value = int(token)
            if value is None:
                self._add(
                    node,
                    "error",
                    "unit",
                    f"'{node.key}' is an integer in {self._server()}: '{token}' is not digits "
                    "with an optional K/M/G/T/P suffix",
                    info.path,
                )
                return
        if value == info.default:
            return
        low, high = info.minimum, info.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            shown = token if str(value) == token else f"{token} (= {value})"
            self._add(
                node,
                "error",
                "range",
                f"'{node.key}' {shown} is out of range for {self._server()}: "
                f"{_fmt(low)} to {_fmt(high)}",
                info.path,
            )

    def _log_context(self, node: Param, info: ParamInfo) -> None:
        if len(node.values) < 2:
            self._add(
                node, "error", "syntax", "'context' needs a context name and a level", info.path
            )
            return
        name, level = node.values[0], node.values[1]
        keys = info.keys or ()
        if name.lower() not in keys:
            self._add(
                node,
                "error",
                "unknown",
                f"unknown log context '{name}' for {self._server()}"
                f"{_did_you_mean(name.lower(), list(keys))}",
                info.path,
            )
        if info.enum and level.lower() not in info.enum:
            self._add(
                node,
                "error",
                "enum",
                f"log level '{level}' is not one of {', '.join(info.enum)} in {self._server()}",
                info.path,
            )


def _fmt(n: int | None) -> str:
    return "unbounded" if n is None else str(n)


def _did_you_mean(word: str, candidates: list[str], elsewhere: bool = False) -> str:
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75 if elsewhere else 0.6)
    if not match:
        return ""
    return f"; did you mean '{match[0]}'?"


def validate_tree(tree: ConfTree, build: str) -> list[Problem]:
    """Every problem of a parsed conf for a server build, in line order."""
    return Validator(build).run(tree)
