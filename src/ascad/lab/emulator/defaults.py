"""What an emulated node prints for keys its conf does not set, per context and server version.

Facts behind the rules (shared/aerospike/conf-format-and-runtime-mapping.md b, c, e, f and the real
captures in tests/fixtures/runtime/):

- **Which keys a context prints** is the version's parameter table (Aerospike's schemas, see
  ``ascad.knowledge.table``): the server's ``get-config`` printers list every parameter of a
  context, defaults included. The captures add keys the schemas lack (:data:`EXTRA_KEYS`:
  ``force-long-queries``, ``tomb-raider-unmark-threads``, ``cgroup-mem-tracking``,
  ``downgrading``) and show keys the schemas have that the server never prints
  (:data:`NOT_PRINTED`: ``user``, ``group``, ``pki-user-append-ou``, …).
- **Order**: inside one printer the server appends keys in alphabetical order (8.1.2.2 and 6.x
  ``get-config:context=service`` and namespace captures), sub-stanzas after the flat keys.
- **Default values** come from the schema default (its runtime spelling: decimal integers,
  lowercase booleans, ``null`` for unset strings), except where a real capture prints something
  else (:data:`CAPTURE_DEFAULTS`: ``mrt-duration=0`` on a non-SC namespace, 8.1.2.2).
- **Machine-dependent** defaults (``service-threads``, ``batch-index-threads``, ``heartbeat.mtu``)
  are those of one emulated machine, :data:`EMULATED_CPUS` CPUs and a 1500-byte MTU: the 8.1.2.2
  capture's ``service-threads=50;batch-index-threads=10`` is 5 x 10 CPUs and 10 CPUs.
- **Logging contexts** (``log/ID``) are the schema's names for the version (``masking`` from
  8.1.1) in the server's order: the 8.1.2.2 capture's order; names it lacks (``info-port``,
  ``scan``, ``job``, ``paxos``, ``masking``…) are placed as the 6.4 excerpt places ``rbuffer``
  (after ``msg``) or alphabetically among the ``as`` contexts.
"""

from __future__ import annotations

from functools import cache

from ascad.knowledge.table import ParamInfo, parse_build, table_for

EMULATED_CPUS = 10
EMULATED_MTU = 1500

_LOG_ORDER = """
misc alloc arenax hardware msg os secrets socket tls vault vmapx xmem
aggr appeal as audit batch batch-sub bin config clustering deprecation drv-mem drv_pmem
drv_ssd exchange exp fabric flat geo hb health hlc index info info-command
key-busy migrate mrt-audit mrt-monitor namespace nsup particle partition proto proxy proxy-divert query
record roster rw rw-client security service service-list sindex skew smd storage truncate
tsvc udf xdr xdr-client
"""
# log/0 of the 8.1.2.2 capture, in the server's order (cf contexts, then as contexts).
LOG_CONTEXTS_8_1: tuple[str, ...] = tuple(_LOG_ORDER.split())
# cf-level contexts (printed first); older names among them go after their neighbours.
_CF_CONTEXTS = ("misc", "alloc", "arenax", "hardware", "msg", "rbuffer", "os", "secrets", "socket")
# `any` is a conf keyword, not a context: log/ID never lists it. `masking` is listed from 8.1.1
# (the 8.1.1 schema names it; the facts: "8.1.1 adds masking"), although the exporter's log/0
# line kept with the 8.1.2.2 build lacks it: that mock file mixes lines of several captures (it
# keeps older ones as comments and names an `as80_cluster_1` cluster), and its log/0 has 8.1's
# `deprecation` (8.1) but not `masking`, the one name 8.1.1 adds, so it is most likely an 8.1.0
# log/0 (its xdr dc lines do have 8.1.1's `recovery-threads`). Where the server lists `masking`
# among the `as` contexts is not known: it is put alphabetically (before `migrate`).
_NOT_CONTEXTS = frozenset({"any"})

# Conf parameters the server reads but never prints (cfg_info.c "no user, group"; section c/f).
NOT_PRINTED = frozenset(
    {
        "service.user",
        "service.group",
        "network.tls[*].pki-user-append-ou",
        "logging.syslog.facility",
        "logging.syslog.tag",
        "logging.syslog.path",
    }
)

# Keys the schema has earlier than the server prints them: pattern -> first printing build
# (6.x and 6.4.0.0 captures have no secrets-uds-path although the 6.4 schema lists it).
PRINTED_FROM: dict[str, tuple[int, ...]] = {"service.secrets-uds-path": (7, 0)}

# Printed keys the schemas lack: (pattern, first build, last build or None, default).
# `cgroup-mem-tracking` and `tomb-raider-unmark-threads` are in the 8.1.2.2 capture and first in
# schema 8.1.2: no capture shows them on 8.1.0/8.1.1, so they start at 8.1.2 (an 8.1.0 node that
# printed them would make `ascad show` write lines `ascad validate` refuses for 8.1.0).
EXTRA_KEYS: tuple[tuple[str, tuple[int, ...], tuple[int, ...] | None, str], ...] = (
    ("service.cgroup-mem-tracking", (8, 1, 2), None, "false"),
    ("service.downgrading", (5, 0), (6, 99), "false"),
    ("namespace[*].force-long-queries", (5, 0), None, "false"),
    ("namespace[*].tomb-raider-unmark-threads", (8, 1, 2), None, "0"),
)

