"""Runtime keys <-> conf paths: one table of rows, each with the fact behind it.

The running server prints its configuration per context as flat ``key=value`` pairs
(:mod:`ascad.runtime.snapshot`). Most keys map by one general rule, the same in every context
(shared/aerospike/conf-format-and-runtime-mapping.md section c, "Flattening rules"):

- the context gives the path prefix: ``service.``, ``network.``, ``namespace[NS].``,
  ``namespace[NS].set[S].``, ``security.``, ``xdr.``, ``xdr.dc[D].``, ``xdr.dc[D].namespace[N].``;
- a dotted key is a sub-stanza: ``heartbeat.mode`` -> ``network.heartbeat.mode`` (our paths use
  the same dots, so the key is kept);
- a typed stanza prints its type as a value: ``storage-engine=device`` -> the stanza
  ``namespace[NS].storage-engine`` whose value is ``device``;
- ordered lists print as ``key[i]`` in conf order, the same spelling as our paths; the second
  token of a ``file``/``device`` line prints as ``key[i].shadow`` and is folded back into the
  value (``/a /b``);
- ``tls[i].name=NAME`` names the i-th TLS stanza: ``tls[i].x`` -> ``network.tls[NAME].x``;
- set-shaped keys (``ascad.conf.keys.SET_KEYS``) print once per element, multi-token lines joined
  by ``:`` (``10.0.0.1:3002``): each element becomes ``key[10.0.0.1:3002]``, value ``10.0.0.1 3002``;
- a single key that reads several tokens (``keys.MAX_VALUES``: ``secrets-address-port h p [tls]``)
  prints them joined by ``:`` too (``h:p[:tls]``) and is split back the same way;
- values are already canonical (bytes, seconds, lowercase booleans); they are still passed
  through :func:`ascad.conf.values.canonical_values` with the parameter's kind so both sides use
  one function (a string value stays verbatim);
- logging: ``logs`` (``id:sink``) and ``log/ID`` (``context:LEVEL``) become
  ``logging.file[PATH].context[ctx]`` (level lowercase); the sink ``stderr`` is ``logging.console``
  and a syslog sink shows only its path (``/dev/log`` by default), so it is recognised by path.

:data:`ROWS` holds every exception to that rule (renames, runtime-only keys, comma lists), with the
versions it applies to. :data:`UNVERIFIABLE` lists conf paths the server never prints.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ascad.conf import keys
from ascad.conf.model import ConfTree, FlatConfig, Param, Setting, Stanza
from ascad.conf.paths import glob_regex, segment_parts, split_path
from ascad.conf.values import canonical_values
from ascad.knowledge.table import known_unit
from ascad.runtime.snapshot import KV, RuntimeSnapshot, build_tuple

Version = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One exception to the general rule.

    ``context``: service, network, namespace, set, security, xdr, dc, dc-namespace. ``runtime``:
    the runtime key, a glob (``*`` any run, brackets literal). ``conf``: the conf key it maps to,
    or ``None`` for a runtime-only key (dropped). ``shape``: ``plain`` or ``comma-set`` (one key
    whose value is a comma list of set elements). ``since``/``until``: server versions it applies
    to (until is exclusive; ``None`` unbounded).
    """

    context: str
    runtime: str
    conf: str | None
    fact: str
    shape: str = "plain"
    since: Version | None = None
    until: Version | None = None

    def applies(self, build: Version | None) -> bool:
        if build is None:
            return True
        if self.since is not None and build < self.since:
            return False
        return not (self.until is not None and build >= self.until)


