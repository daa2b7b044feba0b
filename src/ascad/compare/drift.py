"""Conf-vs-runtime drift: compare an aerospike.conf with the node that runs it.

Rules (shared/aerospike/conf-format-and-runtime-mapping.md sections c and f, docs/runtime-mapping.md):

- Only paths the conf sets are checked; the runtime prints every parameter, and the ones the conf
  does not set are defaults, not drift. Node-specific values (node-id, addresses, devices) are
  compared exactly: it is the node's own file.
- Logging: the runtime has no ``any``. A sink starts with every context CRITICAL, ``context any
  X`` sets them all, a later ``context foo Y`` overrides one, in file order. The conf is expanded
  that way over the node's own context list and each effective level keeps the line that set it.
  A context the conf names that the node does not list is reported (``only_left``): ``log/ID``
  lists every context the server has, and an unknown context stops startup.
- Parameters the server never prints (``service.user``, ``mod-lua``, syslog ``facility``, …) are
  *unverifiable*: listed, never drift. So is a plain parameter the node does not print although
  its version knows it.
- A named stanza (namespace, dc, dc namespace, tls, logging sink) in the conf but not on the node
  is one difference at its line; one on the node but not in the conf too (sets excepted: clients
  create them). Extra or missing elements of a list the conf sets (seeds, files) are drift.
- With the knowledge table: each difference says whether fixing it needs a restart (static
  parameter). A parameter the conf does not set whose running value differs from the version's
  default (and whose default does not depend on the machine) is ``set_at_runtime``: the
  ``set-config`` never written back. A conf value equal to the running value is never drift.
  Engine-specific parameters are compared with their default only under their engine, and a
  running value the server forces (``mapping.RUNTIME_DEFAULTS``: ``post-write-queue`` 0 with
  ``data-in-memory``) is neither ``set_at_runtime`` nor, against a conf line, drift (unverifiable).
  A conf value that asks the server to derive the value (``mapping.DERIVED_VALUES``: heartbeat
  ``mtu 0``, the interface MTU) is unverifiable too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from ascad.compare.annotate import restart_flag
from ascad.compare.diff import (
    CHANGED,
    ONLY_LEFT,
    ONLY_RIGHT,
    SET_AT_RUNTIME,
    CompareResult,
    Difference,
    Side,
    matches_any,
    values_match,
)
from ascad.conf import keys
from ascad.conf.model import ConfTree, FlatConfig, Setting, Stanza, is_wild
from ascad.conf.paths import segment_parts, split_path
from ascad.knowledge.table import ParamInfo, ParamTable, pattern_of, same_default, versions_of
from ascad.runtime.mapping import (
    DEFAULT_SYSLOG_PATHS,
    derived_value_rule,
    is_runtime_default,
    runtime_default_rule,
    runtime_to_flat,
    stanza_kind,
    stanza_prefixes,
    unverifiable_reason,
)
from ascad.runtime.snapshot import RuntimeSnapshot, build_tuple


@dataclass
class Unchecked:
    """A conf path drift cannot check against the node, at its line, and why."""

    path: str
    line: int
    reason: str


# --- logging expansion -------------------------------------------------------------------------


def _sink_path(stanza: Stanza) -> str | None:
    if stanza.kind == "file" and stanza.name is not None:
        return f"logging.file[{stanza.name}]"
    if stanza.kind in ("console", "syslog"):
        return f"logging.{stanza.kind}"
    return None


def syslog_paths_of(tree: ConfTree) -> tuple[str, ...]:
    """The paths a conf's syslog sink writes to (``/dev/log`` when it names none)."""
    paths = list(DEFAULT_SYSLOG_PATHS)
    for logging in tree.root.stanzas("logging"):
        for sink in logging.stanzas("syslog"):
            for p in sink.params("path"):
                paths.append(p.values[0])
    return tuple(paths)


def expand_logging(tree: ConfTree, flat: FlatConfig, run_flat: FlatConfig) -> FlatConfig:
    """The conf's flat config with each sink's ``context`` lines replaced by effective levels.

    Only sinks the node also has are expanded (over the node's context names); a context the conf
    names that the node does not know stays as written and is reported.
    """
    out = FlatConfig(source=flat.source, settings=dict(flat.settings))
    for logging in tree.root.stanzas("logging"):
        for sink in logging.stanzas():
            base = _sink_path(sink)
            if base is None or base not in run_flat.settings:
                continue
            prefix = f"{base}.context["
            names = [
                segment_parts(split_path(p)[-1])[1]
                for p in run_flat.settings
                if p.startswith(prefix)
            ]
            levels: dict[str, tuple[str, int, int]] = {
                n: ("critical", sink.line, sink.col) for n in names if n
            }
            unknown: dict[str, tuple[str, int, int]] = {}
            for param in sink.params("context"):
                if is_wild(param.values[0]):  # a template's `context {{ c }}`: any levels
                    for n in levels:
                        levels[n] = (param.values[-1], param.line, param.col)
                    continue
                if len(param.values) < 2:
                    continue
                name, level = param.values[0].lower(), param.values[1].lower()
                if name == "any":
                    for n in levels:
                        levels[n] = (level, param.line, param.col)
                elif name in levels:
                    levels[name] = (level, param.line, param.col)
                else:
                    unknown[name] = (level, param.line, param.col)
            for p in [p for p in out.settings if p.startswith(prefix)]:
                del out.settings[p]
            for n, (level, line, col) in {**levels, **unknown}.items():
                path = f"{prefix}{n}]"
                out.settings[path] = Setting(path, level, level, line, col)
    return out


