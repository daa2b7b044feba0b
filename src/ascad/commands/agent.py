"""`ascad agent`: run the daemon (docs/agent.md).

Settings from ``--config`` (default ``/etc/ascad/ascad.toml``) and ``ASCAD_*`` environment
variables. Logs go to stderr. SIGTERM/SIGINT stop it (exit 0), SIGHUP reloads the settings.
Bad settings at start: every problem on stderr, exit 2. ``--check-config`` also checks what the
settings name (:mod:`ascad.agent.preflight`).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from ascad.agent.daemon import run_daemon
from ascad.agent.settings import DEFAULT_CONFIG, AgentSettings, load_settings
from ascad.commands import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help=f"settings file (default {DEFAULT_CONFIG} if present)"
    )
    parser.add_argument("--once", action="store_true", help="run one cycle, then exit")
    parser.add_argument(
        "--no-priority",
        action="store_true",
        help="do not lower the CPU and I/O priority (the default lowers both)",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="check the settings and what they name (the conf, secret and TLS files, the golden,"
        " the state directory) as this user, then exit: 0, or 2 with one line per problem",
    )
    common.add_baseline_argument(parser)


def run(args: argparse.Namespace) -> int:
    def load() -> AgentSettings:
        settings = load_settings(args.config)
        if args.baseline:  # over [compare] baseline, at start and on every reload
            baseline = os.path.abspath(args.baseline)
            settings.compare = {**settings.compare, "baseline": baseline}
        return settings

    if args.check_config:
        from ascad.agent.preflight import preflight
        from ascad.agent.settings import SettingsError

        settings = load()
        problems = preflight(settings)
        if problems:
            raise SettingsError(problems)
        print(f"{settings.source}: settings are valid (role {settings.role})")
        return 0
    return asyncio.run(run_daemon(load, once=args.once, priority=not args.no_priority))