# Defaults a real capture prints differently from the schema: pattern -> value.
CAPTURE_DEFAULTS: dict[str, str] = {
    # 8.1.2.2 namespace/test (AP namespace): mrt-duration=0 (the schema says 10, used under SC).
    "namespace[*].mrt-duration": "0",
}


def version(build: str) -> tuple[int, int, int, int]:
    """``8.1.2.2`` -> (8, 1, 2, 2); raises AscadError for a non-version."""
    return parse_build(build)


def _in_range(v: tuple[int, ...], first: tuple[int, ...], last: tuple[int, ...] | None) -> bool:
    return v[: len(first)] >= first and (last is None or v[: len(last)] <= last)


@cache
def context_keys(build: str, pattern: str) -> tuple[str, ...]:
    """Names of the printed, non-list parameters directly inside ``pattern`` for ``build``.

    ``pattern`` is a table pattern such as ``service``, ``namespace[*]``,
    ``namespace[*].storage-engine`` or ``xdr.dc[*].namespace[*]``.
    """
    table = table_for(build)
    v = version(build)
    names: set[str] = set()
    for name in table.keys_in(pattern):
        full = f"{pattern}.{name}"
        info = table.get(full)
        if info is None:
            continue  # a named sub-stanza (`set[*]`): its pattern has [*]
        if full in NOT_PRINTED or info.type in ("stanza", "list"):
            continue
        if full in PRINTED_FROM and v < PRINTED_FROM[full]:
            continue
        names.add(name)
    for extra, first, last, _ in EXTRA_KEYS:
        parent, _, name = extra.rpartition(".")
        if parent == pattern and _in_range(v, first, last):
            names.add(name)
    return tuple(sorted(names))


def param_info(build: str, pattern: str) -> ParamInfo | None:
    """The schema's entry for a parameter pattern in ``build`` (None: unknown to the schema)."""
    return table_for(build).get(pattern)


def default_value(build: str, pattern: str) -> str:
    """The runtime spelling of a key's default (``null`` when nothing better is known)."""
    if pattern in CAPTURE_DEFAULTS:
        return CAPTURE_DEFAULTS[pattern]
    for extra, first, last, value in EXTRA_KEYS:
        if extra == pattern and _in_range(version(build), first, last):
            return value
    info = table_for(build).get(pattern)
    if info is not None and info.default_canonical is not None:
        return info.default_canonical
    return _machine_default(build, pattern)


def _machine_default(build: str, pattern: str) -> str:
    v = version(build)
    match pattern:
        case "service.service-threads":
            # 7.0+: 5 per CPU; before: 1 per CPU (captures: 8.1.2.2 -> 50, 6.x -> CPUs).
            return str(EMULATED_CPUS * (5 if v >= (7, 0) else 1))
        case "service.batch-index-threads":
            return str(EMULATED_CPUS)
        case "network.heartbeat.mtu":
            return str(EMULATED_MTU)
    return "null" if (info := table_for(build).get(pattern)) and info.type == "string" else "0"


def default_list(build: str, pattern: str) -> list[str]:
    """A list parameter's default elements (``feature-key-file``: the schema's one path)."""
    info = table_for(build).get(pattern)
    if info is None or not isinstance(info.default, tuple):
        return []
    return [str(x) for x in info.default]


def engines_of(build: str, pattern: str) -> tuple[str, ...] | None:
    """The storage/index types that have a typed-stanza parameter (None: every type)."""
    info = table_for(build).get(pattern)
    return info.engines if info is not None else None


@cache
def log_contexts(build: str) -> tuple[str, ...]:
    """The logging context names ``log/ID`` lists for ``build``, in the server's order."""
    info = table_for(build).get("logging.console.context")
    names = set(info.keys or ()) if info is not None else set(LOG_CONTEXTS_8_1)
    names -= _NOT_CONTEXTS
    if not names:
        names = set(LOG_CONTEXTS_8_1)
    ordered = [n for n in LOG_CONTEXTS_8_1 if n in names]
    for extra in sorted(names - set(LOG_CONTEXTS_8_1)):
        if extra in _CF_CONTEXTS:
            after = _CF_CONTEXTS[_CF_CONTEXTS.index(extra) - 1]
            pos = ordered.index(after) + 1 if after in ordered else 0
        else:
            cf_end = max(i for i, n in enumerate(ordered) if n in set(LOG_CONTEXTS_8_1[:12]))
            pos = next((i for i, n in enumerate(ordered) if i > cf_end and n > extra), len(ordered))
        ordered.insert(pos, extra)
    return tuple(ordered)
