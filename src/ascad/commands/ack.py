"""`ascad ack --baseline FILE PATH --reason TEXT [--until DATE]`: acknowledge a known difference.

Adds one ``[[ack]]`` entry at the end of the baseline file (created when missing), keeping every
byte already there (comments, order, layout): the file is meant to live in git. The result is
parsed before it is written, and written atomically (a temporary file in the same directory,
then a rename). See docs/provenance.md. Exit 0 added; 2 bad input (a date in the past, an entry
that already acknowledges the same path for the same nodes, a baseline that does not parse).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import stat

from ascad.commands import common
from ascad.errors import AscadError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the difference's path (a glob: * and ?)")
    parser.add_argument(
        "--baseline", metavar="FILE", required=True, help="the baseline file (created if missing)"
    )
    parser.add_argument("--reason", metavar="TEXT", required=True, help="why it is known")
    parser.add_argument(
        "--until",
        metavar="DATE",
        help="YYYY-MM-DD: after this day it counts again (default: no end)",
    )
    parser.add_argument("--owner", metavar="NAME", help="who owns it (default: this user)")
    parser.add_argument(
        "--node",
        metavar="NODE",
        action="append",
        default=[],
        help="only on this node: node id, name or address, a glob (repeatable)",
    )
    parser.add_argument("--group", metavar="CLUSTER", help="only in this cluster (its name)")


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def entry_text(
    path: str,
    reason: str,
    owner: str | None,
    until: str | None,
    nodes: list[str],
    group: str | None,
) -> str:
    lines = ["[[ack]]", f"path = {_toml_string(path)}", f"reason = {_toml_string(reason)}"]
    if owner:
        lines.append(f"owner = {_toml_string(owner)}")
    if until:
        lines.append(f"until = {until}")
    if nodes:
        lines.append("node = " + (_toml_string(nodes[0]) if len(nodes) == 1 else json.dumps(nodes)))
    if group:
        lines.append(f"group = {_toml_string(group)}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from ascad.checks.baseline import parse_baseline, parse_until, read_baseline_text, today_utc

    file = args.baseline
    path = args.path.strip()
    if not path or "\n" in path:
        raise AscadError("PATH must be one path or glob, e.g. 'namespace[test].default-ttl'")
    reason = args.reason.strip()
    if not reason:
        raise AscadError("--reason must say why the difference is known")
    until = parse_until(args.until, "--until") if args.until else None
    if until is not None and until < today_utc():
        raise AscadError(f"--until {until.isoformat()} is in the past")
    old = read_baseline_text(file, missing_ok=True)
    current = parse_baseline(old, file)
    nodes = [n.strip() for n in args.node if n.strip()]
    for e in current.entries:
        same = e.path == path and list(e.nodes) == nodes and e.group == (args.group or None)
        if same and e.active(today_utc()):
            raise AscadError(f"{path} is already acknowledged there: edit that entry", e.where)
    owner = args.owner if args.owner is not None else _user()
    block = entry_text(
        path, reason, owner, until.isoformat() if until else None, nodes, args.group or None
    )
    # one blank line between the old text and the new entry; the old bytes stay as they are
    sep = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    new = old + sep + block
    parsed = parse_baseline(new, file)  # never write a file that does not parse
    _write_atomic(file, new.encode("utf-8"))
    where = parsed.entries[-1].where
    until_text = f" until {until.isoformat()}" if until else ""
    print(f"acknowledged {path}{until_text}: {where}")
    return 0


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _write_atomic(path: str, data: bytes) -> None:
    """The baseline rewritten atomically, keeping its permissions (0644 when it is new)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    common.write_file_atomically(path, data, mode, ".ascad-ack.")
