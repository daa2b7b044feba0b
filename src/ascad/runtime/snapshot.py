"""One node's running configuration, read over the info protocol and kept as raw key/value lists.

Facts behind the commands (shared/aerospike/conf-format-and-runtime-mapping.md section c;
aerospike/aerospike-server as/src/base/cfg_info.c):

- ``get-config:context=service|network|security|xdr`` answer flat ``k=v;k=v``. Repeated keys
  (``heartbeat.mesh-seed-address-port``, ``service.address``) appear once per element, so the
  values are kept as ordered ``(key, value)`` lists, never dicts.
- Namespaces: ``get-config:context=namespace;namespace=NS`` from 7.2, ``;id=NS`` before (still
  accepted later). ``namespace/NS`` also carries the config, after the statistics; it is the
  fallback, with statistics removed (:func:`config_only`).
- Sets have no get-config context: ``sets/NS`` answers ``ns=…:set=…:k=v:…;`` per set.
- Logging: ``logs`` lists ``id:sink`` and ``log/ID`` lists ``context:LEVEL`` for that sink.
- Security's get-config is empty (or an error on CE) when security is off; before 5.7
  ``enable-security=false`` also means off.
- XDR's get-config errors on CE (xdr off); ``dcs=A,B`` names the dcs, each dc's ``namespaces=``
  lists its namespaces (any namespace can be queried under any dc, so membership comes from that
  list only). A listed dc or dc namespace whose own query fails (``ERROR:20:namespace not found
  on node`` when the dc names a namespace the node does not have) is recorded in ``unreadable``
  like a namespace that gives no config: the conf's lines there are unverifiable, and the rest of
  the node is still read.
- Servers before 7.1 leave unknown commands out of the reply; 7.1+ answer an error. Both read as
  "not available" here. 4.x may only answer a plain ``get-config`` (service, network and security
  in one string): it is split by key shape (:func:`split_combined`).

Every context is fetched in at most three requests: identity plus the flat contexts, then
namespaces/sets/log levels/dcs, then dc namespaces (and fallbacks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from ascad.errors import AscadError
from ascad.runtime.info import endpoint, is_error_value

KV = list[tuple[str, str]]

ALL_CONTEXTS = frozenset({"service", "network", "namespace", "logging", "security", "xdr"})


class InfoLike(Protocol):
    """What :func:`take_snapshot` needs from a client (``ascad.runtime.info.InfoClient``)."""

    host: str
    port: int

    async def request(self, *commands: str) -> dict[str, str | None]: ...


@dataclass
class RuntimeSnapshot:
    """The raw running configuration of one node. ``None`` for a context means "not running"."""

    address: str
    node_id: str | None = None
    build: str | None = None
    release: str | None = None
    cluster_name: str | None = None
    service: KV = field(default_factory=list)
    network: KV = field(default_factory=list)
    namespaces: dict[str, KV] = field(default_factory=dict)
    sets: dict[str, dict[str, KV]] = field(default_factory=dict)
    logs: list[tuple[str, str]] = field(default_factory=list)  # (id, sink)
    log_levels: dict[str, KV] = field(default_factory=dict)  # id -> [(context, LEVEL)]
    security: KV | None = None
    xdr: KV | None = None
    dcs: dict[str, KV] = field(default_factory=dict)
    dc_namespaces: dict[str, dict[str, KV]] = field(default_factory=dict)
    # Contexts that were asked for (drift uses it to tell "not fetched" from "absent").
    fetched: frozenset[str] = ALL_CONTEXTS
    # Conf paths (``network``, ``namespace[test]``, ``logging``) whose config the node would not
    # give: {path: the command that failed}. Drift lists what the conf sets there as unverifiable.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Answers to the extra commands asked with the first request (take_snapshot's ``extra``).
    extra: dict[str, str | None] = field(default_factory=dict)


# --- pure parsers ------------------------------------------------------------------------------


def is_error(value: str | None) -> bool:
    """``None`` (left out), ``ERROR…``, ``FAIL…`` or ``error…``: the command gave nothing usable."""
    return value is None or is_error_value(value.lstrip())


def parse_kv(value: str, sep: str = ";") -> KV:
    """``a=1;b=2;b=3`` -> [(a, 1), (b, 2), (b, 3)]: order and repeats kept, blanks stripped."""
    # One pass of C-level string methods: an item that is only blanks has no "=" and a blank
    # key, so it is the one left out.
    parts = [item.partition("=") for item in value.split(sep)]
    if value.split(None, 1) == [value]:  # no blank anywhere (a server's answer): nothing to strip
        return [(key, val) for key, eq, val in parts if eq or key]
    return [(key.strip(), val.strip()) for key, eq, val in parts if eq or key.strip()]


_NS_PREFIX = re.compile(r"^\{[^}]*\}-")
_INDEXED_SUB = re.compile(r"\[\d+\]\.(?P<sub>[^.\[]+)$")


def strip_ns_prefix(kv: KV) -> KV:
    """Some old servers print namespace keys as ``{test}-key``; the key is what follows ``}-``."""
    return [(_NS_PREFIX.sub("", k) if k.startswith("{") else k, v) for k, v in kv]


def is_config_key(key: str) -> bool:
    """Config keys hold ``-`` and never ``_``; statistics use ``_`` or are per-item counters.

    ``storage-engine.file[0].used_bytes`` and ``…file[0].age`` are statistics; of a list item's
    sub-keys only ``.shadow`` is config.
    """
    if "_" in key or "-" not in key:
        return False
    if "[" not in key:  # no list item: nothing for the pattern below to find
        return True
    m = _INDEXED_SUB.search(key)
    return m is None or m.group("sub") == "shadow"


def config_only(kv: KV) -> KV:
    """The config part of a ``namespace/NS`` answer (statistics dropped)."""
    return [(k, v) for k, v in kv if is_config_key(k)]


def namespace_config(value: str) -> KV:
    """A namespace's config pairs from its ``get-config`` (or ``namespace/NS``) answer."""
    return list(_namespace_config(value))


