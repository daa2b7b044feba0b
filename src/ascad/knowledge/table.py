"""The per-version parameter table: a typed view of ``params.json`` (made by tools/gen_params.py).

Facts behind it (docs/knowledge.md):

- Aerospike publishes one JSON schema per server minor version (aerospike/schemas). The table holds
  every parameter of all 33 schemas 4.0.0 … 8.1.1, keyed by ascad's path pattern with ``*`` for stanza
  names (``namespace[*].storage-engine.write-block-size``).
- A server build uses the schema of the **newest schema version not newer than the build**
  (8.1.2.2 -> 8.1.2, the 8.1.1 schema plus a supplement; 6.3.0.6 -> 6.3.0; 4.5.1.5 -> 4.5.1).
  Builds older than the oldest schema (3.x) use 4.0.0 where a table is needed (validate, the
  emulator), but :func:`table_or_none` gives None for them: no default is assumed.
- The default a ``get-config`` prints is the runtime spelling of the schema default: integers in
  decimal, booleans ``true``/``false``, unset strings ``null`` (cf/src/dynbuf.c ``info_append_*``).
  Lists, stanzas and machine-dependent parameters have no comparable default (``None``).

The JSON file is read once per process; each version's table is built once and cached.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from ascad.errors import AscadError

_NAME_RE = re.compile(r"\[[^\]]*\]")
_VERSION_RE = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:[-_.+~ ].*)?\s*$")


@dataclass(frozen=True)
class ParamInfo:
    """What one server version knows about one parameter (or stanza) pattern.

    ``type``: integer, boolean, string, enum, list or stanza. ``unit``: duration (s/m/h/d
    suffixes, seconds at runtime), size (K/M/G/T/P suffixes, powers of 1024) or plain.
    ``engines``: for parameters inside a typed stanza, the types that have it (``device``,
    ``pmem``). ``enum`` of a typed stanza is its allowed types. ``keys``: for logging ``context``,
    the context names. ``versions``: every schema version in which the pattern exists.
    ``machine_dependent``: why the running default differs per machine, or ``None``.
    """

    path: str
    type: str
    unit: str
    default: Any
    default_canonical: str | None
    minimum: int | None
    maximum: int | None
    enum: tuple[str, ...] | None
    dynamic: bool
    enterprise_only: bool
    engines: tuple[str, ...] | None
    keys: tuple[str, ...] | None
    named: bool
    machine_dependent: str | None
    versions: tuple[str, ...]

    @property
    def is_stanza(self) -> bool:
        return self.type == "stanza"

    @property
    def since(self) -> str:
        """The first schema version that has the pattern."""
        return self.versions[0]

    @property
    def until(self) -> str:
        """The last schema version that has the pattern."""
        return self.versions[-1]


def _canonical_default(variant: dict[str, Any]) -> str | None:
    kind = variant["type"]
    if kind in ("stanza", "list") or variant.get("machine"):
        return None
    value = variant.get("default")
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return None if value is None else str(int(value))
    if value is None or value == "":
        return "null"
    return str(value)


class ParamTable:
    """All parameter patterns of one schema version."""

    def __init__(self, version: str, infos: dict[str, ParamInfo]) -> None:
        self.version = version
        self._infos = infos
        children: dict[str, set[str]] = {}
        for path in infos:
            parent, name = split_pattern(path)
            children.setdefault(parent, set()).add(name)
        self._children = {k: sorted(v) for k, v in children.items()}

    def __contains__(self, pattern: str) -> bool:
        return pattern in self._infos

    def __len__(self) -> int:
        return len(self._infos)

    def patterns(self) -> list[str]:
        return sorted(self._infos)

    def get(self, pattern: str) -> ParamInfo | None:
        """The entry for an exact pattern (``namespace[*].memory-size``)."""
        return self._infos.get(pattern)

    def lookup(self, path: str) -> ParamInfo | None:
        """The entry for a concrete path (``namespace[test].storage-engine.file[0]``)."""
        pattern = pattern_of(path)
        info = self._infos.get(pattern)
        if info is None and pattern.endswith("[*]"):
            # A list index or set element: `file[0]`, `mesh-seed-address-port[10.0.0.1:3002]`.
            info = self._infos.get(pattern[:-3])
        return info

    def keys_in(self, context_pattern: str) -> list[str]:
        """Names of the parameters and sub-stanzas directly inside a context pattern."""
        return list(self._children.get(context_pattern, ()))


def split_pattern(pattern: str) -> tuple[str, str]:
    """``namespace[*].set[*]`` -> (``namespace[*]``, ``set``); top level has parent ``""``."""
    parent, _, name = pattern.rpartition(".")
    if name.endswith("[*]"):
        name = name[:-3]
    return parent, name


@lru_cache(maxsize=1 << 16)  # bounded: the agent sees new concrete paths for as long as it runs
def pattern_of(path: str) -> str:
    """A concrete path's pattern: every ``[name]`` becomes ``[*]`` (names never contain ``]``)."""
    return _NAME_RE.sub("[*]", path)


