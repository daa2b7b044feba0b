#!/usr/bin/env python3
"""Extract per-version conf-parser facts from aerospike-server's ``as/src/base/cfg.c``.

Input: a clone (or bare mirror) of github.com/aerospike/aerospike-server (AGPL-3.0; we read it and
commit only the facts below, never its code). For each schema version in ``tools/schemas`` the
first release tag of that minor version is read (``4.9.0`` -> tag ``4.9.0.3``).
Output: ``tools/server_facts.json``, which tools/gen_params.py folds into params.json:

- ``deprecated``: names whose ``case`` in the parser's switch only calls
  ``cfg_deprecated_name_tok(&line)`` ("line N :: NAME is deprecated - please remove": a warning,
  the server starts) per context pattern; a deprecated stanza (``si``) also begins its context.
- ``value_ignored``: flags whose ``case`` sets the field to ``true`` without reading a value
  (``ns->write_benchmarks_enabled = true;``): a line with no value, or any value, switches them on.
- ``renamed``: names whose ``case`` calls ``cfg_renamed_name_tok(&line, "NEW")`` and falls
  through to NEW's case ("NAME was renamed - please use 'NEW'"): read as NEW, with a warning.
- ``yes_no``: whether ``cfg_bool()`` accepts ``yes``/``no`` as well as ``true``/``false``.

Every fact keeps the tag and line it was read from (``cfg.c:2698@4.9.0.3``).

Run: ``python tools/gen_server_facts.py --repo /path/to/aerospike-server`` (git dir or work tree).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "tools" / "schemas"
OUTPUT = ROOT / "tools" / "server_facts.json"
CFG = "as/src/base/cfg.c"

# The parser's option table -> the context pattern its names live in (ascad paths, docs/paths.md).
CONTEXTS = {
    "GLOBAL_OPTS": "",
    "SERVICE_OPTS": "service",
    "LOGGING_OPTS": "logging",
    "NETWORK_OPTS": "network",
    "NETWORK_SERVICE_OPTS": "network.service",
    "NETWORK_ADMIN_OPTS": "network.admin",
    "NETWORK_HEARTBEAT_OPTS": "network.heartbeat",
    "NETWORK_FABRIC_OPTS": "network.fabric",
    "NETWORK_INFO_OPTS": "network.info",
    "NETWORK_TLS_OPTS": "network.tls[*]",
    "NAMESPACE_OPTS": "namespace[*]",
    "NAMESPACE_INDEX_TYPE_PMEM_OPTS": "namespace[*].index-type",
    "NAMESPACE_INDEX_TYPE_FLASH_OPTS": "namespace[*].index-type",
    "NAMESPACE_SINDEX_TYPE_PMEM_OPTS": "namespace[*].sindex-type",
    "NAMESPACE_SINDEX_TYPE_FLASH_OPTS": "namespace[*].sindex-type",
    "NAMESPACE_STORAGE_MEMORY_OPTS": "namespace[*].storage-engine",
    "NAMESPACE_STORAGE_PMEM_OPTS": "namespace[*].storage-engine",
    "NAMESPACE_STORAGE_DEVICE_OPTS": "namespace[*].storage-engine",
    "NAMESPACE_SET_OPTS": "namespace[*].set[*]",
    "NAMESPACE_SI_OPTS": "namespace[*].si[*]",
    "NAMESPACE_SINDEX_OPTS": "namespace[*].sindex",
    "NAMESPACE_GEO2DSPHERE_WITHIN_OPTS": "namespace[*].geo2dsphere-within",
    "MOD_LUA_OPTS": "mod-lua",
    "SECURITY_OPTS": "security",
    "SECURITY_LDAP_OPTS": "security.ldap",
    "SECURITY_LOG_OPTS": "security.log",
    "SECURITY_SYSLOG_OPTS": "security.syslog",
    "XDR_OPTS": "xdr",
    "XDR_DATACENTER_OPTS": "xdr.datacenter[*]",
    "XDR_DC_OPTS": "xdr.dc[*]",
    "XDR_DC_NAMESPACE_OPTS": "xdr.dc[*].namespace[*]",
}

_TABLE_RE = re.compile(r"^(?:static )?const cfg_opt (\w+)\[\] = \{")
_ENTRY_RE = re.compile(r'\{\s*"([^"]+)",\s*(CASE_\w+)\s*\}')
_SWITCH_RE = re.compile(r"switch \(cfg_find_tok\(line\.name_tok, (\w+),")
_CASE_RE = re.compile(r"^\s*case (CASE_\w+):\s*$")
_SET_TRUE_RE = re.compile(r"^\s*[\w>.-]+ = true;\s*$")
_RENAMED_RE = re.compile(r'^\s*cfg_renamed_name_tok\(&line, "([^"]+)"\);')


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def first_tag(tags: list[str], version: str) -> str | None:
    """The first release tag of a minor version (rc tags only when there is no release)."""
    mine = [t for t in tags if t.startswith(version + ".")]
    final = [t for t in mine if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", t)]
    pool = final or mine
    if not pool:
        return None
    return sorted(pool, key=lambda t: [int(x) for x in re.findall(r"\d+", t)])[0]


def tables(lines: list[str]) -> dict[str, dict[str, str]]:
    """Option table name -> CASE label -> conf name."""
    out: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in lines:
        m = _TABLE_RE.match(line)
        if m:
            current = m.group(1)
            out[current] = {}
            continue
        if current is not None:
            for name, case in _ENTRY_RE.findall(line):
                out[current].setdefault(case, name)
            if line.startswith("};"):
                current = None
    return out


def facts_of(text: str, tag: str) -> dict[str, Any]:
    lines = text.splitlines()
    names = tables(lines)
    deprecated: dict[str, dict[str, str]] = {}
    ignored: dict[str, dict[str, str]] = {}
    renamed: dict[str, dict[str, str]] = {}
    table: str | None = None
    i = 0
    while i < len(lines):
        m = _SWITCH_RE.search(lines[i])
        if m:
            table = m.group(1)
            i += 1
            continue
        if table is None or not _CASE_RE.match(lines[i]):
            i += 1
            continue
        labels = []
        while i < len(lines) and (c := _CASE_RE.match(lines[i])):
            labels.append(c.group(1))
            i += 1
        body_start = i
        body = []
        while i < len(lines) and lines[i].strip() != "break;" and not _CASE_RE.match(lines[i]):
            body.append(lines[i])
            i += 1
        where = f"cfg.c:{body_start + 1}@{tag}"
        context = CONTEXTS.get(table)
        if context is None:
            continue
        statements = [b for b in body if b.strip() and not b.strip().startswith("//")]
        target: dict[str, dict[str, str]] | None = None
        if statements and (r := _RENAMED_RE.match(statements[0])):
            for label in labels:
                name = names.get(table, {}).get(label)
                if name is not None:
                    renamed.setdefault(context, {})[name] = f"{where} {r.group(1)}"
            continue
        if statements and statements[0].strip() == "cfg_deprecated_name_tok(&line);":
            target = deprecated
        elif len(statements) == 1 and _SET_TRUE_RE.match(statements[0]):
            target = ignored
        if target is None:
            continue
        for label in labels:
            name = names.get(table, {}).get(label)
            if name is None:
                continue
            if label.endswith("_BEGIN"):
                name += "{}"  # a stanza: NAME{} (its whole body is skipped)
            target.setdefault(context, {})[name] = where
    yes_no = None
    for n, line in enumerate(lines):
        if line.startswith("cfg_bool(const cfg_line* p_line)"):
            body = "\n".join(lines[n : n + 8])
            yes_no = {"accepted": '"yes"' in body, "where": f"cfg.c:{n + 1}@{tag}"}
            break
    return {
        "tag": tag,
        "deprecated": deprecated,
        "value_ignored": ignored,
        "renamed": renamed,
        "yes_no": yes_no,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="aerospike-server git dir")
    parser.add_argument("--schemas", type=Path, default=SCHEMA_DIR)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    repo = args.repo / ".git" if (args.repo / ".git").is_dir() else args.repo
    tags = git(repo, "tag").split()
    versions = sorted((p.stem for p in args.schemas.glob("*.json")), key=version_key)
    out: dict[str, Any] = {
        "source": "aerospike/aerospike-server as/src/base/cfg.c, first release tag of each "
        "minor version (read by tools/gen_server_facts.py; facts only, no code)",
        "versions": {},
    }
    for version in versions:
        tag = first_tag(tags, version)
        if tag is None:
            print(f"no tag for {version}", file=sys.stderr)
            continue
        out["versions"][version] = facts_of(git(repo, "show", f"{tag}:{CFG}"), tag)
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
