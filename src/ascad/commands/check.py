"""`ascad check`: one agent cycle in the foreground, with the full report.

For cron, Salt and humans: the same checks as the agent (runtime; golden on the master; peer on a
slave) with the agent's settings. Exit 0 when every check is ok, 1 when one found drift, 2 when a
check could not run (or the settings are bad). ``--send-events`` also sends the Riemann events;
when they cannot be delivered (no Riemann configured, or it is down) the exit status is 2. The
first stderr line names the settings file used, or says that none was found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from ascad.agent.settings import DEFAULT_CONFIG
from ascad.commands import common
from ascad.errors import AscadError

if TYPE_CHECKING:
    from ascad.agent.settings import AgentSettings
    from ascad.checks.results import CycleResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help=f"settings file (default {DEFAULT_CONFIG} if present)"
    )
    parser.add_argument(
        "--send-events",
        action="store_true",
        help="also send the events to Riemann (exit 2 when they cannot be delivered)",
    )
    common.add_output_arguments(parser)
    common.add_baseline_argument(parser)
    common.add_node_arguments(parser)  # over the settings' [aerospike] table


def run(args: argparse.Namespace) -> int:
    from ascad.agent.settings import load_settings, origin_line
    from ascad.report import jsonout, terminal
    from ascad.report.cycle_text import render_text
    from ascad.report.status import cycle_to_dict

    settings = load_settings(args.config, serving=False)
    if args.baseline:
        import os

        settings.compare = {**settings.compare, "baseline": os.path.abspath(args.baseline)}
    _check_baseline(settings)
    common.apply_node_options(settings, args)
    print(f"ascad: {origin_line(settings)}", file=sys.stderr)
    cycle, send_error = asyncio.run(_cycle(settings, args.send_events))
    if args.format == "json":
        sys.stdout.write(jsonout.dumps(cycle_to_dict(cycle)))
    else:
        render_text(
            cycle,
            sys.stdout,
            colour=terminal.use_colour(sys.stdout, args.color),
            verbose=args.verbose,
        )
    if send_error is not None:
        # Events were asked for and not delivered: the caller (cron, Salt) must see it.
        print(f"ascad: --send-events: {send_error}", file=sys.stderr)
        return 2
    return cycle.exit_code


def _check_baseline(settings: AgentSettings) -> None:
    """A baseline that cannot be read is exit 2 here (the agent logs it and ignores it)."""
    from ascad.checks.baseline import load_baseline
    from ascad.compare.expected import parse_settings

    baseline = parse_settings({"compare": settings.compare}, settings.source).baseline
    if baseline:
        load_baseline(baseline)


async def _cycle(settings: AgentSettings, send: bool) -> tuple[CycleResult, str | None]:
    """The cycle, and why its events could not be delivered (None: sent, or not asked for)."""
    from ascad.agent.daemon import Agent

    agent = Agent(settings, serve=False)
    try:
        cycle = await agent.guarded_cycle()
        error = None
        if send:
            try:
                await agent.deliver_events(cycle)
            except AscadError as exc:
                error = exc.message
        return cycle, error
    finally:
        await agent.stop()
