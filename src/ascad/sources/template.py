"""Templates of aerospike.conf (Jinja: Ansible, Salt; ERB: Puppet, Chef; shell and sed): every way
one can come out (wildcard mode), or rendered for real with the user's variables.

A golden aerospike.conf is often a template that Salt or Ansible renders per node
(``{{ grains['id'] }}``, ``{% if %}``), that Puppet or Chef renders (``<%= @port %>``), that a
container entrypoint fills with shell variables (``${SERVICE_PORT}``, ``$( … )``), or that a
script fills with ``sed`` (a lone ``MEMORY_PER_NS`` line, a ``# mesh-seed-placeholder`` comment).

**Wildcard mode** (no values): :class:`TemplateVariants` reads the template into a tree of text,
placeholders, conditionals (``{% if %}``/ERB ``if``/``unless``/``case``) and loops
(``{% for %}``/ERB ``… do |x|``). A :class:`Candidate` is one way it comes out: a branch per
conditional (or none, without an ``else``), each loop once or not at all, and a top-level loop
that opens ``namespace {{ ns.name }} {`` once per namespace of the node; it is parsed with the
template's own line numbers. ``ascad.checks.template_match`` picks the candidate that fits a
node. Within a candidate, the text is made line for line:

- ``{{ … }}`` (ERB ``<%= … %>``) becomes the wildcard :data:`ascad.conf.model.WILDCARD`, one
  token, equal to any value; inside a loop body :data:`~ascad.conf.model.WILDCARD_MANY`, so a
  path holding it (``namespace {{ ns }}``, a seed, ``device {{ d }}``) pairs with *every*
  matching path of the node. A token only partly templated (``{{ ip }}:3000``) is one wildcard.
- ``${VAR}``, ``$VAR`` and ``$( … )`` (shell) are wildcards the same way; ``${un}`` and ``${dn}``
  are kept (the server's own LDAP tokens).
- A line of placeholders only (``{{ extra_lines }}``, a macro call, ``<%= k %> <%= v %>``,
  ``${security_stanza}``), an ``{% include %}`` and a ``# …placeholder`` comment stand for
  unknown lines: they become blank and their stanza takes any lines (``Candidate.open_prefixes``).
  A lone upper-case word (``MEMORY_PER_NS``) is a ``sed`` placeholder and becomes blank.
- Comments and statements become blank, their newlines kept; bodies that output nothing
  (``{% macro %}``, block ``{% set %}``, Salt's ``{% load_yaml %}``…) are blanked; ``{% raw %}`` is
  text. Whitespace control is ignored (it would move lines). After ``#`` (a conf comment) the
  parser drops everything.

:func:`wildcard_template` gives the first way (first branches, loops once), line for line.

**Rendering** (:func:`render_template_lines`): Jinja2 in a sandbox with ``StrictUndefined``,
imports through a loader (``ascad.sources.template_loader``), a ``salt`` object answering from the
variables, Ansible's ``#jinja2:`` header; shell templates by substitution; ERB refused. Each
rendered line keeps the template line it came from. :func:`parse_vars` turns ``grains.id=node1``
into nested dicts, and :func:`load_vars_file` reads a TOML, JSON or YAML file of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ascad.conf.flatten import flatten, join, stanza_segment
from ascad.conf.keys import NAMED_STANZAS, ORDERED_KEYS
from ascad.conf.model import (
    WILDCARD,
    WILDCARD_MANY,
    WILDCARD_RE,
    ConfTree,
    FlatConfig,
    Setting,
    Stanza,
    is_wild,
)
from ascad.conf.parser import parse_text
from ascad.errors import AscadError, ConfSyntaxError
from ascad.sources.template_detect import (
    CAPS_LINE_RE,
    ERB_RE,
    JINJA_RE,
    PLACEHOLDER_COMMENT_RE,
    SERVER_TOKENS,
    shell_wildcards,
)

_WILD_TOKEN_RE = re.compile(r"\S*\x00wildcards?\x00\S*")
_TOKEN_RE = re.compile(r"\S+")
_OPEN_RE = re.compile(r"\{[{%#]")
_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}

# Block statements whose body is output (kept) and whose body is not (blanked).
_KEEP_BLOCKS = {
    "for": "endfor",
    "block": "endblock",
    "with": "endwith",
    "filter": "endfilter",
    "call": "endcall",
    "autoescape": "endautoescape",
    "trans": "endtrans",
}
_BLANK_BLOCKS = {
    "macro": "endmacro",
    "load_yaml": "endload",
    "load_json": "endload",
    "load_text": "endload",
}


@dataclass
class TemplateNote:
    """Something the wildcarding did that a verbose report may show (``line`` is 1-based)."""

    line: int
    message: str


@dataclass
class Wildcarded:
    """The result of :func:`wildcard_template_notes`: the conf text and what was done to get it."""

    text: str
    wildcards: int = 0
    notes: list[TemplateNote] = field(default_factory=list)


def wildcard_template(text: str, source: str = "<template>") -> str:
    """Template -> conf text with wildcards, same line count (see the module doc for the rules)."""
    return wildcard_template_notes(text, source).text


# --- Jinja lexing ---------------------------------------------------------------------------


@dataclass
class _Seg:
    kind: str  # "text", "{{", "{%", "{#"
    body: str  # the text, or the tag's inside without its delimiters
    line: int  # line where it starts
    newlines: int


def _find_close(text: str, start: int, close: str) -> int:
    """Index of ``close`` after ``start``, skipping quoted strings (``{{ "}}" }}``)."""
    i, n = start, len(text)
    quote = ""
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'" and close != "#}":
            quote = c
        elif text.startswith(close, i):
            return i
        i += 1
    # An unbalanced quote inside a tag: fall back to the first closer, as Jinja would report it.
    return text.find(close, start)


def _lex(text: str, source: str) -> list[_Seg]:
    segs: list[_Seg] = []
    pos, line, n = 0, 1, len(text)
    raw_until: str | None = None
    while pos < n:
        found = _OPEN_RE.search(text, pos)
        nxt = found.start() if found else n
        if nxt > pos:
            chunk = text[pos:nxt]
            segs.append(_Seg("text", chunk, line, chunk.count("\n")))
            line += chunk.count("\n")
            pos = nxt
            continue
        opener = text[pos : pos + 2]
        end = _find_close(text, pos + 2, _CLOSE[opener])
        if end < 0:
            raise AscadError(
                f"'{opener}' is never closed with '{_CLOSE[opener]}'", f"{source}:{line}"
            )
        body = text[pos + 2 : end]
        whole = text[pos : end + 2]
        if raw_until is not None:
            kind = "{%" if opener == "{%" and _stmt_word(body) == "endraw" else "text"
            if kind == "text":
                segs.append(_Seg("text", whole, line, whole.count("\n")))
            else:
                segs.append(_Seg("{%", body, line, whole.count("\n")))
                raw_until = None
        else:
            segs.append(_Seg(opener, body, line, whole.count("\n")))
            if opener == "{%" and _stmt_word(body) == "raw":
                raw_until = "endraw"
        line += whole.count("\n")
        pos = end + 2
    if raw_until is not None:
        raise AscadError("'{% raw %}' is never closed with '{% endraw %}'", f"{source}:{line}")
    return segs


def _stmt_word(body: str) -> str:
    words = body.strip().strip("-+").split(None, 1)
    return words[0] if words else ""


_RUBY_WORDS = (
    (re.compile(r"^(if|unless|case)\b"), "if"),
    (re.compile(r"^(elsif|when)\b"), "elif"),
    (re.compile(r"^else\b"), "else"),
    (re.compile(r"^end\b"), "end"),
    (re.compile(r"^(for|while|until)\b|\bdo\s*(\|[^|]*\|)?\s*$"), "for"),
)


def is_erb(text: str) -> bool:
    """True for an ERB template (Puppet, Chef): ``<% … %>`` tags and no Jinja tags."""
    return bool(ERB_RE.search(text)) and not JINJA_RE.search(text)


def _lex_any(text: str, source: str) -> list[_Seg]:
    return _lex_erb(text, source) if is_erb(text) else _lex(text, source)


def _lex_erb(text: str, source: str) -> list[_Seg]:
    """ERB -> the same segments as Jinja: ``<%= %>`` a placeholder, ``<% %>`` Ruby statements
    (``if``/``unless``/``case``, ``elsif``/``when``, ``else``, ``end``, ``… do |x|``, ``for``)."""
    segs: list[_Seg] = []
    pos, line = 0, 1
    while True:
        start = text.find("<%", pos)
        if start < 0:
            if pos < len(text):
                segs.append(_Seg("text", text[pos:], line, text.count("\n", pos)))
            return segs
        if text.startswith("<%%", start):  # a literal '<%'
            chunk = text[pos : start + 2]
            segs.append(_Seg("text", chunk, line, chunk.count("\n")))
            line += chunk.count("\n")
            pos = start + 3
            continue
        if start > pos:
            chunk = text[pos:start]
            segs.append(_Seg("text", chunk, line, chunk.count("\n")))
            line += chunk.count("\n")
        end = text.find("%>", start + 2)
        if end < 0:
            raise AscadError("'<%' is never closed with '%>'", f"{source}:{line}")
        whole = text[start : end + 2]
        body = text[start + 2 : end].strip("-")
        nl = whole.count("\n")
        if body.startswith("="):
            segs.append(_Seg("{{", body[1:], line, nl))
        elif body.startswith("#"):
            segs.append(_Seg("{#", body[1:], line, nl))
        else:
            words = []
            for stmt in re.split(r"[\n;]", body):
                stmt = stmt.strip()
                for rx, word in _RUBY_WORDS:
                    if rx.search(stmt):
                        words.append(word)
                        break
            if not words:
                segs.append(_Seg("{%", "do", line, nl))
            for i, word in enumerate(words):
                segs.append(_Seg("{%", word, line, nl if i == 0 else 0))
        line += nl
        pos = end + 2


# --- the template as a tree of choices ------------------------------------------------------


@dataclass
class _Text:
    text: str
    line: int


@dataclass
class _Expr:  # ``{{ … }}`` or ERB ``<%= … %>``: one wildcard
    line: int
    newlines: int


@dataclass
class _Gap:  # a statement, a comment, a blanked body: only its newlines
    line: int
    newlines: int
    unknown: bool = False  # an `{% include %}`: stands for lines not known here


@dataclass
class _Cond:  # ``{% if %}`` … ``{% elif %}`` … ``{% else %}`` … ``{% endif %}`` (ERB if/unless)
    id: int
    line: int
    branches: list[list[_Item]]
    lines: list[int]  # the line of each branch's tag
    has_else: bool = False

    @property
    def options(self) -> int:
        """One per branch, and one more (nothing output) when there is no ``else``."""
        return len(self.branches) + (0 if self.has_else else 1)


@dataclass
class _Loop:  # ``{% for %}`` … (``{% else %}`` …) ``{% endfor %}``; ERB ``.each do`` … ``end``
    id: int
    line: int
    body: list[_Item]
    orelse: list[_Item] | None = None
    else_line: int = 0


@dataclass
class _Include:  # an `{% include 'x' %}` followed: its items, reported at the include's line
    line: int
    items: list[_Item]


_Item = _Text | _Expr | _Gap | _Cond | _Loop | _Include


def _newlines(items: list[_Item]) -> int:
    n = 0
    for it in items:
        if isinstance(it, _Text):
            n += it.text.count("\n")
        elif isinstance(it, (_Expr, _Gap)):
            n += it.newlines
        elif isinstance(it, _Cond):
            n += sum(_newlines(b) for b in it.branches)
        elif isinstance(it, _Loop):
            n += _newlines(it.body) + (_newlines(it.orelse) if it.orelse is not None else 0)
        # an _Include's lines are extra lines: no template line of their own
    return n


def _first_line(items: list[_Item], default: int) -> int:
    return items[0].line if items else default


@dataclass
class _Open:
    word: str
    end: str  # the closing word ("" for ERB's generic `end`)
    line: int
    parent: list[_Item]
    node: _Cond | _Loop | None = None
    blank: list[_Item] | None = None  # a body that outputs nothing (macro, block set)


Reader = Callable[[str], "str | None"]
MAX_INCLUDE_DEPTH = 10
_INCLUDE_NAME_RE = re.compile(r"""^\s*include\s+(['"])([^'"]+)\1""")


def _build(
    segs: list[_Seg],
    source: str,
    result: Wildcarded,
    reader: Reader | None = None,
    ids: list[int] | None = None,
    depth: int = 0,
) -> list[_Item]:
    """Segments -> a tree of text, wildcards, conditionals and loops (errors name the line).
    ``reader`` reads an ``{% include 'NAME' %}`` so its lines are followed."""
    root: list[_Item] = []
    cur = root
    stack: list[_Open] = []
    ids = ids if ids is not None else [0]
    for seg in segs:
        if seg.kind == "text":
            cur.append(_Text(seg.body, seg.line))
            continue
        if seg.kind == "{{":
            cur.append(_Expr(seg.line, seg.newlines))
            continue
        gap = _Gap(seg.line, seg.newlines)
        if seg.kind == "{#":
            cur.append(gap)
            continue
        word = _stmt_word(seg.body)
        where = f"{source}:{seg.line}"
        if word in ("raw", "endraw"):
            cur.append(gap)
            continue
        if word in ("if", "unless"):
            cur.append(gap)
            ids[0] += 1
            cond = _Cond(ids[0], seg.line, [[]], [seg.line])
            cur.append(cond)
            stack.append(_Open("if", "endif", seg.line, cur, cond))
            cur = cond.branches[0]
        elif word in ("elif", "else"):
            top = stack[-1] if stack else None
            if top is None or top.word not in ("if", "for"):
                raise AscadError(f"'{{% {word} %}}' outside '{{% if %}}'", where)
            if isinstance(top.node, _Loop):
                if word == "elif":
                    raise AscadError("'{% elif %}' inside '{% for %}'", where)
                cur.append(gap)
                top.node.orelse = []
                top.node.else_line = seg.line
                cur = top.node.orelse
            elif isinstance(top.node, _Cond):
                cur.append(gap)
                top.node.branches.append([])
                top.node.lines.append(seg.line)
                top.node.has_else = top.node.has_else or word == "else"
                cur = top.node.branches[-1]
        elif word == "for":
            cur.append(gap)
            ids[0] += 1
            loop = _Loop(ids[0], seg.line, [])
            cur.append(loop)
            stack.append(_Open("for", "endfor", seg.line, cur, loop))
            cur = loop.body
        elif word in _KEEP_BLOCKS:
            cur.append(gap)
            stack.append(_Open(word, _KEEP_BLOCKS[word], seg.line, cur))
        elif word in _BLANK_BLOCKS or (word == "set" and "=" not in seg.body):
            thrown: list[_Item] = [gap]
            stack.append(
                _Open(word, _BLANK_BLOCKS.get(word, "endset"), seg.line, cur, blank=thrown)
            )
            cur = thrown
        elif word == "end" or (word.startswith("end") and word[3:] in _ALL_BLOCK_WORDS):
            if not stack:
                raise AscadError(f"'{{% {word} %}}' closes nothing", where)
            top = stack[-1]
            if word != "end" and top.end != word:
                raise AscadError(
                    f"'{{% {word} %}}' does not close '{{% {top.word} %}}' from line {top.line}",
                    where,
                )
            stack.pop()
            if top.blank is not None:
                top.blank.append(gap)
                top.parent.append(_Gap(top.line, _newlines(top.blank)))
            else:
                cur.append(gap)
            cur = top.parent
        else:
            included = _follow(seg, word, reader, ids, depth, result) if reader else None
            gap.unknown = word == "include" and included is None
            cur.append(gap)
            if included is not None:
                cur.append(included)
            elif word == "include":
                result.notes.append(
                    TemplateNote(
                        seg.line,
                        "'{% include %}': included lines are not compared (its stanza takes "
                        "any lines)",
                    )
                )
            # Any other statement (set x = …, import, from, do, extends, break) outputs nothing.
    if stack:
        top = stack[-1]
        raise AscadError(
            f"'{{% {top.word} %}}' opened here is never closed with '{{% {top.end or 'end'} %}}'",
            f"{source}:{top.line}",
        )
    return root


def _follow(
    seg: _Seg, word: str, reader: Reader, ids: list[int], depth: int, result: Wildcarded
) -> _Include | None:
    """An ``{% include 'NAME' %}`` read and wildcarded in place (its lines are reported at the
    include's line), or None when it cannot be (a name from a variable, not found, broken)."""
    if word != "include" or depth >= MAX_INCLUDE_DEPTH:
        return None
    m = _INCLUDE_NAME_RE.match(seg.body.strip().strip("-+").strip())
    if m is None:
        return None
    text = reader(m.group(2))
    if text is None:
        return None
    try:
        items = _build(
            _lex_any(text, m.group(2)), m.group(2), Wildcarded(""), reader, ids, depth + 1
        )
    except AscadError:
        return None
    result.notes.append(
        TemplateNote(
            seg.line, f"'{{% include %}}' of '{m.group(2)}' followed (its lines are reported here)"
        )
    )
    return _Include(seg.line, items)


_ALL_BLOCK_WORDS = frozenset({"if", "for", "raw", "set", *_KEEP_BLOCKS, *_BLANK_BLOCKS, "load"})

Choice = dict[tuple[int, tuple[int, ...]], int]


@dataclass
class _Gen:
    """Writes one candidate's text: ``out`` lines and, for each, the template line it comes from."""

    choice: Choice
    instances: dict[int, list[str]]
    out: list[str] = field(default_factory=lambda: [""])
    line_map: list[int] = field(default_factory=lambda: [1])
    # (key, options) of every conditional and loop this candidate reached, in template order
    points: list[tuple[tuple[int, tuple[int, ...]], int, int, str]] = field(default_factory=list)
    renames: list[tuple[int, int, str]] = field(default_factory=list)  # out lines [a, b) -> name
    loop_bodies: dict[int, tuple[int, int]] = field(default_factory=dict)  # loop id -> out lines
    unknown: list[int] = field(default_factory=list)  # out lines (1-based) of an include

    fixed: int | None = None  # inside a followed include: every line is the include's

    def emit(self, text: str, line: int) -> None:
        parts = text.split("\n")
        self.out[-1] += parts[0]
        for k, part in enumerate(parts[1:], start=1):
            self.out.append(part)
            self.line_map.append(self.fixed if self.fixed is not None else line + k)

    def gap(self, items: list[_Item], line: int) -> None:
        n = _newlines(items)
        if n:
            self.emit("\n" * n, _first_line(items, line))

    def items(self, items: list[_Item], many: bool, copy: tuple[int, ...]) -> None:
        for it in items:
            if isinstance(it, _Text):
                self.emit(it.text, it.line)
            elif isinstance(it, _Expr):
                self.emit((WILDCARD_MANY if many else WILDCARD) + "\n" * it.newlines, it.line)
            elif isinstance(it, _Gap):
                if it.unknown:
                    self.unknown.append(len(self.out))
                if it.newlines:
                    self.emit("\n" * it.newlines, it.line)
            elif isinstance(it, _Include):
                outer = self.fixed
                self.fixed = it.line if outer is None else outer
                self.emit("\n", it.line)  # the included text starts on a line of its own
                self.items(it.items, many, copy)
                self.emit("\n", it.line)
                self.fixed = outer
            elif isinstance(it, _Cond):
                key = (it.id, copy)
                self.points.append((key, it.options, it.line, "if-else" if it.has_else else "if"))
                pick = self.choice.get(key, 0)
                for i, branch in enumerate(it.branches):
                    if i == pick:
                        self.items(branch, many, copy)
                    else:
                        self.gap(branch, it.lines[i])
            else:
                self.loop(it, many, copy)

    def loop(self, it: _Loop, many: bool, copy: tuple[int, ...]) -> None:
        names = self.instances.get(it.id)
        if names is not None:  # one copy of the body per stanza of the node
            for k, name in enumerate(names):
                start = len(self.out) - 1
                self.items(it.body, False, (*copy, k))
                self.renames.append((start, len(self.out), name))
            if not names and it.orelse is not None:
                self.items(it.orelse, many, copy)
            return
        key = (it.id, copy)
        self.points.append((key, 2, it.line, "for"))
        start = len(self.out) - 1
        if self.choice.get(key, 0) == 0:
            self.items(it.body, True, copy)
            self.loop_bodies[it.id] = (start, len(self.out))
            if it.orelse is not None:
                self.gap(it.orelse, it.line)
        else:
            self.gap(it.body, it.line)
            if it.orelse is not None:
                self.items(it.orelse, many, copy)


@dataclass
class _Finished:
    text: str
    line_map: list[int]
    open_lines: list[int]  # out lines (1-based) that stood for unknown lines
    gen: _Gen


def _generate(
    items: list[_Item], choice: Choice, instances: dict[int, list[str]], result: Wildcarded
) -> _Finished:
    gen = _Gen(choice, instances)
    gen.items(items, False, ())
    open_lines: list[int] = []
    lines: list[str] = []
    for i, raw in enumerate(gen.out):
        tline = gen.line_map[i]
        done = _finish_line(raw, tline, result)
        if (done == "" and raw.split("#", 1)[0].strip()) or PLACEHOLDER_COMMENT_RE.match(raw):
            open_lines.append(i + 1)
        lines.append(done)
    open_lines.extend(gen.unknown)
    for start, end, name in gen.renames:
        for i in range(start, min(end, len(lines))):
            tokens = _TOKEN_RE.findall(lines[i].split("#", 1)[0])
            if len(tokens) == 3 and tokens[2] == "{" and is_wild(tokens[1]):
                lines[i] = lines[i].replace(tokens[1], name, 1)
                break
    return _Finished("\n".join(lines), gen.line_map, open_lines, gen)


def wildcard_template_notes(text: str, source: str = "<template>") -> Wildcarded:
    """Like :func:`wildcard_template`, also counting wildcards and noting blanked lines."""
    result = Wildcarded("")
    items = _build(_lex_any(text, source), source, result)
    result.text = _generate(items, {}, {}, result).text
    _note_default_branches(items, result)
    result.notes.sort(key=lambda n: n.line)
    return result


def _note_default_branches(items: list[_Item], result: Wildcarded) -> None:
    """Notes for the default candidate: the branches after the first are blanked."""
    for it in items:
        if isinstance(it, _Cond):
            for i, line in enumerate(it.lines[1:], start=1):
                word = "else" if (it.has_else and i == len(it.lines) - 1) else "elif"
                result.notes.append(
                    TemplateNote(line, f"'{{% {word} %}}' branch blanked (first branch kept)")
                )
            if it.branches:
                _note_default_branches(it.branches[0], result)
        elif isinstance(it, _Loop):
            _note_default_branches(it.body, result)
            if it.orelse is not None:
                result.notes.append(
                    TemplateNote(it.else_line, "'{% else %}' branch blanked (loop body kept)")
                )


def _partial_stanza_name(tokens: list[str]) -> str | None:
    """The name of a stanza opener (``KIND NAME {``) that is only partly templated, else None.

    A value cannot be half-known, so a partly templated *value* token becomes one wildcard. A
    stanza *name* is different: it is matched as a path (``namespace[{{…}}-local]`` pairs with
    ``namespace[A1-local]`` and not with ``namespace[test]``), so its literal part is kept and keeps
    two templated stanzas (``namespace {{ ns }}`` and ``namespace {{ id }}-local``) apart.
    """
    if (
        len(tokens) == 3
        and tokens[2] == "{"
        and is_wild(tokens[1])
        and not WILDCARD_RE.fullmatch(tokens[1])
    ):
        return tokens[1]
    return None


def _one_marker(m: re.Match[str]) -> str:
    """A token that holds a wildcard becomes one marker (a loop body's if any part is)."""
    return WILDCARD_MANY if WILDCARD_MANY in m.group() else WILDCARD


def _finish_line(line: str, lineno: int, result: Wildcarded) -> str:
    if "$" in line:
        line = shell_wildcards(line)
    code, hash_, comment = line.partition("#")
    tokens = _TOKEN_RE.findall(code)
    if not tokens:
        return "" if not hash_ else line
    if is_wild(code):
        name = _partial_stanza_name(tokens)
        code = _WILD_TOKEN_RE.sub(_one_marker, code)
        if name is not None:  # keep the literal part of a stanza's name: 'namespace W-local {'
            code = re.sub(r" \x00wildcards?\x00 ", lambda _m: f" {name} ", code, count=1)
        tokens = _TOKEN_RE.findall(code)
        if all(WILDCARD_RE.fullmatch(t) for t in tokens):
            result.notes.append(TemplateNote(lineno, "a line of placeholders only: blanked"))
            return ""
        result.wildcards += sum(1 for t in tokens if is_wild(t))
        return code + hash_ + comment
    if len(tokens) == 1 and CAPS_LINE_RE.match(tokens[0]):
        result.notes.append(TemplateNote(lineno, f"placeholder line '{tokens[0]}': blanked"))
        return ""
    return line


# --- rendering -----------------------------------------------------------------------------


_MARK_RE = re.compile("\x01(\\d+)\x02")
_HEADER_RE = re.compile(r"^#jinja2:(.*)$", re.M)


@dataclass
class Rendered:
    """A template rendered with variables: the text and, per line, the template line it came from."""

    text: str
    line_map: list[int]


def _ansible_header(text: str) -> tuple[str, dict[str, bool]]:
    """Ansible's ``#jinja2: lstrip_blocks: True`` first line: its options on Ansible's defaults
    (``trim_blocks`` on), the line itself left out (as Ansible does), its line kept blank."""
    m = _HEADER_RE.match(text)
    if m is None:
        return text, {}
    options = {"trim_blocks": True}
    for item in m.group(1).split(","):
        key, _, value = item.partition(":")
        key = key.strip()
        if key in ("trim_blocks", "lstrip_blocks", "keep_trailing_newline"):
            options[key] = value.strip().lower() == "true"
    return text[m.end() :], options


def _mark_lines(data: str, lineno: int) -> str:
    """Put the template line before each newline of a text node (markers survive whitespace
    control, which Jinja has already applied to the node)."""
    if "\n" not in data:
        return data
    parts = data.split("\n")
    return "".join(f"{p}\x01{lineno + i}\x02\n" for i, p in enumerate(parts[:-1])) + parts[-1]


def _unmark(out: str) -> Rendered:
    lines = out.split("\n")
    found: list[int | None] = []
    clean: list[str] = []
    for line in lines:
        marks = _MARK_RE.findall(line)
        found.append(int(marks[-1]) if marks else None)
        clean.append(_MARK_RE.sub("", line) if marks else line)
    line_map: list[int] = []
    following = 0
    for value in reversed(found):  # a line without a marker: the next marked line's
        if value is not None:
            following = value
        line_map.append(following)
    line_map.reverse()
    last = 0
    for i, value in enumerate(line_map):  # the end of the text: the last marked line's
        if value == 0:
            line_map[i] = last
        last = line_map[i]
    return Rendered("\n".join(clean), [max(v, 1) for v in line_map])


def render_template(text: str, variables: dict[str, object], source: str = "<template>") -> str:
    """Render with Jinja2 (sandboxed, ``StrictUndefined``); errors name ``source:line``."""
    return render_template_lines(text, variables, source).text


def render_template_lines(
    text: str,
    variables: dict[str, object],
    source: str = "<template>",
    loader: object | None = None,
) -> Rendered:
    """Render a Jinja, shell or (refused) ERB template with the user's variables.

    Jinja2 in a sandbox with ``StrictUndefined``, ``loader`` (a ``jinja2.BaseLoader``) for
    ``{% import %}``/``{% include %}``/``{% from %}``, and a ``salt`` object answering
    ``salt['pillar.get']``/``grains.get``/``config.get``/``grains.filter_by`` from the variables.
    Each output line keeps the template line it came from (``Rendered.line_map``)."""
    if is_erb(text):
        raise AscadError(
            "an ERB template (Puppet, Chef) cannot be rendered here (it is Ruby): compare it "
            "without --var/--vars-file (wildcard mode)",
            source,
        )
    if not JINJA_RE.search(text):
        return _render_shell(text, variables, source)
    import jinja2  # here: wildcarding a template (the common case) needs no Jinja2
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

    body, options = _ansible_header(text)
    first_line = 1  # the header's line stays (empty): body lines are the template's
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", salt_tags()],
        loader=loader if loader is not None else _NoLoader(),
        **options,
    )
    env.filters.setdefault("bool", _to_bool)
    for kind in ("yaml", "json", "text"):
        env.filters[f"load_{kind}"] = lambda text, kind=kind: _load_data(kind, str(text))
    env.filters.setdefault("json", lambda value: json.dumps(value))
    lines = text.split("\n")
    try:
        ast = env.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        raise AscadError(f"template syntax error: {exc.message}", f"{source}:{line}") from None
    for node in ast.find_all(nodes.TemplateData):
        node.data = _mark_lines(node.data, node.lineno + first_line - 1)
    context = dict(variables)
    context.setdefault("salt", SaltFunctions(variables))
    for name in ("pillar", "grains"):
        found = context.get(name)
        if isinstance(found, dict):
            context[name] = _Traversing(found)
    try:
        template = env.from_string(ast)
        out = template.render(context)
    except jinja2.TemplateNotFound as exc:
        line = _template_line(exc)
        raise AscadError(
            f"template not found: '{exc.name}' (looked for it "
            f"{'next to the template and at its repository top' if loader else 'nowhere: this source has no directory'})",
            f"{source}:{line}" if line else source,
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or source}:{exc.lineno}"
        raise AscadError(f"template syntax error: {exc.message}", where) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc) + first_line - 1
        shown = f" in '{lines[line - 1].strip()}'" if 0 < line <= len(lines) else ""
        raise AscadError(
            f"undefined variable{shown}: {exc.message} (give it with --var KEY=VALUE or a variables file)",
            f"{source}:{line}" if line else source,
        ) from None
    except Exception as exc:  # a template's own code failed (TypeError, ZeroDivisionError, …)
        line = _template_line(exc)
        raise AscadError(
            f"template failed: {exc.__class__.__name__}: {exc}",
            f"{source}:{line + first_line - 1}" if line else source,
        ) from None
    rendered = _unmark(out)
    if "$" in rendered.text:  # shell variables the Jinja template left for an entrypoint
        lines = [
            _shell_substitute(line, variables, source, lenient=True)
            for line in rendered.text.split("\n")
        ]
        rendered = Rendered("\n".join(lines), rendered.line_map)
    return rendered


