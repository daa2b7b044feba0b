"""An emulated Aerospike node: loads an aerospike.conf and answers info commands like the server.

This is an independent re-creation of the server's printers (as/src/base/cfg_info.c, hb.c, log.c
and the EE security/XDR printers seen in real captures), not a reuse of ascad's runtime mapping:
the reader (``ascad.runtime``) is tested against it, so the two must not share code. Facts, from
shared/aerospike/conf-format-and-runtime-mapping.md and the captures in tests/fixtures/runtime/:

- Values print in runtime units: sizes in bytes, durations in seconds (``ship-versions-interval
  2M`` = 120), lowercase booleans, ``null`` for unset strings, ``node-id`` in uppercase hex.
- Ordered lists print as indexed keys (``storage-engine.file[0]``, ``.shadow``), unordered lists
  as repeated keys (``heartbeat.mesh-seed-address-port=h:p`` once per seed), XDR bin/set lists as
  one comma list under a renamed key (``ship-bin`` -> ``shipped-bins``).
- Logging: each sink starts with every context at CRITICAL; ``context any X`` sets all; later lines
  override in file order; ``console`` is the sink ``stderr``, ``syslog`` its path.
- ``set-config`` and ``log-set`` change the running value only (the conf text is never touched).
- Errors are spelled per version: ``ERROR:<code>:<msg>`` from 7.0 (code 1 left out), the older
  ``Error::…``/``error`` spellings before; ``log/ID`` errors are ``ERROR::bad-id``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ascad.conf import keys
from ascad.conf.keys import BARE_TRUE_KEYS, VALUELESS_FLAGS
from ascad.conf.model import Param, Stanza
from ascad.conf.parser import parse_text
from ascad.conf.values import canonical_token
from ascad.errors import AscadError
from ascad.knowledge.table import ParamInfo
from ascad.lab.emulator import defaults as d

EDITION = "Aerospike Enterprise Edition"
# Where the server logs an accepted change (aerospike-server 8.1.2.0): cfg_info.c:914
# ``set-config command completed: params %s`` and thr_info.c:2421 ``log-set:id=%s:%s=%s``; the
# line prefix is cf/src/log.c:921-932 (time, UTC, with log-millis) and 855 (level, context, file).
LOG_SET_CONFIG = "cfg_info.c:914"
LOG_LOG_SET = "thr_info.c:2421"
PARTITIONS = 4096
# The features list of cmd_features (as/src/base/thr_info.c), the same in every 8.x build.
FEATURES = (
    "batch-any;batch-index;blob-bits;cdt-index;cdt-list;cdt-map;cluster-stable;float;geo;"
    "sindex-exists;peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;replicas-all;"
    "replicas-master;replicas-max;truncate-namespace;udf"
)
# `feature-key` (EE only, not in the public source): the key=value list asadm's
# info_feature_key parses, with the feature names of Aerospike's feature-key files.
FEATURE_KEY = (
    "feature-key-version=2;serial-number=0;account-name=emulator;account-ID=emulator;"
    "valid-until-version=99.0;valid-until-date=2099-12-31;asdb-change-notification=true;"
    "asdb-cluster-nodes-limit=0;asdb-compression=true;asdb-encryption-at-rest=true;"
    "asdb-flash-index=true;asdb-ldap=true;asdb-pmem=true;asdb-rack-aware=true;"
    "asdb-secrets=true;asdb-strong-consistency=true;asdb-vault=true;asdb-xdr=true;"
    "database-recovery=true;mesg-jms-connector=true;mesg-kafka-connector=true;"
    "presto-connector=true;pulsar-connector=true;spark-connector=true"
)

# network sub-stanzas: printed order of the leading keys; None marks a repeated (list) key.
_SERVICE_ORDER = (
    "access-port",
    "access-address*",
    "address*",
    "alternate-access-port",
    "alternate-access-address*",
    "port",
    "tls-port",
    "tls-address*",
    "tls-access-port",
    "tls-access-address*",
    "tls-alternate-access-port",
    "tls-alternate-access-address*",
    "tls-name",
    "tls-authenticate-client*",
    "disable-localhost",
)
# Keys the server keeps as lists (cfg.c): one value per conf line. The fact is the grammar's, so
# it is shared with the parser (ascad.conf.keys), not restated here.
_LIST_KEYS = keys.ORDERED_KEYS | (keys.SET_KEYS - {"dc-node-address-port", "xdr-remote-datacenter"})
_GEO_ORDER = ("strict", "min-level", "max-level", "max-cells", "level-mod", "earth-radius-meters")
_TLS_ORDER = (
    "ca-file",
    "ca-path",
    "cert-blacklist",
    "cert-file",
    "cipher-suite",
    "key-file",
    "key-file-password",
    "protocols",
)
_XDR_LISTS = {
    "ship-bin": "shipped-bins",
    "ignore-bin": "ignored-bins",
    "ship-set": "shipped-sets",
    "ignore-set": "ignored-sets",
}
_SORT_AS = {"commit-min-size": "commit-to-device~"}
_LEVELS = ("CRITICAL", "WARNING", "INFO", "DEBUG", "DETAIL")


@dataclass
class _Ctx:
    """One printer's running state: scalar values and list values, by conf key name."""

    pattern: str
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    kind: str | None = None  # the type of a typed stanza (storage-engine device)


@dataclass
class _Sink:
    name: str
    levels: dict[str, str]


@dataclass
class _Dc:
    ctx: _Ctx
    namespaces: dict[str, _Ctx] = field(default_factory=dict)


def _token_value(key: str, tokens: tuple[str, ...], unit: str | None = None) -> str:
    """A conf line's runtime value: canonical units, multi-token lines joined with ``:``.

    ``unit`` is the parameter's kind in the node's schema (:func:`_unit_of`): a string keeps its
    token verbatim (``cluster-name 10K`` prints ``10K``, not 10240).
    """
    if not tokens:  # a bare flag (run-as-daemon; enable-benchmarks-* up to 7.1) means true
        return "true" if key in BARE_TRUE_KEYS or key in VALUELESS_FLAGS else ""
    if len(tokens) == 1 or key in ("file", "device", "mount", "address", "multicast-group"):
        return canonical_token(key, tokens[0], unit)
    return ":".join(tokens)


def _unit_of(info: ParamInfo | None) -> str | None:
    """How the server reads a parameter's token, from its schema type (facts b: strings are
    taken verbatim, booleans lowercased, integers take K/M/G or, for durations, s/m/h/d)."""
    if info is None:
        return None
    if info.type == "boolean":
        return "bool"
    if info.type in ("string", "enum"):
        return "plain"
    if info.type == "integer":
        return info.unit
    return None


