"""`ascad diff LEFT RIGHT`: every real difference between two configs.

Each side is a source (docs/sources.md): a file, ``aerospike://host:port`` (a running node),
``http(s)://`` (a peer's agent), ``git+…`` or ``gitlab+…``. Exit 0 equal, 1 different, 2 error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ascad.commands import common
from ascad.compare.annotate import settle_defaults, with_restart_flags
from ascad.compare.diff import compare, unmatched_patterns
from ascad.compare.expected import resolve_settings
from ascad.errors import AscadError
from ascad.report import jsonout, terminal
from ascad.sources.loader import is_runtime_spec, load_conf, template_note_tuples, warning_dicts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "left", metavar="LEFT", help="a conf source (file, git+…, http://…, aerospike://…)"
    )
    parser.add_argument("right", metavar="RIGHT", help="the other source")
    common.add_output_arguments(parser, ("text", "json", "html"))
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


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    if args.left == "-" and args.right == "-":
        # stdin can be read once: the second side would be empty
        raise AscadError("'-' (stdin) can be only one of LEFT and RIGHT")
    options = common.load_options(args)
    if args.server_version is not None:
        if not args.server_version.strip():
            raise AscadError("--server-version is empty: give a build such as 8.1.2.2")
        if is_runtime_spec(args.left) or is_runtime_spec(args.right):
            raise AscadError(
                "--server-version is for two conf files: a running node gives its own build"
            )
    settings = resolve_settings(args.settings, ignore=common.ignore_patterns(args))
    peers = args.peers
    if peers is None:
        peers = is_runtime_spec(args.left) and is_runtime_spec(args.right)
    ignore = settings.peer_patterns() if peers else settings.own_patterns()
    if is_runtime_spec(args.left) or is_runtime_spec(args.right):
        from ascad.compare.drift import runtime_diff

        outcome = await runtime_diff(
            args.left, args.right, options, common.node_options(args), ignore
        )
        result, warnings, extra = outcome.result, outcome.warnings, outcome.extra
        notes: list[tuple[str, int, str]] = []
    else:
        left = await load_conf(args.left, options)
        right = await load_conf(args.right, options)
        result = compare(left.flat, right.flat, ignore)
        for pattern in unmatched_patterns(common.ignore_patterns(args), left.flat, right.flat):
            print(
                f"ascad: --ignore {pattern!r} matches no path on either side (a typo? paths are "
                "spelled as in docs/paths.md, e.g. 'namespace[test].*')",
                file=sys.stderr,
            )
        notes = template_note_tuples(left)
        if right.name != left.name:
            notes += template_note_tuples(right)
        if args.server_version:
            result = settle_defaults(result, left.flat, right.flat, args.server_version)
            result.differences = with_restart_flags(result.differences, args.server_version)
        warnings = warning_dicts(left)
        if right.name != left.name:
            warnings += warning_dicts(right)
        extra = {}
    if args.format in ("json", "html"):
        doc = jsonout.result_to_dict(result, warnings=warnings, extra=extra)
        if args.format == "html":
            from ascad.report.html import render_diff_html

            sys.stdout.write(render_diff_html(doc))
        else:
            sys.stdout.write(jsonout.dumps(doc))
    else:
        common.print_warnings(warnings)
        terminal.print_report(
            result,
            sys.stdout,
            colour=terminal.use_colour(sys.stdout, args.color),
            verbose=args.verbose,
            template_notes=notes,
        )
    return 0 if result.equal else 1
