"""aerospike.conf text -> :class:`~ascad.conf.model.ConfTree`.

Follows the server's reader (as/src/base/cfg.c): line by line, everything after ``#`` dropped,
tokens split on whitespace, a stanza opens on its name and ``}`` closes it. Where the server is
lax in ways that hide mistakes (it never checks that ``{`` is there) ascad is stricter and says
exactly where: ``FILE:LINE:COL: message``. Things the server accepts but silently drops (extra value
tokens, over-long lines) are warnings.

Damaged text is refused with the character named, because the server splits words only on
space, tab, CR, LF, FF and VT: a no-break space, a control character or a byte-order mark becomes
part of a word and the server stops on an unknown name. Error messages are therefore always one
printable line. Bytes that are not UTF-8 are refused outside comments only (the server drops
everything after ``#`` unread).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from sys import intern

from ascad.conf import keys
from ascad.conf.decode import SURROGATE_RE, decode_conf
from ascad.conf.model import WILDCARD_RE, ConfTree, Param, Stanza, Warning_, display, is_wild
from ascad.errors import ConfSyntaxError
from ascad.gcpause import gc_paused

# The server reads lines with a 1024-byte buffer (MAX_LINE_SIZE): longer lines are split in two.
SERVER_MAX_LINE = 1023
# The server reads a name and at most 3 value tokens per line.
SERVER_MAX_VALUES = 3

# The deepest real nesting is xdr > dc > namespace (> a sub-stanza): 4. Deeper text is refused
# at the line that goes too deep, so nothing downstream (flatten, render, compare) recurses far.
MAX_DEPTH = 16

_TOKEN_RE = re.compile(r"[^ \t\r\n\f\v]+")
# The whitespace the server splits tokens on (cfg.c); any other character that is not printable
# (control characters, U+00A0 no-break space, U+2028 line separator, zero-width space, …) is part
# of a token for the server, so a conf line holding one is almost surely damaged text.
_SEPARATOR_CHARS = " \t\r\n\f\v"
_SEPARATORS = frozenset(_SEPARATOR_CHARS)
_DROP_SEPARATORS = str.maketrans("", "", " \t\r\n\f\v")
# How many value tokens the server keeps of a key's line (keys.max_values, at most 3), for keys
# that read more than one; the plain-line shortcut's table.
_VALUE_LIMITS = {key: min(n, SERVER_MAX_VALUES) for key, n in keys.MAX_VALUES.items()}
_TYPED = keys.TYPED_STANZAS
_NAMED = keys.NAMED_STANZAS
_PLAIN = keys.PLAIN_STANZAS
# Printable ASCII and the server's separators: text made only of these has no damaged character.
_CLEAN_ASCII = bytes(range(0x20, 0x7F)) + _SEPARATOR_CHARS.encode("ascii")
# The parser's shortcuts for its commonest lines (see _parse_text and _brace_line); off, every
# line goes through the general reader (the tests compare both).
_SHORTCUT = True


def parse_bytes(data: bytes, source: str) -> ConfTree:
    """Parse conf bytes, whatever their source (size and text rules: :mod:`ascad.conf.decode`)."""
    return parse_text(decode_conf(data, source), source)


def parse_text(text: str, source: str = "<text>") -> ConfTree:
    """Parse conf text into a tree; every node keeps its line and column."""
    with gc_paused():  # a node per line, no cycles (ascad.gcpause)
        return _parse_text(text, source)


def _parse_text(text: str, source: str) -> ConfTree:
    root = Stanza(kind="", name=None, line=0)
    tree = ConfTree(root=root, source=source)
    stack: list[Stanza] = [root]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    if len(lines) == 1 and "\r" in lines[0].strip():
        # The server reads up to LF: a file with CR-only line endings is one long line to it.
        raise ConfSyntaxError(
            source, 1, 1, "CR-only line endings (classic Mac): the server reads lines ending in LF"
        )
    # Two per-line checks, first made on the whole text at once: most files have no long line
    # and hold only printable ASCII and separators (then no line can hold a damaged character).
    # (a line of at most 255 characters is at most 1020 bytes: no need to encode it)
    long_lines = max(map(len, lines), default=0) > SERVER_MAX_LINE // 4
    clean = text.isascii() and not text.encode("ascii").translate(None, _CLEAN_ASCII)
    shortcut = _SHORTCUT  # looked up once per file (tests turn it off for the general reader)
    lineno = 0
    for lineno, raw in enumerate(lines, 1):
        if (
            long_lines
            and len(raw) > SERVER_MAX_LINE // 4
            and len(raw.encode("utf-8", "replace")) > SERVER_MAX_LINE
        ):
            tree.warnings.append(
                Warning_(
                    lineno,
                    SERVER_MAX_LINE,
                    "line longer than 1023 bytes: the server reads it as two lines",
                )
            )
        # (`in` first: most lines have no comment, and str.find parses its arguments slowly)
        body = raw[: raw.find("#")] if "#" in raw else raw
        if (
            not clean
            and not body.isprintable()
            and not body.translate(_DROP_SEPARATORS).isprintable()
        ):
            # A template's wildcard marker holds NULs: blank it out (same length, same columns).
            blanked = WILDCARD_RE.sub(lambda m: "w" * len(m.group()), body)
            _refuse_unprintable(blanked, lineno, source)
        # Past the check above, the only whitespace left is the server's separators, so split()
        # finds exactly the server's tokens.
        words = body.split()
        if not words:
            continue
        if shortcut:
            # The commonest line of all, `key value…` inside a stanza, in full: no brace, not a
            # typed stanza's one-liner, no more values than the server reads. It is exactly what
            # _parse_line makes of such a line (a rule added there must narrow this too).
            nwords = len(words)
            if (
                (nwords == 2 or 2 < nwords <= _VALUE_LIMITS.get(words[0], 1) + 1)
                and len(stack) > 1
                and "{" not in body
                and "}" not in body
            ):
                # Interned: a conf repeats the same names and values in every namespace; one
                # string each keeps the tree small and makes flatten's lookups identity checks.
                first = intern(words[0])
                current = stack[-1]
                if first not in _TYPED or current.kind != "namespace":
                    values = (intern(words[1]),) if nwords == 2 else tuple(map(intern, words[1:]))
                    # The column: only separators come before the first token (str.strip's
                    # whitespace here, past the check above); cheaper than body.find.
                    col = len(body) - len(body.lstrip()) + 1
                    current.children.append(Param(first, values, lineno, col))
                    continue
            if nwords == 1 and words[0] == "}" and len(stack) > 1:
                stack.pop().end_line = lineno  # a lone `}`, the commonest brace line
                continue
            if _brace_line(stack, words, body, lineno):
                continue
        tokens = [(m[0], m.start() + 1) for m in _TOKEN_RE.finditer(body)]
        try:
            _parse_line(tree, stack, tokens, lineno, source)
        except ConfSyntaxError as exc:
            if not is_wild(exc.message):
                raise
            # A template's wildcard in the message is shown as {{…}}, never as its NUL marker.
            raise ConfSyntaxError(source, exc.line, exc.col, display(exc.message)) from None
    last_line = lineno
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


def _refuse_unprintable(body: str, lineno: int, source: str) -> None:
    """A character that is neither printable nor a separator: name it and where it is."""
    for i, ch in enumerate(body):
        if ch in _SEPARATORS or ch.isprintable():
            continue
        if SURROGATE_RE.match(ch):
            what = f"not UTF-8 text (byte 0x{ord(ch) - 0xDC00:02x})"
        else:
            name = unicodedata.name(ch, "a control character")
            what = (
                f"character U+{ord(ch):04X} ({name}) is not a space for the server: it becomes "
                "part of a word; retype this line"
            )
        raise ConfSyntaxError(source, lineno, i + 1, what)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest candidate, or ``""``."""
    import difflib  # here: only a misspelt name needs it (idle memory of the agent)

    match = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.7)
    return f"; did you mean '{match[0]}'?" if match else ""


