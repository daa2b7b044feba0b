"""Write running values back into conf text, keeping every other byte (``ascad fix --write-back``).

An edit changes one parameter: the value tokens on its own line are replaced and everything else
on that line (indentation, the key, the spacing before the value, a trailing ``# comment``, the
line ending) is kept; or, for a parameter the conf does not state, one ``key value`` line is
inserted before the closing ``}`` of its stanza, indented like the stanza's other lines. Every
other line stays byte-identical. Anything ambiguous raises :class:`WriteBackError`: a line that is
not a plain ``key value`` line (a one-line stanza, two statements on a line), a stanza that the
file does not have, a closing brace that shares its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ascad.conf.flatten import join, stanza_segment
from ascad.conf.model import ConfTree, Param, Stanza
from ascad.conf.paths import parent_and_leaf, segment_parts
from ascad.errors import AscadError


class WriteBackError(AscadError):
    """An edit that cannot be made without guessing."""


@dataclass(frozen=True)
class Edit:
    """Set ``path`` to ``value`` (conf text, tokens joined by one space). ``line``: the conf line
    that states it now (1-based), or None to add it to its stanza."""

    path: str
    value: str
    line: int | None


def _stanzas(tree: ConfTree) -> dict[str, Stanza]:
    out: dict[str, Stanza] = {}

    def walk(stanza: Stanza, prefix: str) -> None:
        for child in stanza.stanzas():
            path = join(prefix, stanza_segment(child))
            out.setdefault(path, child)
            walk(child, path)

    walk(tree.root, "")
    return out


def _split_eol(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def replace_value(line: str, key: str, value: str, keep: int = 0) -> str:
    """``line`` (``    key old  # c``) with the value tokens after ``key`` (and after ``keep``
    tokens that name it, as ``context misc``) replaced by ``value``."""
    body, eol = _split_eol(line)
    code, hash_, comment = body.partition("#")
    rx = r"^(\s*)(\S+)((?:\s+\S+){" + str(keep) + r"})(\s+)(.*?)(\s*)$"
    m = re.match(rx, code)
    tokens = code.split()
    braces = any(t in ("{", "}") or t.endswith("{") or t.startswith("}") for t in tokens)
    if m is None or m.group(2) != key or not m.group(5) or braces:
        raise WriteBackError(f"not a plain '{key} value' line: {body.strip()!r}")
    new = m.group(1) + m.group(2) + m.group(3) + m.group(4) + value + m.group(6)
    return new + hash_ + comment + eol


def apply_edits(text: str, tree: ConfTree, edits: Iterable[Edit]) -> str:
    """``text`` (the conf ``tree`` was parsed from) with every edit made, or WriteBackError."""
    lines = text.splitlines(keepends=True)
    stanzas = _stanzas(tree)
    params: dict[int, Param] = {}

    def index(stanza: Stanza) -> None:
        for child in stanza.children:
            if isinstance(child, Param):
                params[child.line] = child
            else:
                index(child)

    index(tree.root)
    inserts: dict[int, list[str]] = {}  # before this 0-based line index
    for edit in edits:
        parent, leaf = parent_and_leaf(edit.path)
        key, name = segment_parts(leaf)
        line = edit.line
        if line is not None and key == "context" and name is not None:
            # a context set by the sink's `context any` line: add its own line after it
            stated = params.get(line)
            if stated is not None and stated.values[:1] != (name,):
                line = None
        if line is not None:
            param = params.get(line)
            if param is None or param.key != key or line > len(lines):
                raise WriteBackError(f"{edit.path}: line {line} does not state it")
            keep = 1 if name is not None and key == "context" else 0
            if name is not None and not keep:
                raise WriteBackError(f"{edit.path}: a list or set element; edit it by hand")
            try:
                lines[line - 1] = replace_value(lines[line - 1], key, edit.value, keep)
            except WriteBackError as exc:
                raise WriteBackError(f"{edit.path}: line {line}: {exc.message}") from None
            continue
        stanza = stanzas.get(parent)
        if stanza is None or not stanza.braces or stanza.end_line is None:
            what = parent or "the top level"
            raise WriteBackError(f"{edit.path}: the conf has no {what} stanza to add it to")
        if name is not None and key != "context":
            raise WriteBackError(f"{edit.path}: a list or set element; edit it by hand")
        close = lines[stanza.end_line - 1]
        if close.strip() != "}":
            raise WriteBackError(
                f"{edit.path}: the closing brace of {parent} (line {stanza.end_line}) shares "
                "its line"
            )
        indent = _child_indent(lines, stanza)
        eol = _split_eol(close)[1] or "\n"
        statement = f"{key} {name} {edit.value}" if key == "context" else f"{key} {edit.value}"
        inserts.setdefault(stanza.end_line - 1, []).append(f"{indent}{statement}{eol}")
    out: list[str] = []
    for i, text_line in enumerate(lines):
        out.extend(inserts.get(i, ()))
        out.append(text_line)
    return "".join(out)


def _child_indent(lines: list[str], stanza: Stanza) -> str:
    """The indentation of the stanza's first child line, else the stanza's own plus 4 spaces."""
    for child in stanza.children:
        line = lines[child.line - 1]
        return line[: len(line) - len(line.lstrip(" \t"))]
    line = lines[stanza.line - 1]
    return line[: len(line) - len(line.lstrip(" \t"))] + "    "


__all__ = ["Edit", "WriteBackError", "apply_edits", "replace_value"]
