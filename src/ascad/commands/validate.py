"""`ascad validate CONF`: check a conf against a server version's parameters.

The version comes from ``--server-version 7.0.0.0`` or from a running node
(``--server aerospike://host:port`` or ``aerospike+tls://``: its ``build`` info command, with
``--user``/``--password-file`` and ``--tls-ca/--tls-cert/--tls-key`` as for ``ascad diff``); with
neither, the newest schema is used and a note says so, as it does for a version older or newer
than every schema ascad holds. Parser and flatten warnings (a duplicate key, extra tokens) are
warnings at their lines. Each problem is one line ``FILE:LINE:COL: severity: message`` (or a
JSON document, schema ``ascad.validate/1``). An error is what stops the server at startup, a
warning what it logs and starts with. Exit 0 when there is no error (warnings alone do not fail,
unless ``--strict``), 1 errors found, 2 could not run.

A conf the server could not read at all (a syntax error at a line) is a problem in the file, so it
is reported like the others (exit 1); a file that cannot be read is exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ascad.checks.validate import Problem, validate_tree
from ascad.commands import common
from ascad.conf.flatten import flatten
from ascad.errors import AscadError, ConfSyntaxError
from ascad.knowledge.table import (
    newest_if_newer,
    parse_build,
    schema_version_for,
    schema_versions,
    version_key,
)
from ascad.sources.loader import is_runtime_spec
from ascad.sources.local import parse_file

SCHEMA = "ascad.validate/1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("conf", metavar="CONF", help="the aerospike.conf file to check")
    version = parser.add_mutually_exclusive_group()
    version.add_argument(
        "--server-version",
        metavar="X",
        help="server build to check against, e.g. 7.0.0.0 or 8.1 (default: the newest known)",
    )
    version.add_argument(
        "--server",
        metavar="ADDR",
        help="read the version from a running node: aerospike://host:port or aerospike+tls://…",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on warnings too (by default only errors, what stops the server, do)",
    )
    # --user, --password-file and --tls-ca/--tls-cert/--tls-key, for --server
    common.add_node_arguments(parser)
    common.add_timeout_argument(parser)


async def server_build(address: str, args: argparse.Namespace) -> str:
    """The build a running node reports (info command ``build``, e.g. ``8.1.2.2``); login and TLS
    as for ``ascad diff`` (``--user``, ``--password-file``, ``--tls-ca/--tls-cert/--tls-key``)."""
    from ascad.runtime.login import info

    build = (await info(address, common.node_login(args), "build")).strip()
    if not build:
        raise AscadError("node answered an empty build", address)
    return build


def _resolve_version(args: argparse.Namespace) -> tuple[str, str | None]:
    """(build, note for stderr or None)."""
    if args.server_version is not None:
        build = args.server_version.strip()
        if not build:
            raise AscadError("--server-version is empty (expected e.g. 8.1.2.2 or 7.0)")
        return build, _age_note(build)
    if args.server:
        build = asyncio.run(server_build(args.server, args))
        note = f"server {args.server} reports build {build}"
        age = _age_note(build)
        return build, note if age is None else f"{note}; {age}"
    newest = schema_versions()[-1]
    return newest, f"no --server-version given: checking against the newest known, {newest}"


def _age_note(build: str) -> str | None:
    """A note when the build is older than every schema (the oldest one stands in for it) or of
    a newer minor release than the newest one (which stands in; unknown names are warnings)."""
    oldest, newest = schema_versions()[0], schema_versions()[-1]
    if parse_build(build)[:3] < version_key(oldest):
        return (
            f"server {build} is older than the oldest schema ascad holds ({oldest}); it is "
            "checked against that one, and what only that schema says (unknown or obsolete "
            "names, ranges, enums) is a warning"
        )
    if newest_if_newer(build) is not None:
        return (
            f"server {build} is newer than the newest schema ascad holds ({newest}); it is "
            "checked against that one, and a name that schema does not know is a warning"
        )
    return None


def run(args: argparse.Namespace) -> int:
    if is_runtime_spec(args.conf):
        raise AscadError(
            f"validate takes a conf file; give the node with --server {args.conf} for its version"
        )
    build, note = _resolve_version(args)
    schema = schema_version_for(build)  # raises AscadError for a malformed version
    try:
        tree = parse_file(args.conf)
        # Flattening adds its warnings (a plain key given twice, …) to the parser's.
        flatten(tree)
        problems = validate_tree(tree, build)
    except ConfSyntaxError as exc:
        if exc.line <= 0:
            raise  # the file could not be read: exit 2
        problems = [Problem(exc.line, exc.col, "error", "syntax", exc.message)]
    if note:
        print(f"ascad: {note}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_dict(args.conf, build, schema, problems), indent=2) + "\n")
    else:
        for problem in problems:
            print(problem.format(args.conf))
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        print(
            f"ascad: {args.conf}: {errors} error(s), {warnings} warning(s) for server {build} "
            f"(schema {schema})",
            file=sys.stderr,
        )
    if getattr(args, "strict", False):
        return 1 if problems else 0
    return 1 if any(p.severity == "error" for p in problems) else 0


def to_dict(source: str, build: str, schema: str, problems: list[Problem]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "file": source,
        "server_version": build,
        "param_schema": schema,
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
        "problems": [p.to_dict() for p in problems],
    }