def _stanzas_in(parent_kind: str) -> set[str]:
    """Stanza names (plain, named, typed) that open inside a parent of ``parent_kind``."""
    names = {k for k, homes in keys.PLAIN_STANZAS.items() if parent_kind in homes}
    names |= {k for k, homes in keys.NAMED_STANZAS.items() if parent_kind in homes}
    if parent_kind == "namespace":
        names |= set(keys.TYPED_STANZAS)
    return names


def _describe(stanza: Stanza) -> str:
    return f"{stanza.kind} {stanza.name}" if stanza.name is not None else stanza.kind


def _brace_line(stack: list[Stanza], words: list[str], body: str, lineno: int) -> bool:
    """The commonest lines with a brace, in full, when nothing about them needs a column or a
    message: a lone ``}`` closing a stanza, and a stanza opening on its own line
    (``namespace test {``, ``storage-engine device {``, ``service {``: the one ``{`` last, as many
    words as the stanza takes). False: :func:`_parse_line` reads the line. The result is exactly
    what _parse_line makes of such a line (a rule added there must narrow this too)."""
    first = words[0]
    nwords = len(words)
    if nwords == 1:
        if first != "}" or len(stack) == 1:
            return False
        stack.pop().end_line = lineno
        return True
    if "}" in body or words[-1] != "{" or body.count("{") != 1:
        return False
    current = stack[-1]
    col = body.find(first) + 1  # (only separators come before the first token)
    if first in _TYPED and current.kind == "namespace":
        if nwords != 3:
            return False
        stanza = Stanza(first, words[1], lineno, col)
    elif first in _NAMED:
        if nwords != 3 or len(stack) > MAX_DEPTH:
            return False
        stanza = Stanza(first, words[1], lineno, col)
    else:
        if nwords != 2 or len(stack) > MAX_DEPTH:
            return False
        if len(stack) == 1 and first not in _PLAIN:
            return False
        stanza = Stanza(first, None, lineno, col)
    current.children.append(stanza)
    stack.append(stanza)
    return True


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
            if args and is_wild(first) and len(args) == 1:
                name = args[0][0]  # a template's stanza of unknown kind: `{{ kind }} {{ name }} {`
            elif args:
                tok, tcol = args[0]
                if first in keys.PLAIN_STANZAS:
                    raise ConfSyntaxError(
                        source, lineno, tcol, f"stray token '{tok}': '{first}' takes no name"
                    )
                if len(args) == 1:
                    # `sett s1 {`: most likely a misspelt named stanza, not a stray name.
                    named = {k for k, h in keys.NAMED_STANZAS.items() if parent_kind in h}
                    raise ConfSyntaxError(
                        source,
                        lineno,
                        col,
                        f"unknown stanza '{first}' with a name ('{tok}'); stanzas that take a "
                        f"name are {', '.join(sorted(keys.NAMED_STANZAS))}"
                        f"{did_you_mean(first, named or keys.NAMED_STANZAS)}",
                    )
                raise ConfSyntaxError(source, lineno, tcol, f"stray token '{tok}' before '{{'")
            name = None
        if (
            len(stack) == 1
            and first not in keys.PLAIN_STANZAS
            and first not in keys.NAMED_STANZAS
            and not is_wild(first)  # a template's `{{ name }} {`: a stanza of any kind
        ):
            raise ConfSyntaxError(
                source,
                lineno,
                col,
                f"unknown top-level stanza '{first}'{did_you_mean(first, _stanzas_in(''))}",
            )
        if len(stack) > MAX_DEPTH:
            raise ConfSyntaxError(
                source,
                lineno,
                col,
                f"stanzas nested more than {MAX_DEPTH} deep; an aerospike.conf nests at most 4 "
                "(xdr > dc > namespace > …)",
            )
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
    if not values and first not in keys.BARE_TRUE_KEYS and first not in keys.VALUELESS_FLAGS:
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