def salt_tags() -> type:
    """Salt's Jinja tags, as a Jinja2 extension: ``{% import_yaml "x/defaults.yaml" as d %}``
    (``import_json``, ``import_text``) read through the template's loader, and
    ``{% load_yaml as d %}…{% endload %}`` (``load_json``, ``load_text``)."""
    from jinja2 import nodes
    from jinja2.ext import Extension

    class SaltTags(Extension):
        tags = {  # noqa: RUF012 - Jinja2's Extension declares it a set
            "import_yaml",
            "import_json",
            "import_text",
            "load_yaml",
            "load_json",
            "load_text",
        }

        def parse(self, parser: Any) -> Any:
            tok = next(parser.stream)
            kind = tok.value.split("_", 1)[1]
            if tok.value.startswith("import_"):
                source = parser.parse_expression()
                parser.stream.expect("name:as")
                target = parser.parse_assign_target()
                call = self.call_method("_import", [nodes.Const(kind), source])
                return nodes.Assign(target, call, lineno=tok.lineno)
            parser.stream.expect("name:as")
            target = parser.parse_assign_target()
            body = parser.parse_statements(("name:endload",), drop_needle=True)
            flt = nodes.Filter(None, f"load_{kind}", [], [], None, None, lineno=tok.lineno)
            return nodes.AssignBlock(target, flt, body, lineno=tok.lineno)

        def _import(self, kind: str, name: str) -> object:
            loader = self.environment.loader
            assert loader is not None
            text, _filename, _uptodate = loader.get_source(self.environment, name)
            return _load_data(kind, text, name)

    return SaltTags


