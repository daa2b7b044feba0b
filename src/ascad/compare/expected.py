"""Expected per-node differences: paths that legitimately differ between the nodes of one cluster.

When two *different* nodes are compared (peer checks, ``ascad fleet``, a node against the golden),
these paths are skipped and counted as "ignored". When a node's file is compared with its *own*
running config they are not skipped: its own addresses and ids must match exactly.

Each default entry carries the fact behind it (docs/fleet.md lists them):

- asconfig's ``confdiff.go`` skips ``file``, ``device``, ``pidfile``, ``node-id``, every
  ``*address``, every ``*port``, ``mesh-seed-address-port`` and ``tls-mesh-seed-address-port``
  (ascad compares ports: see :data:`PORTS`);
- asadm ``health`` ("Different service configurations") skips ``heartbeat.mtu``,
  ``node-id-interface``, ``node-id``, ``pidfile``, ``*address`` and ``*port``, and ("Different
  namespace configurations") ``rack-id``, ``*device`` and ``*file``;
- the runtime prints ``heartbeat.mtu`` as the *effective* MTU (the smallest interface MTU when
  the conf is silent), ``rack-id`` per rack, a random ``storage-engine.stripe[i]`` for memory
  namespaces with persistence (7.0+), and ``tls-name`` may name the host.

File and device paths (``storage-engine.file[i]``, ``device[i]``, ``index-type.mount[i]``) are
the same on most fleets and are *not* skipped unless asked (``per_node_paths``), because a
namespace pointed at the wrong device is exactly the drift worth seeing.

Settings come from ``ascad.toml`` (docs/settings.md, ``[compare]``): ``ignore`` (skipped in
every comparison), ``per_node`` (replaces the defaults), ``per_node_extra`` (adds to them) and
``per_node_paths`` (also skip storage paths).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, KeysView, Sequence
from dataclasses import dataclass, field
from typing import Any

from ascad.conf.paths import glob_regex
from ascad.errors import AscadError

# Where the agent keeps its settings; CLI commands read it too when present, so an operator on a
# node gets the same per-node list as the agent.
DEFAULT_SETTINGS_FILE = "/etc/ascad/ascad.toml"
SETTINGS_ENV = "ASCAD_SETTINGS"


@dataclass(frozen=True)
class ExpectedDifference:
    """One glob over paths (docs/paths.md) and why those paths differ per node."""

    glob: str
    reason: str


DEFAULT_PER_NODE: tuple[ExpectedDifference, ...] = (
    ExpectedDifference(
        "service.node-id",
        "unique per node; auto-generated when absent (asconfig confdiff, asadm health)",
    ),
    ExpectedDifference(
        "service.node-id-interface",
        "the interface the node id is derived from (asadm health service skip list)",
    ),
    ExpectedDifference("service.pidfile", "node-specific (asconfig confdiff, asadm health)"),
    ExpectedDifference(
        "network.*address",
        "every address and access-address is the node's own (asconfig '*address', asadm health)",
    ),
    ExpectedDifference(
        "network.*address[*]",
        "addresses are sets: one path per address (address, access-address, alternate-…, tls-…)",
    ),
    ExpectedDifference(
        "network.heartbeat.mesh-seed-address-port[*]",
        "each node lists the other nodes as seeds (asconfig confdiff)",
    ),
    ExpectedDifference(
        "network.heartbeat.tls-mesh-seed-address-port[*]",
        "each node lists the other nodes as TLS seeds (asconfig confdiff)",
    ),
    ExpectedDifference(
        "network.heartbeat.mtu",
        "the runtime prints the effective MTU of the node's interfaces (asadm health skips it)",
    ),
    ExpectedDifference(
        "network.*tls-name",
        "a tls-name may name the host itself (one certificate per node)",
    ),
    ExpectedDifference(
        "namespace[*].rack-id",
        "per rack by design (asadm health namespace skip list)",
    ),
    ExpectedDifference(
        "namespace[*].storage-engine.stripe[*]",
        "runtime-only random stripe id of a persisted memory namespace (7.0+)",
    ),
)

STORAGE_PATHS: tuple[ExpectedDifference, ...] = (
    ExpectedDifference(
        "namespace[*].storage-engine.file[*]",
        "data file paths (asconfig 'file', asadm health '*file'); only when asked",
    ),
    ExpectedDifference(
        "namespace[*].storage-engine.device[*]",
        "raw devices differ per host (asconfig 'device', asadm health '*device'); only when asked",
    ),
    ExpectedDifference(
        "namespace[*].index-type.mount[*]",
        "flash/pmem index mount points; only when asked",
    ),
    ExpectedDifference(
        "namespace[*].sindex-type.mount[*]",
        "secondary-index mount points; only when asked",
    ),
)


#: Ports are compared by default: a fleet deployed from one template listens on the same ports
#: everywhere, and a node whose service, fabric or heartbeat port differs cannot join (or is not
#: reached by) the others, which asadm's config diff reports. Only nodes sharing one host need
#: their own ports: ``--per-node 'network.*port'`` or ``[compare] per_node_extra`` says so.
PORTS = ExpectedDifference(
    "network.*port",
    "nodes sharing one host listen on their own ports (only when asked: --per-node)",
)


def default_per_node(storage_paths: bool = False) -> list[str]:
    """The default per-node globs (plus the storage paths when asked)."""
    entries = DEFAULT_PER_NODE + (STORAGE_PATHS if storage_paths else ())
    return [e.glob for e in entries]


@dataclass
class CompareSettings:
    """The ``[compare]`` settings in effect: what every comparison skips, and what peers skip."""

    ignore: list[str] = field(default_factory=list)
    per_node: list[str] = field(default_factory=default_per_node)
    source: str | None = None  # the settings file they came from, if any
    # a baseline file of acknowledged differences (ascad.checks.baseline), relative paths from
    # the settings file's directory
    baseline: str | None = None

    def peer_patterns(self) -> list[str]:
        """Globs for comparing two different nodes (or a node and the golden)."""
        return _dedupe([*self.ignore, *self.per_node])

    def own_patterns(self) -> list[str]:
        """Globs for a node's file against its own running config: per-node paths count."""
        return _dedupe(self.ignore)


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


