"""Property-based: random *valid* confs survive the whole runtime path with zero drift, and one
random runtime change is exactly one difference.

The confs are drawn from the per-version parameter table (``ascad.knowledge.table``): a service
stanza with a random subset of the service parameters, a network stanza (service, heartbeat in
mesh or multicast mode, fabric, and admin from 8.1) with valid ports, one to three namespaces with
a storage engine the version has and random namespace/engine/set/geo/index parameters, and
optional logging sinks (``context any X`` plus overrides). Every value lies inside the schema's
range or enum and is written in a random equivalent spelling: size suffixes K/M/G/T/P on
integers, s/m/h/d on durations, either case (section b of the facts), booleans in any case, a
bare ``run-as-daemon``, random blanks between tokens and trailing comments.

Each conf is parsed, loaded into an :class:`~ascad.lab.emulator.node.EmulatedNode` of its build,
served on 127.0.0.1 by the emulator's wire server, read back with ``read_node`` and compared with
``drift``. Then one dynamic parameter the conf sets gets another valid value (``set-config`` or
``log-set``): exactly one ``changed`` difference at that path, at the conf's line, with
``restart == False``; set back, zero again; and one dynamic parameter the conf does not set is
exactly one ``set_at_runtime`` difference.

:data:`SKIP` is every parameter the generator never writes, each with the fact that says why it
cannot be set freely; :func:`test_every_parameter_is_generated_or_skipped_with_a_fact` keeps it
honest for the three builds.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ascad.compare.diff import CHANGED, SET_AT_RUNTIME
from ascad.compare.drift import Unchecked, drift
from ascad.conf.paths import segment_parts, split_path
from ascad.conf.values import canonical_token
from ascad.knowledge.table import ParamInfo, ParamTable, pattern_of, table_for
from ascad.knowledge.table import table_or_none as table_for_build
from ascad.lab.emulator.cluster import running
from ascad.lab.emulator.node import EmulatedNode
from ascad.runtime.info import InfoClient
from ascad.runtime.login import NodeLogin, read_node
from ascad.sources.loader import LoadedConf, conf_from_text

BUILDS = ("6.4.0.1", "7.2.0.1", "8.1.2.2")

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Parameters never generated, each with its fact (globs over table patterns).
SKIP: dict[str, str] = {
    "service.node-id-interface": "machine-dependent: names a network interface of the machine, "
    "whose MAC gives the node id (schema: 'derived from the MAC address')",
    "service.feature-key-file": "EE: names a signed feature-key file that must exist "
    "(facts a: feature key files, or env:/secrets: references)",
    "service.vault-*": "EE: needs a Vault server and its CA and token files",
    "service.secrets-*": "EE: needs a secrets agent (address, port or UDS path, TLS context)",
    "network.*.tls-*": "EE TLS: tls-name/tls-port need a `tls NAME {}` stanza, which needs "
    "certificate and key files",
    "network.tls[*]*": "EE TLS: a `tls NAME {}` stanza needs certificate and key files",
    "namespace[*].mrt-duration": "the server prints 0 on a non-SC namespace over the schema's 10 "
    "(8.1.2.2 capture); what it prints for a conf value on a non-SC namespace is not in the facts",
    "namespace[*].storage-engine.encryption*": "EE: encryption needs a key file "
    "(`encryption` is printed only when encryption-key-file is set, facts c)",
}

# cfg.c checks these are powers of 2 after the multiplication (facts b: "Range checks and powers
# of 2 are checked after the multiplication").
POW2 = frozenset(
    {"partition-tree-sprigs", "index-stage-size", "sindex-stage-size", "write-block-size"}
)

U32 = (1 << 32) - 1
_SIZE = (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("P", 1 << 50))
_TIME = (("s", 1), ("m", 60), ("h", 3600), ("d", 86400))

NAME = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


def _glob(glob: str) -> re.Pattern[str]:
    """``*`` matches any run; everything else (brackets too) is literal."""
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")) + r"\Z")


def skipped(pattern: str) -> str | None:
    """The fact why ``pattern`` is never generated, or None."""
    for glob, fact in SKIP.items():
        if _glob(glob).match(pattern):
            return fact
    return None


# --- values in their spellings ------------------------------------------------------------------


def spellings(n: int, unit: str) -> list[str]:
    """Every way the conf may write ``n`` (facts b: suffixes in either case; -1 bare)."""
    out = [str(n)]
    if n < 0:
        return out
    for suffix, mult in _TIME if unit == "duration" else _SIZE:
        if n % mult == 0:
            out += [f"{n // mult}{suffix}", f"{n // mult}{suffix.swapcase()}"]
    return out


def integers(lo: int, hi: int, unit: str) -> st.SearchStrategy[str]:
    """An integer in [lo, hi], often a round multiple so that the suffixes show up, spelled."""
    mults = [1, 60, 3600, 86400] if unit == "duration" else [1, 1 << 10, 1 << 20, 1 << 30]
    options = []
    for m in mults:
        a, b = -(-lo // m), hi // m
        if a <= b:
            options.append(st.integers(a, b).map(lambda k, m=m: k * m))
    return st.one_of(options).flatmap(lambda n: st.sampled_from(spellings(n, unit)))


def powers_of_two(lo: int, hi: int) -> st.SearchStrategy[str]:
    exps = [e for e in range(64) if lo <= (1 << e) <= hi]
    return st.sampled_from(exps).flatmap(lambda e: st.sampled_from(spellings(1 << e, "size")))


def booleans() -> st.SearchStrategy[str]:
    """``true``/``false`` in any case (facts b: case-insensitive; ``True`` is in the corpus)."""
    return st.tuples(st.sampled_from(["true", "false"]), st.sampled_from([0, 1, 2, 3])).map(
        lambda t: (t[0], t[0].upper(), t[0].title(), t[0][:2].upper() + t[0][2:])[t[1]]
    )


def hex_ids() -> st.SearchStrategy[str]:
    """``node-id``: hex, any case, maybe leading zeros (printed uppercase without them)."""
    return st.integers(1, (1 << 60) - 1).flatmap(
        lambda n: st.sampled_from([f"{n:x}", f"{n:X}", f"00{n:x}"])
    )


STRINGS: dict[str, st.SearchStrategy[str]] = {
    # a string is kept verbatim (facts b), so tokens shaped like sizes or booleans are drawn too
    "service.cluster-name": st.one_of(NAME, st.sampled_from(["10K", "True", "2m", "007", "-1"])),
    "service.pidfile": NAME.map(lambda n: f"/var/run/aerospike/{n}.pid"),
    "service.work-directory": NAME.map(lambda n: f"/opt/aerospike/{n}"),
    "service.user": st.sampled_from(["aerospike", "root"]),
    "service.group": st.sampled_from(["aerospike", "root"]),
    "service.node-id": hex_ids(),
}


def value_strategy(pattern: str, info: ParamInfo) -> st.SearchStrategy[str] | None:
    """A strategy for one scalar parameter's conf value (None: not a free scalar)."""
    if skipped(pattern) is not None:
        return None
    key = pattern.rsplit(".", 1)[-1]
    if info.type == "boolean":
        if key == "run-as-daemon":  # a bare flag means true (cfg_bool_no_value_is_true)
            return st.one_of(booleans(), st.just(""))
        return booleans()
    if info.type == "enum" and info.enum:
        return st.sampled_from(info.enum)
    if info.type == "integer":
        lo = info.minimum if info.minimum is not None else 0
        hi = info.maximum if info.maximum is not None else (256 if key.endswith("threads") else U32)
        if key in POW2:
            return powers_of_two(lo, hi)
        return integers(lo, hi, info.unit)
    if info.type == "string":
        return STRINGS.get(pattern)
    return None


