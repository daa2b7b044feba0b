"""`ascad show aerospike://HOST:PORT`: a running node's configuration as aerospike.conf text.

The node's ``get-config`` answers are mapped onto conf paths (ascad.runtime.mapping), turned back
into a tree and rendered, so the output parses with ascad's own parser and can be saved as the
node's conf. By default only values that differ from the node's version defaults are printed (when
the parameter table knows the version; otherwise everything); ``--all`` prints every value.
Parameters whose default depends on the machine (thread counts, node-id, the heartbeat MTU) are
left out unless ``--all``; unset strings (``null``) are never printed. Exit 0, or 2 on error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from ascad.commands import common
from ascad.conf.model import Setting, Stanza
from ascad.conf.render import render
from ascad.conf.values import DURATION_KEYS
from ascad.errors import AscadError
from ascad.loader import is_runtime_spec
from ascad.runtime.drift import read_node, same_default, table_for_build
from ascad.runtime.mapping import flat_to_tree, is_runtime_default, runtime_to_flat
from ascad.runtime.snapshot import RuntimeSnapshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", metavar="NODE", help="aerospike://HOST:PORT or aerospike+tls://…")
    parser.add_argument(
        "--all", action="store_true", help="also print values equal to the version's defaults"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each network step")
    common.add_node_arguments(parser)


def settings_filter(
    snap: RuntimeSnapshot, show_all: bool, settings: dict[str, Setting] | None = None
) -> Callable[[Setting], bool]:
    """Which parameters to print: never ``null``; defaults and machine values only with --all.

    ``settings`` (the whole runtime flat) lets a default that depends on another key be known
    (post-write-queue is forced to 0 with data-in-memory).
    """
    table = None if show_all else table_for_build(snap.build)

    def keep(s: Setting) -> bool:
        if s.canonical == "null":
            return False
        if table is None or s.path.startswith("logging."):
            return True
        info = table.lookup(s.path)
        if info is None:
            return True
        if info.machine_dependent or is_runtime_default(s.path, s.canonical, settings):
            return False
        return info.default_canonical is None or not same_default(
            s.canonical, info.default_canonical
        )

    return keep


_SUFFIXES = ((1 << 50, "P"), (1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"))
_DEFAULT_INDEX_TYPES = frozenset({"shmem", "mem"})


def human_size(key: str, value: str) -> str:
    """``4294967296`` -> ``4G`` for a whole multiple of 1 MiB or more (the conf's own suffixes).

    Never for durations (there ``M`` means minutes) nor ``node-id`` (hex).
    """
    if key in DURATION_KEYS or key == "node-id" or not value.isdigit():
        return value
    n = int(value)
    for size, suffix in _SUFFIXES:
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return value


def _tidy(stanza: Stanza, show_all: bool) -> None:
    """Sizes with suffixes; default index types (one-liners ``shmem``) dropped unless --all."""
    kept: list = []
    for child in stanza.children:
        if isinstance(child, Stanza):
            _tidy(child, show_all)
            if (
                not show_all
                and child.kind in ("index-type", "sindex-type")
                and child.name in _DEFAULT_INDEX_TYPES
                and not child.children
            ):
                continue
        else:
            child.values = tuple(human_size(child.key, v) for v in child.values)
        kept.append(child)
    stanza.children = kept


def render_snapshot(snap: RuntimeSnapshot, *, show_all: bool = False) -> str:
    """The snapshot as aerospike.conf text, with a header comment naming the node."""
    flat = runtime_to_flat(snap)
    tree = flat_to_tree(
        flat, include=settings_filter(snap, show_all, flat.settings), build=snap.build
    )
    _tidy(tree.root, show_all)
    head = [
        f"# Running configuration of aerospike://{snap.address}",
        f"# node {snap.node_id}, build {snap.build}"
        + (f", cluster {snap.cluster_name}" if snap.cluster_name else ""),
        "# Written by `ascad show`"
        + ("" if show_all else " (values equal to the version's defaults left out)"),
        "# Not shown by the server, so not here: service user/group, mod-lua, syslog facility/tag.",
    ]
    for prefix, command in snap.unreadable.items():
        head.append(f"# {prefix}: the node did not answer {command}")
    body = render(tree) if tree.root.children else ""
    return "\n".join(head) + "\n\n" + body


def run(args: argparse.Namespace) -> int:
    if not is_runtime_spec(args.node):
        raise AscadError("ascad show reads a running node: give aerospike://HOST:PORT", args.node)
    snap = asyncio.run(read_node(args.node, common.node_options(args)))
    sys.stdout.write(render_snapshot(snap, show_all=args.all))
    return 0
