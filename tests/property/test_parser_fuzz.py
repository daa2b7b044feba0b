"""Property tests: on any text or bytes the parser returns a tree or raises ConfSyntaxError.

The error is always one line ``SOURCE:LINE:COL: message`` (or ``SOURCE: message``) with a line
inside the input; a tree that parses always flattens, renders, re-parses to the same shape and
validates without an exception.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ascad.checks.validate import validate_tree
from ascad.compare.diff import compare
from ascad.conf.flatten import flatten
from ascad.conf.model import ConfTree, Param, Stanza
from ascad.conf.parser import parse_bytes, parse_text
from ascad.conf.render import render
from ascad.errors import ConfSyntaxError

WHERE = re.compile(r"^f\.conf(?::(\d+):(\d+))?: \S")

# Words that steer random text into the grammar's corners.
WORDS = [
    "service",
    "namespace",
    "storage-engine",
    "memory",
    "device",
    "index-type",
    "flash",
    "shmem",
    "set",
    "logging",
    "file",
    "console",
    "context",
    "any",
    "info",
    "network",
    "heartbeat",
    "mesh-seed-address-port",
    "address",
    "xdr",
    "dc",
    "tls",
    "security",
    "ldap",
    "run-as-daemon",
    "mount",
    "default-ttl",
    "node-id",
    "proto-fd-max",
    "4G",
    "30d",
    "-1",
    "True",
    "{",
    "}",
    "#",
    "[",
    "]",
    ".",
    ":",
    "/a.dat",
]
SEPARATORS = [" ", "  ", "\t", "\n", "\n", "\n", "\r\n", "\x0b", "\x0c"]
ODD = ["\x85", "\u2028", "\xa0", "\ufeff", "\x1b", "é", "\u200b", "\r"]

token_text = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(SEPARATORS), st.sampled_from(ODD)),
    max_size=80,
).map("".join)


def _shape(node: Stanza | Param) -> tuple:
    if isinstance(node, Param):
        return ("P", node.key, node.values)
    return ("S", node.kind, node.name, node.braces, tuple(_shape(c) for c in node.children))


def _check_error(exc: ConfSyntaxError, text_lines: int) -> None:
    message = str(exc)
    assert len(message.splitlines()) == 1, repr(message)
    assert message.isprintable(), repr(message)
    m = WHERE.match(message)
    assert m is not None, message
    if m.group(1) is not None:
        assert 1 <= int(m.group(1)) <= max(text_lines, 1)
        assert int(m.group(2)) >= 1


def _check_tree(tree: ConfTree) -> None:
    flat = flatten(tree)
    assert compare(flat, flat).equal
    again = parse_text(render(tree), "r.conf")
    assert _shape(again.root) == _shape(tree.root)
    for build in ("4.9.0", "6.4.0.1", "8.1.2.2"):
        for problem in validate_tree(tree, build):
            assert len(problem.format("f.conf").splitlines()) == 1


def _run(text: str) -> None:
    try:
        tree = parse_text(text, "f.conf")
    except ConfSyntaxError as exc:
        _check_error(exc, text.count("\n") + 1)
        return
    _check_tree(tree)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token_text)
def test_token_soup_gives_a_tree_or_one_syntax_error(text: str) -> None:
    _run(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_tree_or_one_syntax_error(text: str) -> None:
    _run(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_tree_or_one_syntax_error(data: bytes) -> None:
    try:
        tree = parse_bytes(data, "f.conf")
    except ConfSyntaxError as exc:
        _check_error(exc, data.count(b"\n") + 1)
        return
    _check_tree(tree)


@st.composite
def wellformed(draw: st.DrawFn) -> str:
    """A conf built from real stanza shapes with random keys and values."""
    lines: list[str] = []
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"namespace ns{i} {{")
        for key in draw(st.lists(st.sampled_from(["default-ttl", "x-y", "mount"]), max_size=3)):
            lines.append(f"  {key} {draw(st.sampled_from(['1', '2M', 'True', '/p', '-1']))}")
        engine = draw(st.sampled_from(["memory", "device {", "memory {"]))
        lines.append(f"  storage-engine {engine}")
        if engine.endswith("{"):
            lines.append("    file /a.dat")
            lines.append("  }")
        lines.append("}")
    lines.append("logging {")
    lines.append("  console {")
    for ctx in draw(st.lists(st.sampled_from(["any", "misc", "ANY", "migrate"]), max_size=4)):
        lines.append(f"    context {ctx} {draw(st.sampled_from(['info', 'WARNING']))}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(wellformed())
def test_wellformed_confs_always_parse(text: str) -> None:
    tree = parse_text(text, "f.conf")
    _check_tree(tree)