# Parameters the stanza generators write themselves (structure, ports, lists, modes).
STRUCTURAL = frozenset(
    {
        "network.service.port",
        "network.service.access-port",
        "network.service.alternate-access-port",
        "network.heartbeat.port",
        "network.fabric.port",
        "network.admin.port",
        "network.service.address",
        "network.service.access-address",
        "network.service.alternate-access-address",
        "network.heartbeat.address",
        "network.fabric.address",
        "network.admin.address",
        "network.info.port",
        "network.info.address",
        "network.heartbeat.mode",
        "network.heartbeat.mesh-seed-address-port",
        "network.heartbeat.multicast-group",
        "network.heartbeat.multicast-ttl",
        "namespace[*].storage-engine.file",
        "namespace[*].storage-engine.device",
        "namespace[*].storage-engine.filesize",
        "namespace[*].storage-engine.data-size",
        "namespace[*].memory-size",
        "namespace[*].index-type.mount",
        "namespace[*].sindex-type.mount",
    }
)


def scalars(table: ParamTable, context: str, engine: str | None = None) -> list[str]:
    """The free scalar parameters directly in ``context`` (for ``engine`` in a typed stanza)."""
    out = []
    for name in table.keys_in(context):
        pattern = f"{context}.{name}"
        info = table.get(pattern)
        if info is None or pattern in STRUCTURAL or info.is_stanza:
            continue
        if engine is not None and info.engines is not None and engine not in info.engines:
            continue
        if value_strategy(pattern, info) is not None:
            out.append(pattern)
    return out


