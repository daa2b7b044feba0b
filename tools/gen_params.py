#!/usr/bin/env python3
"""Generate src/ascad/knowledge/params.json (and units.json) from Aerospike's per-version schemas.

Input: ``tools/schemas/<X.Y.Z>.json`` (aerospike/schemas, Apache-2.0; see tools/schemas/SOURCES.md).
Output: one entry per parameter *pattern* in ascad's path spelling (docs/paths.md), with ``*`` for
stanza names (``namespace[*].storage-engine.write-block-size``), holding one or more variants;
each variant covers a contiguous run of schema versions ``[first, last]`` over which its
attributes do not change. The output is deterministic: sorted keys, one variant per line.
Beside it, ``units.json``: each pattern's unit kind in the newest schema that has it, all that
parsing and flattening read (so they need not load the whole table).

How the schema's layout maps to the conf (facts: conf-format-and-runtime-mapping.md, a, c and e):

- The schema follows asconfig's YAML form: named stanzas are lists of objects with a ``name``
  (``namespaces[]``, ``sets[]``, ``dcs[]``, ``tls[]``, ``datacenters[]``), repeatable keys are
  plural arrays (``files``, ``mesh-seed-address-ports``, ``feature-key-files``). The conf spells
  them singular, one line per element (``file``, ``mesh-seed-address-port``).
- ``storage-engine``, ``index-type`` and ``sindex-type`` are a ``oneOf`` by ``type``; in the conf
  they are typed stanzas (``storage-engine device {``). Each parameter keeps the list of types
  that have it (``engines``).
- ``logging`` is a list of sinks whose properties are the log contexts. In the conf a sink is
  ``file PATH {``, ``console {`` or ``syslog {`` (syslog from 6.3; the schema has it when it has
  ``facility``), each holding ``context NAME LEVEL`` lines.
- The schema does not say which integers are durations. The server parses these with
  ``cfg_seconds`` (cfg.c, 8.1; s/m/h/d suffixes), listed in :data:`DURATIONS`; every other
  integer takes the K/M/G/T/P size suffixes (``size``).

Run: ``python tools/gen_params.py`` (writes the committed file) or ``--output PATH``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "tools" / "schemas"
# Parser facts read from the server source per version (tools/gen_server_facts.py).
FACTS = ROOT / "tools" / "server_facts.json"
OUTPUT = ROOT / "src" / "ascad" / "knowledge" / "params.json"

# cfg_seconds parameters (conf-format-and-runtime-mapping.md section b, cfg.c of 8.1).
# security.ldap.session-ttl is the 4.9 place of security.session-ttl (moved up in 5.x): the same
# parameter, so the same unit.
DURATIONS = frozenset(
    {
        "service.migrate-fill-delay",
        "service.tls-refresh-period",
        "namespace[*].default-ttl",
        "namespace[*].nsup-period",
        "namespace[*].nsup-hist-period",
        "namespace[*].tomb-raider-eligible-age",
        "namespace[*].tomb-raider-period",
        "namespace[*].xdr-tomb-raider-period",
        "namespace[*].xdr-bin-tombstone-ttl",
        "namespace[*].mrt-duration",
        "namespace[*].set[*].default-ttl",
        "security.privilege-refresh-period",
        "security.session-ttl",
        "security.ldap.session-ttl",
        "security.ldap.polling-period",
        "xdr.dc[*].namespace[*].ship-versions-interval",
    }
)

# Parameters whose default the server derives from the machine, so a running value that differs
# from the schema default is not a change anyone made. Facts: docs/knowledge.md.
MACHINE_DEPENDENT = {
    "service.service-threads": "derived from the CPU count (schema says 1; captures show 4 on a "
    "4-core 4.5 node, 5 on a 6.x node, 50 on an 8.1.2.2 node with batch-index-threads 10)",
    "service.batch-index-threads": "derived from the CPU count (schema says 1; captures show 4, 5 "
    "and 10)",
    "service.node-id": "derived from the MAC address of the node (runtime always prints one; the "
    "schemas' own default is the generating machine's id)",
    "network.heartbeat.mtu": "the smallest interface MTU when the conf is silent (schema says 0)",
}

# Versions newer than the newest schema, derived from it plus parameters seen in real captures of
# that build (tests/fixtures/runtime/exporter-8.1.2.2: get-config-service and namespace/NS print
# these keys; both appear in asconfig's server812 test conf). Range and dynamic flag are not
# published: no range, static (the conservative "needs a restart").
SUPPLEMENTS: list[tuple[str, str, str, dict[str, dict[str, Any]]]] = [
    (
        "8.1.2",
        "8.1.1",
        "schema 8.1.1 plus parameters printed by a real 8.1.2.2 node",
        {
            "service.cgroup-mem-tracking": {
                "type": "boolean",
                "unit": "plain",
                "default": False,
                "dynamic": False,
                "ee": False,
            },
            "namespace[*].tomb-raider-unmark-threads": {
                "type": "integer",
                "unit": "size",
                "default": 0,
                "min": None,
                "max": None,
                "dynamic": False,
                "ee": False,
            },
        },
    )
]

# Named stanzas: schema list name -> conf stanza kind.
NAMED = {
    "namespaces": "namespace",
    "sets": "set",
    "dcs": "dc",
    "datacenters": "datacenter",
    "tls": "tls",
}
TYPED = ("storage-engine", "index-type", "sindex-type")
LOG_SINK_PROPS = ("name", "facility", "path", "tag")
U64_MAX = (1 << 64) - 1
LEVELS = ("critical", "warning", "info", "debug", "detail")


def singular(name: str) -> str:
    """Schema plural list name -> the conf key (``addresses`` -> ``address``)."""
    if name.endswith("addresses"):
        return name[:-2]
    if name.endswith("s"):
        return name[:-1]
    return name


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


class Collector:
    """Collects ``path -> variant`` for one schema version."""

    def __init__(self) -> None:
        self.params: dict[str, dict[str, Any]] = {}
        self.log_contexts: list[str] = []

    def add(self, path: str, variant: dict[str, Any], prefer: bool = False) -> None:
        if path in self.params and not prefer:
            return
        self.params[path] = variant

    def stanza(
        self, path: str, node: dict[str, Any], enum: list[str] | None = None, named: bool = False
    ) -> None:
        variant: dict[str, Any] = {"type": "stanza", "ee": bool(node.get("enterpriseOnly", False))}
        if enum is not None:
            variant["enum"] = enum
        if named:
            variant["named"] = True
        self.add(path, variant)


def leaf(path: str, node: dict[str, Any]) -> dict[str, Any]:
    """One schema leaf -> a variant (without version range)."""
    if "oneOf" in node or node.get("type") == "array":
        kind = "list"
    elif "enum" in node:
        kind = "enum"
    else:
        kind = {"integer": "integer", "boolean": "boolean", "string": "string"}[node["type"]]
    default = node.get("default")
    if "oneOf" in node:  # tls-authenticate-client: "any" | "false" | [names]
        first = node["oneOf"][0]
        default = first.get("default")
        dynamic = bool(first.get("dynamic", False))
        ee = bool(node.get("enterpriseOnly", first.get("enterpriseOnly", False)))
    else:
        dynamic = bool(node.get("dynamic", False))
        ee = bool(node.get("enterpriseOnly", False))
    variant: dict[str, Any] = {
        "type": kind,
        "unit": "duration" if path in DURATIONS else ("size" if kind == "integer" else "plain"),
        "default": default,
        "dynamic": dynamic,
        "ee": ee,
    }
    if kind == "integer":
        if isinstance(default, int) and default > U64_MAX:
            default = U64_MAX  # the same float-printed u64 max as below
            variant["default"] = default
        variant["min"] = node.get("minimum")
        maximum = node.get("maximum")
        # 4.9.0.json writes u64 max as 18446744073709552000 (a float printed by its generator).
        variant["max"] = min(maximum, U64_MAX) if maximum is not None else None
    if kind == "enum":
        variant["enum"] = list(node["enum"])
    if path in MACHINE_DEPENDENT:
        variant["machine"] = MACHINE_DEPENDENT[path]
    return variant


def walk_object(col: Collector, prefix: str, node: dict[str, Any]) -> None:
    """Parameters and sub-stanzas of one object (a stanza body)."""
    props: dict[str, Any] = node.get("properties", {})
    # Arrays first so that a plural list wins over its singular string twin
    # (service: feature-key-files [] and feature-key-file "" -> conf key feature-key-file, a list).
    for key in sorted(props, key=lambda k: (props[k].get("type") != "array", k)):
        child = props[key]
        if key == "name" and prefix.endswith("[*]"):
            continue  # the stanza's own name
        path = f"{prefix}.{key}" if prefix else key
        if key in TYPED and "oneOf" in child:
            walk_typed(col, path, child)
        elif key == "logging" and not prefix:
            walk_logging(col, child)
        elif (
            child.get("type") == "array"
            and isinstance(child.get("items"), dict)
            and (child["items"].get("type") == "object")
        ):
            kind = NAMED.get(key, singular(key))
            sub = f"{prefix}.{kind}[*]" if prefix else f"{kind}[*]"
            col.stanza(sub, child, named=True)
            walk_object(col, sub, child["items"])
        elif child.get("type") == "object":
            col.stanza(path, child)
            walk_object(col, path, child)
        elif child.get("type") == "array" or "oneOf" in child:
            col.add(f"{prefix}.{singular(key)}" if prefix else singular(key), leaf(path, child))
        else:
            col.add(path, leaf(path, child))


def walk_typed(col: Collector, path: str, node: dict[str, Any]) -> None:
    """``storage-engine`` / ``index-type`` / ``sindex-type``: a oneOf by ``type``."""
    per_param: dict[str, dict[str, dict[str, Any]]] = {}
    types: list[str] = []
    for option in node["oneOf"]:
        t = option["properties"]["type"]["enum"][0]
        types.append(t)
        for key, child in option["properties"].items():
            if key == "type":
                continue
            conf_key = singular(key) if child.get("type") == "array" else key
            per_param.setdefault(conf_key, {})[t] = leaf(f"{path}.{conf_key}", child)
    col.stanza(path, node, enum=sorted(types))
    for conf_key, by_type in per_param.items():
        variants = list(by_type.values())
        merged = dict(variants[0])
        # Available in CE if any engine has it in CE; the loosest range of all engines (the
        # schema gives pmem and flash index mounts different minimums).
        merged["ee"] = all(v["ee"] for v in variants)
        if merged["type"] == "integer":
            mins = [v["min"] for v in variants if v.get("min") is not None]
            maxs = [v["max"] for v in variants if v.get("max") is not None]
            merged["min"] = min(mins) if mins else None
            merged["max"] = max(maxs) if maxs else None
        merged["engines"] = sorted(by_type)
        col.add(f"{path}.{conf_key}", merged)


def walk_logging(col: Collector, node: dict[str, Any]) -> None:
    """``logging``: sinks ``file PATH``, ``console``, ``syslog`` holding ``context NAME LEVEL``."""
    items = node["items"]
    props = items["properties"]
    contexts = sorted(k for k in props if k not in LOG_SINK_PROPS)
    col.stanza("logging", node)
    sinks = ["logging.file[*]", "logging.console"]
    has_syslog = "facility" in props
    if has_syslog:
        sinks.append("logging.syslog")
    for sink in sinks:
        col.stanza(sink, items, named=sink.endswith("[*]"))
        col.add(
            f"{sink}.context",
            {
                "type": "enum",
                "unit": "plain",
                "default": "CRITICAL",
                "dynamic": True,
                "ee": False,
                "enum": list(LEVELS),
            },
        )
    # The context names are the same for every sink; kept once per version (see build()).
    col.log_contexts = contexts
    if has_syslog:
        for key in ("facility", "path", "tag"):
            col.add(f"logging.syslog.{key}", leaf(f"logging.syslog.{key}", props[key]))


def collect(schema: dict[str, Any]) -> Collector:
    col = Collector()
    walk_object(col, "", schema)
    return col


def ranges(versions: list[str], per_version: list[Any]) -> list[dict[str, Any]]:
    """Merge equal values of consecutive versions: ``[{"first", "last", "attrs"}]``."""
    runs: list[dict[str, Any]] = []
    prev_index = -2
    for i, value in enumerate(per_version):
        if value is None:
            continue
        if runs and prev_index == i - 1 and runs[-1]["attrs"] == value:
            runs[-1]["last"] = versions[i]
        else:
            runs.append({"first": versions[i], "last": versions[i], "attrs": value})
        prev_index = i
    return runs


def version_runs(versions: list[str], present: list[str | None]) -> list[list[str]]:
    """``[first, last, where]`` for each run of consecutive versions with a fact (``where``: the
    last version's citation)."""
    runs: list[list[str]] = []
    prev = -2
    for i, where in enumerate(present):
        if where is None:
            continue
        if runs and prev == i - 1:
            runs[-1][1:] = [versions[i], where]
        else:
            runs.append([versions[i], versions[i], where])
        prev = i
    return runs


def server_facts(
    versions: list[str], facts_path: Path, supplements: dict[str, str]
) -> dict[str, Any]:
    """The parser facts of tools/server_facts.json as per-pattern version runs (compact).

    A supplement version (8.1.2) has the facts of its base schema's version.
    """
    if not facts_path.is_file():
        return {}
    per_version: dict[str, Any] = json.loads(facts_path.read_text(encoding="utf-8"))["versions"]
    bases = {v: base for v, base, _, _ in SUPPLEMENTS if v in supplements}
    facts = [per_version.get(bases.get(v, v)) for v in versions]
    out: dict[str, Any] = {}
    for kind in ("deprecated", "value_ignored", "renamed"):
        patterns = sorted(
            {
                f"{ctx}.{name}" if ctx else name
                for f in facts
                if f
                for ctx, names in f.get(kind, {}).items()
                for name in names
            }
        )
        table: dict[str, list[list[str]]] = {}
        for pattern in patterns:
            ctx, _, name = pattern.rpartition(".")
            if pattern.count(".") == 0:
                ctx, name = "", pattern
            present = [(f.get(kind, {}).get(ctx, {}).get(name) if f else None) for f in facts]
            table[pattern] = version_runs(versions, present)
        out[kind] = table
    yes_no = [
        (f["yes_no"]["where"] if f and f["yes_no"] and f["yes_no"]["accepted"] else None)
        for f in facts
    ]
    out["yes_no"] = version_runs(versions, yes_no)
    return out


def build(schema_dir: Path, facts_path: Path = FACTS) -> dict[str, Any]:
    files = sorted(schema_dir.glob("*.json"), key=lambda p: version_key(p.stem))
    versions = [p.stem for p in files]
    cols = [collect(json.loads(p.read_text(encoding="utf-8"))) for p in files]
    supplements: dict[str, str] = {}
    for version, base, note, extra in SUPPLEMENTS:
        if version in versions or base not in versions:
            continue  # a real schema for it exists now, or its base is gone: nothing to add
        col = Collector()
        source = cols[versions.index(base)]
        col.params = {**source.params, **extra}
        col.log_contexts = source.log_contexts
        cols.append(col)
        versions.append(version)
        supplements[version] = note
    paths = sorted(set().union(*(c.params for c in cols)))
    params: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        runs = ranges(versions, [c.params.get(path) for c in cols])
        params[path] = [{"versions": [r["first"], r["last"]], **r["attrs"]} for r in runs]
    log_runs = ranges(versions, [c.log_contexts for c in cols])
    facts = server_facts(versions, facts_path, supplements)
    return {
        **({"server_facts": facts} if facts else {}),
        "format": 1,
        "log_contexts": [
            {"versions": [r["first"], r["last"]], "names": r["attrs"]} for r in log_runs
        ],
        "generated_by": "tools/gen_params.py",
        "source": "aerospike/schemas json/aerospike/*.json (Apache-2.0), see tools/schemas",
        "schemas": versions,
        "supplements": supplements,
        "params": params,
    }


def render(data: dict[str, Any]) -> str:
    """Stable text: header keys sorted, one parameter per block, one variant per line."""
    dump = lambda v: json.dumps(v, sort_keys=True, separators=(", ", ": "))  # noqa: E731
    lines = ["{"]
    for key in sorted(k for k in data if k not in ("params", "log_contexts", "server_facts")):
        lines.append(f"  {dump(key)}: {dump(data[key])},")
    lines.append('  "log_contexts": [')
    for m, run in enumerate(data["log_contexts"]):
        lines.append(f"    {dump(run)}{',' if m < len(data['log_contexts']) - 1 else ''}")
    lines.append("  ],")
    if "server_facts" in data:
        facts = data["server_facts"]
        lines.append('  "server_facts": {')
        for k, kind in enumerate(sorted(facts)):
            sep = "," if k < len(facts) - 1 else ""
            if isinstance(facts[kind], dict):
                lines.append(f"    {dump(kind)}: {{")
                items_ = sorted(facts[kind].items())
                for m, (pattern, runs) in enumerate(items_):
                    comma = "," if m < len(items_) - 1 else ""
                    lines.append(f"      {dump(pattern)}: {dump(runs)}{comma}")
                lines.append(f"    }}{sep}")
            else:
                lines.append(f"    {dump(kind)}: {dump(facts[kind])}{sep}")
        lines.append("  },")
    lines.append('  "params": {')
    items = sorted(data["params"].items())
    for n, (path, variants) in enumerate(items):
        lines.append(f"    {dump(path)}: [")
        for m, variant in enumerate(variants):
            lines.append(f"      {dump(variant)}{',' if m < len(variants) - 1 else ''}")
        lines.append(f"    ]{',' if n < len(items) - 1 else ''}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def units_of(data: dict[str, Any]) -> dict[str, str]:
    """Each pattern's unit kind in the newest schema that has it (``bool`` for a boolean,
    ``plain`` for none): units.json, all that parsing and flattening need of the table."""
    units: dict[str, str] = {}
    for pattern, variants in sorted(data["params"].items()):
        last = variants[-1]  # variants are in version order
        units[pattern] = "bool" if last["type"] == "boolean" else last.get("unit", "plain")
    return units


def render_units(data: dict[str, Any]) -> str:
    """units.json: one pattern per line, sorted (diffs stay readable)."""
    items = list(units_of(data).items())
    lines = [
        f"  {json.dumps(k)}: {json.dumps(v)}{',' if i < len(items) - 1 else ''}"
        for i, (k, v) in enumerate(items)
    ]
    return "{\n" + "\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=Path, default=SCHEMA_DIR, help="schema directory")
    parser.add_argument(
        "--output",
        type=Path,
        default=OUTPUT,
        help="where to write params.json (units.json beside it)",
    )
    parser.add_argument("--facts", type=Path, default=FACTS, help="server parser facts (JSON)")
    args = parser.parse_args(argv)
    data = build(args.schemas, args.facts)
    text = render(data)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)", file=sys.stderr)
    units = args.output.with_name("units.json")  # beside it, derived from the same data
    units_text = render_units(data)
    units.write_text(units_text, encoding="utf-8")
    print(f"wrote {units} ({len(units_text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