ROWS: tuple[Row, ...] = (
    # --- runtime-only keys: printed, but no conf line sets them ---------------------------------
    Row("xdr", "dcs", None, "the dc list; the dc stanzas say it (cfg_info.c, EE)"),
    Row("xdr", "trace-sample", None, "set-config only; no conf line"),
    Row("dc", "namespaces", None, "comma list of the dc's enabled namespaces: the dc's stanzas"),
    Row("dc-namespace", "enabled", None, "membership; unconfigured namespaces answer false"),
    Row(
        "namespace",
        "storage-engine.stripe[*]",
        None,
        "7.0+ memory storage with persistence prints a random stripe id next to file[i]",
    ),
    Row("namespace", "force-long-queries", None, "set-config only; no conf line"),
    Row(
        "security",
        "enable-security",
        None,
        "from 5.7 the security {} stanza enables security and the key is obsolete in the conf; "
        "5.7-6.4 still print it",
        since=(5, 7),
    ),
    Row("security", "report-*-sinks", None, "4.x counters of log sinks", until=(5, 0)),
    # --- renames --------------------------------------------------------------------------------
    Row(
        "service",
        "feature-key-file",
        "feature-key-file[0]",
        "4.x printed the single feature-key-file without an index; 5.x+ print [i]",
    ),
    Row(
        "set",
        "stop-writes-count",
        "set-stop-writes-count",
        "up to 4.9 the set conf names carried a set- prefix, the runtime did not",
        until=(5, 0),
    ),
    Row(
        "set",
        "disable-eviction",
        "set-disable-eviction",
        "up to 4.9 the set conf names carried a set- prefix, the runtime did not",
        until=(5, 0),
    ),
    Row("security", "syslog-local", "syslog.local", "4.x printed security syslog local flat"),
    # --- xdr lists: one comma-separated key, renamed -------------------------------------------
    Row("dc-namespace", "shipped-bins", "ship-bin", "conf ship-bin lines", "comma-set"),
    Row("dc-namespace", "shipped-sets", "ship-set", "conf ship-set lines", "comma-set"),
    Row("dc-namespace", "ignored-bins", "ignore-bin", "conf ignore-bin lines", "comma-set"),
    Row("dc-namespace", "ignored-sets", "ignore-set", "conf ignore-set lines", "comma-set"),
    Row(
        "dc",
        "node-address-port",
        "node-address-port",
        "one key; several seeds comma-joined (management lib), h:p per seed",
        "comma-set",
    ),
)


@dataclass(frozen=True)
class Unverifiable:
    """A conf path (glob) the running server never prints, with the fact."""

    pattern: str
    fact: str
    since: Version | None = None
    until: Version | None = None  # exclusive

    def applies(self, path: str, build: Version | None) -> bool:
        if self.since is not None and build is not None and build < self.since:
            return False
        if self.until is not None and build is not None and build >= self.until:
            return False
        return bool(glob_regex(self.pattern).match(path))


UNVERIFIABLE: tuple[Unverifiable, ...] = (
    Unverifiable("service.user", "get-config has no user key (cfg_info.c says so)"),
    Unverifiable("service.group", "get-config has no group key (cfg_info.c says so)"),
    Unverifiable("mod-lua", "mod-lua has no get-config context"),
    Unverifiable("mod-lua.*", "mod-lua has no get-config context"),
    Unverifiable("logging.syslog.facility", "logs shows a syslog sink's path only"),
    Unverifiable("logging.syslog.tag", "logs shows a syslog sink's path only"),
    Unverifiable("network.tls[*].pki-user-append-ou", "8.1 does not print it"),
    Unverifiable("network.info", "8.1 ignores network info {} (obsolete)", since=(8, 1)),
    Unverifiable("network.info.*", "8.1 ignores network info {} (obsolete)", since=(8, 1)),
    Unverifiable("security.syslog", "security syslog is not printed (removed in 6.3)"),
    Unverifiable("security.syslog.*", "security syslog is not printed (removed in 6.3)"),
    Unverifiable(
        "security.log.report-data-op*", "how the ns/set scopes print is not known (EE printer)"
    ),
    Unverifiable(
        "xdr.datacenter[*]",
        "pre-5.0 datacenter stanzas print through get-dc-config, which ascad does not read (4.x "
        "XDR is enterprise code and no capture shows that answer)",
        until=(5, 0),
    ),
    Unverifiable(
        "xdr.datacenter[*].*",
        "pre-5.0 datacenter stanzas print through get-dc-config, which ascad does not read (4.x "
        "XDR is enterprise code and no capture shows that answer)",
        until=(5, 0),
    ),
    Unverifiable(
        "security.ldap.role-query-pattern[*]",
        "how the ldap role-query-pattern list prints is not known: the security printer is EE "
        "only and no capture shows it (the 6.4 excerpt prints ldap.disable-tls and "
        "ldap.polling-period only)",
    ),
)


@dataclass(frozen=True)
class RuntimeDefault:
    """A running value that is the default although the schema's default differs.

    ``when``: (sibling key, value) that must hold in the same stanza on the node, or None.
    ``forced``: the server sets this value over a conf line too, so a conf value that differs
    is not drift (the line has no effect): drift lists it as unverifiable.
    """

    pattern: str
    value: str
    fact: str
    when: tuple[str, str] | None = None
    forced: bool = False