# --- the conf model and its text ---------------------------------------------------------------


@dataclass
class Block:
    """A stanza to render: header tokens, params (key, value) and sub-blocks; ``braces`` False
    for a one-liner typed stanza."""

    header: str
    items: list[tuple[str, str] | Block] = field(default_factory=list)
    braces: bool = True
    keep_order: bool = False  # logging sinks: context lines apply in file order


@dataclass
class Generated:
    build: str
    text: str
    sinks: list[str]  # the sinks' paths, as generated (the text may order them otherwise)


def render(blocks: list[Block], draw: st.DrawFn) -> str:
    lines: list[str] = []
    sep = draw(st.sampled_from([" ", "  ", "\t"]))

    def emit(block: Block, depth: int) -> None:
        pad = "    " * depth
        if not block.braces:
            lines.append(f"{pad}{block.header}")
            return
        lines.append(f"{pad}{block.header} {{")
        items = list(block.items)
        if not block.keep_order:
            items = draw(st.permutations(items))
        for item in items:
            if isinstance(item, Block):
                emit(item, depth + 1)
                continue
            key, value = item
            line = f"{pad}    {key}{sep}{value}" if value != "" else f"{pad}    {key}"
            if draw(st.integers(0, 9)) == 0:
                line += " # a comment"
            lines.append(line)
        lines.append(f"{pad}}}")

    for block in blocks:
        emit(block, 0)
    return "\n".join(lines) + "\n"


def draw_params(draw: st.DrawFn, table: ParamTable, patterns: list[str]) -> list[tuple[str, str]]:
    chosen = draw(st.lists(st.sampled_from(patterns), unique=True, max_size=8)) if patterns else []
    out = []
    for pattern in sorted(chosen):
        info = table.get(pattern)
        assert info is not None
        strategy = value_strategy(pattern, info)
        assert strategy is not None
        out.append((pattern.rsplit(".", 1)[-1], draw(strategy)))
        if draw(st.integers(0, 19)) == 0:
            # the same key twice: the later line wins (docs/paths.md: the server overwrites)
            out.append((pattern.rsplit(".", 1)[-1], draw(strategy)))
    return out


@st.composite
def ports(draw: st.DrawFn, n: int) -> list[int]:
    return draw(st.lists(st.integers(1024, 65535), min_size=n, max_size=n, unique=True))