# --- the comparison ----------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def _is_element(path: str) -> tuple[str, str] | None:
    """(parent path, key) when ``path`` is an element of an ordered list or a set. Memoised: a
    pure function of the path and constant tables, asked for every path of the node's config at
    every cycle of an agent."""
    segs = split_path(path)
    base, sub = segment_parts(segs[-1])
    if sub is None or base in keys.KEYED_KEYS:
        return None
    parent = ".".join(segs[:-1])
    parent_kind = segment_parts(segs[-2])[0] if len(segs) > 1 else ""
    if stanza_kind(parent_kind, segs[-1]) == "named":
        return None
    if base in keys.ORDERED_KEYS or base in keys.SET_KEYS:
        return parent, base
    return None


def _is_named_stanza(path: str) -> bool:
    segs = split_path(path)
    parent_kind = segment_parts(segs[-2])[0] if len(segs) > 1 else ""
    kind = stanza_kind(parent_kind, segs[-1])
    base = segment_parts(segs[-1])[0]
    if kind == "named":
        return base != "set"
    return kind == "plain" and parent_kind == "logging"  # console / syslog sinks


def _under(path: str, stanzas: list[str]) -> bool:
    if not stanzas:  # the common case: no stanza gone or reported (no generator to make)
        return False
    return any(path.startswith(s) and path[len(s) : len(s) + 1] in (".", "[") for s in stanzas)


def drift(
    tree: ConfTree,
    conf_flat: FlatConfig,
    snap: RuntimeSnapshot,
    *,
    ignore: tuple[str, ...] | list[str] = (),
    table: ParamTable | None = None,
) -> tuple[CompareResult, list[Unchecked]]:
    """Differences conf (left) vs node (right), and the conf paths that cannot be checked."""
    build = build_tuple(snap.build)
    run_flat = runtime_to_flat(snap, syslog_paths=syslog_paths_of(tree))
    conf = expand_logging(tree, conf_flat, run_flat)
    result = CompareResult(left=conf_flat.source, right=run_flat.source)
    diffs: list[Difference] = []
    unchecked: list[Unchecked] = []
    gone: list[str] = []  # conf stanzas missing on the node (reported) or unverifiable
    rs = run_flat.settings

    def skip(path: str) -> bool:
        if ignore and matches_any(path, ignore):
            result.ignored.append(path)
            return True
        return False

    def conf_only(path: str, s: Setting, note: str) -> None:
        """A conf line with nothing to match on the node: one ``only_left`` difference."""
        if not skip(path):
            diffs.append(
                Difference(path, ONLY_LEFT, s.value, None, s.line, None, stanza=s.stanza, note=note)
            )

    def node_only(path: str, r: Setting) -> None:
        """Something the node has and the conf lacks: one ``only_right`` difference."""
        if not skip(path):
            diffs.append(
                Difference(
                    path,
                    ONLY_RIGHT,
                    None,
                    r.value,
                    None,
                    None,
                    stanza=r.stanza,
                    note="on the node, not in the conf",
                )
            )

    for path, s in conf.settings.items():
        if _under(path, gone):
            continue
        reason = unverifiable_reason(path, build)
        if reason is None:
            for prefix, command in snap.unreadable.items():
                if path == prefix or _under(path, [prefix]):
                    reason = f"the node did not answer {command}"
        if reason is not None:
            unchecked.append(Unchecked(path, s.line, reason))
            if s.stanza:
                gone.append(path)
            continue
        r = rs.get(path)
        if r is not None:
            same = values_match(s.canonical, r.canonical)
            forced = runtime_default_rule(path, r.canonical, rs) if same is False else None
            derived = derived_value_rule(path, s.canonical) if same is False else None
            if forced is not None and forced.forced:
                unchecked.append(Unchecked(path, s.line, f"the server overrides it: {forced.fact}"))
            elif derived is not None:
                unchecked.append(Unchecked(path, s.line, f"the server derives it: {derived.fact}"))
            elif same is None:
                result.wildcards.append(path)
                if not is_wild(r.canonical):
                    result.wildcard_values[path] = r.value
            elif not same and not skip(path):
                diffs.append(
                    Difference(path, CHANGED, s.value, r.value, s.line, None, stanza=s.stanza)
                )
            continue
        if s.stanza:
            prefixes = stanza_prefixes(path + ".x")
            kind = prefixes[-1][1] if prefixes else "plain"
            if kind in ("named", "typed") or "." not in path or _is_named_stanza(path):
                gone.append(path)
                conf_only(path, s, "not on the node")
            continue
        if split_path(path)[-1].startswith("context["):
            # log/ID lists every context the server knows; one it does not list is unknown to
            # it, and cfg.c stops startup on an unknown logging context.
            conf_only(
                path,
                s,
                f"the node (server {snap.build}) does not list this log context: "
                "it would refuse this line at its next restart",
            )
            continue
        if _is_element(path) is not None:
            conf_only(path, s, "not on the node")
            continue
        info = table.lookup(path) if table is not None else None
        if table is not None and info is None and _known_elsewhere(path):
            conf_only(
                path,
                s,
                f"not a parameter of server {snap.build}: the node would refuse "
                "this line at its next restart",
            )
            continue
        unchecked.append(Unchecked(path, s.line, "the node does not print it"))

    # What the node has and the conf does not.
    reported: list[str] = []
    for path, r in rs.items():
        if path in conf.settings or _under(path, reported) or _under(path, gone):
            continue
        element = _is_element(path)
        if element is not None:
            parent, base = element
            prefix = f"{parent}.{base}["
            if any(p.startswith(prefix) for p in conf.settings):
                node_only(path, r)
            continue
        if r.stanza:
            if _is_named_stanza(path):
                reported.append(path)
                node_only(path, r)
            continue
        if table is None or path.split(".")[0] == "logging":
            continue
        info = table.lookup(path)
        if info is None or info.machine_dependent or info.default_canonical is None:
            continue
        if not _for_engine(path, info, rs):
            continue
        if same_default(r.canonical, info.default_canonical) or is_runtime_default(
            path, r.canonical, rs
        ):
            continue
        if not skip(path):
            diffs.append(set_at_runtime(path, info.default_canonical, r.value))

    if table is not None:
        diffs = [restart_flag(d, table) for d in diffs]
    diffs = [replace(d, node=Side.RIGHT) for d in diffs]  # the conf is left, its node right
    order = {p: i for i, p in enumerate(conf.settings)}
    diffs.sort(
        key=lambda d: (
            d.left_line if d.left_line is not None else 10**9,
            order.get(d.path, 10**9),
        )
    )
    result.differences = diffs
    return result, unchecked