RUNTIME_DEFAULTS: tuple[RuntimeDefault, ...] = (
    RuntimeDefault(
        "namespace[*].mrt-duration",
        "0",
        "a namespace without strong-consistency prints mrt-duration=0 (8.1.2.2 capture); the "
        "schema's 10 s default applies to strong-consistency namespaces only",
    ),
    RuntimeDefault(
        "namespace[*].storage-engine.post-write-queue",
        "0",
        "cfg.c forces post-write-queue to 0 for a data-in-memory namespace, over the default "
        "(and over a conf value); the 6.x capture prints data-in-memory=true with "
        "post-write-queue=0",
        when=("data-in-memory", "true"),
        forced=True,
    ),
)


@dataclass(frozen=True)
class DerivedValue:
    """A conf value that asks the server to work the running value out itself.

    Such a line cannot be checked: the node prints what it derived (its machine's value), never
    the conf's token, so drift lists it as unverifiable instead of comparing.
    """

    pattern: str
    value: str  # canonical conf value
    fact: str


DERIVED_VALUES: tuple[DerivedValue, ...] = (
    DerivedValue(
        "network.heartbeat.mtu",
        "0",
        "heartbeat mtu 0 is the schema's default, which makes the node print its smallest "
        "interface MTU (the effective MTU, facts c); an explicit 0 is the same stored value as a "
        "silent conf",
    ),
)


def derived_value_rule(path: str, conf_value: str) -> DerivedValue | None:
    """The :data:`DERIVED_VALUES` rule for a conf value at ``path``, or None."""
    for rule in DERIVED_VALUES:
        if conf_value == rule.value and glob_regex(rule.pattern).match(path):
            return rule
    return None


def runtime_default_rule(
    path: str, value: str, settings: dict[str, Setting] | None = None
) -> RuntimeDefault | None:
    """The :data:`RUNTIME_DEFAULTS` rule that explains ``value`` at ``path``, or None.

    ``settings``: the node's flat settings, needed by the rules that depend on a sibling key
    (without them those rules never apply).
    """
    for rule in RUNTIME_DEFAULTS:
        if value != rule.value or not glob_regex(rule.pattern).match(path):
            continue
        if rule.when is None:
            return rule
        if settings is None:
            continue
        parent = ".".join(split_path(path)[:-1])
        sibling = settings.get(f"{parent}.{rule.when[0]}")
        if sibling is not None and sibling.canonical == rule.when[1]:
            return rule
    return None


def is_runtime_default(path: str, value: str, settings: dict[str, Setting] | None = None) -> bool:
    """True if ``value`` is what the server prints for ``path`` when the conf is silent."""
    return runtime_default_rule(path, value, settings) is not None


def unverifiable_reason(path: str, build: Version | None) -> str | None:
    """Why a conf path cannot be checked against the runtime, or None."""
    return _unverifiable_reason(path, build)


@lru_cache(maxsize=1 << 14)
def _unverifiable_reason(path: str, build: Version | None) -> str | None:
    # memoised like _row_for below: a pure function of the path, the build and a constant table
    for u in UNVERIFIABLE:
        if u.applies(path, build):
            return u.fact
    return None


def row_for(context: str, key: str, build: Version | None) -> Row | None:
    """The :data:`ROWS` exception for a runtime key of ``context`` on ``build``, or None."""
    return _row_for(context, key, build)


# Memoised pure functions of the key alone (and the constant tables): a fleet maps the same few
# hundred keys on every node. Nothing read from a node or a file is kept, so nothing goes stale.
@lru_cache(maxsize=1 << 16)
def _row_for(context: str, key: str, build: Version | None) -> Row | None:
    for row in ROWS:
        if row.context == context and row.applies(build) and glob_regex(row.runtime).match(key):
            return row
    return None


# --- path helpers ------------------------------------------------------------------------------


def stanza_kind(parent_kind: str, segment: str) -> str | None:
    """``named``, ``typed``, ``plain`` if ``segment`` opens a stanza inside ``parent_kind``."""
    base, name = segment_parts(segment)
    if name is not None:
        ctxs = keys.NAMED_STANZAS.get(base)
        return "named" if ctxs is not None and parent_kind in ctxs else None
    if base in keys.TYPED_STANZAS and parent_kind == "namespace":
        return "typed"
    ctxs = keys.PLAIN_STANZAS.get(base)
    return "plain" if ctxs is not None and parent_kind in ctxs else None


def stanza_prefixes(path: str) -> list[tuple[str, str]]:
    """Every ancestor of ``path`` that is a stanza, as (path, kind), outermost first."""
    return list(_stanza_prefixes(path))


