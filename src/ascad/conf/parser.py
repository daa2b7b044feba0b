"""aerospike.conf text -> :class:`~ascad.conf.model.ConfTree`.

Follows the server's reader (as/src/base/cfg.c): line by line, everything after ``#`` dropped,
tokens split on whitespace, a stanza opens on its name and ``}`` closes it. Where the server is
lax in ways that hide mistakes (it never checks that ``{`` is there) ascad is stricter and says
exactly where: ``FILE:LINE:COL: message``. Things the server accepts but silently drops (extra value
tokens, over-long lines) are warnings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ascad.conf import keys
from ascad.conf.model import ConfTree, Param, Stanza, Warning_
from ascad.errors import ConfSyntaxError

# Refuse anything larger: real confs are kilobytes; the largest sample (29 namespaces) is 17 KB.
MAX_CONF_BYTES = 16 * 1024 * 1024
# The server reads lines with a 1024-byte buffer (MAX_LINE_SIZE): longer lines are split in two.
SERVER_MAX_LINE = 1023
# The server reads a name and at most 3 value tokens per line.
SERVER_MAX_VALUES = 3

_TOKEN_RE = re.compile(r"[^ \t\r\n\f\v]+")


def read_conf_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a conf file with the checks every source needs (exists, regular file, size)."""
    p = Path(path)
    name = str(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ConfSyntaxError(name, 0, 0, "no such file") from None
    except OSError as exc:
        raise ConfSyntaxError(name, 0, 0, f"cannot read: {exc.strerror}") from None
    if p.is_dir():
        raise ConfSyntaxError(name, 0, 0, "is a directory, not a conf file")
    if st.st_size > MAX_CONF_BYTES:
        raise ConfSyntaxError(
            name,
            0,
            0,
            f"file is {st.st_size / 1e6:.1f} MB; an aerospike.conf over 16 MiB is refused",
        )
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_CONF_BYTES + 1)
    except OSError as exc:
        raise ConfSyntaxError(name, 0, 0, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONF_BYTES:
        raise ConfSyntaxError(name, 0, 0, "file grew over 16 MiB while being read")
    return data


def decode_conf(data: bytes, source: str) -> str:
    """Bytes -> text, refusing binary and non-UTF-8 input with the line and column of the fault."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise ConfSyntaxError(source, line, col, "binary data (NUL byte); not an aerospike.conf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise ConfSyntaxError(
            source, line, col, f"not UTF-8 text (byte 0x{data[exc.start]:02x})"
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


def parse_file(path: str | os.PathLike[str]) -> ConfTree:
    """Parse a conf file; raises :class:`ConfSyntaxError` naming FILE:LINE:COL."""
    source = str(path)
    return parse_text(decode_conf(read_conf_bytes(path), source), source)


def parse_bytes(data: bytes, source: str) -> ConfTree:
    if len(data) > MAX_CONF_BYTES:
        raise ConfSyntaxError(source, 0, 0, "more than 16 MiB; an aerospike.conf is refused")
    return parse_text(decode_conf(data, source), source)


def parse_text(text: str, source: str = "<text>") -> ConfTree:
    """Parse conf text into a tree; every node keeps its line and column."""
    root = Stanza(kind="", name=None, line=0)
    tree = ConfTree(root=root, source=source)
    stack: list[Stanza] = [root]
    last_line = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    for lineno, raw in enumerate(lines, start=1):
        last_line = lineno
        if len(raw.encode("utf-8", "replace")) > SERVER_MAX_LINE:
            tree.warnings.append(
                Warning_(
                    lineno,
                    SERVER_MAX_LINE,
                    "line longer than 1023 bytes: the server reads it as two lines",
                )
            )
        body = raw.split("#", 1)[0]
        tokens = [(m.group(), m.start() + 1) for m in _TOKEN_RE.finditer(body)]
        if not tokens:
            continue
        _parse_line(tree, stack, tokens, lineno, source)
    if len(stack) > 1:
        open_ = stack[-1]
        raise ConfSyntaxError(
            source,
            last_line,
            1,
            f"missing '}}': '{_describe(open_)}' opened at line {open_.line} is never closed",
        )
    if not root.children:
        raise ConfSyntaxError(
            source, max(last_line, 1), 1, "empty: no stanza found (is this an aerospike.conf?)"
        )
    return tree


def _describe(stanza: Stanza) -> str:
    return f"{stanza.kind} {stanza.name}" if stanza.name is not None else stanza.kind


def _parse_line(
    tree: ConfTree, stack: list[Stanza], tokens: list[tuple[str, int]], lineno: int, source: str
) -> None:
    first, col = tokens[0]
    current = stack[-1]
    words = [t for t, _ in tokens]

    if first == "}":
        if len(stack) == 1:
            raise ConfSyntaxError(source, lineno, col, "unbalanced '}': no stanza is open here")
        if len(tokens) > 1:
            tok, tcol = tokens[1]
            raise ConfSyntaxError(source, lineno, tcol, f"stray token '{tok}' after '}}'")
        closed = stack.pop()
        closed.end_line = lineno
        return

    if first == "{":
        raise ConfSyntaxError(
            source, lineno, col, "stray '{': a stanza opens on the same line as its name"
        )

    for tok, tcol in tokens[1:-1]:
        if tok in ("{", "}"):
            raise ConfSyntaxError(source, lineno, tcol, f"stray '{tok}' in the middle of a line")
    if "{" in first or "}" in first:
        raise ConfSyntaxError(source, lineno, col, f"'{first}': put a space before '{{'")

    opens = words[-1] == "{"
    if words[-1] == "}":
        raise ConfSyntaxError(source, lineno, tokens[-1][1], "'}' must be alone on its own line")
    parent_kind = current.kind
    args = tokens[1:-1] if opens else tokens[1:]

    if first in keys.TYPED_STANZAS and parent_kind == "namespace":
        if not args:
            raise ConfSyntaxError(
                source, lineno, col, f"'{first}' needs a type (e.g. '{first} device')"
            )
        if len(args) > 1:
            tok, tcol = args[1]
            raise ConfSyntaxError(
                source, lineno, tcol, f"stray token '{tok}' after '{first} {args[0][0]}'"
            )
        stype = args[0][0]
        stanza = Stanza(kind=first, name=stype, line=lineno, col=col, braces=opens)
        current.children.append(stanza)
        if opens:
            stack.append(stanza)
        else:
            stanza.end_line = lineno
        return

    if opens:
        if first in keys.NAMED_STANZAS:
            if not args:
                raise ConfSyntaxError(
                    source,
                    lineno,
                    tokens[-1][1],
                    f"'{first}' needs a name (e.g. '{first} NAME {{')",
                )
            if len(args) > 1:
                tok, tcol = args[1]
                raise ConfSyntaxError(
                    source, lineno, tcol, f"stray token '{tok}': a {first} has one name"
                )
            name = args[0][0]
        else:
            if args:
                tok, tcol = args[0]
                if first in keys.PLAIN_STANZAS:
                    raise ConfSyntaxError(
                        source, lineno, tcol, f"stray token '{tok}': '{first}' takes no name"
                    )
                raise ConfSyntaxError(source, lineno, tcol, f"stray token '{tok}' before '{{'")
            name = None
        if len(stack) == 1 and first not in keys.PLAIN_STANZAS and first not in keys.NAMED_STANZAS:
            raise ConfSyntaxError(source, lineno, col, f"unknown top-level stanza '{first}'")
        stanza = Stanza(kind=first, name=name, line=lineno, col=col)
        current.children.append(stanza)
        stack.append(stanza)
        return

    # A parameter line.
    if len(stack) == 1:
        if first in keys.PLAIN_STANZAS or first in keys.NAMED_STANZAS:
            raise ConfSyntaxError(source, lineno, col, f"'{first}' must open a stanza: add ' {{'")
        raise ConfSyntaxError(source, lineno, col, f"'{first}' is outside any stanza")
    values = tuple(t for t, _ in args)
    if not values and first not in keys.BARE_TRUE_KEYS:
        if first in keys.PLAIN_STANZAS or first in keys.NAMED_STANZAS:
            raise ConfSyntaxError(source, lineno, col, f"'{first}' must open a stanza: add ' {{'")
        raise ConfSyntaxError(source, lineno, col, f"'{first}' has no value")
    if first in keys.BARE_TRUE_KEYS and not values:
        values = ("true",)
    limit = min(keys.max_values(first), SERVER_MAX_VALUES)
    if len(args) > limit:
        tok, tcol = args[limit]
        dropped = " ".join(words[1 + limit : len(words)])
        tree.warnings.append(
            Warning_(
                lineno,
                tcol,
                f"extra value ignored by the server: '{first}' reads {limit}, '{dropped}' is dropped",
            )
        )
        values = values[:limit]
    current.children.append(Param(key=first, values=values, line=lineno, col=col))