def _read_json(name: str) -> Any:
    """One of the generated tables next to this module, decoded."""
    try:  # a plain file next to this module (an installed wheel, a checkout)
        with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:  # a zipped package: importlib.resources (slower to import) reads it
        from importlib import resources

        text = resources.files("ascad.knowledge").joinpath(name).read_text("utf-8")
    return json.loads(text)


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = _read_json("params.json")
    return data


@cache
def schema_versions() -> tuple[str, ...]:
    """The schema versions the table holds, oldest first."""
    return tuple(_data()["schemas"])


def version_key(version: str) -> tuple[int, ...]:
    """A schema version as numbers for ordering: ``8.1.1`` -> (8, 1, 1)."""
    return tuple(int(p) for p in version.split("."))


def parse_build(build: str) -> tuple[int, int, int, int]:
    """``8.1.2.2`` -> (8, 1, 2, 2); ``7.2.0.0-rc1`` -> (7, 2, 0, 0); ``6.4`` -> (6, 4, 0, 0)."""
    m = _VERSION_RE.match(build)
    if not m:
        raise AscadError(f"not a server version: {build!r} (expected e.g. 8.1.2.2 or 7.0)")
    nums = [int(g) if g is not None else 0 for g in m.groups()]
    return nums[0], nums[1], nums[2], nums[3]


# Memoised: a pure function of the build and the shipped table, asked once per parameter (the
# emulator's printers, restart flags); bounded, as builds come from the nodes.
@lru_cache(maxsize=256)
def schema_version_for(build: str) -> str:
    """The schema a server build uses: the newest one not newer than the build (see module doc)."""
    key = parse_build(build)[:3]
    chosen = schema_versions()[0]
    for version in schema_versions():
        if version_key(version) <= key:
            chosen = version
    return chosen


def newest_if_newer(build: str) -> str | None:
    """The newest schema version when ``build`` is of a newer minor release (9.0 against 8.1.2),
    which then stands in for it; else None."""
    newest = schema_versions()[-1]
    return newest if parse_build(build)[:2] > version_key(newest)[:2] else None


def next_schema_after(version: str) -> str | None:
    """The schema version after ``version``, or None for the newest."""
    versions = schema_versions()
    i = versions.index(version)
    return versions[i + 1] if i + 1 < len(versions) else None


@cache
def _index() -> dict[str, int]:
    """Schema version -> its position, oldest first."""
    return {v: i for i, v in enumerate(schema_versions())}


def _versions_between(first: str, last: str) -> tuple[str, ...]:
    index = _index()
    return schema_versions()[index[first] : index[last] + 1]


def _covers(run: list[str], position: int) -> bool:
    """True when a ``[first, last, …]`` run of versions includes the version at ``position``."""
    index = _index()
    return index[run[0]] <= position <= index[run[1]]


@cache
def _log_contexts(version: str) -> tuple[str, ...]:
    position = _index()[version]
    for run in _data()["log_contexts"]:
        if _covers(run["versions"], position):
            return tuple(run["names"])
    return ()


@cache
def _present(pattern: str) -> tuple[str, ...]:
    variants = _data()["params"].get(pattern, [])
    out: list[str] = []
    for v in variants:  # runs in version order, disjoint: the result is in order
        out.extend(_versions_between(*v["versions"]))
    return tuple(out)


def _info(pattern: str, version: str, variant: dict[str, Any]) -> ParamInfo:
    enum = variant.get("enum")
    engines = variant.get("engines")
    default = variant.get("default")
    keys = _log_contexts(version) if pattern.endswith(".context") and "logging" in pattern else None
    return ParamInfo(
        path=pattern,
        type=variant["type"],
        unit=variant.get("unit", "plain"),
        default=tuple(default) if isinstance(default, list) else default,
        default_canonical=_canonical_default(variant),
        minimum=variant.get("min"),
        maximum=variant.get("max"),
        enum=tuple(enum) if enum is not None else None,
        dynamic=bool(variant.get("dynamic", False)),
        enterprise_only=bool(variant.get("ee", False)),
        engines=tuple(engines) if engines is not None else None,
        keys=keys,
        named=bool(variant.get("named", False)),
        machine_dependent=variant.get("machine"),
        versions=_present(pattern),
    )