class PathMatcher:
    """``matcher(path)``: does any glob match? One combined regex, answers memoised per path.

    A fleet has hundreds of nodes sharing almost all of their paths, and an agent asks about the
    same paths every cycle, so each distinct path is matched once. The memo is bounded
    (:data:`MAX_MEMO` paths; emptied when full): a long-running agent's namespaces and sets come
    and go.
    """

    MAX_MEMO = 1 << 16

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        self._rx = (
            re.compile("|".join(f"(?:{glob_regex(p).pattern})" for p in self.patterns), re.DOTALL)
            if self.patterns
            else None
        )
        self._memo: dict[str, bool] = {}
        self._hits: set[str] = set()  # the memoised paths that match

    def __call__(self, path: str) -> bool:
        hit = self._memo.get(path)
        if hit is None:
            if len(self._memo) >= self.MAX_MEMO:
                self._forget()
            hit = bool(self._rx is not None and self._rx.match(path))
            self._memo[path] = hit
            if hit:
                self._hits.add(path)
        return hit

    def matching(self, paths: KeysView[str] | dict[str, Any]) -> set[str]:
        """The ``paths`` (a dict or its keys) some glob matches, without a call per path once
        the paths are known: a fleet's nodes share their paths, so only new ones are matched.
        Given the dict itself, its paths are copied with the hashes it keeps (a third less work
        than from its keys view)."""
        # set.difference with a dict walks the set: a node's paths, not every path seen so far
        # (``paths - self._memo.keys()`` would walk the memo, which grows with the fleet)
        new = set(paths).difference(self._memo)
        if len(self._memo) + len(new) > self.MAX_MEMO:
            self._forget()  # (first: emptying it halfway through would lose this call's hits)
            if len(paths) > self.MAX_MEMO:
                return {p for p in paths if self._rx is not None and self._rx.match(p)}
            new = set(paths)
        for path in new:
            self(path)
        return self._hits.intersection(paths)

    def _forget(self) -> None:
        self._memo.clear()
        self._hits.clear()


