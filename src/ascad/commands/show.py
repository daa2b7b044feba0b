"""`ascad show aerospike://HOST:PORT`: a running node's configuration as aerospike.conf text.

The node's ``get-config`` answers are mapped onto conf paths (ascad.runtime.mapping), turned back
into a tree and rendered, so the output parses with ascad's own parser and can be saved as the
node's conf. By default only values that differ from the node's version defaults are printed (when
the parameter table knows the version; otherwise everything); ``--all`` prints every value.
Parameters whose default depends on the machine (thread counts, node-id, the heartbeat MTU) are
left out unless ``--all``; unset strings (``null``) are never printed. Exit 0, or 2 on error.

``--format yaml`` writes the same settings as asconfig YAML (the form of an ``AerospikeCluster``'s
``spec.aerospikeConfig``; :mod:`ascad.conf.render_yaml`): sizes and durations as plain numbers.
A conf source (a file, git, an asconfig YAML …) is shown too: as conf text, or as YAML.

``--format json`` prints the same settings as the ``ascad.show/1`` document
(docs/json-schema.md): the node, and each printed parameter's path, value and canonical value.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from ascad.commands import common
from ascad.conf.model import ConfTree, FlatConfig, Param, Setting, Stanza
from ascad.conf.render import render
from ascad.conf.values import DURATION_KEYS
from ascad.errors import AscadError, printable
from ascad.knowledge.table import (
    next_schema_after,
    older_than_table_message,
    parse_build,
    pattern_of,
    same_default,
    table_or_none,
    version_key,
    versions_of,
)
from ascad.runtime.login import read_node
from ascad.runtime.mapping import flat_to_tree, runtime_default_rule, runtime_to_flat
from ascad.runtime.snapshot import RuntimeSnapshot
from ascad.sources.loader import is_runtime_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", metavar="NODE", help="aerospike://HOST:PORT or aerospike+tls://…")
    parser.add_argument(
        "--all", action="store_true", help="also print values equal to the version's defaults"
    )
    common.add_timeout_argument(parser)
    parser.add_argument(
        "--format",
        choices=("text", "yaml", "json"),
        default="text",
        help="text: aerospike.conf; yaml: asconfig YAML (an AerospikeCluster's aerospikeConfig); "
        "json: the same settings as an ascad.show/1 document (docs/json-schema.md)",
    )
    common.add_node_arguments(parser)


def not_conf_reason(path: str, build: str | None, table: Any) -> str | None:
    """Why a printed key must not be written as a conf line for this build, or None.

    The node prints keys no conf line may set (the server refuses an unknown or obsolete
    parameter at startup, cfg.c): ``downgrading`` (6.x service, in no schema), ``enable-ldap`` and
    ``ldap-login-threads`` (6.4 security, obsolete in the conf since 5.7, still printed). A key
    only later schemas know is kept when the node's version is past this table's schema and the
    next schema has it (the node sits between two schemas: 6.3 prints 6.4's set
    ``stop-writes-size``); otherwise it is not a parameter of the node's version.
    """
    if table is None or path.startswith("logging.") or table.lookup(path) is not None:
        return None
    pattern = pattern_of(path)
    versions = versions_of(pattern) or (
        versions_of(pattern[:-3]) if pattern.endswith("[*]") else ()
    )
    if not versions:
        return "printed by the node, but no conf line sets it"
    mine = version_key(table.version)
    later = [v for v in versions if version_key(v) > mine]
    if not later:
        return f"obsolete in server {build}: it would refuse the line at startup"
    nxt = next_schema_after(table.version)
    if build and nxt in versions and parse_build(build)[:2] > mine[:2]:
        return None
    return f"not a parameter of server {build} (first in schema {later[0]})"


def settings_filter(
    snap: RuntimeSnapshot,
    show_all: bool,
    settings: dict[str, Setting] | None = None,
    omitted: dict[str, str] | None = None,
) -> Callable[[Setting], bool]:
    """Which parameters to print: never ``null``, nor a key that is not a conf parameter of the
    node's version, nor a value the server computes itself (``mapping.RUNTIME_DEFAULTS``:
    ``mrt-duration 0`` is out of the conf's range); defaults and machine values only with --all.

    ``settings`` (the whole runtime flat) lets a default that depends on another key be known
    (post-write-queue is forced to 0 with data-in-memory). ``omitted`` collects, per left-out
    key, why (for the header), except plain defaults.
    """
    table = table_or_none(snap.build)

    def keep(s: Setting) -> bool:
        if s.canonical == "null":
            return False
        if table is None or s.path.startswith("logging."):
            return True
        info = table.lookup(s.path)
        if info is None or s.stanza:
            reason = not_conf_reason(s.path, snap.build, table)
            if reason is not None and omitted is not None:
                omitted[f"{s.path}={s.value}"] = reason
            return reason is None
        rule = runtime_default_rule(s.path, s.canonical, settings)
        if rule is not None:
            if show_all and omitted is not None:
                omitted[f"{s.path}={s.value}"] = f"the server's own value: {rule.fact}"
            return False
        if show_all:
            return True
        if info.machine_dependent:
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


def _tidy(stanza: Stanza, show_all: bool, *, sizes: bool = True) -> None:
    """Sizes with suffixes (unless not ``sizes``: YAML writes plain numbers); default index types
    (one-liners ``shmem``) dropped unless --all."""
    kept: list[Stanza | Param] = []
    for child in stanza.children:
        if isinstance(child, Stanza):
            _tidy(child, show_all, sizes=sizes)
            if (
                not show_all
                and child.kind in ("index-type", "sindex-type")
                and child.name in _DEFAULT_INDEX_TYPES
                and not child.children
            ):
                continue
        elif sizes:
            child.values = tuple(human_size(child.key, v) for v in child.values)
        kept.append(child)
    stanza.children = kept


def _shown_tree(
    snap: RuntimeSnapshot, show_all: bool, *, yaml: bool = False
) -> tuple[Any, dict[str, str]]:
    """The tree ``ascad show`` prints, and what was left out (``path=value`` -> why)."""
    flat = runtime_to_flat(snap)
    omitted: dict[str, str] = {}
    tree = flat_to_tree(
        flat,
        include=settings_filter(snap, show_all, flat.settings, omitted),
        build=snap.build,
    )
    _tidy(tree.root, show_all, sizes=not yaml)
    return tree, omitted


SHOW_SCHEMA = "ascad.show/1"


def snapshot_to_dict(
    snap: RuntimeSnapshot, *, show_all: bool = False, source: str | None = None
) -> dict[str, Any]:
    """The ``ascad.show/1`` document: exactly the parameters the conf text would hold (the text is
    rendered, then read back with ascad's own parser), with the node's identity."""
    from ascad.conf.flatten import flatten
    from ascad.conf.parser import parse_text

    tree, omitted = _shown_tree(snap, show_all)
    body = render(tree) if tree.root.children else ""
    flat = flatten(parse_text(body, "ascad show"))
    return {
        "schema": SHOW_SCHEMA,
        "source": source or f"aerospike://{snap.address}",
        "node_id": snap.node_id,
        "build": snap.build,
        "cluster": snap.cluster_name,
        "all": show_all,
        "settings": _settings_list(flat),
        "omitted": [{"setting": item, "reason": why} for item, why in omitted.items()],
        "unreadable": dict(snap.unreadable),
    }


def _settings_list(flat: FlatConfig) -> list[dict[str, Any]]:
    """The ``settings`` of an ``ascad.show/1`` document, spelled as in ``ascad.diff/1``."""
    from ascad.conf.model import display

    return [
        {
            "path": display(st.path),
            "value": display(st.value),
            "canonical": display(st.canonical),
            "stanza": st.stanza,
        }
        for st in flat.settings.values()
    ]


def conf_to_dict(name: str, flat: FlatConfig) -> dict[str, Any]:
    """A conf source as an ``ascad.show/1`` document (no build: a file does not say; the node id
    is the conf's ``service.node-id``)."""

    own_id = flat.settings.get("service.node-id")
    return {
        "schema": SHOW_SCHEMA,
        "source": name,
        "node_id": own_id.value if own_id else None,
        "build": None,
        "cluster": None,
        "all": True,
        "settings": _settings_list(flat),
        "omitted": [],
        "unreadable": {},
    }


def render_snapshot(
    snap: RuntimeSnapshot,
    *,
    show_all: bool = False,
    source: str | None = None,
    yaml: bool = False,
) -> str:
    """The snapshot as aerospike.conf text (or asconfig YAML), with a header comment naming the
    node.

    ``source``: how the node was reached (``aerospike+tls://…``); default ``aerospike://ADDRESS``.
    """
    tree, omitted = _shown_tree(snap, show_all, yaml=yaml)
    older = older_than_table_message(snap.build) if snap.build else None
    head = [
        f"# Running configuration of {source or f'aerospike://{snap.address}'}",
        f"# node {snap.node_id}, build {snap.build}"
        + (f", cluster {snap.cluster_name}" if snap.cluster_name else ""),
        "# Written by `ascad show`"
        + ("" if show_all or older else " (values equal to the version's defaults left out)"),
        "# Not shown by the server, so not here: service user/group, mod-lua, syslog facility/tag.",
    ]
    if older:  # 3.x: no default is known, so every value the node prints is shown
        head.append(f"# warning: {older}; every value the node prints is shown")
    for prefix, command in snap.unreadable.items():
        head.append(f"# {prefix}: the node did not answer {command}")
    if omitted:
        head.append("# Printed by the node but left out (not valid conf lines for this version):")
        by_reason: dict[str, list[str]] = {}
        for item, reason in omitted.items():
            by_reason.setdefault(reason, []).append(item)
        for reason, items in by_reason.items():
            shown = ", ".join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")
            head.append(f"#   {shown}: {reason}")
    if yaml:
        from ascad.conf.render_yaml import render_yaml

        text = render_yaml(tree, [line.removeprefix("# ") for line in head])
        return "\n".join(printable(line) for line in text.split("\n"))
    body = render(tree) if tree.root.children else ""
    # A value the node holds may carry control characters: escaped, line by line, so the text
    # never drives a terminal (such a line is not valid conf anyway).
    text = "\n".join(head) + "\n\n" + body
    return "\n".join(printable(line) for line in text.split("\n"))


def render_conf(name: str, tree: ConfTree, *, yaml: bool = False) -> str:
    """A conf source's tree as conf text or asconfig YAML, with a header naming it."""
    head = [f"# Configuration of {name}", "# Written by `ascad show`"]
    if yaml:
        from ascad.conf.render_yaml import render_yaml

        text = render_yaml(tree, [line.removeprefix("# ") for line in head])
    else:
        text = "\n".join(head) + "\n\n" + (render(tree) if tree.root.children else "")
    return "\n".join(printable(line) for line in text.split("\n"))


def run(args: argparse.Namespace) -> int:
    yaml = getattr(args, "format", "text") == "yaml"
    if not is_runtime_spec(args.node):
        from ascad.sources.loader import LoadOptions, load_conf

        loaded = asyncio.run(load_conf(args.node, LoadOptions(timeout=args.timeout)))
        if loaded.template:
            raise AscadError(
                "a template: ascad show writes plain configs (compare templates with ascad diff)",
                loaded.name,
            )
        for w in loaded.warnings:
            print(f"{loaded.name}:{w.line}:{w.col}: warning: {w.message}", file=sys.stderr)
        if args.format == "json":
            from ascad.report.jsonout import dumps

            sys.stdout.write(dumps(conf_to_dict(loaded.name, loaded.flat)))
        else:
            sys.stdout.write(render_conf(loaded.name, loaded.tree, yaml=yaml))
        return 0
    from ascad.runtime.address import parse_address

    source = str(parse_address(args.node))
    snap = asyncio.run(read_node(args.node, common.node_login(args)))
    if args.format == "json":
        from ascad.report.jsonout import dumps

        sys.stdout.write(dumps(snapshot_to_dict(snap, show_all=args.all, source=source)))
    else:
        sys.stdout.write(render_snapshot(snap, show_all=args.all, source=source, yaml=yaml))
    return 0