@lru_cache(maxsize=1 << 16)
def _stanza_prefixes(path: str) -> tuple[tuple[str, str], ...]:
    segs = split_path(path)
    out = []
    parent_kind = ""
    for i, seg in enumerate(segs[:-1]):
        kind = stanza_kind(parent_kind, seg)
        if kind is None:
            break
        out.append((".".join(segs[: i + 1]), kind))
        parent_kind = segment_parts(seg)[0]
    return tuple(out)


def element_tokens(key: str, element: str) -> tuple[str, ...]:
    """A set element as printed (``h:p``, ``h:p:tls``) -> the conf tokens (``h p``, ``h p tls``).

    IPv6 hosts are not bracketed at runtime, so the port is found from the right.
    """
    n = keys.max_values(key)
    if n < 2 or ":" not in element:
        return (element,)
    if n >= 3:
        head, _, last = element.rpartition(":")
        if not last.isdigit() and ":" in head:
            host, _, port = head.rpartition(":")
            if port.isdigit():
                return (host, port, last)
    host, _, port = element.rpartition(":")
    return (host, port)


def _is_multi_token(base: str, key: str) -> bool:
    """A single (not repeated) key whose conf line has several tokens, printed joined by ``:``.

    Fact (conf-format-and-runtime-mapping.md c, "Multi-token lines are joined with ``:``"):
    ``secrets-address-port h p [tls]`` prints ``h:p[:tls]``. Which keys read more than one token
    is ``keys.MAX_VALUES``; ordered lists (``file``/``device``: the second token is ``.shadow``),
    set keys (one element per printed key) and logging ``context`` have their own rules.
    """
    if keys.max_values(base) < 2 or "[" in split_path(key)[-1]:
        return False
    return (
        base not in keys.ORDERED_KEYS and base not in keys.SET_KEYS and base not in keys.KEYED_KEYS
    )


def set_path(prefix: str, key: str, tokens: tuple[str, ...]) -> tuple[str, str, str]:
    """(path, value, canonical) of one set element, spelled like ``ascad.conf.flatten``."""
    base = split_path(key)[-1]
    canonical = canonical_values(base, tokens)
    return f"{prefix}{key}[{':'.join(canonical.split(' '))}]", " ".join(tokens), canonical


# --- runtime -> flat ---------------------------------------------------------------------------


class _Builder:
    def __init__(self, source: str) -> None:
        self.flat = FlatConfig(source=source)

    def _parents(self, path: str) -> None:
        """Add the stanzas that enclose ``path`` (empty, line 0) that are not there yet."""
        settings = self.flat.settings
        for parent, _ in _stanza_prefixes(path):
            if parent not in settings:
                settings[parent] = Setting(parent, "", "", 0, stanza=True)

    def stanza(self, path: str, value: str = "") -> None:
        self._parents(path)
        old = self.flat.settings.get(path)
        if old is None or (value and old.value != value):
            self.flat.settings[path] = Setting(path, value, value, 0, stanza=True)

    def param(self, path: str, value: str, canonical: str) -> None:
        self._parents(path)
        self.flat.settings[path] = Setting(path, value, canonical, 0)


_TLS_RE = re.compile(r"^tls\[(\d+)\]\.(.+)$")
_SHADOW_RE = re.compile(r"^(.*\[\d+\])\.shadow$")
_INDEXED_RE = re.compile(r"\[\d+\]\.")


# What map_context does with one key, worked out once per (context, prefix, key, build): the
# steps below that depend on the key alone. None: a tls[i] key, which depends on the node's own
# tls names and takes the general path.
_SKIP, _SHADOW, _SET, _TYPED, _MULTI, _PARAM = range(6)
# (step, key, base, unit, comma-set, prefix + key, the stanzas enclosing that path): the path
# string is one object for every node
_Plan = tuple[int, str, str, str | None, bool, str, tuple[tuple[str, str], ...]]