def _load_data(kind: str, text: str, name: str = "<load>") -> object:
    if kind == "text":
        return text
    try:
        if kind == "json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError, ValueError
        raise AscadError(f"cannot read {kind} data: {str(exc).splitlines()[0]}", name) from None


def _NoLoader() -> object:
    import jinja2

    class NoLoader(jinja2.BaseLoader):
        """A source without a directory (stdin, a peer agent, GitLab): nothing to import."""

        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, None]:
            raise jinja2.TemplateNotFound(template)

    return NoLoader()


def _to_bool(value: object) -> bool:
    """Ansible's ``| bool``."""
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "1", "true", "y")
    return bool(value)


def _traverse(data: object, key: str, default: object, delimiter: str = ":") -> object:
    node = data
    for part in key.split(delimiter):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


class _Traversing(dict):  # type: ignore[type-arg]
    """Salt's ``pillar``/``grains`` in a template: ``.get('a:b', default)`` walks nested keys."""

    def get(self, key: object, default: object = None, delimiter: str = ":") -> object:
        if key in self:
            return self[key]
        if isinstance(key, str) and delimiter in key:
            return _traverse(dict(self), key, default, delimiter)
        return default


class SaltFunctions(dict):  # type: ignore[type-arg]
    """The ``salt`` object of a Salt template, answered from the given variables:
    ``salt['pillar.get']('aerospike:lookup', {})``, ``grains.get``, ``config.get`` (pillar,
    then grains) and ``grains.filter_by`` (the ``map.jinja`` idiom)."""

    def __init__(self, variables: dict[str, object]) -> None:
        pillar = variables.get("pillar", {})
        grains = variables.get("grains", {})

        def pillar_get(
            key: str, default: object = "", merge: bool = False, delimiter: str = ":", **_: object
        ) -> object:
            found = _traverse(pillar, key, default, delimiter)
            if merge and isinstance(default, dict) and isinstance(found, dict):
                return merge_vars(default, found)
            return found

        def grains_get(key: str, default: object = "", delimiter: str = ":", **_: object) -> object:
            return _traverse(grains, key, default, delimiter)

        def config_get(key: str, default: object = "", delimiter: str = ":", **_: object) -> object:
            missing = object()
            found = _traverse(pillar, key, missing, delimiter)
            return found if found is not missing else _traverse(grains, key, default, delimiter)

        def filter_by(
            lookup_dict: dict[str, object],
            grain: str = "os_family",
            merge: dict[str, object] | None = None,
            default: str = "default",
            base: str | None = None,
        ) -> object:
            key = _traverse(grains, grain, None)
            found = lookup_dict.get(str(key)) if key is not None else None
            if found is None:
                found = lookup_dict.get(default)
            result: object = found
            if base is not None and isinstance(lookup_dict.get(base), dict):
                result = merge_vars(lookup_dict[base], found if isinstance(found, dict) else {})  # type: ignore[arg-type]
            if merge and isinstance(result, dict):
                result = merge_vars(result, merge)
            return result

        super().__init__(
            {
                "pillar.get": pillar_get,
                "grains.get": grains_get,
                "config.get": config_get,
                "grains.filter_by": filter_by,
            }
        )
        # the same as attributes: salt.pillar.get('a:b'), salt.grains.filter_by({...})
        self.pillar = _Module(get=pillar_get)
        self.grains = _Module(get=grains_get, filter_by=filter_by)
        self.config = _Module(get=config_get)


