"""`ascad agent`: run the daemon (docs/agent.md).

Settings from ``--config`` (default ``/etc/ascad/ascad.toml``) and ``ASCAD_*`` environment
variables. Logs go to stderr. SIGTERM/SIGINT stop it (exit 0), SIGHUP reloads the settings.
Bad settings at start: every problem on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio

from ascad.agent.daemon import run_daemon
from ascad.agent.settings import DEFAULT_CONFIG, AgentSettings, load_settings


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
        "--check-config", action="store_true", help="validate the settings and exit"
    )


def run(args: argparse.Namespace) -> int:
    def load() -> AgentSettings:
        return load_settings(args.config)

    if args.check_config:
        settings = load()
        print(f"{settings.source}: settings are valid (role {settings.role})")
        return 0
    return asyncio.run(run_daemon(load, once=args.once, priority=not args.no_priority))