def network_block(draw: st.DrawFn, table: ParamTable, v81: bool) -> Block:
    svc_port, hb_port, fab_port, adm_port, acc_port, alt_port, info_port = draw(ports(7))
    service = Block("service", [("port", str(svc_port))])
    if draw(st.booleans()):
        service.items.append(("address", draw(st.sampled_from(["any", "127.0.0.1"]))))
    if draw(st.booleans()):
        for ip in draw(
            st.lists(
                st.sampled_from(["10.0.0.5", "10.1.2.3", "192.0.2.7"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        ):
            service.items.append(("access-address", ip))
        service.items.append(("access-port", str(acc_port)))
    if draw(st.booleans()):
        service.items.append(("alternate-access-address", "203.0.113.9"))
        service.items.append(("alternate-access-port", str(alt_port)))
    service.items += draw_params(draw, table, scalars(table, "network.service"))

    hb = Block("heartbeat")
    mesh = draw(st.booleans())
    if mesh:
        hb.items += [("mode", "mesh"), ("port", str(hb_port))]
        seeds = draw(st.lists(st.integers(1, 250), min_size=1, max_size=3, unique=True))
        hb.items += [("mesh-seed-address-port", f"10.0.0.{s} {hb_port}") for s in seeds]
    else:
        hb.items += [("mode", "multicast"), ("port", str(hb_port))]
        groups = draw(st.lists(st.integers(1, 250), min_size=1, max_size=2, unique=True))
        hb.items += [("multicast-group", f"239.1.99.{g}") for g in groups]
        if draw(st.booleans()):
            hb.items.append(("multicast-ttl", str(draw(st.integers(0, 255)))))
    if draw(st.booleans()):
        hb.items.append(("address", "any"))
    hb.items += draw_params(draw, table, scalars(table, "network.heartbeat"))

    fabric = Block("fabric", [("port", str(fab_port))])
    if draw(st.booleans()):
        fabric.items.append(("address", "any"))
    fabric.items += draw_params(draw, table, scalars(table, "network.fabric"))
    blocks: list[tuple[str, str] | Block] = [service, hb, fabric]
    if draw(st.booleans()):
        # before 8.1 `info {}` is the info port; 8.1 ignores it as obsolete (facts e), and drift
        # lists its lines as unverifiable
        info = Block("info", [("port", str(info_port))])
        if draw(st.booleans()):
            info.items.append(("address", "any"))
        info.items += draw_params(draw, table, scalars(table, "network.info"))
        blocks.append(info)
    if v81 and "network.admin" in table and draw(st.booleans()):
        admin = Block("admin", [("port", str(adm_port))])
        admin.items += draw_params(draw, table, scalars(table, "network.admin"))
        blocks.append(admin)
    return Block("network", blocks)


def typed_index_block(draw: st.DrawFn, table: ParamTable, kind: str, ns: str) -> Block | None:
    info = table.get(f"namespace[*].{kind}")
    if info is None or not draw(st.booleans()):
        return None
    itype = draw(st.sampled_from(sorted(info.enum or ("shmem",))))
    if itype == "shmem":
        return Block(f"{kind} shmem", braces=False)
    block = Block(f"{kind} {itype}")
    mounts = draw(st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True))
    block.items += [("mount", f"/mnt/{itype}{m}/{ns}") for m in mounts]
    block.items += draw_params(draw, table, scalars(table, f"namespace[*].{kind}", itype))
    return block


def storage_block(draw: st.DrawFn, table: ParamTable, ns: str, v7: bool) -> Block:
    info = table.get("namespace[*].storage-engine")
    assert info is not None and info.enum
    engine = draw(st.sampled_from(sorted(info.enum)))
    se = "namespace[*].storage-engine"
    if engine == "memory" and not v7:
        return Block("storage-engine memory", braces=False)  # 6.x: a one-liner (facts a)
    block = Block(f"storage-engine {engine}")
    if engine == "memory":
        block.items.append(("data-size", draw(integers(1 << 30, 64 << 30, "size"))))
    persistence = engine != "memory" or draw(st.booleans())
    if persistence:
        devices = engine in ((table.get(f"{se}.device") or info).engines or ()) and draw(
            st.booleans()
        )
        n = draw(st.integers(1, 2))
        if devices:
            for i in range(n):
                shadow = f" /dev/sd{chr(ord('q') + i)}" if draw(st.booleans()) else ""
                block.items.append(("device", f"/dev/nvme{i}n1{shadow}"))
        else:
            for i in range(n):
                block.items.append(("file", f"/opt/aerospike/data/{ns}-{i}.dat"))
            block.items.append(("filesize", draw(integers(1 << 30, 64 << 30, "size"))))
    block.items += draw_params(draw, table, scalars(table, se, engine))
    return block


def namespace_block(draw: st.DrawFn, table: ParamTable, ns: str, v7: bool) -> Block:
    block = Block(f"namespace {ns}")
    if not v7:
        block.items.append(("memory-size", draw(integers(1 << 30, 64 << 30, "size"))))
    block.items += draw_params(draw, table, scalars(table, "namespace[*]"))
    block.items.append(storage_block(draw, table, ns, v7))
    for kind in ("index-type", "sindex-type"):
        index = typed_index_block(draw, table, kind, ns)
        if index is not None:
            block.items.append(index)
    if draw(st.booleans()):
        geo = Block("geo2dsphere-within")
        geo.items += draw_params(draw, table, scalars(table, "namespace[*].geo2dsphere-within"))
        block.items.append(geo)
    for set_name in draw(st.lists(NAME, max_size=2, unique=True)):
        s = Block(f"set {set_name}")
        s.items += draw_params(draw, table, scalars(table, "namespace[*].set[*]"))
        block.items.append(s)
    return block


LEVELS = ("critical", "warning", "info", "debug", "detail")


def contexts_of(table: ParamTable) -> list[str]:
    info = table.get("logging.console.context")
    assert info is not None and info.keys
    return [k for k in info.keys if k != "any"]


def level() -> st.SearchStrategy[str]:
    """A level in any case (facts b: logging context names and levels are case-insensitive)."""
    return st.tuples(st.sampled_from(LEVELS), st.booleans()).map(
        lambda t: t[0].upper() if t[1] else t[0]
    )


def logging_block(draw: st.DrawFn, table: ParamTable) -> tuple[Block, list[str]]:
    names = contexts_of(table)
    kinds = draw(
        st.lists(st.sampled_from(["file", "file", "console", "syslog"]), min_size=1, max_size=3)
    )
    block = Block("logging")
    sinks: list[str] = []
    seen: set[str] = set()
    for i, kind in enumerate(kinds):
        if kind in seen and kind != "file":
            continue
        seen.add(kind)
        if kind == "file":
            path = f"/var/log/aerospike/{draw(NAME)}-{i}.log"
            sink = Block(f"file {path}", keep_order=True)
            base = f"logging.file[{path}]"
        else:
            sink = Block(kind, keep_order=True)
            base = f"logging.{kind}"
        if kind == "syslog":
            if draw(st.booleans()):
                sink.items.append(("path", "/var/run/syslog.sock"))
            if draw(st.booleans()):
                sink.items.append(("facility", draw(st.sampled_from(["local0", "daemon"]))))
            if draw(st.booleans()):
                sink.items.append(("tag", draw(NAME)))
        any_level = draw(st.none() | level())
        if any_level is not None:
            # a `context NAME` line before `context any` is overridden by it (cf/src/log.c
            # applies a sink's lines in file order; docs/paths.md)
            for name in draw(st.lists(st.sampled_from(names), max_size=1)):
                sink.items.append(("context", f"{name} {draw(level())}"))
            sink.items.append(("context", f"any {any_level}"))
        for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
            sink.items.append(
                ("context", f"{name.upper() if draw(st.booleans()) else name} {draw(level())}")
            )
        block.items.append(sink)
        sinks.append(base)
    return block, sinks


@st.composite
def confs(draw: st.DrawFn, build: str) -> Generated:
    """One valid conf for ``build`` (see the module doc)."""
    table = table_for(build)
    v = tuple(int(x) for x in build.split("."))
    v7, v81 = v >= (7, 0), v >= (8, 1)
    blocks: list[Block] = []
    service = Block("service")
    service.items += draw_params(draw, table, scalars(table, "service"))
    blocks.append(service)
    sinks: list[str] = []
    if draw(st.booleans()):
        logging, sinks = logging_block(draw, table)
        blocks.append(logging)
    blocks.append(network_block(draw, table, v81))
    for ns in draw(st.lists(NAME, min_size=1, max_size=3, unique=True)):
        blocks.append(namespace_block(draw, table, ns, v7))
    return Generated(build, render(blocks, draw), sinks)


def conf_strategy() -> st.SearchStrategy[Generated]:
    return st.sampled_from(BUILDS).flatmap(confs)


# --- running it ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    differences: list
    unchecked: list[Unchecked]


async def _read_and_compare(conf: LoadedConf, port: int) -> Outcome:
    snap = await read_node(f"aerospike://127.0.0.1:{port}", NodeLogin(timeout=5.0))
    result, unchecked = drift(conf.tree, conf.flat, snap, table=table_for_build(snap.build))
    return Outcome(result.differences, unchecked)


def expected_unverifiable(path: str, conf: LoadedConf, build: str) -> bool:
    """Conf paths the facts say the node cannot confirm (so drift lists them as unchecked)."""
    if path == "network.info" or path.startswith("network.info."):
        return tuple(int(x) for x in build.split(".")) >= (8, 1)  # 8.1 ignores info {} (e)
    if path in ("service.user", "service.group"):  # facts c: cfg_info.c prints neither
        return True
    if path in ("logging.syslog.facility", "logging.syslog.tag"):  # facts c: logs shows the path
        return True
    if path == "network.heartbeat.mtu":  # mtu 0: the node prints its interface MTU (facts c)
        return conf.flat.settings[path].canonical == "0"
    if path.endswith(".storage-engine.post-write-queue"):
        # cfg.c forces 0 with data-in-memory (6.x capture); mapping.RUNTIME_DEFAULTS.
        dim = conf.flat.settings.get(path.rsplit(".", 1)[0] + ".data-in-memory")
        return dim is not None and dim.canonical == "true"
    if path.endswith(".storage-engine.flush-size"):
        # facts c: flush-size is printed for memory only when it has persistence.
        ns = path.rsplit(".", 2)[0]
        se = conf.flat.settings.get(f"{ns}.storage-engine")
        has_files = any(
            p.startswith((f"{ns}.storage-engine.file[", f"{ns}.storage-engine.device["))
            for p in conf.flat.settings
        )
        return se is not None and se.value == "memory" and not has_files
    return False


def check_zero(conf: LoadedConf, outcome: Outcome, build: str) -> None:
    assert outcome.differences == [], (conf.text, outcome.differences)
    wrong = [u for u in outcome.unchecked if not expected_unverifiable(u.path, conf, build)]
    assert wrong == [], (conf.text, wrong)


@given(conf_strategy())
@PROPERTY
def test_random_valid_conf_has_zero_drift(gen: Generated) -> None:
    conf = conf_from_text("gen.conf", gen.text)
    node = EmulatedNode(gen.text, source="gen.conf", build=gen.build)

    async def go() -> Outcome:
        async with running([node]) as cluster:
            return await _read_and_compare(conf, cluster.nodes[0].port)

    check_zero(conf, asyncio.run(go()), gen.build)


# --- one runtime change is one difference ------------------------------------------------------

SCALAR_TYPES = ("integer", "boolean", "enum", "string")


def other_value(info: ParamInfo, pattern: str, current: str) -> st.SearchStrategy[str]:
    """A valid runtime value (canonical spelling) other than ``current``."""
    key = pattern.rsplit(".", 1)[-1]
    if info.type == "boolean":
        return st.just("false" if current == "true" else "true")
    if info.type == "enum" and info.enum:
        return st.sampled_from([e for e in info.enum if e != current])
    if info.type == "integer":
        lo = info.minimum if info.minimum is not None else 0
        hi = info.maximum if info.maximum is not None else (256 if key.endswith("threads") else U32)
        base = powers_of_two(lo, hi) if key in POW2 else integers(lo, hi, info.unit)
        return base.map(lambda t: canonical_token(key, t, info.unit)).filter(lambda v: v != current)
    # cluster-name: the one free dynamic string
    return STRINGS["service.cluster-name"].filter(lambda v: v != current)


def set_config_command(path: str, value: str, build: str, selector: str) -> str:
    """The info command that sets ``path`` (a concrete conf path) on the node.

    Shapes: facts section d (AKO's command builder) and info-protocol section c: the namespace
    is ``id=`` (``namespace=`` too from 7.2), a set adds ``set=``, a network parameter carries its
    sub-stanza (``heartbeat.interval``); sub-stanza parameters of a namespace are named as
    get-config prints them (``storage-engine.defrag-lwm-pct``).
    """
    segs = split_path(path)
    head, name = segment_parts(segs[0])
    if head == "service":
        return f"set-config:context=service;{segs[1]}={value}"
    if head == "network":
        return f"set-config:context=network;{'.'.join(segs[1:])}={value}"
    assert head == "namespace" and name is not None
    sel = f"{selector}={name}"
    sub, set_name = segment_parts(segs[1])
    if sub == "set" and set_name is not None:
        return f"set-config:context=namespace;{sel};set={set_name};{segs[2]}={value}"
    return f"set-config:context=namespace;{sel};{'.'.join(segs[1:])}={value}"


def conf_scalar_paths(conf: LoadedConf, table: ParamTable, build: str) -> list[str]:
    """Dynamic scalar parameters the conf sets and the node can confirm."""
    out = []
    for path, s in conf.flat.settings.items():
        if s.stanza or path.startswith("logging.") or path.endswith("]"):
            continue
        info = table.lookup(path)
        if info is None or not info.dynamic or info.type not in SCALAR_TYPES:
            continue
        if not expected_unverifiable(path, conf, build):
            out.append(path)
    return out


def unset_scalar_paths(conf: LoadedConf, table: ParamTable, build: str) -> list[str]:
    """Dynamic parameters with a machine-independent default that the conf does not set."""
    flat = conf.flat.settings
    contexts = ["service", "network.service", "network.heartbeat", "network.fabric"]
    if "network.admin" in table:
        contexts.append("network.admin")
    for path, s in flat.items():
        if not s.stanza:
            continue
        parts = path.split(".")
        if len(parts) == 1 and path.startswith("namespace["):
            contexts += [path, f"{path}.geo2dsphere-within"]
        elif path.endswith(("storage-engine", "index-type", "sindex-type")) or (
            len(parts) == 2 and parts[1].startswith("set[")
        ):
            contexts.append(path)
    out = []
    for ctx in contexts:
        typed = flat.get(ctx)
        kind = typed.value if typed is not None and typed.value else None
        for name in table.keys_in(_pattern(ctx)):
            path = f"{ctx}.{name}"
            info = table.lookup(path)
            if path in flat or info is None or not info.dynamic or info.type not in SCALAR_TYPES:
                continue
            if info.machine_dependent or info.default_canonical is None:
                continue
            if info.engines is not None and kind not in info.engines:
                continue
            if info.type == "string" and not path.endswith("cluster-name"):
                continue  # vault-token-file: a file (SKIP)
            if expected_unverifiable(path, conf, build):
                continue  # flush-size of a memory namespace without persistence: not printed
            out.append(path)
    return out


def _pattern(path: str) -> str:
    return pattern_of(path)


def sink_paths(conf: LoadedConf) -> list[str]:
    """The conf's logging sinks in file order (the node numbers them so, facts c)."""
    sinks = [s for logging in conf.tree.root.stanzas("logging") for s in logging.stanzas()]
    return [f"logging.file[{s.name}]" if s.kind == "file" else f"logging.{s.kind}" for s in sinks]


def log_expectation(conf: LoadedConf, sink_index: int, context: str) -> tuple[str, int]:
    """(effective level, line that set it) of one context of the i-th sink, by the documented
    rule (docs/paths.md; facts f.2): a sink starts at critical at its own line, ``context any``
    sets all, a later ``context NAME`` one, in file order."""
    sinks = [s for logging in conf.tree.root.stanzas("logging") for s in logging.stanzas()]
    sink = sinks[sink_index]
    level, line = "critical", sink.line
    for p in sink.params("context"):
        name = p.values[0].lower()
        if name in ("any", context):
            level, line = p.values[1].lower(), p.line
    return level, line


@dataclass
class Change:
    command: str
    undo: str | None
    path: str
    left: str | None
    right: str
    line: int | None
    kind: str


def draw_conf_change(data: st.DataObject, gen: Generated, conf: LoadedConf) -> Change:
    table = table_for(gen.build)
    scalars_set = conf_scalar_paths(conf, table, gen.build)
    options = (["param"] if scalars_set else []) + (["log"] if gen.sinks else [])
    assume(options)  # a conf that sets no dynamic parameter has nothing to change
    if data.draw(st.sampled_from(options), label="what") == "log":
        i = data.draw(st.integers(0, len(gen.sinks) - 1), label="sink")
        ctx = data.draw(st.sampled_from(contexts_of(table)), label="context")
        level, line = log_expectation(conf, i, ctx)
        new = data.draw(st.sampled_from([lv for lv in LEVELS if lv != level]), label="level")
        return Change(
            f"log-set:id={i};{ctx}={new}",
            f"log-set:id={i};{ctx}={level}",
            f"{sink_paths(conf)[i]}.context[{ctx}]",
            level,
            new,
            line,
            CHANGED,
        )
    path = data.draw(st.sampled_from(scalars_set), label="path")
    info = table.lookup(path)
    assert info is not None
    setting = conf.flat.settings[path]
    new = data.draw(other_value(info, _pattern(path), setting.canonical), label="value")
    sel = data.draw(selectors(gen.build), label="selector")
    return Change(
        set_config_command(path, new, gen.build, sel),
        set_config_command(path, setting.canonical, gen.build, sel),
        path,
        setting.value,
        new,
        setting.line,
        CHANGED,
    )


def selectors(build: str) -> st.SearchStrategy[str]:
    """``id=`` everywhere; ``namespace=`` as well from 7.2 (facts e)."""
    v = tuple(int(x) for x in build.split("."))
    return st.sampled_from(["id", "namespace"] if v >= (7, 2) else ["id"])


def draw_unset_change(data: st.DataObject, gen: Generated, conf: LoadedConf) -> Change | None:
    table = table_for(gen.build)
    paths = unset_scalar_paths(conf, table, gen.build)
    if not paths:
        return None
    path = data.draw(st.sampled_from(paths), label="unset path")
    info = table.lookup(path)
    assert info is not None and info.default_canonical is not None
    new = data.draw(other_value(info, _pattern(path), info.default_canonical), label="value")
    sel = data.draw(selectors(gen.build), label="selector")
    default = int(info.default_canonical) if info.type == "integer" else None
    in_range = default is None or (
        (info.minimum is None or default >= info.minimum)
        and (info.maximum is None or default <= info.maximum)
    )
    return Change(
        set_config_command(path, new, gen.build, sel),
        # a default outside the schema's range (compression-level 0, min 1: "not set") cannot
        # be given back with set-config
        set_config_command(path, info.default_canonical, gen.build, sel) if in_range else None,
        path,
        info.default_canonical,
        new,
        None,
        SET_AT_RUNTIME,
    )


def check_one(conf: LoadedConf, outcome: Outcome, change: Change) -> None:
    got = [(d.path, d.kind, d.left, d.right, d.left_line, d.restart) for d in outcome.differences]
    want = [(change.path, change.kind, change.left, change.right, change.line, False)]
    assert got == want, (conf.text, change.command, got, want)


@given(conf_strategy(), st.data())
@PROPERTY
def test_one_runtime_change_is_exactly_one_difference(gen: Generated, data: st.DataObject) -> None:
    conf = conf_from_text("gen.conf", gen.text)
    node = EmulatedNode(gen.text, source="gen.conf", build=gen.build)
    change = draw_conf_change(data, gen, conf)
    unset = draw_unset_change(data, gen, conf)

    async def go() -> list[Outcome]:
        outcomes = []
        async with running([node]) as cluster:
            port = cluster.nodes[0].port
            async with InfoClient("127.0.0.1", port, timeout=5) as client:
                for step in [change, unset] if unset is not None else [change]:
                    assert await client.info(step.command) == "ok", step.command
                    outcomes.append(await _read_and_compare(conf, port))
                    if step.undo is not None:
                        assert await client.info(step.undo) == "ok", step.undo
                        outcomes.append(await _read_and_compare(conf, port))
        return outcomes

    outcomes = asyncio.run(go())
    check_one(conf, outcomes[0], change)
    check_zero(conf, outcomes[1], gen.build)  # set back: the conf's value again
    if unset is not None:
        check_one(conf, outcomes[2], unset)
        if unset.undo is not None:
            check_zero(
                conf, outcomes[3], gen.build
            )  # back to the default: not set at runtime any more


# --- the skip list stays small and explained ---------------------------------------------------

SCOPE = ("service", "network", "namespace", "logging")


@pytest.mark.parametrize("build", BUILDS)
def test_every_parameter_is_generated_or_skipped_with_a_fact(build: str) -> None:
    """Every parameter of the generated stanzas is written by the generator (a free scalar or a
    structural line) or is in SKIP with its fact; and every SKIP entry still names something."""
    table = table_for(build)
    logging_keys = {"context", "facility", "path", "tag"}  # written by logging_block
    missing, skipped_here = [], set()
    for pattern in table.patterns():
        info = table.get(pattern)
        assert info is not None
        if not pattern.startswith(SCOPE) or info.is_stanza:
            continue
        if pattern.startswith("logging.") and pattern.rsplit(".", 1)[-1] in logging_keys:
            continue
        if pattern in STRUCTURAL or value_strategy(pattern, info) is not None:
            continue
        fact = skipped(pattern)
        if fact is None:
            missing.append(pattern)
        else:
            skipped_here.add(next(g for g in SKIP if _glob(g).match(pattern)))
    assert missing == []
    if build == "8.1.2.2":  # the newest build has every skipped parameter
        assert skipped_here == set(SKIP)