# --- settings file --------------------------------------------------------------------------------

_COMPARE_KEYS = {"baseline", "ignore", "per_node", "per_node_extra", "per_node_paths"}


def _glob_list(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AscadError(f"[compare] {key} must be a list of strings (path globs)", where)
    for v in value:
        if not v.strip():
            raise AscadError(f"[compare] {key} holds an empty glob", where)
    return list(value)


def parse_settings(data: dict[str, Any], where: str) -> CompareSettings:
    """The ``[compare]`` table of an already-loaded TOML document. Other tables are not ours."""
    table = data.get("compare", {})
    if not isinstance(table, dict):
        raise AscadError("compare must be a table: [compare]", where)
    unknown = sorted(set(table) - _COMPARE_KEYS)
    if unknown:
        raise AscadError(
            f"unknown key [compare] {unknown[0]} (known: {', '.join(sorted(_COMPARE_KEYS))})",
            where,
        )
    paths = table.get("per_node_paths", False)
    if not isinstance(paths, bool):
        raise AscadError("[compare] per_node_paths must be true or false", where)
    ignore = _glob_list(table.get("ignore", []), "ignore", where)
    if "per_node" in table:
        per_node = _glob_list(table["per_node"], "per_node", where)
        if paths:
            per_node += [e.glob for e in STORAGE_PATHS]
    else:
        per_node = default_per_node(paths)
    per_node += _glob_list(table.get("per_node_extra", []), "per_node_extra", where)
    baseline = table.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise AscadError("[compare] baseline must be a file name", where)
    if baseline and not os.path.isabs(baseline) and os.path.exists(where):
        baseline = os.path.join(os.path.dirname(os.path.abspath(where)), baseline)
    return CompareSettings(
        ignore=ignore, per_node=_dedupe(per_node), source=where, baseline=baseline or None
    )


def load_settings(path: str | os.PathLike[str]) -> CompareSettings:
    """Read ``[compare]`` from a TOML settings file; AscadError naming the file and the key."""
    import tomllib  # only when there is a settings file
    from pathlib import Path

    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise AscadError("settings file not found", where) from None
    except OSError as exc:
        raise AscadError(f"cannot read the settings file: {exc.strerror or exc}", where) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise AscadError("settings file is not UTF-8 text", where) from None
    except tomllib.TOMLDecodeError as exc:
        raise AscadError(f"not valid TOML: {exc}", where) from None
    return parse_settings(data, where)


def settings_path(explicit: str | None) -> str | None:
    """Which settings file applies: ``--settings``, else $ASCAD_SETTINGS, else the agent's file
    when it exists, else none."""
    if explicit:
        return explicit
    env = os.environ.get(SETTINGS_ENV)
    if env:
        return env
    if os.path.isfile(DEFAULT_SETTINGS_FILE):
        return DEFAULT_SETTINGS_FILE
    return None


def resolve_settings(
    settings_file: str | None = None,
    *,
    ignore: Sequence[str] = (),
    per_node_extra: Sequence[str] = (),
    per_node_paths: bool = False,
    no_per_node: bool = False,
) -> CompareSettings:
    """Settings file (if any) plus command-line options, the command line winning.

    ``ignore`` adds to the file's ignore list; ``per_node_extra`` adds per-node globs;
    ``per_node_paths`` adds the storage paths; ``no_per_node`` drops every per-node glob (compare
    nodes as if they were one).
    """
    path = settings_path(settings_file)
    settings = load_settings(path) if path else CompareSettings()
    per_node = [] if no_per_node else list(settings.per_node)
    if per_node_paths and not no_per_node:
        per_node += [e.glob for e in STORAGE_PATHS]
    per_node += list(per_node_extra)
    return CompareSettings(
        ignore=_dedupe([*settings.ignore, *ignore]),
        per_node=_dedupe(per_node),
        source=settings.source,
        baseline=settings.baseline,
    )
