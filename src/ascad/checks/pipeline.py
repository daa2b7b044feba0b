"""The one pipeline every check goes through: `ascad diff`, `ascad fleet`, `ascad check` and the
agent's runtime, golden and peer checks all compose their comparisons here, and nowhere else.

A check is: read two sides (:func:`read_source`: a conf through the loader, a running node
through :func:`ascad.runtime.login.read_node`), compare them by the rules of what they are, then
apply what the knowledge table says for the server's build and the ignore rules:

=====================  =================================================================
conf vs conf           :func:`ascad.compare.diff.compare`; with a build, a parameter stated
                       at its default on one side only is no difference
                       (:func:`~ascad.compare.annotate.settle_defaults`), and each difference
                       says whether it needs a restart
conf vs running node   :func:`ascad.compare.drift.drift` (only what the conf sets, logging
                       ``any`` expanded, unverifiable paths listed, ``set_at_runtime``);
                       restart flags for the node's own build
node vs node           both running configs mapped to conf paths and compared; restart
                       flags for the left node's build
=====================  =================================================================

Results are data only (:class:`Comparison`); ``ascad.report`` renders them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from ascad.checks.results import VersionWarning, version_warnings
from ascad.compare.diff import CompareResult, compare, unmatched_patterns
from ascad.conf.model import ConfTree, FlatConfig
from ascad.sources.loader import LoadedConf, LoadOptions, is_runtime_spec

# The running-node side (asyncio, the info client, TLS, the runtime mapping) and the knowledge
# table are imported where they are used: `ascad diff` of two files needs none of them, and
# importing them is most of its start-up (bench/startup.py).
if TYPE_CHECKING:
    from ascad.compare.drift import Unchecked
    from ascad.runtime.login import NodeLogin
    from ascad.runtime.snapshot import RuntimeSnapshot
    from ascad.sources.template import Candidate

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Rules:
    """What a comparison skips and what it knows.

    ``ignore``: path globs skipped (``--ignore`` and the expected per-node paths);
    ``build``: the server version of two confs (``--server-version``, the agent's node), for
    defaults and restart flags (a running node always gives its own);
    ``typo_check``: the globs the user typed, reported when they match no path at all.
    """

    ignore: tuple[str, ...] = ()
    build: str | None = None
    typo_check: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfWarning:
    """A warning about one side's conf at a line: a parse warning, or a line the running node
    cannot confirm."""

    source: str
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class NodeFacts:
    """What a running node said about itself."""

    address: str
    node_id: str | None
    build: str | None
    cluster_name: str | None

    @classmethod
    def of(cls, snap: RuntimeSnapshot) -> NodeFacts:
        return cls(snap.address, snap.node_id, snap.build, snap.cluster_name)


@dataclass
class Comparison:
    """One check's outcome: the differences and what else the reader should know."""

    result: CompareResult
    warnings: list[ConfWarning] = field(default_factory=list)
    # (source, line, message) for each part of a template that was not compared
    template_notes: list[tuple[str, int, str]] = field(default_factory=list)
    # conf vs node: the conf paths the node cannot confirm (None for other comparisons)
    unverifiable: list[Unchecked] | None = None
    nodes: list[NodeFacts] = field(default_factory=list)  # the running sides, in order
    unmatched: list[str] = field(default_factory=list)  # typed globs that matched nothing
    # the server build it was judged by is older than every schema (3.x): said in every output
    version_warnings: list[VersionWarning] = field(default_factory=list)
    # conf vs node: the conf's logging file sinks (where the node logs, when ascad runs on it)
    conf_logs: list[str] = field(default_factory=list)
    # conf vs node: the node's snapshot (its uptime and log sinks, for provenance)
    snapshot: RuntimeSnapshot | None = None
    # why some differences have no provenance (checks.provenance), said once
    provenance_note: str | None = None
    # baseline entries that matched nothing (checks.baseline), as warnings
    baseline_unmatched: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.result.equal


# --- the rules of each pair ----------------------------------------------------------------------


def compare_confs(left: FlatConfig, right: FlatConfig, rules: Rules) -> CompareResult:
    """Two confs: every difference, defaults settled and restart flags set for ``rules.build``."""
    result = compare(left, right, rules.ignore)
    if rules.build:
        from ascad.compare.annotate import settle_defaults, with_restart_flags

        result = settle_defaults(result, left, right, rules.build)
        result.differences = with_restart_flags(result.differences, rules.build)
    return result


def compare_conf_to_node(
    tree: ConfTree, flat: FlatConfig, snap: RuntimeSnapshot, rules: Rules
) -> tuple[CompareResult, list[Unchecked]]:
    """A conf (left) against a running node (right), by the node's own build."""
    from ascad.compare.drift import drift
    from ascad.knowledge.table import table_or_none

    return drift(tree, flat, snap, ignore=rules.ignore, table=table_or_none(snap.build))


def compare_nodes(left: RuntimeSnapshot, right: RuntimeSnapshot, rules: Rules) -> CompareResult:
    """Two running nodes, both mapped to conf paths; restart flags by the left node's build."""
    from ascad.compare.annotate import with_restart_flags
    from ascad.runtime.mapping import runtime_to_flat

    result = compare(runtime_to_flat(left), runtime_to_flat(right), rules.ignore)
    result.differences = with_restart_flags(result.differences, left.build)
    return result


def conf_log_files(flat: FlatConfig) -> list[str]:
    """Where the node logs, by its conf: its ``logging { file PATH { … } }`` sinks in file
    order; without one, ``journal`` when it logs to the console or syslog (under systemd both
    end in the journal)."""
    out: list[str] = []
    for path, setting in flat.settings.items():
        if setting.stanza and path.startswith("logging.file[") and path.endswith("]"):
            out.append(path[len("logging.file[") : -1])
    if not out and ("logging.console" in flat.settings or "logging.syslog" in flat.settings):
        out.append("journal")
    return out


# --- whole comparisons ---------------------------------------------------------------------------


def _conf_warnings(conf: LoadedConf) -> list[ConfWarning]:
    return [ConfWarning(conf.name, w.line, w.col, w.message) for w in conf.warnings]


def _template_notes(conf: LoadedConf) -> list[tuple[str, int, str]]:
    return [(conf.name, n.line, n.message) for n in conf.template_notes]


def _as_candidate(conf: LoadedConf, cand: Candidate) -> LoadedConf:
    """The template conf as it came out for the node it was compared with."""
    return replace(
        conf,
        text=cand.text,
        tree=cand.tree,
        flat=cand.flat,
        warnings=list(cand.tree.warnings),
        template_notes=cand.notes,
    )


def template_vs_conf(template: LoadedConf, other: FlatConfig, rules: Rules) -> CompareResult:
    """A golden (left; a template picks its best fit for ``other``) against a conf (right)."""
    if template.variants is None:
        return compare_confs(template.flat, other, rules)
    from ascad.checks.template_match import best_fit

    _cand, result = best_fit(
        template.variants, other, lambda c: compare_confs(c.flat, other, rules)
    )
    return result


def template_vs_node(
    template: LoadedConf, snap: RuntimeSnapshot, rules: Rules
) -> tuple[LoadedConf, CompareResult, list[Unchecked]]:
    """A conf or golden template (left) against a running node: a template's best fit."""
    if template.variants is None:
        result, unchecked = compare_conf_to_node(template.tree, template.flat, snap, rules)
        return template, result, unchecked
    from ascad.checks.template_match import best_fit, concrete_paths, settle_open_stanzas
    from ascad.runtime.mapping import runtime_to_flat

    node = runtime_to_flat(snap)
    cand, _ = best_fit(
        template.variants,
        node,
        lambda c: compare_conf_to_node(*concrete_paths(c, node), snap, rules)[0],
    )
    tree, flat = concrete_paths(cand, node)  # drift matches paths exactly
    result, unchecked = compare_conf_to_node(tree, flat, snap, rules)
    return (
        _as_candidate(template, replace(cand, tree=tree, flat=flat)),
        settle_open_stanzas(result, cand, True),
        unchecked,
    )


def conf_vs_conf(left: LoadedConf, right: LoadedConf, rules: Rules) -> Comparison:
    """Two loaded confs (files, git, a peer's agent, a golden template)."""
    if left.variants is not None and right.variants is None:
        from ascad.checks.template_match import best_fit

        cand, result = best_fit(
            left.variants, right.flat, lambda c: compare_confs(c.flat, right.flat, rules)
        )
        left = _as_candidate(left, cand)
    elif right.variants is not None and left.variants is None:
        from ascad.checks.template_match import best_fit

        cand, result = best_fit(
            right.variants,
            left.flat,
            lambda c: compare_confs(left.flat, c.flat, rules),
            template_left=False,
        )
        right = _as_candidate(right, cand)
    else:
        result = compare_confs(left.flat, right.flat, rules)
    warnings, notes = _conf_warnings(left), _template_notes(left)
    if right.name != left.name:
        warnings += _conf_warnings(right)
        notes += _template_notes(right)
    unmatched = unmatched_patterns(rules.typo_check, left.flat, right.flat)
    return Comparison(
        result, warnings, notes, unmatched=unmatched, version_warnings=version_warnings(rules.build)
    )


def conf_vs_node(
    conf: LoadedConf,
    snap: RuntimeSnapshot,
    rules: Rules,
    *,
    node_name: str,
    node_on_left: bool = False,
) -> Comparison:
    """A conf against the node that runs it (``node_name``: the address as the user gave it)."""
    from ascad.compare.drift import swap

    conf, result, unchecked = template_vs_node(conf, snap, rules)
    result.left, result.right = conf.name, node_name
    if node_on_left:
        result.left, result.right = node_name, conf.name
        result.differences = [swap(d) for d in result.differences]
    warnings = _conf_warnings(conf) + [
        ConfWarning(conf.name, u.line, 1, f"not verifiable at runtime: {u.path} ({u.reason})")
        for u in unchecked
    ]
    return Comparison(
        result,
        warnings,
        unverifiable=unchecked,
        nodes=[NodeFacts.of(snap)],
        version_warnings=version_warnings(snap.build),
        snapshot=snap,
        conf_logs=conf_log_files(conf.flat),
    )


def node_vs_node(
    left: RuntimeSnapshot, right: RuntimeSnapshot, rules: Rules, names: tuple[str, str]
) -> Comparison:
    """Two running nodes (``names``: their addresses as the user gave them)."""
    result = compare_nodes(left, right, rules)
    result.left, result.right = names
    return Comparison(
        result,
        nodes=[NodeFacts.of(left), NodeFacts.of(right)],
        version_warnings=version_warnings(left.build, right.build),
    )


# --- reading both sides --------------------------------------------------------------------------


async def read_source(
    spec: str, load: LoadOptions, login: NodeLogin
) -> LoadedConf | RuntimeSnapshot:
    """A conf through the loader, or a running node's snapshot for ``aerospike://``."""
    if is_runtime_spec(spec):
        from ascad.runtime.login import read_node

        # ``statistics`` (the uptime) gives the server's start, for each difference's origin
        return await read_node(spec, login, extra=("statistics",))
    from ascad.sources.loader import load_conf

    return await load_conf(spec, load)


async def both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Await both; if either fails, raise the first side's error after the other has finished
    (a plain gather would leave the second error unretrieved and print a traceback at exit)."""
    import asyncio

    a, b = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in (a, b):
        if isinstance(outcome, BaseException):
            raise outcome
    return a, b  # type: ignore[return-value]


async def compare_sources(
    left: str, right: str, load: LoadOptions, login: NodeLogin, rules: Rules
) -> Comparison:
    """``ascad diff LEFT RIGHT``: read both sides at once, then compare them by what they are."""
    from ascad.runtime.snapshot import RuntimeSnapshot

    a, b = await both(read_source(left, load, login), read_source(right, load, login))
    if isinstance(a, RuntimeSnapshot) and isinstance(b, RuntimeSnapshot):
        return node_vs_node(a, b, rules, (left, right))
    if isinstance(a, RuntimeSnapshot):
        assert isinstance(b, LoadedConf)
        return conf_vs_node(b, a, rules, node_name=left, node_on_left=True)
    if isinstance(b, RuntimeSnapshot):
        return conf_vs_node(a, b, rules, node_name=right)
    return conf_vs_conf(a, b, rules)


def compare_local_sources(left: str, right: str, load: LoadOptions, rules: Rules) -> Comparison:
    """:func:`compare_sources` for two local sources (files or ``-``), without an event loop:
    the same reads, rules and result (left's error first, as :func:`both` gives it)."""
    from ascad.sources.loader import load_local_conf

    a = load_local_conf(left, load)
    b = load_local_conf(right, load)
    return conf_vs_conf(a, b, rules)


__all__ = [
    "Comparison",
    "ConfWarning",
    "NodeFacts",
    "Rules",
    "VersionWarning",
    "both",
    "compare_conf_to_node",
    "compare_confs",
    "compare_local_sources",
    "compare_nodes",
    "compare_sources",
    "conf_log_files",
    "conf_vs_conf",
    "conf_vs_node",
    "node_vs_node",
    "read_source",
    "template_vs_conf",
    "template_vs_node",
]