class _Module:
    """``salt.pillar``: an execution module's functions as attributes."""

    def __init__(self, **functions: object) -> None:
        for name, fn in functions.items():
            setattr(self, name, fn)


def _render_shell(text: str, variables: dict[str, object], source: str) -> Rendered:
    """A shell template (``${VAR}``, ``$VAR``, ``${VAR:-default}``) with the given variables;
    ``$( … )`` is not run: it stays a wildcard, and so does an unknown line placeholder."""
    out: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        out.append(_shell_substitute(line, variables, f"{source}:{lineno}"))
    return Rendered("\n".join(out), list(range(1, len(out) + 1)))


_SHELL_VAR_RE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def _shell_substitute(
    line: str, variables: dict[str, object], where: str, *, lenient: bool = False
) -> str:
    """``${VAR}``/``$VAR``/``${VAR:-default}`` from ``variables`` (an unknown one is an error, or
    left in place when ``lenient``: a Jinja template's output is not all shell)."""
    code, hash_, comment = line.partition("#")

    def sub(m: re.Match[str]) -> str:
        if m.group(0) in SERVER_TOKENS:
            return m.group(0)
        name = m.group(1) or m.group(4)
        value = variables.get(name)
        if value is None or (value == "" and (m.group(2) or "").startswith(":")):
            if m.group(2) is not None:
                return m.group(3)
            if value == "":
                return ""
            if lenient:
                return m.group(0)
            raise AscadError(
                f"undefined variable '{name}' (give it with --var {name}=VALUE or a variables file)",
                where,
            )
        return str(value).lower() if isinstance(value, bool) else str(value)

    return _SHELL_VAR_RE.sub(sub, code) + hash_ + comment


