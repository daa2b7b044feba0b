"""Many nodes' configs -> groups, a difference matrix, per-parameter values, unreachable nodes.

The logic of ``ascad fleet`` (no printing: report/fleet_text.py and report/fleet_json.py render,
commands/fleet.py runs).

Rules, and the reason for each:

- **Grouping.** Two nodes are in one group when their canonical configs are identical after the
  per-node paths (:mod:`ascad.compare.expected`) and ``--ignore`` globs are dropped. The group key is a
  fingerprint: sha256 over the sorted ``(path, canonical value)`` pairs. Groups are numbered by
  size, biggest first (the majority is group 1), ties in node order.
- **Matrix.** Nodes in one group have zero differences between them, so the node × node matrix
  is computed per *group pair* (G² comparisons, not N²), each with :func:`ascad.compare.diff.compare`
  on the paths whose values differ, so a count means what ``ascad diff`` would list (a stanza on
  one side counts once).
- **Parameters.** Per path, which value each group holds, the value held by most nodes first —
  like asadm's ``show config diff``, except that a path present on only some nodes *is* a
  finding (asadm skips nodes where a key is missing). Parameters inside a stanza that a group
  lacks are explained by the stanza's own finding and not repeated.
- **Unreachable nodes** (and unreadable sources) are findings with the reason, never dropped:
  asadm's collectinfo once silently dropped nodes that timed out (TOOLS-3596).
- **Golden.** Each group is compared with the golden source (a template takes the way that fits
  the group, ``ascad.checks.template_match``); per-node paths are skipped there too, since the
  golden is not the node itself. The golden is the reference: each group is marked as matching
  it or not, and each parameter's values the golden agrees with come first (``golden=True``).
- Fetching runs concurrently under a semaphore (``concurrency``), each node within ``timeout``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ascad.checks.fingerprint import compared_settings, fingerprint, values_of
from ascad.checks.results import VersionWarning, version_warnings
from ascad.compare.diff import Acknowledgement, CompareResult, values_match
from ascad.compare.expected import PathMatcher
from ascad.conf.model import FlatConfig, Setting
from ascad.conf.paths import ancestors
from ascad.errors import AscadError
from ascad.runtime.address import NodeAddress, parse_address, parse_peers
from ascad.runtime.login import NodeLogin, info, read_node, resolve
from ascad.runtime.mapping import runtime_to_flat
from ascad.runtime.snapshot import RuntimeSnapshot
from ascad.sources.loader import LoadedConf, LoadOptions, is_runtime_spec, load_conf

# The conf-vs-conf and template comparisons (ascad.checks.pipeline) are imported where a pair of
# groups needs a whole comparison or a golden is given: a fleet of running nodes whose groups
# only change values uses neither (start-up).

CONF = "conf"
RUNTIME = "runtime"
DEFAULT_CONCURRENCY = 32


@dataclass
class NodeConfig:
    """One fetched node: its flat config, or the reason it could not be read."""

    name: str
    flat: FlatConfig | None = None
    error: str | None = None
    node_id: str | None = None
    build: str | None = None
    seconds: float = 0.0
    group: int | None = None  # the group id once analysed
    snapshot: RuntimeSnapshot | None = None  # a running node's (for --golden in runtime mode)

    @property
    def reachable(self) -> bool:
        return self.flat is not None

    @property
    def label(self) -> str:
        """How reports name the node: its source and, when known, its node id
        (``aerospike://10.0.0.1:3000 (BB9…)``, ``node1/aerospike.conf (A1)``)."""
        return f"{self.name} ({self.node_id})" if self.node_id else self.name


@dataclass
class Group:
    """Nodes whose configs are identical once per-node and ignored paths are dropped."""

    id: int
    fingerprint: str
    members: list[str]
    flat: FlatConfig  # the first member's config (all members are equal on compared paths)
    values: dict[str, str]  # compared path -> canonical value


@dataclass
class ValueHolders:
    """One value of a parameter and who holds it (``value`` None: the path is absent)."""

    value: str | None
    canonical: str | None
    groups: list[int]
    nodes: list[str]
    # With a golden: True when the golden agrees with this value (no golden difference at this
    # path for any of its groups), False when it does not; None without a golden.
    golden: bool | None = None


@dataclass
class ParameterFinding:
    """A path whose value is not the same on every reachable node."""

    path: str
    values: list[ValueHolders]  # most nodes first
    stanza: bool = False
    restart: bool | None = None  # True static, False dynamic, None unknown (no build known)
    # the baseline entry that acknowledges it (issue 14): reported, not counted
    acknowledged: Acknowledgement | None = None


@dataclass
class GoldenDifferences:
    """One group compared with the golden source (left = golden, right = the group)."""

    group: int
    result: CompareResult


@dataclass
class FleetReport:
    mode: str
    nodes: list[NodeConfig]
    groups: list[Group]
    matrix: list[list[int]]  # group × group difference counts, in group order
    parameters: list[ParameterFinding]
    patterns: list[str]
    ignored: list[str]  # distinct paths skipped on at least one node
    golden: str | None = None
    golden_results: list[GoldenDifferences] = field(default_factory=list)
    golden_template: bool = False  # the golden is a template (its wildcards are worth a word)
    seconds: float = 0.0
    builds: list[str] = field(default_factory=list)  # the builds restart flags come from

    def node(self, name: str) -> NodeConfig | None:
        """The node named ``name`` (its source), or None."""
        for n in self.nodes:
            if n.name == name:
                return n
        return None

    def label_of(self, name: str) -> str:
        """A node's source and node id (:attr:`NodeConfig.label`)."""
        node = self.node(name)
        return node.label if node is not None else name

    # running nodes whose build is older than every schema (3.x): no default assumed for them
    version_warnings: list[VersionWarning] = field(default_factory=list)

    def golden_match(self, group: int) -> bool | None:
        """True when the group equals the golden, False when not, None without a golden."""
        for gr in self.golden_results:
            if gr.group == group:
                return gr.result.equal
        return None

    @property
    def unreachable(self) -> list[NodeConfig]:
        return [n for n in self.nodes if not n.reachable]

    @property
    def golden_differences(self) -> int:
        """Golden differences that count (acknowledged ones are reported, not counted)."""
        return sum(len(g.result.findings) for g in self.golden_results)

    @property
    def drift(self) -> bool:
        """Drift that counts: groups that differ in no listed parameter, a differing parameter
        that no baseline entry acknowledges, or a golden difference that counts."""
        return (
            (len(self.groups) > 1 and not self.parameters)
            or any(p.acknowledged is None for p in self.parameters)
            or self.golden_differences > 0
        )

    @property
    def clean(self) -> bool:
        """All reachable, all in one group, no golden differences: exit 0."""
        return not self.unreachable and not self.drift

    @property
    def exit_code(self) -> int:
        """Like diff(1): 0 clean, 1 drift, 2 incomplete (a node could not be read: whatever
        was found is still reported, but the answer is not the whole fleet's)."""
        if self.unreachable:
            return 2
        return 1 if self.drift else 0

    def group_of(self, node: str) -> int | None:
        for n in self.nodes:
            if n.name == node:
                return n.group
        return None

    def node_matrix(self) -> tuple[list[str], list[list[int | None]]]:
        """The node × node matrix expanded from the group matrix (None: a node was unreachable)."""
        index = {g.id: i for i, g in enumerate(self.groups)}
        names = [n.name for n in self.nodes]
        rows: list[list[int | None]] = []
        for a in self.nodes:
            row: list[int | None] = []
            for b in self.nodes:
                if a.group is None or b.group is None:
                    row.append(None)
                else:
                    row.append(self.matrix[index[a.group]][index[b.group]])
            rows.append(row)
        return names, rows


# --- analysis -------------------------------------------------------------------------------------


def _restrict(flat: FlatConfig, paths: set[str], order: dict[str, int] | None = None) -> FlatConfig:
    """``flat`` with only ``paths``, in file order; ``order`` (path -> position in ``flat``)
    finds a few paths among many without walking them all."""
    settings = flat.settings
    if order is not None and len(paths) * 4 < len(settings):
        keep = sorted((p for p in paths if p in settings), key=order.__getitem__)
        return FlatConfig(flat.source, {p: settings[p] for p in keep})
    return FlatConfig(flat.source, {p: s for p, s in settings.items() if p in paths})


def pair_differences(
    a: Group, b: Group, orders: tuple[dict[str, int], dict[str, int]] | None = None
) -> CompareResult:
    """compare() of two groups over the paths whose values differ (fast for near-equal configs).
    ``orders``: each group's path -> position map, when many pairs are compared."""
    # (path, value) pairs held by one side only: a path whose value differs or is one-sided
    return _pair_result(a, b, {p for p, _ in a.values.items() ^ b.values.items()}, orders)


def _pair_result(
    a: Group,
    b: Group,
    differing: set[str],
    orders: tuple[dict[str, int], dict[str, int]] | None,
) -> CompareResult:
    """pair_differences once the paths whose values differ are known."""
    from ascad.checks.pipeline import Rules, compare_confs

    _add_context_any(differing)
    order_a, order_b = orders if orders is not None else (None, None)
    return compare_confs(
        _restrict(a.flat, differing, order_a), _restrict(b.flat, differing, order_b), Rules()
    )


def _add_context_any(differing: set[str]) -> None:
    """A logging context on one side only is judged against the other side's ``context any``
    (compare/diff.py), so that sibling must come along."""
    differing.update(
        p[: p.rindex(".context[") + 1] + "context[any]"
        for p in list(differing)
        if ".context[" in p and not p.endswith(".context[any]")
    )


def _pair_count(
    a: Group,
    b: Group,
    differing: set[str],
    order_of: Callable[[Group], dict[str, int]] | None,
) -> int:
    """``len(_pair_result(…).differences)``: the matrix needs only the count. When each
    differing path is on both sides or on neither, compare() lists one change per path whose
    values do not match and nothing else, so that is counted without building the two confs
    (G² pairs: with many groups the matrix would cost more than reading the nodes)."""
    _add_context_any(differing)
    sa, sb = a.flat.settings, b.flat.settings
    if all((p in sa) == (p in sb) for p in differing):
        return sum(
            1
            for p in differing
            if p in sa and values_match(sa[p].canonical, sb[p].canonical) is False
        )
    orders = (order_of(a), order_of(b)) if order_of is not None else None
    return len(_pair_result(a, b, differing, orders).differences)


def parameter_findings(
    groups: list[Group], deltas: Sequence[Iterable[tuple[str, str]]] | None = None
) -> list[ParameterFinding]:
    """Per path, the value each group holds, when not every group holds the same one.

    ``deltas``: each group's (path, value) pairs not shared with the first group (analyse has
    them). A path in none of them is held by every group with one value: no finding, so only
    the paths in them are looked at (with many groups, each group × each path was the cost)."""
    if len(groups) < 2:
        return []
    if deltas is None:
        first = groups[0].values.items()
        deltas = [g.values.items() ^ first for g in groups]
    differing = {p for d in deltas for p, _ in d}
    order: dict[str, None] = {}
    for g in groups:
        order.update(dict.fromkeys(g.values))
    stanza_paths: dict[str, bool] = {}  # path -> does a group hold it as a stanza (as asked)

    def is_stanza(p: str) -> bool:
        held = stanza_paths.get(p)
        if held is None:
            held = stanza_paths[p] = any(
                p in g.values and g.flat.settings[p].stanza for g in groups
            )
        return held

    findings: list[ParameterFinding] = []
    for path in order:
        if path not in differing:
            continue
        per_group = [g.values.get(path) for g in groups]
        if all(v == per_group[0] for v in per_group) and per_group[0] is not None:
            continue
        # A group that lacks an enclosing stanza is explained by that stanza's finding.
        enclosing = [a for a in ancestors(path) if is_stanza(a)]
        holders: dict[str | None, ValueHolders] = {}
        for g, v in zip(groups, per_group, strict=True):
            if v is None and any(a not in g.values for a in enclosing):
                continue
            h = holders.get(v)
            if h is None:
                shown = None if v is None else _shown(g.flat.settings[path])
                h = holders[v] = ValueHolders(shown, v, [], [])
            h.groups.append(g.id)
            h.nodes.extend(g.members)
        if len(holders) < 2:
            continue
        values = sorted(holders.values(), key=lambda h: (-len(h.nodes), h.groups[0]))
        findings.append(ParameterFinding(path, values, stanza=is_stanza(path)))
    return findings


def _shown(setting: Setting) -> str:
    if setting.stanza:
        return setting.value or "(present)"
    return setting.value


def fleet_builds(nodes: Sequence[NodeConfig], server_version: str | None = None) -> list[str]:
    """The server builds restart flags are judged by: ``--server-version`` when given, else the
    distinct builds of the nodes read (running nodes report theirs; conf files have none)."""
    if server_version:
        return [server_version]
    return list(dict.fromkeys(n.build for n in nodes if n.reachable and n.build))


def restart_needed(path: str, builds: Sequence[str]) -> bool | None:
    """True when changing ``path`` needs a restart on every build, False when it is dynamic on
    every build, None when no build is known, the table does not know the parameter or the
    builds disagree."""
    from ascad.knowledge.table import table_or_none

    flags: set[bool] = set()
    for build in builds:
        table = table_or_none(build)
        info = table.lookup(path) if table is not None else None
        if info is None:
            return None
        flags.add(not info.dynamic)
    return flags.pop() if len(flags) == 1 else None


def analyse(
    nodes: list[NodeConfig],
    patterns: Sequence[str],
    *,
    mode: str = CONF,
    golden: LoadedConf | None = None,
    server_version: str | None = None,
) -> FleetReport:
    """Group the reachable nodes, fill the matrix and the parameter findings, compare the golden.

    Restart flags come from ``server_version`` or else the nodes' own builds
    (:func:`fleet_builds`)."""
    t0 = time.perf_counter()
    skip = PathMatcher(patterns)
    ignored: set[str] = set()
    by_print: dict[str, Group] = {}
    first_seen: list[Group] = []
    # Equal values have equal fingerprints: each distinct config is hashed once. The key is the
    # compared paths in order and their Setting objects (two tuples made in C from the node's
    # dict; most settings are shared by every node, so a key is compared by identity): equal
    # settings are equal canonical values, so the dict of path -> value (values_of) is made
    # only for a key not seen before (the same config in another order, or spelt another way, is
    # one more key with the same fingerprint).
    prints: dict[tuple[tuple[str, ...], tuple[Setting, ...]], tuple[str, dict[str, str]]] = {}
    for node in nodes:
        if node.flat is None:
            continue
        key = compared_settings(node.flat, skip, ignored)
        seen = prints.get(key)
        if seen is None:
            values = values_of(*key)
            seen = prints[key] = (fingerprint(values), values)
        fp, values = seen
        group = by_print.get(fp)
        if group is None:
            group = by_print[fp] = Group(0, fp, [], node.flat, values)
            first_seen.append(group)
        group.members.append(node.name)
    groups = sorted(first_seen, key=lambda g: -len(g.members))  # stable: ties in node order
    for i, g in enumerate(groups, 1):
        g.id = i
    group_by_node = {m: g.id for g in groups for m in g.members}
    for node in nodes:
        node.group = group_by_node.get(node.name) if node.flat is not None else None

    n = len(groups)
    matrix = [[0] * n for _ in range(n)]
    # Each group's path -> position map, made for a group the first time one of its pairs needs
    # the whole comparison (most pairs only change values: _pair_count).
    orders: dict[int, dict[str, int]] = {}

    def order_of(g: Group) -> dict[str, int]:
        order = orders.get(g.id)
        if order is None:
            order = orders[g.id] = {p: k for k, p in enumerate(g.flat.settings)}
        return order

    # Each group's (path, value) pairs not shared with the majority: the pairs two groups do not
    # share are then those of these two small sets (a ^ b == (a ^ m) ^ (b ^ m)), so a pair costs
    # what the two groups differ in, not the size of a config.
    majority = groups[0].values.items() if groups else None
    deltas = [g.values.items() ^ majority for g in groups] if majority is not None else []
    ordered = order_of if n > 2 else None
    for i in range(n):
        delta = deltas[i]
        for j in range(i + 1, n):
            apart = delta ^ deltas[j]
            if len(apart) == 2:
                # The usual pair of a drifting fleet: one path, a value on each side (a group's
                # dict holds one value per path, so the two pairs are one from each group).
                # _pair_count's answer, without its sets (G² pairs): one change or none. A
                # logging context takes the general way (its ``context any`` sibling counts).
                (path, left), (other, right) = apart
                if path == other and ".context[" not in path:
                    matrix[i][j] = matrix[j][i] = 1 if values_match(left, right) is False else 0
                    continue
            differing = {path for path, _ in apart}
            count = _pair_count(groups[i], groups[j], differing, ordered)
            matrix[i][j] = matrix[j][i] = count

    builds = fleet_builds(nodes, server_version)
    parameters = parameter_findings(groups, deltas)
    for p in parameters:
        p.restart = restart_needed(p.path, builds)
    report = FleetReport(
        mode=mode,
        nodes=nodes,
        groups=groups,
        matrix=matrix,
        parameters=parameters,
        patterns=list(patterns),
        ignored=sorted(ignored),
        builds=builds,
        version_warnings=version_warnings(*(n.build for n in nodes if n.flat is not None)),
    )
    if golden is not None:
        from ascad.checks.pipeline import Rules, template_vs_conf
        from ascad.compare.annotate import with_restart_flags

        report.golden = golden.name
        first: dict[int, NodeConfig] = {}
        for node in nodes:
            if node.group is not None:
                first.setdefault(node.group, node)
        for g in groups:
            if mode == RUNTIME:
                result = golden_vs_runtime(golden, first[g.id], patterns)
            else:
                result = template_vs_conf(golden, g.flat, Rules(ignore=tuple(patterns)))
            if len(builds) == 1:
                result.differences = with_restart_flags(result.differences, builds[0])
            report.golden_results.append(GoldenDifferences(g.id, result))
        report.golden_template = golden.template
        _golden_first(report)
    report.seconds = time.perf_counter() - t0
    return report


def _golden_first(report: FleetReport) -> None:
    """The golden is the reference: each parameter's values that agree with it come first and
    are marked, whatever the number of nodes holding them."""
    differing = {gr.group: {d.path for d in gr.result.differences} for gr in report.golden_results}
    for p in report.parameters:
        for h in p.values:
            h.golden = all(p.path not in differing.get(g, set()) for g in h.groups)
        p.values.sort(key=lambda h: not h.golden)  # stable: most nodes first within each


def golden_vs_runtime(
    golden: LoadedConf, node: NodeConfig, patterns: Sequence[str]
) -> CompareResult:
    """The golden conf against a running node, judged as conf-vs-runtime drift
    (:func:`ascad.compare.drift.drift`: logging ``any`` expanded, defaults and unverifiable
    paths not counted, a parameter set at runtime only is a finding), per-node paths skipped."""
    from ascad.checks.pipeline import Rules, template_vs_node

    assert node.snapshot is not None, "runtime_fetcher keeps every running node's snapshot"
    _conf, result, _unchecked = template_vs_node(
        golden, node.snapshot, Rules(ignore=tuple(patterns))
    )
    return result


# --- fetching -------------------------------------------------------------------------------------

#: A node as given: a source string (conf mode) or a running node's address (runtime mode).
NodeSpec = str | NodeAddress
Fetcher = Callable[[NodeSpec], Awaitable[NodeConfig]]


async def gather_nodes(
    sources: Sequence[NodeSpec],
    fetch: Fetcher,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 10.0,
    name_of: Callable[[NodeSpec], str] = str,
) -> list[NodeConfig]:
    """Fetch every source, at most ``concurrency`` at a time, each within ``timeout`` seconds.

    A source that fails becomes a NodeConfig with ``error`` set; the order of ``sources`` is kept.
    """
    if concurrency < 1:
        raise AscadError("--concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(source: NodeSpec) -> NodeConfig:
        async with gate:
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):  # in this task (wait_for makes one more)
                    node = await fetch(source)
            except TimeoutError:
                node = NodeConfig(name_of(source), error=f"no answer within {timeout:g}s")
            except AscadError as exc:
                name = name_of(source)
                node = NodeConfig(name, error=_error_text(exc, name))
            except (OSError, UnicodeError) as exc:
                node = NodeConfig(name_of(source), error=f"{type(exc).__name__}: {exc}")
            node.seconds = time.perf_counter() - t0
            return node

    return list(await asyncio.gather(*(one(s) for s in sources)))


def _error_text(exc: AscadError, name: str) -> str:
    """The error without a ``where`` that only repeats the node's name (or its host:port)."""
    where = exc.where or ""
    if not where or where == name or where.split(" ")[0] in name:
        return exc.message
    return f"{where}: {exc.message}"


def conf_fetcher(options: LoadOptions) -> Fetcher:
    """Read a conf source (file, agent, git, GitLab) as a node's config."""

    async def fetch(spec: NodeSpec) -> NodeConfig:
        loaded = await load_conf(str(spec), options)
        own_id = loaded.flat.settings.get("service.node-id")
        return NodeConfig(str(spec), loaded.flat, node_id=own_id.value if own_id else None)

    return fetch


def runtime_fetcher(login: NodeLogin, *, keep_snapshots: bool = True) -> Fetcher:
    """Read a running node's configuration (snapshot, then mapped to conf paths).
    ``keep_snapshots`` False drops each raw snapshot once mapped (no --golden needs it: half
    the memory of a large fleet)."""

    async def fetch(spec: NodeSpec) -> NodeConfig:
        # gather_nodes bounds each node by the fleet's --timeout.
        snapshot = await read_node(spec, login)
        flat = runtime_to_flat(snapshot)
        return NodeConfig(
            str(spec),
            flat,
            node_id=snapshot.node_id,
            build=snapshot.build,
            snapshot=snapshot if keep_snapshots else None,
        )

    return fetch


async def discover(seed: str, login: NodeLogin) -> list[NodeAddress]:
    """The seed and every peer it lists in ``peers-clear-std`` (``peers-tls-std`` over TLS).

    Each peer is reached at its first endpoint; a TLS peer's tls-name replaces the seed's. Nodes
    are returned seed first, then in the order the seed lists them. AscadError if the seed cannot
    be asked (the fleet cannot be found at all).
    """
    addr = resolve(seed, login)
    command = "peers-tls-std" if addr.tls else "peers-clear-std"
    try:
        async with asyncio.timeout(login.timeout):
            value = await info(addr, login, command)
    except TimeoutError:
        raise AscadError(
            f"the seed did not answer '{command}' within {login.timeout:g} s", str(addr)
        ) from None
    peers = parse_peers(value)
    found = [addr]
    seen = {(addr.host, addr.port)}
    for peer in peers.peers:
        if not peer.endpoints:
            continue
        host, port = peer.endpoints[0]
        if (host, port) in seen:
            continue
        seen.add((host, port))
        tls = addr.tls
        if tls is not None and peer.tls_name:
            tls = replace(tls, tls_name=peer.tls_name)
        found.append(replace(addr, host=host, port=port, tls=tls))
    return found


# --- the whole run --------------------------------------------------------------------------------


@dataclass
class FleetOptions:
    sources: list[str] = field(default_factory=list)
    discover: str | None = None
    runtime: bool = False
    golden: str | None = None
    patterns: list[str] = field(default_factory=list)
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 10.0
    load: LoadOptions = field(default_factory=LoadOptions)
    login: NodeLogin = field(default_factory=NodeLogin)
    agent_port: int | None = None  # conf mode over aerospike:// nodes: read each node's agent
    agent_scheme: str = "http"
    server_version: str | None = None  # restart flags for conf files (running nodes give theirs)


def plan(options: FleetOptions, nodes: list[NodeSpec]) -> tuple[str, list[NodeSpec]]:
    """Decide the mode and the per-node sources; AscadError for a mix that cannot be compared.

    Running configs list every parameter with its default while conf files list only what they
    set, so one fleet is either all running nodes or all conf sources.
    """

    def is_node(s: NodeSpec) -> bool:
        return isinstance(s, NodeAddress) or is_runtime_spec(str(s))

    kinds = {is_node(s) for s in nodes}
    if options.agent_port is not None:
        if options.runtime:
            raise AscadError(
                "--agent-port reads conf files from agents; it cannot go with --runtime"
            )
        out: list[NodeSpec] = []
        for s in nodes:
            if is_node(s):
                addr = resolve(s, options.login)
                host = f"[{addr.host}]" if ":" in addr.host else addr.host
                out.append(f"{options.agent_scheme}://{host}:{options.agent_port}")
            else:
                out.append(s)
        return CONF, out
    if kinds == {True}:
        return RUNTIME, [resolve(s, options.login) for s in nodes]
    if options.runtime:
        raise AscadError(
            "--runtime compares running nodes: give aerospike:// sources or --discover"
        )
    if True in kinds:
        raise AscadError(
            "cannot mix running nodes (aerospike://) with conf sources in one fleet: a running "
            "config lists every default; use --runtime with nodes only, or --agent-port to read "
            "each node's conf from its ascad agent"
        )
    return CONF, nodes


def source_identity(spec: NodeSpec) -> tuple[str, ...]:
    """What makes two source spellings the same node: a running node's host and port, a local
    file's real path, an agent's URL, a repository file's (repository, path, ref). Sources that
    cannot be parsed are their own text (their error comes when they are read)."""
    text = str(spec)
    try:
        if isinstance(spec, NodeAddress) or is_runtime_spec(text.lower()):
            addr = spec if isinstance(spec, NodeAddress) else parse_address(text)
            return ("node", addr.host.lower().strip("[]"), str(addr.port))
        from ascad.sources import Kind, parse_source

        parsed = parse_source(text)
    except AscadError:
        return ("raw", text)
    if parsed.kind is Kind.FILE and parsed.path is not None:
        return ("file", os.path.realpath(parsed.path))
    if parsed.kind is Kind.AGENT and parsed.url is not None:
        return ("agent", parsed.url.lower())
    if parsed.kind in (Kind.GIT, Kind.GITLAB):
        where = parsed.repo or f"{parsed.url}/{parsed.project}"
        return (str(parsed.kind), where, parsed.path or "", parsed.ref or "HEAD")
    return ("raw", text)


async def run_fleet(options: FleetOptions) -> FleetReport:
    """Fetch (and discover), group, compare: the whole of ``ascad fleet`` without printing."""
    t0 = time.perf_counter()
    nodes: list[NodeSpec] = list(options.sources)
    given: dict[tuple[str, ...], str] = {}
    for spec in nodes:  # the same node twice would count it twice in the majority
        key = source_identity(spec)
        if key in given:
            shown = f"{spec}" if str(spec) == given[key] else f"{spec} and {given[key]}"
            raise AscadError(f"source given twice: {shown} (give each node once)")
        given[key] = str(spec)
    if options.discover:
        found = await discover(options.discover, options.login)
        # A node both given and discovered is one node: the given spelling is kept.
        nodes += [n for n in found if source_identity(n) not in given]
    if not nodes:
        raise AscadError("no nodes: give sources or --discover aerospike://SEED")
    mode, specs = plan(options, nodes)
    golden = await load_conf(options.golden, options.load) if options.golden else None
    fetch = (
        runtime_fetcher(options.login, keep_snapshots=golden is not None)
        if mode == RUNTIME
        else conf_fetcher(options.load)
    )
    fetched = await gather_nodes(
        specs,
        fetch,
        concurrency=options.concurrency,
        timeout=options.timeout,
    )
    if not any(n.reachable for n in fetched):
        first = fetched[0]
        raise AscadError(
            f"no node could be read ({len(fetched)} tried); first: {first.name}: {first.error}"
        )
    report = analyse(
        fetched, options.patterns, mode=mode, golden=golden, server_version=options.server_version
    )
    report.seconds = time.perf_counter() - t0
    return report