@lru_cache(maxsize=1 << 16)
def _plan(context: str, prefix: str, k: str, build: Version | None) -> _Plan | None:
    row = row_for(context, k, build)
    if row is not None and row.conf is None:
        return (_SKIP, k, "", None, False, "", ())
    key = row.conf if row is not None and row.conf else k
    if _TLS_RE.match(key):
        return None
    m = _SHADOW_RE.match(key)
    if m:
        return (_SHADOW, m.group(1), "", None, False, prefix + m.group(1), ())
    if _INDEXED_RE.search(key) and not key.startswith("tls["):
        return (_SKIP, key, "", None, False, "", ())
    last = split_path(key)[-1]
    base = segment_parts(last)[0]
    comma = row is not None and row.shape == "comma-set"
    if comma or (base in keys.SET_KEYS and "[" not in last):
        return (_SET, key, base, None, comma, "", ())
    if context == "namespace" and key in keys.TYPED_STANZAS:
        return (_TYPED, key, base, None, False, prefix + key, ())
    if _is_multi_token(base, key):
        return (_MULTI, key, base, None, False, prefix + key, ())
    path = prefix + key
    return (_PARAM, key, base, known_unit(path), False, path, _stanza_prefixes(path))


_new_setting = tuple.__new__


@lru_cache(maxsize=1 << 16)
def _canonical(base: str, value: str, unit: str | None) -> str:
    return canonical_values(base, (value,), unit)


# The params one runtime pair becomes, each with the stanzas that enclose it (outermost first):
# b.param(path, value, canonical) for each, in order.
_Writes = tuple[tuple[tuple[str, ...], str, Setting], ...]


# A pure function of the pair, the context and the build, memoised per context
# (:func:`_context_memo`): nodes share most pairs (and so their Setting objects); a pair only one
# node prints (its node-id, its addresses) is mapped once and kept until the bound clears it.
def _pair_writes(
    context: str, prefix: str, k: str, v: str, build: Version | None
) -> _Writes | None:
    """What a parameter pair writes (``()``: a pair that is skipped; None: a shadow, a typed
    stanza or a ``tls[i]`` key, which map_context handles itself)."""
    plan = _plan(context, prefix, k, build)
    if plan is None:
        return None
    step, key, base, unit, comma, path, parents = plan
    if step == _SKIP:
        return ()
    if step == _PARAM:
        # (tuple.__new__: the named tuple's __new__ is a Python function around it)
        setting = _new_setting(Setting, (path, v, _canonical(base, v, unit), 0, 1, False))
        return ((tuple(p for p, _ in parents), path, setting),)
    if step == _SET:
        out: list[tuple[tuple[str, ...], str, Setting]] = []
        for element in v.split(",") if comma else [v]:
            element = element.strip()
            if not element or element == "null":
                continue
            where, value, canonical = set_path(prefix, key, element_tokens(base, element))
            out.append((_enclosing(where), where, Setting(where, value, canonical, 0)))
        return tuple(out)
    if step == _MULTI:
        tokens = element_tokens(base, v)
        value = " ".join(tokens)
        setting = Setting(path, value, canonical_values(base, tokens), 0)
        return ((_enclosing(path), path, setting),)
    return None


def _enclosing(path: str) -> tuple[str, ...]:
    """The stanzas b.param adds (when missing) before ``path``."""
    return tuple(parent for parent, _ in _stanza_prefixes(path))


# Each context's pairs -> their writes (_pair_writes), one dict per (context, prefix, build): a
# pair is looked up by itself, the (key, value) tuple the snapshot holds, which is cheaper than a
# call through a cache keyed on five arguments. Bounded: 32 contexts of 1024 pairs (a context
# that reaches the bound is cleared: its shared pairs are mapped again once).
_CONTEXT_MEMOS = 32
_PAIRS_PER_CONTEXT = 1024
_MISS: Any = object()


@lru_cache(maxsize=_CONTEXT_MEMOS)
def _context_memo(
    context: str, prefix: str, build: Version | None
) -> dict[tuple[str, str], _Writes | None]:
    return {}