@cache
def _table(version: str) -> ParamTable:
    infos: dict[str, ParamInfo] = {}
    position = _index()[version]
    for pattern, variants in _data()["params"].items():
        for variant in variants:
            if _covers(variant["versions"], position):
                infos[pattern] = _info(pattern, version, variant)
                break
    return ParamTable(version, infos)


def table_for(build: str) -> ParamTable:
    """The parameter table of the schema a server build uses (``8.1.2.2`` -> schema 8.1.1)."""
    return _table(schema_version_for(build))


def versions_of(pattern: str) -> tuple[str, ...]:
    """Every schema version that has ``pattern`` (empty: unknown in all versions)."""
    return _present(pattern)


def all_patterns() -> list[str]:
    """Every pattern known to any schema version."""
    return sorted(_data()["params"])


@cache
def _units() -> dict[str, str]:
    """Each pattern's unit kind in the newest schema that has it: units.json, which
    tools/gen_params.py derives from params.json (a file of its own because parsing and
    flattening need only this, and it reads in a thirtieth of the time of the whole table:
    ``ascad diff`` of two files never loads params.json)."""
    units: dict[str, str] = _read_json("units.json")
    return units


def known_unit(path: str) -> str | None:
    """Like :func:`unit_kind`, but ``None`` when no schema knows the parameter."""
    return known_unit_of_pattern(pattern_of(path))


def known_unit_of_pattern(pattern: str) -> str | None:
    """:func:`known_unit` of a path already spelt as its pattern (``namespace[*].default-ttl``)."""
    units = _units()
    unit = units.get(pattern)
    if unit is None and pattern.endswith("[*]"):
        unit = units.get(pattern[:-3])
    return unit


def unit_kind(path: str) -> str:
    """``duration``, ``size``, ``bool`` or ``plain`` for a concrete path, in any version.

    Taken from the newest schema that has the parameter; ``plain`` when no schema knows it.
    """
    return known_unit(path) or "plain"


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


def table_or_none(build: str | None) -> ParamTable | None:
    """The table for a server build, or None when the build is unknown, cannot be read, or is
    older than every schema (3.x: its defaults and restart flags are not assumed)."""
    if not build:
        return None
    try:
        if is_older_than_table(build):
            return None
        return table_for(build)
    except (AscadError, OSError, ValueError):
        return None


# --- the server parser's facts per version (tools/gen_server_facts.py, from cfg.c) ----------------


def oldest_schema() -> str:
    """The oldest schema version the table holds (4.0.0)."""
    return schema_versions()[0]


def is_older_than_table(build: str) -> bool:
    """True for a build older than every schema (3.x): no defaults, ranges or restart flags are
    known for it, so none is assumed."""
    return parse_build(build)[:3] < version_key(oldest_schema())


def older_than_table_message(build: str) -> str | None:
    """What to tell the user about a build older than every schema; None for any other build."""
    try:
        if not is_older_than_table(build):
            return None
    except AscadError:
        return None
    return (
        f"server {build} is older than the oldest schema ascad holds ({oldest_schema()}): "
        "values are compared, but no default is assumed (nothing is reported as set at runtime "
        "or settled as a default) and restart flags are unknown"
    )


def _fact_where(kind: str, pattern: str, version: str) -> str | None:
    runs = _data().get("server_facts", {}).get(kind, {}).get(pattern, ())
    position = _index()[version]
    for run in runs:
        if _covers(run, position):
            return str(run[2])
    return None


def deprecated_where(pattern: str, version: str) -> str | None:
    """Where the server of schema ``version`` warns "NAME is deprecated - please remove" for
    ``pattern`` (``cfg.c:2698@4.9.0.3``), or None. A stanza pattern ends in ``{}``
    (``namespace[*].si{}``): its whole body is skipped."""
    return _fact_where("deprecated", pattern, version)


def value_ignored_where(pattern: str, version: str) -> str | None:
    """Where the server of schema ``version`` switches ``pattern`` on without reading its value
    (``ns->write_benchmarks_enabled = true;``), or None."""
    return _fact_where("value_ignored", pattern, version)


def yes_no_where(version: str) -> str | None:
    """Where ``cfg_bool()`` of schema ``version`` accepts yes/no as well as true/false, or None
    (from 7.2 only true/false)."""
    position = _index()[version]
    for run in _data().get("server_facts", {}).get("yes_no", ()):
        if _covers(run, position):
            return str(run[2])
    return None


def renamed_to(pattern: str, version: str) -> tuple[str, str] | None:
    """(new name, where) when the server of schema ``version`` reads ``pattern`` as another name
    with a warning ("NAME was renamed - please use 'NEW'", 4.x), or None."""
    where = _fact_where("renamed", pattern, version)
    if where is None:
        return None
    cite, _, new = where.rpartition(" ")
    return new, cite