def _for_engine(path: str, info: ParamInfo, settings: dict[str, Setting]) -> bool:
    """False when ``path`` is an engine-specific parameter of another engine than the node's.

    Fact (conf-format-and-runtime-mapping.md c): engine-specific parameters are printed only for
    their engine, and their schema default is that engine's; a value printed under another type
    (``storage-engine memory``) has no default to compare with.
    """
    engines = getattr(info, "engines", None)
    if not engines:
        return True
    typed = [p for p, kind in stanza_prefixes(path) if kind == "typed"]
    if not typed:
        return True
    stanza = settings.get(typed[-1])
    return stanza is None or not stanza.value or stanza.value in engines


def _known_elsewhere(path: str) -> bool:
    """True if some schema version knows the parameter (so this version's table lacks it)."""
    pattern = pattern_of(path)
    if versions_of(pattern):
        return True
    return pattern.endswith("[*]") and bool(versions_of(pattern[:-3]))


# --- orientation ------------------------------------------------------------------------------


def set_at_runtime(
    path: str, default: str, running: str, restart: bool | None = None
) -> Difference:
    """A parameter the conf (left) does not set, running (right) off the version's default."""
    return Difference(
        path,
        SET_AT_RUNTIME,
        default,
        running,
        None,
        None,
        restart=restart,
        note=set_at_runtime_note(Side.RIGHT),
        node=Side.RIGHT,
    )


def set_at_runtime_note(node: Side) -> str:
    """The JSON note of a ``set_at_runtime`` difference: which side holds the default."""
    return f"not in the conf; {node.other} is the default, the other side the running value"


def swap(d: Difference) -> Difference:
    """The same difference seen with the sides exchanged (``ascad diff NODE CONF``)."""
    kind = {ONLY_LEFT: ONLY_RIGHT, ONLY_RIGHT: ONLY_LEFT}.get(d.kind, d.kind)
    node = d.node.other if d.node is not None else None
    note = d.note
    if d.kind is SET_AT_RUNTIME and node is not None:
        note = set_at_runtime_note(node)
    return replace(
        d,
        kind=kind,
        left=d.right,
        right=d.left,
        left_line=d.right_line,
        right_line=d.left_line,
        note=note,
        node=node,
    )
