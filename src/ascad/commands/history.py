"""`ascad history`: the agent's findings per check, from ``state_dir/history.sqlite``.

Lists each check's state and since when, then every finding (open ones first): path, first seen,
last seen, resolved. ``--open`` leaves resolved ones out; ``--format json`` prints
``ascad.history/1``. Exit 0; 2 when there is no history to read.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time

from ascad.agent.settings import DEFAULT_CONFIG
from ascad.errors import AscadError, printable

SCHEMA = "ascad.history/1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config", metavar="FILE", help=f"settings file (default {DEFAULT_CONFIG} if present)"
    )
    where.add_argument("--state-dir", metavar="DIR", help="the agent's state_dir (instead)")
    parser.add_argument("--check", choices=("runtime", "golden", "peer"), help="only this check")
    parser.add_argument("--open", action="store_true", help="only findings not resolved")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def run(args: argparse.Namespace) -> int:
    from ascad.agent.history import FILENAME, HistoryStore, iso
    from ascad.report.terminal import age

    state_dir = args.state_dir
    if state_dir is None:
        from ascad.agent.settings import load_settings

        state_dir = load_settings(args.config, serving=False).state_dir
    if not os.path.isdir(state_dir):
        raise AscadError("no such directory (the agent makes it at its first cycle)", state_dir)
    if not os.path.isfile(os.path.join(state_dir, FILENAME)):  # a reader makes no store
        raise AscadError("no history here (the agent has not run a cycle yet)", state_dir)
    try:
        store = HistoryStore(state_dir, create=False)
    except FileNotFoundError:
        raise AscadError("no history here (the agent has not run a cycle yet)", state_dir) from None
    except (OSError, sqlite3.Error) as exc:
        raise AscadError(f"cannot read the history: {exc}", f"{state_dir}/{FILENAME}") from None
    with store:
        try:
            checks = store.check_states()
            findings = store.findings(include_resolved=not args.open, check=args.check)
        except sqlite3.Error as exc:
            raise AscadError(f"cannot read the history: {exc}", store.path) from None
    if args.check:
        checks = [c for c in checks if c[0] == args.check]
    if args.format == "json":
        doc = {
            "schema": SCHEMA,
            "store": store.path,
            "checks": [
                {"check": n, "state": s, "first_seen": iso(a), "last_seen": iso(b)}
                for n, s, a, b in checks
            ],
            "findings": [
                {
                    "check": f.check,
                    "path": f.path,
                    "kind": f.kind,
                    "detail": f.detail,
                    "first_seen": iso(f.first_seen),
                    "last_seen": iso(f.last_seen),
                    "resolved_at": iso(f.resolved_at),
                }
                for f in findings
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    now = time.time()
    out = sys.stdout
    if not checks:
        out.write("no cycle recorded yet\n")
    for name, state, since, last in checks:
        out.write(
            f"{name}: {state} since {iso(since)} ({age(now - since)}), last cycle {iso(last)}\n"
        )
    open_ = [f for f in findings if f.resolved_at is None]
    done = [f for f in findings if f.resolved_at is not None]
    if open_:
        out.write("\nopen findings\n")
        for f in open_:
            out.write(
                f"  {f.check:8} {printable(f.path)}: {printable(f.detail)} (first seen "
                f"{iso(f.first_seen)}, {age(now - f.first_seen)} ago; last {iso(f.last_seen)})\n"
            )
    if done:
        out.write("\nresolved\n")
        for f in done:
            assert f.resolved_at is not None
            out.write(
                f"  {f.check:8} {printable(f.path)}: {printable(f.detail)} (first seen "
                f"{iso(f.first_seen)}, resolved {iso(f.resolved_at)} after "
                f"{age(f.resolved_at - f.first_seen)})\n"
            )
    return 0