def _template_line(exc: BaseException) -> int:
    """The template line of the error: Jinja rewrites tracebacks so template frames carry it."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def parse_vars(items: list[str]) -> dict[str, object]:
    """``["grains.id=node1", "port:=3000"]`` -> ``{"grains": {"id": "node1"}, "port": 3000}``.

    ``KEY=VALUE`` gives a string (exactly what was typed, as the template would print it);
    ``KEY:=JSON`` gives a typed value (number, boolean, list, object). Dots nest.
    """
    result: dict[str, object] = {}
    for item in items:
        where = f"--var {item}"
        eq = item.find("=")
        if eq > 0 and item[eq - 1] == ":":
            key, _, raw = item.partition(":=")
            try:
                value: object = json.loads(raw)
            except ValueError as exc:
                raise AscadError(f"value after ':=' is not JSON: {exc}", where) from None
        elif "=" in item:
            key, _, value = item.partition("=")
        else:
            raise AscadError("write KEY=VALUE (or KEY:=JSON)", where)
        parts = key.strip().split(".")
        if not all(parts):
            raise AscadError(f"bad key '{key}'", where)
        _set_path(result, parts, value, where)
    return result


def _set_path(target: dict[str, object], parts: list[str], value: object, where: str) -> None:
    node = target
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise AscadError(f"'{'.'.join(parts[: i + 1])}' is already a value, not a table", where)
        node = child
    last = parts[-1]
    if isinstance(node.get(last), dict) and not isinstance(value, dict):
        raise AscadError(f"'{'.'.join(parts)}' already holds keys", where)
    node[last] = value


def merge_vars(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    """Deep merge: tables merge key by key, anything else in ``override`` wins (``--var`` over a file)."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge_vars(old, value)
        else:
            merged[key] = value
    return merged


