"""`ascad fix CONF NODE`: bring the running node back to its conf, or the conf to the node.

Without options: prints the exact ``asinfo -v 'set-config:…'`` (or ``log-set``) commands that
bring the node back to the file for every dynamic difference, and lists the static ones that
need a restart. ``--apply`` sends them (the same login as every node command), stops at the
first refusal, re-reads the node and says what is now equal. ``--write-back`` instead rewrites
the conf to hold the running values, keeping every other byte (a unified diff on stdout; the
file itself only with ``--in-place``, atomically, after a backup). Both refuse anything
ambiguous (a stanza only on one side, a list element) before changing anything.

Exit: 0 nothing (left) to fix, 1 differences remain (static ones need a restart), 2 could not
run: bad input, an ambiguous difference with --apply/--write-back, or a refusal by the node.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import shlex
import stat
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ascad.commands import common
from ascad.errors import AscadError, printable

if TYPE_CHECKING:
    from ascad.compare.diff import Difference
    from ascad.conf.model import FlatConfig
    from ascad.runtime.login import NodeLogin
    from ascad.runtime.snapshot import RuntimeSnapshot
    from ascad.sources.loader import LoadedConf


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("conf", metavar="CONF", help="the node's conf (a file, git+…, http://…)")
    parser.add_argument("node", metavar="NODE", help="the running node, aerospike://HOST:PORT")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--apply",
        action="store_true",
        help="send the commands to the node, then re-read it and report what is now equal",
    )
    mode.add_argument(
        "--write-back",
        action="store_true",
        help="instead rewrite the conf to hold the running values (prints a unified diff)",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="with --write-back: replace the conf file (atomically, after a timestamped backup)",
    )
    common.add_ignore_arguments(parser)
    common.add_colour_argument(parser)
    common.add_source_arguments(parser)
    common.add_node_arguments(parser)


@dataclass
class Plan:
    """What fixing needs: commands for dynamic differences, the static ones, the ambiguous."""

    commands: list[tuple[str, str]] = field(default_factory=list)  # (path, command)
    restart: list[str] = field(default_factory=list)  # one line per static difference
    ambiguous: list[str] = field(default_factory=list)  # one line each: why not
    count: int = 0


def run(args: argparse.Namespace) -> int:
    if args.in_place and not args.write_back:
        raise AscadError("--in-place goes with --write-back")
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from ascad.checks.pipeline import Rules, conf_vs_node
    from ascad.runtime.login import read_node
    from ascad.sources.loader import is_runtime_spec, load_conf

    if is_runtime_spec(args.conf) or not is_runtime_spec(args.node):
        raise AscadError("usage: ascad fix CONF aerospike://HOST:PORT (a conf, then its node)")
    login = common.node_login(args)
    conf = await load_conf(args.conf, common.load_options(args))
    snap = await read_node(args.node, login)
    rules = Rules(ignore=tuple(common.ignore_patterns(args)))
    outcome = conf_vs_node(conf, snap, rules, node_name=args.node)
    diffs = outcome.result.differences
    if not diffs:
        print(f"nothing to fix: {args.node} runs what {conf.name} says")
        return 0
    if args.write_back:
        return _write_back(args, conf, snap, diffs)
    plan = plan_fixes(diffs, conf.flat, snap)
    if plan.ambiguous and args.apply:
        raise AscadError(
            "refusing to apply: " + "; ".join(plan.ambiguous) + " (fix these by hand first)"
        )
    if not args.apply:
        _print_plan(plan, args, conf.name)
        return 1
    return await _apply(plan, args, conf, login)


def plan_fixes(diffs: list[Difference], flat: FlatConfig, snap: RuntimeSnapshot) -> Plan:
    """Sort the differences of a conf (left) against its node into commands, restarts and
    what cannot be fixed without guessing."""
    from ascad.compare.diff import CHANGED, SET_AT_RUNTIME
    from ascad.runtime.mapping import DEFAULT_SYSLOG_PATHS, sink_path
    from ascad.runtime.setconfig import set_config_command

    sinks = {sink_path(s, DEFAULT_SYSLOG_PATHS): i for i, s in snap.logs}
    plan = Plan(count=len(diffs))
    for d in diffs:
        if d.stanza or d.kind not in (CHANGED, SET_AT_RUNTIME):
            side = "the conf" if d.left is not None else "the node"
            plan.ambiguous.append(f"{d.path} is only in {side}")
            continue
        if d.kind == CHANGED:
            setting = flat.settings.get(d.path)
            value = setting.canonical if setting else (d.left or "")
            where = f" (line {d.left_line})" if d.left_line else ""
        else:
            value = d.left or ""  # the version's default (the conf does not state it)
            where = " (not in the conf: back to the default)"
        if d.restart is True:
            plan.restart.append(
                f"{d.path}: file {value}{where}, running {d.right} (static: restart the node)"
            )
            continue
        command = set_config_command(d.path, value, sinks)
        if command is None:
            plan.ambiguous.append(f"{d.path}: no single set-config sets it")
            continue
        if d.restart is None:
            plan.restart.append(
                f"{d.path}: file {value}{where}, running {d.right} (not known to be dynamic)"
            )
            continue
        plan.commands.append((d.path, command))
    return plan


def _asinfo(args: argparse.Namespace, command: str) -> str:
    from ascad.runtime.address import parse_address

    addr = parse_address(args.node)
    words = ["asinfo", "-h", addr.host, "-p", str(addr.port)]
    if addr.tls is not None:  # asinfo's TLS options (aerospike-tools)
        words.append("--tls-enable")
        if addr.tls.tls_name:
            words += ["--tls-name", addr.tls.tls_name]
        ca = addr.tls.ca_file or getattr(args, "tls_ca", None)
        if ca:
            words += ["--tls-cafile", ca]
    user = addr.user or getattr(args, "user", None)
    if user:
        words += ["-U", user, "-P"]
    words += ["-v", command]
    return " ".join(shlex.quote(w) for w in words)


def _print_plan(plan: Plan, args: argparse.Namespace, conf_name: str) -> None:
    out = sys.stdout
    if plan.commands:
        out.write(f"# dynamic: these bring {args.node} back to {printable(conf_name)}\n")
        for _path, command in plan.commands:
            out.write(_asinfo(args, command) + "\n")
    if plan.restart:
        out.write("# static or unknown: the file's value applies at the next restart\n")
        for line in plan.restart:
            out.write(f"#   {printable(line)}\n")
    if plan.ambiguous:
        out.write("# cannot fix without guessing (edit by hand):\n")
        for line in plan.ambiguous:
            out.write(f"#   {printable(line)}\n")


async def _apply(plan: Plan, args: argparse.Namespace, conf: LoadedConf, login: NodeLogin) -> int:
    from ascad.checks.pipeline import Rules, conf_vs_node
    from ascad.runtime.login import info, read_node

    for path, command in plan.commands:
        try:
            answer = await info(args.node, login, command)
        except AscadError as exc:
            answer = exc.message
        if answer.strip().lower() != "ok":
            raise AscadError(
                f"refused: {printable(answer)} (stopped; {path} and the commands after it were "
                "not applied)",
                f"{args.node} {command}",
            )
        print(f"applied: {command}")
    snap = await read_node(args.node, login)
    after = conf_vs_node(
        conf, snap, Rules(ignore=tuple(common.ignore_patterns(args))), node_name=args.node
    )
    left = {d.path for d in after.result.differences}
    for path, _command in plan.commands:
        print(f"now equal: {path}" if path not in left else f"still different: {path}")
    for line in plan.restart:
        print(f"needs a restart: {printable(line)}")
    if not left:
        print(f"{args.node} now compares equal to {printable(conf.name)}")
        return 0
    return 1


def _write_back(
    args: argparse.Namespace, conf: LoadedConf, snap: RuntimeSnapshot, diffs: list[Difference]
) -> int:
    from ascad.checks.pipeline import Rules, conf_vs_node
    from ascad.compare.diff import CHANGED, SET_AT_RUNTIME
    from ascad.conf.writeback import Edit, WriteBackError, apply_edits
    from ascad.sources.loader import conf_from_text

    if conf.template:
        raise AscadError("--write-back edits a plain conf, not a template", conf.name)
    edits, ambiguous = [], []
    for d in diffs:
        if d.stanza or d.kind not in (CHANGED, SET_AT_RUNTIME) or d.right is None:
            side = "the conf" if d.left is not None else "the node"
            ambiguous.append(f"{d.path} is only in {side}")
            continue
        value = d.right.lower() if d.path.startswith("logging.") else d.right
        edits.append(Edit(d.path, value, d.left_line if d.kind == CHANGED else None))
    if ambiguous:
        raise AscadError(
            "refusing to write back: " + "; ".join(ambiguous) + " (fix these by hand first)",
            conf.name,
        )
    try:
        new = apply_edits(conf.text, conf.tree, edits)
    except WriteBackError as exc:
        raise AscadError(f"refusing to write back: {exc.message}", conf.name) from None
    diff = difflib.unified_diff(
        conf.text.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=conf.name,
        tofile=f"{conf.name} (running values of {args.node})",
    )
    sys.stdout.writelines(diff)
    # the result must parse and compare equal to the node: never write a file that does not
    rest = conf_vs_node(
        conf_from_text(conf.name, new),
        snap,
        Rules(ignore=tuple(common.ignore_patterns(args))),
        node_name=args.node,
    ).result.differences
    if rest:
        raise AscadError(
            "refusing to write back: the result would still differ at "
            + ", ".join(d.path for d in rest),
            conf.name,
        )
    if not args.in_place:
        print(f"# not written (add --in-place to replace {printable(conf.name)})", file=sys.stderr)
        return 1
    _replace_file(conf.name, conf.text, new)
    return 0


def _replace_file(path: str, old: str, new: str) -> None:
    """Back up ``path`` and replace it atomically, unless it changed since it was read."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise AscadError(f"--in-place needs a local file: {exc.strerror or exc}", path) from None
    if raw != old.encode("utf-8"):
        raise AscadError("the file changed since it was read (or is not UTF-8): not written", path)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup = f"{path}.{stamp}.bak"
    for target, data in ((backup, raw), (path, new.encode("utf-8"))):
        common.write_file_atomically(target, data, mode, ".ascad-fix.")
    print(f"written: {path} (backup {backup})", file=sys.stderr)