def _tls_names(kv: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``tls[i].name=NAME`` pairs: {i: NAME}."""
    names: dict[str, str] = {}
    for k, v in kv:
        if k.startswith("tls["):
            m = _TLS_RE.match(k)
            if m and m.group(2) == "name":
                names[m.group(1)] = v
    return names


def map_context(
    b: _Builder,
    context: str,
    prefix: str,
    kv: KV | tuple[tuple[str, str], ...],
    build: Version | None,
) -> None:
    """Add one context's pairs to the flat config under ``prefix``."""
    tls_names: dict[str, str] | None = None  # worked out at the first tls[i] key
    shadows: list[tuple[str, str]] = []
    settings = b.flat.settings
    memo = _context_memo(context, prefix, build)
    for pair in kv:
        writes = memo.get(pair, _MISS)
        if writes is _MISS:
            writes = _pair_writes(context, prefix, pair[0], pair[1], build)
            if len(memo) >= _PAIRS_PER_CONTEXT:
                memo.clear()
            memo[pair] = writes
        if writes is not None:  # b.param for each write, inline: most pairs take this way
            for parents, path, setting in writes:
                for parent in parents:
                    if parent not in settings:
                        settings[parent] = Setting(parent, "", "", 0, stanza=True)
                settings[path] = setting
            continue
        k, v = pair
        plan = _plan(context, prefix, k, build)
        if plan is not None:  # a pair without writes of its own
            step, path = plan[0], plan[5]
            if step == _SHADOW:
                shadows.append((path, v))
            elif step == _TYPED:
                b.stanza(path, v)
            continue
        row = row_for(context, k, build)
        if row is not None and row.conf is None:
            continue
        key = row.conf if row is not None and row.conf else k
        m = _TLS_RE.match(key)
        if m and tls_names is None:
            tls_names = _tls_names(kv)
        if m and tls_names is not None and m.group(1) in tls_names:
            name = tls_names[m.group(1)]
            if m.group(2) == "name":
                b.stanza(f"{prefix}tls[{name}]")
                continue
            key = f"tls[{name}].{m.group(2)}"
        m = _SHADOW_RE.match(key)
        if m:
            shadows.append((prefix + m.group(1), v))
            continue
        if _INDEXED_RE.search(key) and not key.startswith("tls["):
            continue  # a per-item statistic (`file[0].age`) that slipped through
        base = segment_parts(split_path(key)[-1])[0]
        if (row is not None and row.shape == "comma-set") or (
            base in keys.SET_KEYS and "[" not in split_path(key)[-1]
        ):
            elements = v.split(",") if row is not None and row.shape == "comma-set" else [v]
            for element in elements:
                element = element.strip()
                if not element or element == "null":
                    continue
                path, value, canonical = set_path(prefix, key, element_tokens(base, element))
                b.param(path, value, canonical)
            continue
        if context == "namespace" and key in keys.TYPED_STANZAS:
            b.stanza(prefix + key, v)
            continue
        if _is_multi_token(base, key):
            tokens = element_tokens(base, v)
            b.param(prefix + key, " ".join(tokens), canonical_values(base, tokens))
            continue
        # the parameter's kind, as the conf side reads it (ascad.conf.flatten): a string stays
        # verbatim (`cluster-name=10K`, `pidfile=True`; facts b "Strings. Taken verbatim")
        b.param(prefix + key, v, canonical_values(base, (v,), known_unit(prefix + key)))
    for path, shadow in shadows:
        s = b.flat.settings.get(path)
        if s is not None and shadow and shadow != "null":
            base = segment_parts(split_path(path)[-1])[0]
            value = f"{s.value} {shadow}"
            b.flat.settings[path] = Setting(
                path, value, canonical_values(base, (s.value, shadow)), 0
            )


DEFAULT_SYSLOG_PATHS = ("/dev/log",)


def sink_path(sink: str, syslog_paths: tuple[str, ...] | frozenset[str]) -> str:
    """A ``logs`` sink -> its conf stanza path (``stderr`` is the console; syslog by path)."""
    if sink == "stderr":
        return "logging.console"
    if sink in syslog_paths:
        return "logging.syslog"
    return f"logging.file[{sink}]"


# A fleet's nodes mostly print the same namespaces and the same log sinks. Those blocks are
# mapped once per distinct input and their settings copied into each node's flat: the memo's key
# is the block's whole input, so its answer is the one mapping would give (never another node's,
# never stale), and Setting is immutable, so nodes can share them. It holds for blocks whose paths
# no other block can write or read: the logging block owns every path under ``logging``, and a
# namespace whose name has no bracket owns every path under ``namespace[NAME]`` (a bracket in a
# name could make one namespace's paths another's: those are mapped in place).
_BLOCK_MEMO = 256  # distinct blocks kept; a fleet has a handful


def _plain_name(name: str) -> bool:
    return "[" not in name and "]" not in name


def _map_logging(
    b: _Builder,
    logs: tuple[tuple[str, str], ...],
    levels: tuple[tuple[tuple[str, str], ...], ...],
    syslog_paths: tuple[str, ...] | frozenset[str],
) -> None:
    """The ``logs`` sinks and each one's ``log/ID`` levels (``levels``, in the same order)."""
    b.stanza("logging")
    for (_sink_id, sink), sink_levels in zip(logs, levels, strict=True):
        base = sink_path(sink, syslog_paths)
        b.stanza(base)
        if base == "logging.syslog":
            b.param("logging.syslog.path", sink, sink)
        for ctx, level in sink_levels:
            b.param(f"{base}.context[{ctx.lower()}]", level.lower(), level.lower())


@lru_cache(maxsize=_BLOCK_MEMO)
def _logging_settings(
    logs: tuple[tuple[str, str], ...],
    levels: tuple[tuple[tuple[str, str], ...], ...],
    syslog_paths: tuple[str, ...] | frozenset[str],
) -> Mapping[str, Setting]:
    b = _Builder("")
    _map_logging(b, logs, levels, syslog_paths)
    return b.flat.settings  # (a dict, never changed: a node's dict is updated from it, in C)


def _map_namespace(
    b: _Builder,
    ns: str,
    kv: KV | tuple[tuple[str, str], ...],
    sets: Iterable[tuple[str, KV | tuple[tuple[str, str], ...]]],
    build: Version | None,
) -> None:
    """One namespace's config and its sets' under ``namespace[NS]``."""
    prefix = f"namespace[{ns}]"
    b.stanza(prefix)
    map_context(b, "namespace", prefix + ".", kv, build)
    for set_name, set_kv in sets:
        b.stanza(f"{prefix}.set[{set_name}]")
        map_context(b, "set", f"{prefix}.set[{set_name}].", set_kv, build)


@lru_cache(maxsize=_BLOCK_MEMO)
def _namespace_settings(
    ns: str,
    kv: tuple[tuple[str, str], ...],
    sets: tuple[tuple[str, tuple[tuple[str, str], ...]], ...],
    build: Version | None,
) -> Mapping[str, Setting]:
    b = _Builder("")
    _map_namespace(b, ns, kv, sets, build)
    return b.flat.settings  # (as _logging_settings)


def runtime_to_flat(
    snap: RuntimeSnapshot,
    *,
    syslog_paths: tuple[str, ...] | frozenset[str] = DEFAULT_SYSLOG_PATHS,
) -> FlatConfig:
    """The snapshot as a FlatConfig: paths per docs/paths.md, canonical values, line 0."""
    build = build_tuple(snap.build)
    b = _Builder(f"aerospike://{snap.address}")
    if snap.service:
        b.stanza("service")
        map_context(b, "service", "service.", snap.service, build)
    if snap.logs:
        levels = tuple(tuple(snap.log_levels.get(sink_id, ())) for sink_id, _ in snap.logs)
        b.flat.settings.update(_logging_settings(tuple(snap.logs), levels, syslog_paths))
    if snap.network:
        b.stanza("network")
        map_context(b, "network", "network.", snap.network, build)
    if all(_plain_name(ns) for ns in snap.namespaces):
        for ns, kv in snap.namespaces.items():
            sets = tuple((name, tuple(set_kv)) for name, set_kv in snap.sets.get(ns, {}).items())
            b.flat.settings.update(_namespace_settings(ns, tuple(kv), sets, build))
    else:  # a bracket in a name: one namespace's paths could be another's, map in node order
        for ns, kv in snap.namespaces.items():
            _map_namespace(b, ns, kv, snap.sets.get(ns, {}).items(), build)
    if snap.security is not None:
        b.stanza("security")
        map_context(b, "security", "security.", snap.security, build)
    if snap.xdr is not None:
        b.stanza("xdr")
        map_context(b, "xdr", "xdr.", snap.xdr, build)
        for dc, kv in snap.dcs.items():
            b.stanza(f"xdr.dc[{dc}]")
            map_context(b, "dc", f"xdr.dc[{dc}].", kv, build)
            for ns, ns_kv in snap.dc_namespaces.get(dc, {}).items():
                b.stanza(f"xdr.dc[{dc}].namespace[{ns}]")
                map_context(b, "dc-namespace", f"xdr.dc[{dc}].namespace[{ns}].", ns_kv, build)
        fold_digestlog(b.flat)
    return b.flat


def fold_digestlog(flat: FlatConfig) -> None:
    """Pre-5.0 XDR: the conf's one line ``xdr-digestlog-path PATH SIZE`` (cfg.c:4070-4072@4.9.0.3
    reads the path and ``cfg_u64_val2_no_checks`` the size) prints as two keys,
    ``xdr-digestlog-path=PATH;xdr-digestlog-size=BYTES`` (the 3.14.1.1 capture,
    tests/fixtures/runtime/mgmtlib-3.14.1.1-reconstructed): folded back into the conf's one
    parameter. ``NULL`` (no digest log) is the schemas' ``null``."""
    size = flat.settings.get("xdr.xdr-digestlog-size")
    path = flat.settings.get("xdr.xdr-digestlog-path")
    if size is None or path is None:
        return
    del flat.settings["xdr.xdr-digestlog-size"]
    where = "null" if path.value.lower() == "null" else path.value
    tokens = (where, size.value)
    flat.settings[path.path] = Setting(
        path.path, " ".join(tokens), canonical_values("xdr-digestlog-path", tokens), 0
    )


# --- flat -> tree (for `ascad show`) ------------------------------------------------------------

# Typed stanzas that are one-liners when they have no body (cfg.c): index types shmem/mem
# always, `storage-engine memory` only before 7.0 (from 7.0 it always opens a body).
_ONE_LINER_TYPES = {"index-type": {"shmem", "mem"}, "sindex-type": {"shmem", "mem"}}


def _one_liner(stanza: Stanza, build: Version | None) -> bool:
    if stanza.children:
        return False
    if stanza.kind == "storage-engine":
        return stanza.name == "memory" and (build is None or build < (7, 0))
    return stanza.name in _ONE_LINER_TYPES.get(stanza.kind, set())


def flat_to_tree(
    flat: FlatConfig,
    *,
    include: Callable[[Setting], bool] | None = None,
    build: str | None = None,
) -> ConfTree:
    """A FlatConfig (usually from :func:`runtime_to_flat`) as a tree that renders to conf text.

    ``include(setting) -> bool`` filters parameters, and stanzas: a stanza it refuses is left out
    with everything inside it (stanzas it keeps stay when they have content or are named/typed).
    Logging contexts are written as ``context any LEVEL`` (the most common level) plus the
    contexts that differ, which the server expands back to the same levels.
    """
    bt = build_tuple(build)
    root = Stanza(kind="", name=None, line=0)
    nodes: dict[str, Stanza] = {"": root}
    kinds: dict[str, str] = {}

    def ensure(path: str) -> Stanza:
        if path in nodes:
            return nodes[path]
        segs = split_path(path)
        parent_path = ".".join(segs[:-1])
        parent = ensure(parent_path) if parent_path else root
        base, name = segment_parts(segs[-1])
        kind = stanza_kind(parent.kind, segs[-1])
        if kind == "typed":
            s = flat.settings.get(path)
            name = s.value if s is not None else None
        stanza = Stanza(kind=base, name=name, line=0)
        parent.children.append(stanza)
        nodes[path] = stanza
        kinds[path] = kind or "plain"
        return stanza

    dropped: list[str] = []  # stanzas ``include`` refused: nothing inside them is written
    for path, s in flat.settings.items():
        if dropped and any(
            path.startswith(d) and path[len(d) : len(d) + 1] in (".", "[") for d in dropped
        ):
            continue
        if s.stanza:
            if include is not None and kinds.get(path) is None and not include(s):
                dropped.append(path)
                continue
            ensure(path)
            continue
        if include is not None and not include(s):
            continue
        segs = split_path(path)
        parent_path = ".".join(segs[:-1])
        parent = ensure(parent_path) if parent_path else root
        base, sub = segment_parts(segs[-1])
        if base in keys.KEYED_KEYS and sub is not None:
            values: tuple[str, ...] = (sub, *s.value.split(" "))
        else:
            if s.value == "":
                continue
            values = tuple(s.value.split(" "))
        parent.children.append(Param(key=base, values=values, line=0))

    for path in sorted(nodes, key=len, reverse=True):
        if not path:
            continue
        stanza = nodes[path]
        if kinds[path] == "typed":
            stanza.braces = not _one_liner(stanza, bt)
        if path.startswith("logging.") and kinds[path] in ("named", "plain"):
            _compress_logging(stanza)
        if kinds[path] == "plain" and not stanza.children:
            parent_path = ".".join(split_path(path)[:-1])
            nodes[parent_path].children.remove(stanza)  # nodes[""] is the root
    return ConfTree(root=root, source=flat.source)


def _compress_logging(sink: Stanza) -> None:
    contexts = [p for p in sink.params("context") if len(p.values) == 2]
    if len(contexts) < 2 or any(p.values[0] == "any" for p in contexts):
        return
    level, _ = Counter(p.values[1] for p in contexts).most_common(1)[0]
    others = [c for c in sink.children if not (isinstance(c, Param) and c.key == "context")]
    rest = [p for p in contexts if p.values[1] != level]
    sink.children = [*others, Param("context", ("any", level), 0), *rest]
