"""`ascad diff LEFT RIGHT`: every real difference between two configs.

Each side is a source (docs/sources.md): a file, ``aerospike://host:port`` (a running node),
``http(s)://`` (a peer's agent), ``git+…`` or ``gitlab+…``. Exit 0 equal, 1 different, 2 error.
``-q``/``--brief``, as diff(1)'s: nothing when equal, one line ``LEFT and RIGHT differ`` when not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from typing import Any

from ascad.commands import common
from ascad.errors import AscadError, printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "left", metavar="LEFT", help="a conf source (file, git+…, http://…, aerospike://…)"
    )
    parser.add_argument("right", metavar="RIGHT", help="the other source")
    common.add_output_arguments(parser, ("text", "json", "html"))
    parser.add_argument(
        "-q",
        "--brief",
        action="store_true",
        help="report only whether they differ, as diff -q: nothing when equal, one line "
        "'LEFT and RIGHT differ' when not (the exit status says the same)",
    )
    common.add_ignore_arguments(parser)
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="LEFT and RIGHT are different nodes (or a node and the golden): skip the expected "
        "per-node differences of docs/fleet.md; default: on when both are running nodes",
    )
    parser.add_argument(
        "--settings", metavar="FILE", help="ascad.toml with a [compare] section (docs/settings.md)"
    )
    parser.add_argument(
        "--server-version",
        metavar="BUILD",
        help="the nodes' server version: a parameter stated at its default on one side only is "
        "no difference, and each difference says whether it needs a restart",
    )
    common.add_source_arguments(parser)
    common.add_node_arguments(parser)
    add_provenance_arguments(parser)
    common.add_baseline_argument(parser)


def add_provenance_arguments(parser: argparse.ArgumentParser) -> None:
    """``--server-log`` (issue 14): where a conf-vs-node difference's set-config line is found."""
    parser.add_argument(
        "--server-log",
        metavar="FILE",
        action="append",
        default=[],
        help="the node's log (repeatable; rotated and .gz siblings are read too; 'journal' for "
        "journalctl -u aerospike): each runtime difference gets the set-config line that set it; "
        "default: the conf's logging file sinks when the node is on this machine",
    )


def run(args: argparse.Namespace) -> int:
    from ascad.sources.loader import is_local_spec

    if is_local_spec(args.left) and is_local_spec(args.right):
        # Two files (or a file and stdin): nothing to wait for, so no event loop (importing
        # asyncio, ssl and the node reader was most of the command's time: bench/startup.py).
        return _run_without_loop(_run(args, local=True))
    import asyncio

    return asyncio.run(_run(args))


def _run_without_loop(coro: Coroutine[Any, Any, int]) -> int:
    """The result of a coroutine that never waits (the local path of :func:`_run`)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return int(done.value)
    coro.close()
    raise RuntimeError("the local diff waited for something")


async def _run(args: argparse.Namespace, local: bool = False) -> int:
    from ascad.checks.pipeline import Rules, compare_local_sources, compare_sources
    from ascad.compare.expected import resolve_settings
    from ascad.report import jsonout, terminal
    from ascad.sources.loader import is_runtime_spec

    if args.left == "-" and args.right == "-":
        # stdin can be read once: the second side would be empty
        raise AscadError("'-' (stdin) can be only one of LEFT and RIGHT")
    options = common.load_options(args)
    if args.server_version is not None:
        if is_runtime_spec(args.left) or is_runtime_spec(args.right):
            raise AscadError(
                "--server-version is for two conf files: a running node gives its own build"
            )
        args.server_version = common.checked_server_version(args.server_version)
    settings = resolve_settings(args.settings, ignore=common.ignore_patterns(args))
    peers = args.peers
    if peers is None:
        peers = is_runtime_spec(args.left) and is_runtime_spec(args.right)
    ignore = settings.peer_patterns() if peers else settings.own_patterns()
    rules = Rules(
        ignore=tuple(ignore),
        build=args.server_version or None,
        typo_check=tuple(common.ignore_patterns(args)),
    )
    if local:
        outcome = compare_local_sources(args.left, args.right, options, rules)
    else:
        outcome = await compare_sources(
            args.left, args.right, options, common.node_login(args), rules
        )
    if outcome.snapshot is not None:
        from ascad.checks.provenance import add_provenance, plan_for

        conf_spec = args.right if is_runtime_spec(args.left) else args.left
        plan = plan_for(conf_spec, outcome, args.server_log)
        outcome = await add_provenance(outcome, outcome.snapshot, plan)
    baseline_file = args.baseline or settings.baseline
    if baseline_file:
        from ascad.checks.baseline import acknowledge, load_baseline, unmatched

        baseline = load_baseline(baseline_file)
        used: set[int] = set()
        ids = [args.left, args.right]
        ids += [x for n in outcome.nodes for x in (n.node_id or "", n.address)]
        clusters = {n.cluster_name for n in outcome.nodes if n.cluster_name}
        outcome.result.differences = acknowledge(
            outcome.result.differences,
            baseline,
            identities=ids,
            group=next(iter(clusters)) if len(clusters) == 1 else None,
            used=used,
        )
        outcome.baseline_unmatched = unmatched(
            baseline, used, ids, next(iter(clusters)) if len(clusters) == 1 else None
        )
        common.warn_unmatched_baseline(outcome.baseline_unmatched)
    for pattern in outcome.unmatched:
        print(
            f"ascad: --ignore {pattern!r} matches no path on either side (a typo? paths are "
            "spelled as in docs/paths.md, e.g. 'namespace[test].*')",
            file=sys.stderr,
        )
    if args.brief:
        if not outcome.equal:
            print(f"{printable(args.left)} and {printable(args.right)} differ")
    elif args.format in ("json", "html"):
        doc = jsonout.comparison_to_dict(outcome)
        if args.format == "html":
            from ascad.report.html import render_diff_html

            sys.stdout.write(render_diff_html(doc))
        else:
            sys.stdout.write(jsonout.dumps(doc))
    else:
        common.print_version_warnings(outcome.version_warnings)
        common.print_warnings(outcome.warnings)
        # A running side is named by its address and the node id it gave (as fleet names it).
        facts = iter(outcome.nodes)
        names = []
        for spec, shown in ((args.left, outcome.result.left), (args.right, outcome.result.right)):
            fact = next(facts, None) if is_runtime_spec(spec) else None
            names.append(f"{shown} ({fact.node_id})" if fact and fact.node_id else shown)
        terminal.print_report(
            outcome.result,
            sys.stdout,
            colour=terminal.use_colour(sys.stdout, args.color),
            verbose=args.verbose,
            template_notes=outcome.template_notes,
            left_name=names[0],
            right_name=names[1],
        )
        if outcome.provenance_note:
            print(f"note: {outcome.provenance_note}", file=sys.stdout)
    # an acknowledged difference is reported, and does not count
    return 0 if not outcome.result.findings else 1