# A fleet's nodes mostly give the same answer for a namespace and a log sink, kilobytes each:
# each distinct answer is parsed once. The key is the whole answer, so what comes back is what
# parsing it gives (never stale); it is copied into a fresh list for each snapshot.
_ANSWER_MEMO = 256


@lru_cache(maxsize=_ANSWER_MEMO)
def _namespace_config(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(strip_ns_prefix(config_only(parse_kv(value))))


@lru_cache(maxsize=_ANSWER_MEMO)
def _parsed_levels(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(parse_levels(value))


def parse_sets(value: str) -> dict[str, KV]:
    """``sets/NS``: ``ns=test:set=s1:objects=0:enable-index=true;…`` -> {s1: config pairs}."""
    out: dict[str, KV] = {}
    for entry in value.split(";"):
        fields = parse_kv(entry, ":")
        if not fields:
            continue
        names = dict(fields)
        name = names.get("set")
        if not name:
            continue
        out[name] = [(k, v) for k, v in fields if k not in ("ns", "set") and is_config_key(k)]
    return out


def parse_logs(value: str) -> list[tuple[str, str]]:
    """``0:/var/log/aerospike.log;1:stderr`` -> [(0, path), (1, stderr)]."""
    out = []
    for item in value.split(";"):
        item = item.strip()
        if not item:
            continue
        sink_id, _, sink = item.partition(":")
        out.append((sink_id.strip(), sink.strip()))
    return out


def parse_levels(value: str) -> KV:
    """``misc:INFO;alloc:WARNING`` -> [(misc, INFO), (alloc, WARNING)]."""
    out: KV = []
    if value.split(None, 1) == [value]:  # no blank anywhere (a server's answer): nothing to strip
        for item in value.split(";"):
            if item:
                ctx, _, level = item.rpartition(":")
                out.append((ctx, level))
        return out
    for item in value.split(";"):
        item = item.strip()
        if not item:
            continue
        ctx, _, level = item.rpartition(":")
        out.append((ctx.strip(), level.strip()))
    return out


def parse_list(value: str, sep: str) -> list[str]:
    """``a,b,,c`` -> [a, b, c]: the items between ``sep``, blanks stripped and dropped."""
    return [v.strip() for v in value.split(sep) if v.strip()]


def kv_get(kv: KV | None, key: str) -> str | None:
    """The last value of ``key`` (the server prints single keys once)."""
    found = None
    for k, v in kv or ():
        if k == key:
            found = v
    return found


# Keys of a 4.x plain `get-config` that belong to the security context (cfg_info.c, 4.x).
_SECURITY_KEYS = re.compile(
    r"^(enable-ldap|enable-security|ldap-login-threads|privilege-refresh-period|ldap\..*|"
    r"report-[a-z-]+-sinks|syslog-local|log\..*|syslog\..*)$"
)
_NETWORK_PREFIXES = ("service.", "heartbeat.", "fabric.", "info.", "tls[", "admin.")


def split_combined(kv: KV) -> tuple[KV, KV, KV]:
    """Split a plain ``get-config`` answer into (service, network, security) by key shape."""
    service: KV = []
    network: KV = []
    security: KV = []
    for k, v in kv:
        if k.startswith(_NETWORK_PREFIXES):
            network.append((k, v))
        elif _SECURITY_KEYS.match(k):
            security.append((k, v))
        else:
            service.append((k, v))
    return service, network, security


_BUILD_RE = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?")


# A fleet's nodes print a handful of builds, and each node's build is read several times (its
# namespace commands, its mapping): each distinct string is parsed once, and every node of one
# build gets the same tuple (so the mapping memos, keyed on it, compare it by identity).
@lru_cache(maxsize=64)
def build_tuple(build: str | None) -> tuple[int, ...] | None:
    """``8.1.2.2`` -> (8, 1, 2, 2); ``None`` when unknown."""
    if not build:
        return None
    m = _BUILD_RE.match(build)
    if not m:
        return None
    return tuple(int(g) if g is not None else 0 for g in m.groups())


def namespace_command(namespace: str, build: str | None) -> str:
    """``namespace=`` from 7.2 (``id=`` before; 7.2+ still accepts ``id=``)."""
    bt = build_tuple(build)
    selector = "namespace" if bt is not None and bt[:2] >= (7, 2) else "id"
    return f"get-config:context=namespace;{selector}={namespace}"


def security_kv(value: str | None) -> KV | None:
    """Security's config, or None when security is off (error, empty, ``enable-security=false``)."""
    if is_error(value):
        return None
    kv = parse_kv(value or "")
    if not kv or kv_get(kv, "enable-security") == "false":
        return None
    return kv


# --- network -----------------------------------------------------------------------------------

CMD_SERVICE = "get-config:context=service"
CMD_NETWORK = "get-config:context=network"
CMD_SECURITY = "get-config:context=security"
CMD_XDR = "get-config:context=xdr"


def dc_command(dc: str, namespace: str | None = None) -> str:
    """The get-config command of one xdr dc, or of one namespace under it."""
    cmd = f"{CMD_XDR};dc={dc}"
    return f"{cmd};namespace={namespace}" if namespace is not None else cmd


class SnapshotError(AscadError):
    """A command every node answers (``node``, ``build``) failed."""


async def take_snapshot(
    client: InfoLike,
    *,
    contexts_needed: set[str] | frozenset[str] | None = None,
    extra: tuple[str, ...] = (),
) -> RuntimeSnapshot:
    """Read one node's running configuration in at most three info requests.

    ``contexts_needed`` limits the work to some top-level contexts (``service``, ``network``,
    ``namespace``, ``logging``, ``security``, ``xdr``); None reads them all. ``extra`` commands
    go with the first request; their raw answers are kept in ``RuntimeSnapshot.extra``.
    """
    want = frozenset(contexts_needed) if contexts_needed is not None else ALL_CONTEXTS
    where = endpoint(client.host, client.port)
    snap = RuntimeSnapshot(address=where, fetched=want)

    first = ["node", "build", "release", "cluster-name", "namespaces", "logs"]
    flat_ctx = {
        "service": CMD_SERVICE,
        "network": CMD_NETWORK,
        "security": CMD_SECURITY,
        "xdr": CMD_XDR,
    }
    first += [cmd for ctx, cmd in flat_ctx.items() if ctx in want]
    first += [cmd for cmd in extra if cmd not in first]
    a = await client.request(*first)
    snap.extra = {cmd: a.get(cmd) for cmd in extra}
    for cmd in ("node", "build"):
        if is_error(a.get(cmd)):
            raise SnapshotError(f"node gave no usable answer ({a.get(cmd)!r})", f"{where} {cmd}")
    snap.node_id = (a["node"] or "").strip()
    snap.build = (a["build"] or "").strip()
    snap.release = None if is_error(a.get("release")) else a["release"]
    cn = a.get("cluster-name")
    snap.cluster_name = None if is_error(cn) or cn == "null" else cn
    namespaces = [] if is_error(a.get("namespaces")) else parse_list(a["namespaces"] or "", ";")
    logs = [] if is_error(a.get("logs")) else parse_logs(a["logs"] or "")
    if "logging" in want and is_error(a.get("logs")):
        snap.unreadable["logging"] = "logs"

    combined_needed = False
    if "service" in want:
        if is_error(a.get(CMD_SERVICE)):
            combined_needed = True
        else:
            snap.service = parse_kv(a[CMD_SERVICE] or "")
    if "network" in want:
        if is_error(a.get(CMD_NETWORK)):
            combined_needed = True
        else:
            snap.network = parse_kv(a[CMD_NETWORK] or "")
    if "security" in want:
        snap.security = security_kv(a.get(CMD_SECURITY))
    dcs: list[str] = []
    if "xdr" in want and not is_error(a.get(CMD_XDR)):
        snap.xdr = parse_kv(a[CMD_XDR] or "")
        dcs = parse_list(kv_get(snap.xdr, "dcs") or "", ",")

    # Round 2: per namespace, per log sink, per dc.
    second: list[str] = []
    if "namespace" in want:
        for ns in namespaces:
            second += [namespace_command(ns, snap.build), f"sets/{ns}"]
    if "logging" in want:
        second += [f"log/{sink_id}" for sink_id, _ in logs]
    second += [dc_command(dc) for dc in dcs]
    if combined_needed:
        second.append("get-config")
    b = await client.request(*second) if second else {}

    third: list[str] = []
    ns_fallback: list[str] = []
    if "namespace" in want:
        for ns in namespaces:
            value = b.get(namespace_command(ns, snap.build))
            if is_error(value):
                ns_fallback.append(ns)
                third.append(f"namespace/{ns}")
            else:
                snap.namespaces[ns] = namespace_config(value or "")
            sets_value = b.get(f"sets/{ns}")
            snap.sets[ns] = {} if is_error(sets_value) else parse_sets(sets_value or "")
    if "logging" in want:
        snap.logs = logs
        for sink_id, _ in logs:
            value = b.get(f"log/{sink_id}")
            if is_error(value):
                snap.unreadable.setdefault("logging", f"log/{sink_id}")
            snap.log_levels[sink_id] = [] if is_error(value) else list(_parsed_levels(value or ""))
    dc_ns: dict[str, list[str]] = {}
    for dc in dcs:
        value = b.get(dc_command(dc))
        if is_error(value):
            snap.unreadable[f"xdr.dc[{dc}]"] = dc_command(dc)
            continue
        kv = parse_kv(value or "")
        snap.dcs[dc] = kv
        dc_ns[dc] = parse_list(kv_get(kv, "namespaces") or "", ",")
        third += [dc_command(dc, ns) for ns in dc_ns[dc]]
    if combined_needed:
        value = b.get("get-config")
        combined = "" if value is None or is_error(value) else value
        service, network, security = split_combined(parse_kv(combined))
        for ctx, cmd, got in (
            ("service", CMD_SERVICE, service),
            ("network", CMD_NETWORK, network),
        ):
            if ctx in want and not got and not getattr(snap, ctx):
                snap.unreadable[ctx] = cmd
        if "service" in want and not snap.service:
            snap.service = service
        if "network" in want and not snap.network:
            snap.network = network
        if "security" in want and snap.security is None and security:
            snap.security = security_kv(";".join(f"{k}={v}" for k, v in security))

    c = await client.request(*third) if third else {}
    for ns in ns_fallback:
        value = c.get(f"namespace/{ns}")
        if is_error(value):
            snap.unreadable[f"namespace[{ns}]"] = namespace_command(ns, snap.build)
            continue
        snap.namespaces[ns] = namespace_config(value or "")
    for dc, names in dc_ns.items():
        snap.dc_namespaces[dc] = {}
        for ns in names:
            value = c.get(dc_command(dc, ns))
            if is_error(value):
                snap.unreadable[f"xdr.dc[{dc}].namespace[{ns}]"] = dc_command(dc, ns)
                continue
            snap.dc_namespaces[dc][ns] = parse_kv(value or "")
    return snap


def snapshot_from_answers(address: str, answers: dict[str, str | None]) -> RuntimeSnapshot:
    """A snapshot from already captured answers (``{command: value}``), without a network."""
    import asyncio

    class _Canned:
        host, port = address.rsplit(":", 1)[0], int(address.rsplit(":", 1)[1])

        async def request(self, *commands: str) -> dict[str, str | None]:
            return {c: answers.get(c) for c in commands}

    return asyncio.run(take_snapshot(_Canned()))