def load_vars_file(path: str | Path) -> dict[str, object]:
    """Variables from a ``.toml``, ``.json`` or ``.yaml``/``.yml``/``.sls`` file (a table/object
    at the top)."""
    p = Path(path)
    where = str(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise AscadError(f"cannot read the variables file: {exc.strerror}", where) from None
    suffix = p.suffix.lower()
    import tomllib  # only for a .toml variables file

    try:
        if suffix == ".toml":
            doc: object = tomllib.loads(data.decode("utf-8"))
        elif suffix == ".json":
            doc = json.loads(data)
        elif suffix in (".yaml", ".yml", ".sls"):
            import yaml

            try:
                doc = yaml.safe_load(data.decode("utf-8"))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                at = f"{where}:{mark.line + 1}" if mark is not None else where
                raise AscadError(
                    f"cannot parse the variables file: {exc}".split("\n")[0], at
                ) from None
        else:
            raise AscadError("variables file must be .toml, .json or .yaml", where)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise AscadError(f"cannot parse the variables file: {exc}", where) from None
    if not isinstance(doc, dict):
        raise AscadError("variables file must hold a table/object at the top", where)
    return doc


# --- candidates: one rendering of the template's choices, parsed -----------------------------


@dataclass
class Candidate:
    """One way the template can come out (a branch per conditional, each loop once or not at all,
    a namespace loop once per namespace of the node), parsed, with the template's line numbers."""

    text: str
    tree: ConfTree
    flat: FlatConfig
    notes: list[TemplateNote]
    wildcards: int
    # Stanza paths whose body held a line of placeholders only (``{{ print_opts(ns) }}``,
    # ``<%= k %> <%= v %>`` in a loop, ``# mesh-seed-placeholder``): any line the node has there
    # that the template does not state is a wildcard match.
    open_prefixes: list[str]
    # (key, options, template line, "if" | "if-else" | "for") of each choice this candidate made
    points: list[tuple[tuple[int, tuple[int, ...]], int, int, str]]
    choice: Choice


@dataclass
class _Unroll:
    loop: int
    kind: str  # the stanza kind the loop body opens (namespace)
    pattern: re.Pattern[str]  # its name, a wildcard as `.+`


class TemplateVariants:
    """A template in wildcard mode: the default candidate and the way to make the others."""

    def __init__(
        self,
        text: str,
        source: str,
        reader: Reader | None = None,
        base_map: list[int] | None = None,
    ) -> None:
        # base_map: the template line of each line of ``text`` when ``text`` is itself a
        # rendering (a Jinja template's output that still holds shell placeholders)
        self.base_map = base_map
        self.source = source
        base = Wildcarded("")
        self.items = _build(_lex_any(text, source), source, base, reader)
        self.static_notes = list(base.notes)
        self._cache: dict[tuple[object, ...], Candidate] = {}
        self.default = self.candidate({}, {})
        self.unrolls = self._unrollable()

    def candidate(self, choice: Choice, instances: dict[int, list[str]]) -> Candidate:
        key = (
            tuple(sorted(choice.items())),
            tuple(sorted((k, tuple(v)) for k, v in instances.items())),
        )
        found = self._cache.get(key)
        if found is None:
            found = self._make(choice, instances)
            if len(self._cache) < 2000:
                self._cache[key] = found
        return found

    def _make(self, choice: Choice, instances: dict[int, list[str]]) -> Candidate:
        result = Wildcarded("", notes=list(self.static_notes))
        done = _generate(self.items, choice, instances, result)
        line_map = done.line_map
        if self.base_map is not None:
            line_map = [_mapped(self.base_map, n) for n in line_map]
        tree, flat, opens = parse_mapped(done.text, line_map, self.source, done.open_lines)
        _loop_lists(flat)
        return Candidate(
            done.text, tree, flat, result.notes, result.wildcards, opens, done.gen.points, choice
        )

    def _unrollable(self) -> list[_Unroll]:
        """Top-level loops whose body opens a stanza with a templated name (a namespace loop)."""
        out: list[_Unroll] = []
        gen = _generate(self.items, {}, {}, Wildcarded("")).gen
        for loop_id, (start, end) in gen.loop_bodies.items():
            for st in self.default.tree.root.stanzas():
                if start < st.line <= end and st.name is not None and is_wild(st.name):
                    if is_wild(st.kind) or st.kind not in NAMED_STANZAS:
                        continue
                    parts = [re.escape(p) for p in WILDCARD_RE.split(st.name)]
                    out.append(_Unroll(loop_id, st.kind, re.compile(".+?".join(parts) + r"\Z")))
                    break
        return out

    def instances_for(self, node: FlatConfig) -> dict[int, list[str]]:
        """The node's stanzas each namespace loop makes (names the template states are its own)."""
        if not self.unrolls:
            return {}
        literal = {p for p, s in self.default.flat.settings.items() if s.stanza and not is_wild(p)}
        taken: set[str] = set()
        out: dict[int, list[str]] = {u.loop: [] for u in self.unrolls}
        for path, s in node.settings.items():
            if not s.stanza or "." in path or not path.endswith("]") or path in literal:
                continue
            kind, _, rest = path.partition("[")
            name = rest[:-1]
            for u in self.unrolls:
                if u.kind == kind and path not in taken and u.pattern.match(name):
                    out[u.loop].append(name)
                    taken.add(path)
                    break
        return out


_ORDERED_RE = re.compile(r"^(.*\.)?([a-z-]+)\[\d+\]\Z", re.DOTALL)


def _loop_lists(flat: FlatConfig) -> None:
    """``device {{ d }}`` in a loop stands for every ``device[i]`` the node has: its path
    ``device[0]`` becomes ``device[{{…}}]``, which pairs with each of them."""
    if not any(WILDCARD_MANY in p for p in flat.settings) and not any(
        WILDCARD_MANY in s.canonical for s in flat.settings.values()
    ):
        return
    renamed: dict[str, Setting] = {}
    for path, s in flat.settings.items():
        m = _ORDERED_RE.match(path)
        if m and m.group(2) in ORDERED_KEYS and WILDCARD_MANY in s.canonical:
            path = f"{m.group(1) or ''}{m.group(2)}[{WILDCARD_MANY}]"
            s = s._replace(path=path)
        elif not s.stanza and not s.value and WILDCARD_MANY in path:
            # `context {{ item }}`: one placeholder for the sub-key and its value
            s = s._replace(value=WILDCARD_MANY, canonical=WILDCARD_MANY)
        renamed.setdefault(path, s)
    flat.settings = renamed


def parse_mapped(
    text: str, line_map: list[int], source: str, open_lines: list[int] | None = None
) -> tuple[ConfTree, FlatConfig, list[str]]:
    """Parse and flatten text made from a template; every line number (errors, warnings,
    settings) is the template's (``line_map[i]`` is the template line of text line ``i + 1``)."""
    identity = all(t == i for i, t in enumerate(line_map, start=1))
    try:
        tree = parse_text(text, source)
    except ConfSyntaxError as exc:
        if identity:
            raise
        raise ConfSyntaxError(source, _mapped(line_map, exc.line), exc.col, exc.message) from None
    flat = flatten(tree)
    opens = _open_prefixes(tree, open_lines or [])
    if not identity:
        _remap_tree(tree.root, line_map)
        flat.settings = {
            p: s._replace(line=_mapped(line_map, s.line)) for p, s in flat.settings.items()
        }
        for w in tree.warnings:
            w.line = _mapped(line_map, w.line)
    return tree, flat, opens


def _mapped(line_map: list[int], line: int) -> int:
    return line_map[line - 1] if 0 < line <= len(line_map) else line


def _remap_tree(stanza: Stanza, line_map: list[int]) -> None:
    for child in stanza.children:
        child.line = _mapped(line_map, child.line)
        if isinstance(child, Stanza):
            if child.end_line is not None:
                child.end_line = _mapped(line_map, child.end_line)
            _remap_tree(child, line_map)


def _open_prefixes(tree: ConfTree, open_lines: list[int]) -> list[str]:
    """The path of the innermost stanza around each placeholder line ("" for the top level)."""
    found: list[str] = []
    for line in open_lines:
        prefix = ""
        stanza = tree.root
        while True:
            inner = next(
                (
                    st
                    for st in stanza.stanzas()
                    if st.braces and st.line < line and (st.end_line or 0) > line
                ),
                None,
            )
            if inner is None:
                break
            prefix = join(prefix, stanza_segment(inner))
            stanza = inner
        if prefix not in found:
            found.append(prefix)
    return found
