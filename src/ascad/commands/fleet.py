"""`ascad fleet SOURCE…` / `ascad fleet --discover aerospike://SEED`: compare many nodes at once.

Nodes are grouped by fingerprint (identical configs once per-node paths are ignored); the report
gives the groups, the node × node difference matrix, per parameter which value each group holds
(majority first), unreachable nodes, and with ``--golden`` each group against the golden.
Running nodes (``aerospike://``, ``--discover``) are compared by their running configs
(``--runtime`` says so explicitly); conf sources by their files. Exit 0 all identical and
reachable, 1 drift, 2 incomplete (a node could not be read; what was found is still printed) or
could not run. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ascad.checks.fleet import DEFAULT_CONCURRENCY, FleetOptions, FleetReport, run_fleet
from ascad.commands import common
from ascad.compare.expected import resolve_settings
from ascad.errors import AscadError
from ascad.gcpause import gc_paused
from ascad.report import jsonout
from ascad.report.fleet_json import report_to_dict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources",
        metavar="SOURCE",
        nargs="*",
        help="a node's conf source (file, http://agent, git+…) or aerospike://HOST:PORT",
    )
    parser.add_argument(
        "--discover",
        metavar="aerospike://SEED",
        help="add every node the seed lists in peers-clear-std (peers-tls-std over TLS)",
    )
    parser.add_argument(
        "--runtime",
        action="store_true",
        help="compare the running configs (aerospike:// nodes; implied when all sources are nodes)",
    )
    parser.add_argument("--golden", metavar="SOURCE", help="also compare each group with this")
    parser.add_argument(
        "--agent-port",
        type=int,
        metavar="PORT",
        help="read each aerospike:// node's conf file from its ascad agent on this port",
    )
    parser.add_argument(
        "--agent-https", action="store_true", help="reach the agents over https (--agent-port)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"nodes fetched at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--settings", metavar="FILE", help="ascad.toml ([compare]); else $ASCAD_SETTINGS"
    )
    parser.add_argument(
        "--server-version",
        metavar="BUILD",
        help="the nodes' server version, for the restart flags of conf files (running nodes "
        "give their own builds)",
    )
    parser.add_argument(
        "--per-node",
        metavar="GLOB",
        action="append",
        default=[],
        help="one more path glob that differs per node (repeatable)",
    )
    parser.add_argument(
        "--per-node-paths",
        action="store_true",
        help="also treat storage file/device/mount paths as per-node",
    )
    parser.add_argument(
        "--no-per-node",
        action="store_true",
        help="compare every path, node ids and addresses too",
    )
    common.add_output_arguments(parser, ("text", "json", "html"))
    common.add_ignore_arguments(parser)
    common.add_source_arguments(parser)
    common.add_node_arguments(parser)
    common.add_baseline_argument(parser)


def options_from_args(args: argparse.Namespace) -> FleetOptions:
    """FleetOptions from the parsed command line (AscadError for bad combinations)."""
    if not args.sources and not args.discover:
        raise AscadError("give SOURCE… or --discover aerospike://SEED")
    if args.concurrency < 1:
        raise AscadError("--concurrency must be at least 1")
    args.server_version = common.checked_server_version(args.server_version)
    settings = resolve_settings(
        args.settings,
        ignore=common.ignore_patterns(args),
        per_node_extra=args.per_node,
        per_node_paths=args.per_node_paths,
        no_per_node=args.no_per_node,
    )
    return FleetOptions(
        sources=list(args.sources),
        discover=args.discover,
        runtime=args.runtime,
        golden=args.golden,
        patterns=settings.peer_patterns(),
        concurrency=args.concurrency,
        timeout=args.timeout,
        load=common.load_options(args),
        login=common.node_login(args),
        agent_port=args.agent_port,
        agent_scheme="https" if args.agent_https else "http",
        server_version=args.server_version or None,
    )


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    baseline_file = args.baseline or resolve_settings(args.settings).baseline
    baseline = None
    if baseline_file:
        from ascad.checks.baseline import load_baseline

        baseline = load_baseline(baseline_file)  # bad input is exit 2 before any node is read
    # The run and its report with the cyclic collector off (ascad.gcpause): a fleet's objects are
    # mostly acyclic and live to the end, and each young collection would walk what the nodes
    # made since the last (a full one, once the report is rendered, the whole heap). The cyclic
    # garbage a run makes, measured: a closed socket and its transport per connection (7 small
    # objects a node), left for the next full collection.
    with gc_paused():
        report = _run_fleet(options)
        if baseline is not None:
            from ascad.checks.baseline import acknowledge_fleet

            common.warn_unmatched_baseline(acknowledge_fleet(report, baseline))
        if args.format == "json":
            sys.stdout.write(jsonout.dumps(report_to_dict(report)))
        elif args.format == "html":
            from ascad.report.html import render_fleet_html

            sys.stdout.write(render_fleet_html(report_to_dict(report)))
        else:
            from ascad.report import fleet_text, terminal

            fleet_text.print_report(
                report,
                sys.stdout,
                colour=terminal.use_colour(sys.stdout, args.color),
                verbose=args.verbose,
            )
    return report.exit_code


def _run_fleet(options: FleetOptions) -> FleetReport:
    """run_fleet in an event loop; the report is handed back outside it.

    Not as the loop's result: Python 3.11's asyncio.run, putting back the Ctrl-C handler, has
    the main task's repr made (cpython#112559), and with the report as its result that is the
    whole report as text, twice (33 MB at 500 nodes). A fleet's objects are mostly acyclic and
    live to the end, so the cyclic collector does not pass over the growing heap while
    the report is made (:func:`run`: the collector is off meanwhile).
    """
    got: list[FleetReport] = []

    async def main() -> None:
        got.append(await run_fleet(options))

    asyncio.run(main())
    return got[0]