def _kv(pairs: list[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in pairs)


def _params(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(";"):
        if part:
            k, _, v = part.partition("=")
            out.append((k, v))
    return out


def _storage_files(se: _Ctx) -> tuple[str, list[str]]:
    """(``device`` or ``file``, the storage engine's ``path[:shadow]`` items): devices win."""
    devices = se.lists.get("device")
    return ("device", devices) if devices else ("file", se.lists.get("file") or [])


def _default_node_id(source: str, port: int | None) -> str:
    digest = hashlib.sha1(f"{source}:{port}".encode()).hexdigest().upper()
    return "BB9" + digest[:12]


class EmulatedNode:
    """One node's configuration, answering info commands (``answer``) in the server's formats."""

    def __init__(
        self,
        conf_text: str,
        *,
        source: str,
        build: str = "8.1.2.2",
        node_id: str | None = None,
        cluster_name: str | None = None,
        service_port: int | None = None,
    ) -> None:
        self.source = source
        self.build = build
        self.v = d.version(build)
        self.tree = parse_text(conf_text, source)
        self.host = "127.0.0.1"
        self.peers: list[tuple[str, str, int]] = []
        self.alumni: list[tuple[str, str, int]] = []
        self.peers_generation = 0
        self.started = time.monotonic()
        self.service: _Ctx = _Ctx("service")
        self.net: dict[str, _Ctx] = {}
        self.tls: list[tuple[str, _Ctx]] = []
        self.namespaces: dict[str, dict[str, _Ctx]] = {}
        self.sets: dict[str, dict[str, _Ctx]] = {}
        self.sinks: list[_Sink] = []
        self.security: dict[str, _Ctx] | None = None
        self.xdr = _Ctx("xdr")
        self.dcs: dict[str, _Dc] = {}
        # Provenance (issue 14): the file an accepted set-config/log-set is logged to, in the
        # server's own format (None: not logged); ``started`` gives the uptime.
        self.log_file: str | None = None
        self._load()
        if cluster_name is not None:
            self.service.values["cluster-name"] = cluster_name
        conf_id = self.service.values.get("node-id")
        self.node_id = (
            canonical_token("node-id", node_id)
            if node_id
            else (conf_id or _default_node_id(source, service_port))
        )
        self.service.values["node-id"] = self.node_id
        conf_port = self.net["service"].values.get("port", "3000")
        self.port = service_port if service_port is not None else int(conf_port or 3000)

    # --- loading the conf (the server's cfg.c reading, reduced to what get-config shows) ----

    def _fill(self, ctx: _Ctx, stanza: Stanza | None, pattern: str | None = None) -> _Ctx:
        """Defaults for every printed key of ``pattern``, then the stanza's own lines."""
        pattern = pattern or ctx.pattern
        for name in d.context_keys(self.build, pattern):
            if pattern == "service" and name == "node-id":
                continue  # no default: generated per node unless the conf sets it
            ctx.values[name] = d.default_value(self.build, f"{pattern}.{name}")
        if stanza is not None:
            for p in stanza.params():
                self._apply(ctx, p)
        return ctx

    def _apply(self, ctx: _Ctx, p: Param) -> None:
        if f"{ctx.pattern}.{p.key}" in d.NOT_PRINTED:
            return
        if p.key in _LIST_KEYS:
            if p.key in ("file", "device") and ctx.pattern.endswith("storage-engine"):
                ctx.lists.setdefault(p.key, []).append(
                    ":".join(canonical_token(p.key, t) for t in p.values[:2])
                )
            elif p.key == "mount":
                ctx.lists.setdefault(p.key, []).append(p.values[0] if p.values else "")
            else:
                ctx.lists.setdefault(p.key, []).append(_token_value(p.key, p.values))
            return
        unit = _unit_of(d.param_info(self.build, f"{ctx.pattern}.{p.key}"))
        ctx.values[p.key] = _token_value(p.key, p.values, unit)

    def _load(self) -> None:
        root = self.tree.root
        self._fill(self.service, root.find("service"))
        if "feature-key-file" not in self.service.lists:
            fkf = d.default_list(self.build, "service.feature-key-file")
            self.service.lists["feature-key-file"] = fkf
        network = root.find("network")
        for sub in ("service", "heartbeat", "fabric", "info", "admin"):
            pattern = f"network.{sub}"
            if sub == "info" and self.v >= (8, 1):
                continue  # 8.1: `info {}` is obsolete, ignored, and not printed
            if sub == "admin" and self.v < (8, 1):
                continue
            stanza = network.find(sub) if network is not None else None
            self.net[sub] = self._fill(_Ctx(pattern), stanza)
        hb = self.net["heartbeat"]
        if "mtu" not in hb.values or hb.values["mtu"] in ("0", "null"):
            hb.values["mtu"] = str(d.EMULATED_MTU)
        if network is not None:
            for tls in network.stanzas("tls"):
                self.tls.append((tls.name or "", self._fill(_Ctx("network.tls[*]"), tls)))
        for ns in root.stanzas("namespace"):
            self._load_namespace(ns)
        self._load_logging(root.find("logging"))
        sec = root.find("security")
        if sec is not None:
            self.security = {
                "": self._fill(_Ctx("security"), sec),
                "ldap": self._fill(_Ctx("security.ldap"), sec.find("ldap")),
                "log": self._fill(_Ctx("security.log"), sec.find("log")),
            }
            self.security[""].values["enable-ldap"] = str(sec.find("ldap") is not None).lower()
        xdr = root.find("xdr")
        self._fill(self.xdr, xdr)
        self.xdr.values.setdefault("trace-sample", "0")
        if xdr is not None:
            for dc in xdr.stanzas("dc"):
                self.dcs[dc.name or ""] = _Dc(self._fill(_Ctx("xdr.dc[*]"), dc))
                for dns in dc.stanzas("namespace"):
                    ctx = self._fill(_Ctx("xdr.dc[*].namespace[*]"), dns)
                    self.dcs[dc.name or ""].namespaces[dns.name or ""] = ctx

    def _load_namespace(self, ns: Stanza) -> None:
        name = ns.name or ""
        top = self._fill(_Ctx("namespace[*]"), ns)
        parts = {"": top}
        parts["geo"] = self._fill(
            _Ctx("namespace[*].geo2dsphere-within"), ns.find("geo2dsphere-within")
        )
        for typed, default in (("index-type", "shmem"), ("sindex-type", "shmem")):
            stanza = ns.find(typed)
            ctx = self._fill(_Ctx(f"namespace[*].{typed}"), stanza)
            ctx.kind = stanza.name if stanza is not None and stanza.name else default
            parts[typed] = ctx
        se = ns.find("storage-engine")
        ctx = self._fill(_Ctx("namespace[*].storage-engine"), se)
        ctx.kind = se.name if se is not None and se.name else "memory"
        if ctx.values.get("data-in-memory") == "true" and "post-write-queue" in ctx.values:
            # cfg.c sets post-write-queue to 0 for a data-in-memory namespace, over the default
            # and over a conf value ("we cannot distinguish the two cases"); the 6.x capture
            # prints data-in-memory=true with post-write-queue=0.
            ctx.values["post-write-queue"] = "0"
        sc = top.values.get("strong-consistency") == "true"
        if sc and "mrt-duration" in top.values and not any(ns.params("mrt-duration")):
            top.values["mrt-duration"] = "10"  # the schema default; AP namespaces print 0
        parts["storage-engine"] = ctx
        self.namespaces[name] = parts
        self.sets[name] = {}
        for s in ns.stanzas("set"):
            self.sets[name][s.name or ""] = self._fill(_Ctx("namespace[*].set[*]"), s)

    def _load_logging(self, logging: Stanza | None) -> None:
        if logging is None:
            return
        contexts = d.log_contexts(self.build)
        for sink in logging.stanzas():
            if sink.kind == "file":
                name = sink.name or ""
            elif sink.kind == "console":
                name = "stderr"
            elif sink.kind == "syslog":
                path = next((p.values[0] for p in sink.params("path") if p.values), "/dev/log")
                name = path
            else:
                continue
            levels = dict.fromkeys(contexts, "CRITICAL")
            for p in sink.params("context"):
                if len(p.values) < 2:
                    continue
                ctx_name, level = p.values[0].lower(), p.values[1].upper()
                if ctx_name == "any":
                    levels = dict.fromkeys(contexts, level)
                elif ctx_name in levels:
                    levels[ctx_name] = level
            self.sinks.append(_Sink(name, levels))

    # --- cluster wiring -----------------------------------------------------------------------

    def set_service(self, host: str, port: int) -> None:
        """The address this node is reachable at (what ``service-clear-std`` reports)."""
        self.host, self.port = host, port

    def set_peers(
        self, peers: list[tuple[str, str, int]], *, generation: int | None = None
    ) -> None:
        """The other nodes of the cluster, as (node id, host, port).

        ``peers-generation`` is the server's count of peer changes (service_list.c ``g_in_gen``:
        one per peer that arrived, left or changed), so a fresh node of three nodes says 2, like
        every other node of the cluster; an explicit ``generation`` is taken as given. Nodes
        seen once stay in ``alumni`` (``alumni-clear-std``, ``services-alumni``).
        """
        if generation is not None:
            self.peers_generation = generation
        else:
            changes = len(set(peers) ^ set(self.peers))
            self.peers_generation += changes
        self.peers = list(peers)
        for peer in peers:
            if peer not in self.alumni:
                self.alumni.append(peer)

    # --- errors -------------------------------------------------------------------------------

    def _error(self, code: int, message: str) -> str:
        return f"ERROR:{'' if code == 1 else code}:{message}"

    # --- answering ----------------------------------------------------------------------------

    def answer(self, command: str) -> str | None:
        """The value the server sends for ``command`` (None: the server does not know it)."""
        name, _, params = command.partition(":")
        if "/" in name and not params:
            base, _, arg = name.partition("/")
            return self._answer_path(base, arg)
        match name:
            case "node":
                return self.node_id
            case "build":
                return self.build
            case "release":
                # cmd_release (thr_info.c): edition, version, os, arch, sha, then ee-sha on EE.
                if self.v < (8, 1, 1):
                    return None
                return (
                    f"edition={EDITION};version={self.build};os=el9;arch=x86_64;"
                    f"sha={self._sha('ce')};ee-sha={self._sha('ee')}"
                )
            case "version":
                # cmd_version: "<build type> build <id>"; deprecated in 8.1.1, still served.
                return f"{EDITION} build {self.build}"
            case "edition":
                return EDITION
            case "features":
                return FEATURES
            case "build_os":
                return "el9"
            case "build_arch":
                return "x86_64"
            case "build_sha":
                return self._sha("ce")
            case "build_ee_sha":
                return self._sha("ee")
            case "statistics":
                return self._statistics()
            case "services" | "services-alumni":
                peers = self.peers if name == "services" else self.alumni
                return ";".join(f"{self._host(h)}:{p}" for _i, h, p in peers)
            case "services-alternate":
                return ""
            case "alumni-clear-std":
                return self._peers_std(self.alumni)
            case "connection":
                return "admin=false"  # cmd_connection: a service-port connection
            case "best-practices":
                return "failed_best_practices=none"
            case "udf-list" | "health-outliers":
                return ""  # no UDF registered; health monitoring reports no outlier
            case "sindex-list":
                return ""  # as_sindex_manager_list_str: no secondary or set index
            case "feature-key":
                return FEATURE_KEY
            case "rack-ids":
                return ";".join(f"{ns}:{self._rack(ns)}" for ns in self.namespaces)
            case "racks":
                return self._racks(params)
            case "roster":
                return self._roster(params)
            case "partition-info":
                return self._partition_info()
            case "partition-generation":
                return "1"
            case "replicas":
                return self.replicas()
            case "latencies":
                return self._latencies(params)
            case "get-stats":
                return self._get_stats(params)
            case "cluster-name":
                return self.service.values.get("cluster-name", "null")
            case "service-clear-std":
                return f"{self._host(self.host)}:{self.port}"
            case "peers-clear-std":
                return self._peers_std(self.peers)
            case "peers-generation":
                return str(self.peers_generation)
            case "namespaces":
                return ";".join(self.namespaces)
            case "logs":
                return ";".join(f"{i}:{s.name}" for i, s in enumerate(self.sinks))
            case "sets":
                return "".join(self._sets_of(ns) for ns in self.namespaces)
            case "get-config":
                return self._get_config(params) if params else self._get_config_all()
            case "set-config" | "config-set":
                return self._logged(self._set_config(params), LOG_SET_CONFIG, params)
            case "log-set":
                return self._logged(self._log_set(params), LOG_LOG_SET, params)
            case "tip":
                return self._tip(params)
        return None

    def _tip(self, params: str) -> str:
        """``tip:host=H;port=P[;tls=true]``: add a mesh seed to the running heartbeat.

        Fact (conf-format-and-runtime-mapping.md f): get-config prints the heartbeat's live seed
        list, and a seed added with ``tip`` appears there although the conf lacks it. Failures
        answer ``error`` (the emulator's spelling: no capture shows the server's).
        """
        args = dict(_params(params))
        host, port = args.get("host", ""), args.get("port", "")
        hb = self.net["heartbeat"]
        if hb.values.get("mode") != "mesh" or not host or not port.isdigit():
            return "error"
        key = (
            "tls-mesh-seed-address-port" if args.get("tls") == "true" else "mesh-seed-address-port"
        )
        seeds = hb.lists.setdefault(key, [])
        seed = f"{host}:{port}"
        if seed not in seeds:
            seeds.append(seed)
        return "ok"

    def _answer_path(self, base: str, arg: str) -> str | None:
        match base:
            case "namespace":
                if arg not in self.namespaces:
                    return self._error(20, "namespace not found on node")
                return self._namespace_stats(arg) + ";" + self._namespace_config(arg)
            case "sets":
                ns, _, set_name = arg.partition("/")
                if ns not in self.namespaces:
                    return ""
                return self._sets_of(ns, set_name or None)
            case "log":
                if not arg.isdigit() or int(arg) >= len(self.sinks):
                    return "ERROR::bad-id"
                return ";".join(f"{c}:{lv}" for c, lv in self.sinks[int(arg)].levels.items())
        return None

    @staticmethod
    def _host(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    def _peers_std(self, peers: list[tuple[str, str, int]]) -> str:
        """build_peers (service_list.c): ``GEN,3000,[…]``: the default port is the literal
        DEFAULT_PORT "3000" whatever the node listens on, and ``:3000`` is stripped from each
        endpoint (any other port stays)."""
        items = []
        for node_id, host, port in peers:
            endpoint = self._host(host) + ("" if port == 3000 else f":{port}")
            items.append(f"[{node_id},,[{endpoint}]]")
        return f"{self.peers_generation},3000,[{','.join(items)}]"

    # --- cluster state (statistics, racks, roster, partitions) --------------------------------

    def _sha(self, which: str) -> str:
        return hashlib.sha1(f"{which}:{self.build}".encode()).hexdigest()[:7]

    def _cluster_ids(self) -> list[str]:
        """Every node id of the cluster, in succession order (descending, as the server)."""
        return sorted({self.node_id, *(i for i, _h, _p in self.peers)}, reverse=True)

    def _cluster_key(self) -> str:
        digest = hashlib.sha1(",".join(self._cluster_ids()).encode()).hexdigest()
        return digest[:12].upper().lstrip("0") or "1"

    def _rack(self, ns: str) -> str:
        return self.namespaces[ns][""].values.get("rack-id", "0")

    def _replication_factor(self, ns: str) -> int:
        """effective_replication_factor (info_get_namespace_info: ns->replication_factor, which
        the exchange sets to min(replication-factor, cluster size))."""
        conf = self.namespaces[ns][""].values.get("replication-factor", "2")
        return max(1, min(int(conf) if conf.isdigit() else 2, len(self._cluster_ids())))

    def _statistics(self) -> str:
        """cmd_statistics (thr_info.c), key order kept; counters of an idle node, a real uptime
        (seconds since the node started) and the cluster the node is wired into."""
        ids = self._cluster_ids()
        uptime = int(time.monotonic() - self.started)
        objects = 0
        pairs = [
            ("failed_best_practices", "false"),
            ("cluster_size", str(len(ids))),
            ("cluster_key", self._cluster_key()),
            ("cluster_generation", "1"),
            ("cluster_principal", ids[0]),
            ("cluster_min_compatibility_id", "13"),
            ("cluster_max_compatibility_id", "13"),
            ("cluster_integrity", "true"),
            ("cluster_is_member", "true"),
            ("cluster_duplicate_nodes", "null"),
            ("cluster_clock_skew_stop_writes_sec", "0"),
            ("cluster_clock_skew_ms", "0"),
            ("cluster_clock_skew_outliers", "null"),
            ("uptime", str(uptime)),
            ("system_total_cpu_pct", "1"),
            ("system_user_cpu_pct", "1"),
            ("system_kernel_cpu_pct", "0"),
            ("system_free_mem_kbytes", "15000000"),
            ("system_free_mem_pct", "90"),
            ("host_free_mem_kbytes", "15000000"),
            ("host_free_mem_pct", "90"),
            ("system_thp_mem_kbytes", "0"),
            ("process_cpu_pct", "1"),
            ("threads_joinable", "10"),
            ("threads_detached", "50"),
            ("threads_pool_total", "30"),
            ("threads_pool_active", "30"),
            ("heap_allocated_kbytes", "1000000"),
            ("heap_active_kbytes", "1001000"),
            ("heap_mapped_kbytes", "1100000"),
            ("heap_efficiency_pct", "91"),
            ("heap_site_count", "0"),
            ("objects", str(objects)),
            ("tombstones", "0"),
            ("info_queue", "0"),
            ("rw_in_progress", "0"),
            ("proxy_in_progress", "0"),
            ("tree_gc_queue", "0"),
            ("client_connections", "1"),
            ("client_connections_opened", "1"),
            ("client_connections_closed", "0"),
            ("admin_connections", "0"),
            ("admin_connections_opened", "0"),
            ("admin_connections_closed", "0"),
            ("heartbeat_connections", str(len(ids) - 1)),
            ("heartbeat_connections_opened", str(len(ids) - 1)),
            ("heartbeat_connections_closed", "0"),
            ("fabric_connections", str(8 * (len(ids) - 1))),
            ("fabric_connections_opened", str(8 * (len(ids) - 1))),
            ("fabric_connections_closed", "0"),
            ("heartbeat_received_self", "0"),
            ("heartbeat_received_foreign", str(uptime * 7 * (len(ids) - 1))),
            ("reaped_fds", "0"),
            ("info_complete", "1"),
            ("info_timeout", "0"),
            ("demarshal_error", "0"),
            ("early_tsvc_client_error", "0"),
            ("early_tsvc_from_proxy_error", "0"),
            ("early_tsvc_from_proxy_batch_sub_error", "0"),
            ("long_queries_active", "0"),
            ("batch_index_initiate", "0"),
            ("batch_index_queue", "0:0,0:0,0:0,0:0"),
            ("batch_index_complete", "0"),
            ("batch_index_error", "0"),
            ("batch_index_timeout", "0"),
            ("batch_index_delay", "0"),
            ("batch_index_unused_buffers", "0"),
            ("batch_index_huge_buffers", "0"),
            ("batch_index_created_buffers", "0"),
            ("batch_index_destroyed_buffers", "0"),
            ("batch_index_proto_uncompressed_pct", "0.000"),
            ("batch_index_proto_compression_ratio", "1.000"),
            ("paxos_principal", ids[0]),
            ("time_since_rebalance", str(uptime)),
            ("migrate_allowed", "true"),
            ("migrate_partitions_remaining", "0"),
            ("fabric_bulk_send_rate", "0"),
            ("fabric_bulk_recv_rate", "0"),
            ("fabric_ctrl_send_rate", "0"),
            ("fabric_ctrl_recv_rate", "0"),
            ("fabric_meta_send_rate", "0"),
            ("fabric_meta_recv_rate", "0"),
            ("fabric_rw_send_rate", "0"),
            ("fabric_rw_recv_rate", "0"),
            ("deprecated_requests", "0"),
        ]
        return _kv(pairs)

    # The canonical latency histograms of `latencies:` (cmd_latencies; names from cfg.c).
    _NS_HISTOGRAMS = (
        "read",
        "write",
        "udf",
        "batch-sub-read",
        "batch-sub-write",
        "batch-sub-udf",
        "pi-query",
        "si-query",
    )

    @staticmethod
    def _histogram(name: str) -> str:
        """histogram_get_latencies (cf/src/hist.c): ``NAME:msec,TPS,`` then the 17 percentages
        over each power-of-two threshold, ``;`` after each histogram (an idle node: all zero)."""
        return f"{name}:msec,0.0," + ",".join(["0.00"] * 17) + ";"

    def _latencies(self, params: str) -> str:
        """cmd_latencies: all canonical histograms, or ``hist=NAME`` (batch-index, info, or
        ``{NS}-read`` …); an unknown name is ``ERROR:4:bad hist name``."""
        hist = dict(_params(params)).get("hist")
        if hist is None:
            names = ["batch-index"]
            for ns in self.namespaces:
                names += [f"{{{ns}}}-{h}" for h in self._NS_HISTOGRAMS]
            return "".join(self._histogram(n) for n in names)
        if hist in ("batch-index", "info"):
            return self._histogram(hist)
        m = re.fullmatch(r"\{([^}]*)\}-(.+)", hist)
        if m and m.group(1) in self.namespaces and m.group(2) in self._NS_HISTOGRAMS:
            return self._histogram(hist)
        return self._error(4, "bad hist name")

    # XDR statistics (EE only; xdr_ce.c answers nothing): the metrics of Aerospike's XDR
    # reference, in its order; asadm's `info xdr` reads success, retry_*, recoveries_pending,
    # lag, latency_ms and throughput.
    _XDR_STATS = (
        "lag",
        "in_queue",
        "in_progress",
        "success",
        "abandoned",
        "not_found",
        "filtered_out",
        "retry_no_node",
        "retry_conn_reset",
        "retry_dest",
        "recoveries",
        "recoveries_pending",
        "hot_keys",
        "uncompressed_pct",
        "compression_ratio",
        "throughput",
        "latency_ms",
        "lap_us",
    )

    def _get_stats(self, params: str) -> str:
        """cmd_get_stats: ``context=xdr;dc=DC[;namespace=NS]`` (an idle DC's counters)."""
        args = dict(_params(params))
        if "context" not in args:
            return self._error(4, "missing 'context'")
        if args["context"] != "xdr":
            return self._error(4, "unknown context")
        dc = self.dcs.get(args.get("dc", ""))
        if dc is None:
            return self._error(4, "DC not found")
        ns = args.get("namespace")
        if ns is not None and ns not in dc.namespaces:
            return self._error(4, "namespace not found")
        pairs = [(k, "1.000" if k == "compression_ratio" else "0") for k in self._XDR_STATS]
        if ns is None:
            pairs.insert(pairs.index(("throughput", "0")), ("nodes", "1"))
        return _kv(pairs)

    def _ns_param(self, params: str) -> tuple[list[str], str | None]:
        """The namespaces a ``racks:``/``roster:`` query covers, or an error value."""
        args = dict(_params(params))
        ns = args.get("namespace") or args.get("id")
        if ns is None:
            return list(self.namespaces), None
        if ns not in self.namespaces:
            return [], self._error(20, "namespace not found on node")
        return [ns], None

    def _racks(self, params: str) -> str:
        """cmd_racks / namespace_rack_info (thr_info.c): ``ns=NS:rack_ID=NODE,NODE`` per
        namespace (``;``-joined), rack by rack; with ``namespace=`` the namespace alone and no
        ``ns=`` prefix. Every node of the emulated cluster is in the node's rack."""
        names, error = self._ns_param(params)
        if error is not None:
            return error
        out = []
        for ns in names:
            racks = f"rack_{self._rack(ns)}={','.join(self._cluster_ids())}"
            out.append(racks if "namespace=" in params or "id=" in params else f"ns={ns}:{racks}")
        return ";".join(out)

    def _roster(self, params: str) -> str:
        """cmd_roster / namespace_roster_info (thr_info.c): ``roster=…:pending_roster=…:
        observed_nodes=…``, ``null`` for AP namespaces (no roster, none observed); a strong
        consistency namespace lists every node of the cluster."""
        names, error = self._ns_param(params)
        if error is not None:
            return error
        out = []
        for ns in names:
            sc = self.namespaces[ns][""].values.get("strong-consistency") == "true"
            nodes = ",".join(self._cluster_ids()) if sc else "null"
            info = f"roster={nodes}:pending_roster={nodes}:observed_nodes={nodes}"
            out.append(info if "namespace=" in params or "id=" in params else f"ns={ns}:{info}")
        return ";".join(out)

    @staticmethod
    def _owner(ids: list[str], me: int, pid: int) -> tuple[str, int]:
        """(master, this node's index in the succession) for one partition: the succession is
        the cluster's ids (``ids``, this node at ``me``) rotated by the partition id, its first
        ``effective_replication_factor`` nodes being the replicas."""
        at = pid % len(ids)
        return ids[at], (me - at) % len(ids)

    def _partition_info(self) -> str:
        """as_partition_getinfo_str (partition.c): a header, then one line per partition of
        every namespace: ``ns:pid:state:n_replicas:replica:succession:n_dupl:working_master:
        proxy_dst:emigrates:lead_emigrates:immigrates:records:tombstones:regime:tree_id:version:
        final_version``; state S for a replica, A for a partition the node has no version of."""
        out = [
            "namespace:partition:state:n_replicas:replica:succession:n_dupl:working_master:"
            "proxy_dst:emigrates:lead_emigrates:immigrates:records:tombstones:regime:tree_id:"
            "version:final_version"
        ]
        key = self._cluster_key().lower().rjust(12, "0")
        ids = self._cluster_ids()
        at = ids.index(self.node_id)
        for ns in self.namespaces:
            rf = self._replication_factor(ns)
            for pid in range(PARTITIONS):
                master, me = self._owner(ids, at, pid)
                replica = me if me < rf else -1
                state = "S" if replica >= 0 else "A"
                if replica == 0:
                    version = f"{key}.0.m-p-"
                elif replica > 0:
                    version = f"{key}.0.--p-"
                else:
                    version = "000000000000.0.---"
                fields = [ns, str(pid), state, str(rf), str(replica), str(me), "0", master, "0"]
                fields += ["0", "0", "0", "0", "0", "0", "0", version, version]
                out.append(":".join(fields))
        return ";".join(out)

    def replicas(self) -> str:
        """``replicas`` (cmd_replicas): per namespace ``NS:REGIME,COUNT,BITMAP,…`` with one
        base64 bitmap of 4096 partitions per replica position this node holds (master first)."""
        parts = []
        ids = self._cluster_ids()
        at = ids.index(self.node_id)
        for ns in self.namespaces:
            rf = self._replication_factor(ns)
            bitmaps = [bytearray(PARTITIONS // 8) for _ in range(rf)]
            for pid in range(PARTITIONS):
                position = self._owner(ids, at, pid)[1]
                if position < rf:
                    bitmaps[position][pid >> 3] |= 0x80 >> (pid & 7)
            maps = [base64.b64encode(bytes(b)).decode("ascii") for b in bitmaps]
            parts.append(f"{ns}:0,{rf}," + ",".join(maps))
        return ";".join(parts)

    # --- get-config ---------------------------------------------------------------------------

    def _get_config_all(self) -> str:
        parts = [self._service_config(), self._network_config(), self._security_config()]
        return ";".join(p for p in parts if p)

    def _get_config(self, params: str) -> str:
        args = dict(_params(params))
        legacy = self.v < (7, 0)
        if "context" not in args:
            if legacy:
                return "Error::invalid get-config parameter"
            return self._error(4, "missing 'context'")
        match args["context"]:
            case "service":
                return self._service_config()
            case "network":
                return self._network_config()
            case "namespace":
                ns = args.get("id")
                if ns is None and self.v >= (7, 2):
                    ns = args.get("namespace")
                if ns is None:
                    if legacy:
                        return "Error::invalid id"
                    sel = "namespace" if self.v >= (7, 2) else "id"
                    return self._error(4, f"missing '{sel}'")
                if ns not in self.namespaces:
                    return "ERROR::namespace not found" if legacy else self._not_found()
                return self._namespace_config(ns)
            case "security":
                return self._security_config()
            case "xdr":
                return self._xdr_config(args)
        return "Error::invalid context" if legacy else self._error(4, "invalid context")

    def _not_found(self) -> str:
        return self._error(20, "namespace not found on node")

    def _service_config(self) -> str:
        ctx = self.service
        pairs = [(k, ctx.values[k]) for k in sorted(ctx.values)]
        fkf = ctx.lists.get("feature-key-file", [])
        if fkf:
            at = next((i for i, (k, _) in enumerate(pairs) if k > "feature-key-file"), len(pairs))
            if self.v < (5, 0):
                pairs[at:at] = [("feature-key-file", f) for f in fkf[:1]]
            else:
                pairs[at:at] = [(f"feature-key-file[{i}]", f) for i, f in enumerate(fkf)]
        return _kv(pairs)

    def _ordered(self, prefix: str, ctx: _Ctx, lead: tuple[str, ...]) -> list[tuple[str, str]]:
        """``lead`` keys first (``name*`` = a repeated key), then the rest alphabetically."""
        pairs: list[tuple[str, str]] = []
        done: set[str] = set()
        for key in lead:
            if key.endswith("*"):
                name = key[:-1]
                pairs += [(f"{prefix}.{name}", v) for v in ctx.lists.get(name, [])]
            elif key in ctx.values:
                pairs.append((f"{prefix}.{key}", ctx.values[key]))
            done.add(key.rstrip("*"))
        pairs += [(f"{prefix}.{k}", ctx.values[k]) for k in sorted(ctx.values) if k not in done]
        for name in sorted(ctx.lists):
            if name not in done:
                pairs += [(f"{prefix}.{name}", v) for v in ctx.lists[name]]
        return pairs

    def _network_config(self) -> str:
        pairs = self._ordered("service", self.net["service"], _SERVICE_ORDER)
        hb = self.net["heartbeat"]
        mesh = hb.values.get("mode") == "mesh"
        # hb.c: mesh prints mode, address, port, seeds; multicast prints the groups before port.
        lead = ["mode", "address*"]
        lead += ["port", "mesh-seed-address-port*"] if mesh else ["multicast-group*", "port"]
        lead += ["tls-address*", "tls-port", "tls-name"]
        lead += ["tls-mesh-seed-address-port*"] if mesh else []
        lead += ["interval", "timeout", "connect-timeout-ms", "mtu"]
        hb_values = dict(hb.values)
        if mesh:
            hb_values.pop("multicast-ttl", None)
        lead += ["multicast-ttl", "protocol"]
        pairs += self._ordered("heartbeat", _Ctx(hb.pattern, hb_values, hb.lists), tuple(lead))
        fabric_lead = ("address*", "tls-address*", "tls-port", "tls-name")
        pairs += self._ordered("fabric", self.net["fabric"], fabric_lead)
        if "info" in self.net:
            pairs += self._ordered("info", self.net["info"], ("address*", "port"))
        if "admin" in self.net:
            pairs += self._ordered("admin", self.net["admin"], ("address*",))
        for i, (name, ctx) in enumerate(self.tls):
            pairs.append((f"tls[{i}].name", name))
            pairs += self._ordered(f"tls[{i}]", ctx, _TLS_ORDER)
        return _kv(pairs)

    def _namespace_config(self, ns: str) -> str:
        parts = self.namespaces[ns]
        top = parts[""]
        pairs = [(k, top.values[k]) for k in sorted(top.values)]
        geo = parts["geo"]
        pairs += [(f"geo2dsphere-within.{k}", geo.values[k]) for k in _GEO_ORDER if k in geo.values]
        pairs += [
            (f"geo2dsphere-within.{k}", v)
            for k, v in sorted(geo.values.items())
            if k not in _GEO_ORDER
        ]
        for typed in ("index-type", "sindex-type"):
            ctx = parts[typed]
            pairs.append((typed, ctx.kind or "shmem"))
            for i, mount in enumerate(ctx.lists.get("mount", [])):
                pairs.append((f"{typed}.mount[{i}]", mount))
            if ctx.kind in ("pmem", "flash"):
                pairs += [(f"{typed}.{k}", ctx.values[k]) for k in self._engine_keys(ctx)]
        se = parts["storage-engine"]
        pairs.append(("storage-engine", se.kind or "memory"))
        if se.kind == "memory" and self.v < (7, 0):
            return _kv(pairs)
        tag, files = _storage_files(se)
        if se.kind == "memory":
            # EE names each memory stripe after its shared-memory key: 0xAD000000 plus the
            # namespace's xmem_id (its 1-based position in the conf) << 12, plus the stripe
            # index (8.1.2.2 capture: xmem_id=2 -> stripe-0.0xad002000; xmem_id=1 ->
            # stripe-0.0xad001000 … stripe-7.0xad001007). The same conf gives the same ids on
            # every node, as on a real cluster.
            n_stripes = len(files) or 8
            xmem_id = list(self.namespaces).index(ns) + 1
            for i in range(n_stripes):
                key = 0xAD000000 + (xmem_id << 12) + i
                pairs.append((f"storage-engine.stripe[{i}]", f"stripe-{i}.0x{key:x}"))
        for i, item in enumerate(files):
            path, _, shadow = item.partition(":")
            pairs.append((f"storage-engine.{tag}[{i}]", path))
            if shadow:
                pairs.append((f"storage-engine.{tag}[{i}].shadow", shadow))
        for k in self._engine_keys(se):
            if k == "flush-size" and se.kind == "memory" and not files:
                continue  # printed for memory only with persistence (8.1.2.2 capture)
            if k == "encryption" and se.values.get("encryption-key-file", "null") == "null":
                continue
            pairs.append((f"storage-engine.{k}", se.values[k]))
        return _kv(pairs)

    def _engine_keys(self, ctx: _Ctx) -> list[str]:
        out = []
        # cfg_info.c prints commit-min-size right after commit-to-device (6.x capture).
        for k in sorted(ctx.values, key=lambda k: _SORT_AS.get(k, k)):
            engines = d.engines_of(self.build, f"{ctx.pattern}.{k}")
            if engines is None or ctx.kind in engines:
                out.append(k)
        return out

    def _namespace_stats(self, ns: str) -> str:
        se = self.namespaces[ns]["storage-engine"]
        pairs = [
            ("ns_cluster_size", str(len(self.peers) + 1)),
            ("effective_replication_factor", str(self._replication_factor(ns))),
            ("objects", "0"),
            ("tombstones", "0"),
            ("master_objects", "0"),
            ("prole_objects", "0"),
            ("stop_writes", "false"),
            ("hwm_breached", "false"),
        ]
        if self.v >= (7, 0):
            pairs += [("index_used_bytes", "0"), ("data_used_bytes", "0"), ("data_used_pct", "0")]
        else:
            pairs += [("memory_used_bytes", "0"), ("memory_free_pct", "100")]
        tag, files = _storage_files(se)
        for i in range(len(files)):
            pairs += [(f"storage-engine.{tag}[{i}].used_bytes", "0")]
            pairs += [(f"storage-engine.{tag}[{i}].age", "-1")]
        pairs.append(("effective_is_quiesced", "false"))
        return _kv(pairs)

    def _sets_of(self, ns: str, only: str | None = None) -> str:
        out = []
        for name, ctx in self.sets.get(ns, {}).items():
            if only is not None and name != only:
                continue
            if self.v >= (7, 0):
                stats = [("objects", "0"), ("tombstones", "0"), ("data_used_bytes", "0")]
            else:
                stats = [("objects", "0"), ("tombstones", "0"), ("memory_data_bytes", "0")]
                stats.append(("device_data_bytes", "0"))
            stats += [("truncate_lut", "0"), ("sindexes", "0")]
            stats += [("index_populating", "false"), ("truncating", "false")]
            pairs = [("ns", ns), ("set", name), *stats]
            pairs += [(k, ctx.values[k]) for k in sorted(ctx.values)]
            out.append(":".join(f"{k}={v}" for k, v in pairs) + ";")
        return "".join(out)

    def _security_config(self) -> str:
        if self.security is None:
            return ""
        top, ldap, log = self.security[""], self.security["ldap"], self.security["log"]
        values = dict(top.values)
        if self.v < (7, 0):
            values["enable-security"] = "true"
        else:
            values.pop("enable-ldap", None)
        if "login-threads" in ldap.values:
            values["ldap-login-threads"] = ldap.values["login-threads"]
        pairs = [(k, values[k]) for k in sorted(values)]
        pairs += [(f"ldap.{k}", v) for k, v in sorted(ldap.values.items()) if k != "login-threads"]
        pairs += [(f"log.{k}", v) for k, v in sorted(log.values.items())]
        return _kv(pairs)

    def _xdr_config(self, args: dict[str, str]) -> str:
        dc_name = args.get("dc")
        if dc_name is None:
            pairs = [("dcs", ",".join(self.dcs))]
            pairs += [(k, v) for k, v in sorted(self.xdr.values.items())]
            return _kv(pairs)
        dc = self.dcs.get(dc_name)
        if dc is None:
            return self._error(4, "DC not found")
        ns = args.get("namespace")
        if ns is None:
            return self._dc_config(dc)
        if ns not in self.namespaces:
            return self._not_found()
        ctx = dc.namespaces.get(ns)
        enabled = ctx is not None
        if ctx is None:
            ctx = self._fill(_Ctx("xdr.dc[*].namespace[*]"), None)
        return self._dc_ns_config(ctx, enabled)

    def _dc_config(self, dc: _Dc) -> str:
        ctx = dc.ctx
        values = dict(ctx.values)
        values["node-address-port"] = ",".join(ctx.lists.get("node-address-port", []))
        pairs = [(k, values[k]) for k in sorted(values)]
        pairs.append(("namespaces", ",".join(dc.namespaces)))
        return _kv(pairs)

    def _dc_ns_config(self, ctx: _Ctx, enabled: bool) -> str:
        values = dict(ctx.values)
        for conf_key in _XDR_LISTS:
            values[conf_key] = ",".join(ctx.lists.get(conf_key, []))
        pairs = [("enabled", str(enabled).lower())]
        pairs += [(_XDR_LISTS.get(k, k), values[k]) for k in sorted(values)]
        return _kv(pairs)

    # --- set-config and log-set ---------------------------------------------------------------

    def _logged(self, answer: str, where: str, params: str) -> str:
        """Log an accepted change to ``log_file`` as the server does (see LOG_SET_CONFIG)."""
        if answer != "ok" or self.log_file is None:
            return answer
        now = datetime.now(UTC)
        stamp = now.strftime("%b %d %Y %H:%M:%S") + f".{now.microsecond // 1000:03d} GMT: "
        if where == LOG_SET_CONFIG:
            message = f"set-config command completed: params {params}"
        else:
            amap = dict(_params(params))
            sink = amap.pop("id", "")
            ctx, level = next(iter(amap.items()), ("", ""))
            message = f"log-set:id={sink}:{ctx}={level}"
        with open(self.log_file, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp}INFO (info): ({where}) {message}\n")
        return answer

    def _bad_param(self) -> str:
        return "error" if self.v < (7, 0) else self._error(4, "invalid set-config parameter")

    def _set_config(self, params: str) -> str:
        args = _params(params)
        amap = dict(args)
        context = amap.get("context")
        if context is None:
            return "error" if self.v < (7, 0) else self._error(4, "missing 'context'")
        selectors = {"context", "id", "namespace", "set", "dc", "action"}
        changes = [(k, v) for k, v in args if k not in selectors]
        target: _Ctx | None = None
        key = changes[0][0] if len(changes) == 1 else None
        match context:
            case "service":
                target = self.service
            case "network":
                if key and "." in key:
                    sub, _, key = key.partition(".")
                    target = self.net.get(sub)
            case "namespace":
                ns = amap.get("id") or (amap.get("namespace") if self.v >= (7, 2) else None)
                if ns is None:
                    return self._bad_param()
                if ns not in self.namespaces:
                    return "error" if self.v < (7, 0) else self._not_found()
                if "set" in amap:
                    sets = self.sets[ns]
                    if amap["set"] not in sets:
                        sets[amap["set"]] = self._fill(_Ctx("namespace[*].set[*]"), None)
                    target = sets[amap["set"]]
                elif key is not None:
                    target, key = self._namespace_target(ns, key)
            case "security":
                if self.security is None:
                    return self._bad_param()
                if key and key.split(".")[0] in ("ldap", "log"):
                    sub, _, key = key.partition(".")
                    target = self.security[sub]
                else:
                    target = self.security[""]
            case "xdr":
                return self._set_xdr(amap, changes)
            case _:
                return "error" if self.v < (7, 0) else self._error(4, "invalid context")
        if target is None or key is None or key not in target.values:
            return self._bad_param()
        return self._store(target, key, changes[0][1])

    def _namespace_target(self, ns: str, key: str) -> tuple[_Ctx | None, str]:
        parts = self.namespaces[ns]
        for prefix, part in (
            ("storage-engine.", "storage-engine"),
            ("geo2dsphere-within.", "geo"),
            ("index-type.", "index-type"),
            ("sindex-type.", "sindex-type"),
        ):
            if key.startswith(prefix):
                return parts[part], key[len(prefix) :]
        # the server (8.1 cfg_info.c:2524 ``defrag-lwm-pct``) takes storage keys unprefixed
        if key not in parts[""].values and key in parts["storage-engine"].values:
            return parts["storage-engine"], key
        return parts[""], key

    def _store(self, target: _Ctx, key: str, raw: str) -> str:
        """Check ``raw`` against the parameter's schema entry and keep it as the running value."""
        info = d.param_info(self.build, f"{target.pattern}.{key}")
        value = raw
        if info is not None:
            if not info.dynamic:
                return self._bad_param()
            if info.type == "boolean":
                lowered = raw.lower()
                if lowered not in ("true", "false", "yes", "no"):
                    return self._bad_param()
                value = "true" if lowered in ("true", "yes") else "false"
            elif info.type == "integer":
                canon = canonical_token(key, raw)
                if not re.fullmatch(r"-?\d+", canon):
                    return self._bad_param()
                if info.minimum is not None and int(canon) < info.minimum:
                    return self._bad_param()
                if info.maximum is not None and int(canon) > info.maximum:
                    return self._bad_param()
                value = canon
            elif info.type == "enum" and info.enum and raw not in info.enum:
                return self._bad_param()
        target.values[key] = value
        return "ok"

    def _set_xdr(self, amap: dict[str, str], changes: list[tuple[str, str]]) -> str:
        dc_name, ns, action = amap.get("dc"), amap.get("namespace"), amap.get("action")
        if dc_name is None:
            if len(changes) != 1 or changes[0][0] not in self.xdr.values:
                return self._bad_param()
            return self._store(self.xdr, *changes[0])
        if action == "create" and not changes and ns is None:
            if dc_name in self.dcs:
                return self._bad_param()
            self.dcs[dc_name] = _Dc(self._fill(_Ctx("xdr.dc[*]"), None))
            return "ok"
        dc = self.dcs.get(dc_name)
        if dc is None:
            return self._bad_param()
        if action == "delete" and ns is None and not changes:
            del self.dcs[dc_name]
            return "ok"
        if ns is not None and action in ("add", "remove") and not changes:
            if ns not in self.namespaces:
                return self._not_found()
            if action == "add" and ns not in dc.namespaces:
                dc.namespaces[ns] = self._fill(_Ctx("xdr.dc[*].namespace[*]"), None)
            elif action == "remove":
                dc.namespaces.pop(ns, None)
            return "ok"
        if len(changes) != 1:
            return self._bad_param()
        key, raw = changes[0]
        target = dc.ctx if ns is None else dc.namespaces.get(ns)
        if target is None:
            return self._bad_param()
        conf_key = {v: k for k, v in _XDR_LISTS.items()}.get(key, key)
        if conf_key in _LIST_KEYS:
            items = target.lists.setdefault(conf_key, [])
            if action == "remove":
                if raw in items:
                    items.remove(raw)
            elif raw not in items:
                items.append(raw)
            return "ok"
        if key not in target.values:
            return self._bad_param()
        return self._store(target, key, raw)

    def _log_set(self, params: str) -> str:
        args = _params(params)
        amap = dict(args)
        sink_id = amap.get("id")
        if sink_id is None or not sink_id.isdigit() or int(sink_id) >= len(self.sinks):
            return "ERROR::bad-id"
        sink = self.sinks[int(sink_id)]
        changes = [(k, v) for k, v in args if k != "id"]
        if not changes:
            return "ERROR::bad-context"
        for ctx_name, level in changes:
            ctx_name, level = ctx_name.lower(), level.upper()
            if level not in _LEVELS:
                return "ERROR::bad-level"
            if ctx_name == "any":
                for c in sink.levels:
                    sink.levels[c] = level
            elif ctx_name in sink.levels:
                sink.levels[ctx_name] = level
            else:
                return "ERROR::bad-context"
        return "ok"


def load_node(
    path: str,
    *,
    build: str = "8.1.2.2",
    node_id: str | None = None,
    cluster_name: str | None = None,
    service_port: int | None = None,
) -> EmulatedNode:
    """An :class:`EmulatedNode` from a conf file; AscadError naming the file if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as exc:
        raise AscadError(f"cannot read conf: {exc.strerror}", path) from None
    return EmulatedNode(
        text,
        source=path,
        build=build,
        node_id=node_id,
        cluster_name=cluster_name,
        service_port=service_port,
    )
