"""Every field conf (74 real files ascad was not built with, tests/fixtures/field-confs):
``ascad diff X X`` exits 0, an equivalent rewrite of each file gives no difference, and
``ascad validate`` at each file's version gives no false error (the remaining ones are listed,
with the reason, in that folder's SOURCES.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.conf.keys import NAMED_STANZAS, TYPED_STANZAS
from ascad.conf.model import ConfTree, Param, Stanza
from ascad.conf.parser import parse_text
from ascad.conf.render import render
from ascad.conf.values import parse_duration, parse_size
from ascad.knowledge.table import schema_version_for, unit_kind, yes_no_where
from ascad.lab.emulator.cluster import load_node
from tests.helpers import FIXTURES, build_of, cli_against_node, node_url

FIELD = FIXTURES / "field-confs"
SOURCES = (FIELD / "SOURCES.md").read_text(encoding="utf-8")


def _targets() -> list[tuple[str, str]]:
    rows = []
    for line in SOURCES.split("## The files")[1].splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 6 and cells[1].endswith(".conf"):
            rows.append((cells[1], cells[5]))
    return rows


def _expected_errors() -> dict[str, set[tuple[int, str]]]:
    out: dict[str, set[tuple[int, str]]] = {}
    section = SOURCES.split("## Errors that remain")[1].split("## The files")[0]
    for line in section.splitlines():
        m = re.match(r"^\| (\S+\.conf) \| (\d+) \| (\w+) \|", line)
        if m:
            out.setdefault(m.group(1), set()).add((int(m.group(2)), m.group(3)))
    return out


TARGETS = _targets()
EXPECTED = _expected_errors()
IDS = [name for name, _ in TARGETS]


def test_every_field_conf_is_listed_with_a_target() -> None:
    assert sorted(IDS) == sorted(p.name for p in FIELD.glob("*.conf"))
    assert len(IDS) == 74
    assert set(EXPECTED) <= set(IDS)


@pytest.mark.parametrize("name", IDS)
def test_diff_of_a_field_conf_with_itself_exits_0(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(FIELD / name)
    assert main(["diff", "--format", "json", path, path]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["equal"] and doc["differences"] == []


@pytest.mark.parametrize(("name", "version"), TARGETS, ids=IDS)
def test_a_field_conf_in_an_emulated_node_of_its_version_has_zero_drift(
    name: str, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pre-5.0 datacenter stanzas are unverifiable (get-dc-config is not read); valueless
    benchmark flags run as true."""
    path = FIELD / name
    node = load_node(str(path), build=build_of(version))
    rc, _ = cli_against_node(
        node, lambda port: ["diff", "--format", "json", str(path), node_url(port)]
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [] and rc == 0
    older = version.startswith("3.")
    assert bool(doc.get("version_warnings")) == older


# --- equivalent rewrites --------------------------------------------------------------------------

_SIZE = "KMGTP"
_TIME = (("d", 86400), ("h", 3600), ("m", 60))


def _unit_spelling(token: str, unit: str, flip: bool) -> str:
    """The same value spelled another way: with a suffix when it divides, digits otherwise."""
    if unit == "size" and (n := parse_size(token)) is not None and n > 0:
        if not token.isdigit():
            return str(n)
        for i in range(len(_SIZE), 0, -1):
            if n % (1 << (10 * i)) == 0:
                return f"{n >> (10 * i)}{_SIZE[i - 1].lower() if flip else _SIZE[i - 1]}"
    if unit == "duration" and (n := parse_duration(token)) is not None and n > 0:
        if not token.isdigit():
            return str(n)
        for suffix, seconds in _TIME:
            if n % seconds == 0:
                return f"{n // seconds}{suffix.upper() if flip else suffix}"
    return token


def _rewrite_values(stanza: Stanza, path: str, yes_no: bool, counter: list[int]) -> None:
    for child in stanza.children:
        if isinstance(child, Stanza):
            if child.kind in TYPED_STANZAS:
                sub = f"{path}.{child.kind}"
            elif child.name is not None and (child.kind in NAMED_STANZAS):
                sub = f"{path}.{child.kind}[{child.name}]"
            else:
                sub = f"{path}.{child.kind}"
            _rewrite_values(child, sub.lstrip("."), yes_no, counter)
            continue
        if len(child.values) != 1:
            continue
        counter[0] += 1
        unit = unit_kind(f"{path}.{child.key}")
        token = child.values[0]
        if unit == "bool" and yes_no and token.lower() in ("true", "false"):
            new = {"true": "yes", "false": "no"}[token.lower()]
            child.values = (new.upper() if counter[0] % 2 else new,)
        elif unit in ("size", "duration"):
            child.values = (_unit_spelling(token, unit, counter[0] % 2 == 0),)


def _reorder(stanza: Stanza) -> None:
    """Lines of one key keep their order (lists, `context any` before its overrides, a repeated
    key's last value); the groups of keys and the stanzas are reversed."""
    groups: dict[tuple[str, str], list[Stanza | Param]] = {}
    for child in stanza.children:
        key = ("p", child.key) if isinstance(child, Param) else ("s", child.kind)
        groups.setdefault(key, []).append(child)
        if isinstance(child, Stanza):
            _reorder(child)
    stanza.children = [c for group in reversed(groups.values()) for c in group]


def rewrite(text: str, version: str) -> str:
    """An equivalent conf: other units, yes/no where the version takes them, reordered, tabs
    and odd indentation, comment lines, trailing comments and trailing blanks."""
    tree: ConfTree = parse_text(text)
    yes_no = yes_no_where(schema_version_for(version)) is not None
    _rewrite_values(tree.root, "", yes_no, [0])
    _reorder(tree.root)
    out: list[str] = ["# rewritten: same settings, other spellings", ""]
    for i, line in enumerate(render(tree).splitlines()):
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 4
        tail = "  # a trailing comment" if i % 4 == 1 and stripped != "}" else "  "
        out.append(("\t" * depth + " " * (i % 3) + stripped + tail) if stripped else "")
        if stripped.endswith("{"):
            out.append("\t" * (depth + 1) + "# a comment line " + "{ }" * (i % 2))
    return "\n".join(out) + "\n"


def test_the_rewrite_really_changes_the_text() -> None:
    text = (
        "service {\n    proto-fd-max 15360\n    enable-health-check true\n}\n"
        "namespace test {\n    default-ttl 30d\n    memory-size 4294967296\n"
        "    storage-engine memory\n}\n"
    )
    out = rewrite(text, "6.4.0.0")
    assert "15K" in out and "2592000" in out and "4g" in out and "yes" in out.lower()
    assert out.index("namespace test") < out.index("service")
    assert "# a trailing comment" in out
    assert "yes" not in rewrite(text, "7.2.0.1").lower().replace("# rewritten", "")


@pytest.mark.parametrize(("name", "version"), TARGETS, ids=IDS)
def test_an_equivalent_rewrite_gives_no_difference(
    name: str, version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIELD / name
    text = path.read_text(encoding="utf-8")
    other = tmp_path / name
    other.write_text(rewrite(text, version), encoding="utf-8")
    rc = main(["diff", "--format", "json", str(path), str(other)])
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [] and rc == 0
    # and the rewrite validates like the original (same errors, by kind)
    kinds = []
    for conf in (path, other):
        main(["validate", "--format", "json", str(conf), "--server-version", version])
        problems = json.loads(capsys.readouterr().out)["problems"]
        kinds.append(sorted(p["kind"] for p in problems if p["severity"] == "error"))
    assert kinds[0] == kinds[1]


# --- validate at each file's version --------------------------------------------------------------


@pytest.mark.parametrize(("name", "version"), TARGETS, ids=IDS)
def test_validate_at_the_files_version_gives_no_false_error(
    name: str, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["validate", "--format", "json", str(FIELD / name), "--server-version", version])
    doc = json.loads(capsys.readouterr().out)
    errors = {(p["line"], p["kind"]) for p in doc["problems"] if p["severity"] == "error"}
    assert errors == EXPECTED.get(name, set()), [
        p["message"] for p in doc["problems"] if p["severity"] == "error"
    ]
    assert rc == (1 if errors else 0)  # warnings alone: the server starts


def test_3x_confs_are_checked_with_warnings_only_and_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(FIELD / "jakm-3.x-aero1.conf")
    assert main(["validate", path, "--server-version", "3.7.0"]) == 0
    out, err = capsys.readouterr()
    assert "older than the oldest schema ascad holds (4.0.0)" in err
    # paxos-recovery-policy: 4.x logs it as deprecated (cfg.c), 3.x reads it
    assert "'paxos-recovery-policy' is deprecated" in out
    assert "ldt-enabled" in out and ": error:" not in out


def test_4_9_deprecated_names_are_warnings_and_5_0_refuses_them(tmp_path: Path) -> None:
    conf = tmp_path / "d.conf"
    conf.write_text("service {\n    paxos-recovery-policy auto-reset-master\n}\n")
    assert main(["validate", str(conf), "--server-version", "4.9.0.3"]) == 0
    assert main(["validate", str(conf), "--server-version", "4.9.0.3", "--strict"]) == 1
    assert main(["validate", str(conf), "--server-version", "5.0.0.3"]) == 1


def test_valueless_benchmarks_flag_up_to_7_1_and_refused_from_7_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "b.conf"
    conf.write_text(
        "namespace test {\n    replication-factor 2\n    enable-benchmarks-write\n"
        "    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    )
    assert main(["validate", str(conf), "--server-version", "7.1.0.0"]) == 0
    capsys.readouterr()
    assert main(["validate", str(conf), "--server-version", "7.2.0.1"]) == 1
    out = capsys.readouterr().out
    assert f"{conf}:3:5: error: 'enable-benchmarks-write' has no value" in out


def test_yes_no_booleans_up_to_7_1_refused_from_7_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "y.conf"
    conf.write_text("service {\n    enable-health-check yes\n}\n")
    assert main(["validate", str(conf), "--server-version", "7.1.0.0"]) == 0
    capsys.readouterr()
    assert main(["validate", str(conf), "--server-version", "7.2.0.1"]) == 1
    assert "yes/no only up to 7.1" in capsys.readouterr().out
