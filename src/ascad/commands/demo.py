"""`ascad demo`: a local emulated cluster showing ascad at work (see ascad.lab.demo)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ascad.commands import common
from ascad.report.terminal import use_colour


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_colour_argument(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the cluster running until Ctrl-C (prints the master's /ui/ address), then "
        "keep its files (confs, git repo)",
    )


def run(args: argparse.Namespace) -> int:
    from ascad.lab.demo import run_demo

    return asyncio.run(
        run_demo(sys.stdout, colour=use_colour(sys.stdout, args.color), keep=args.keep)
    )
