"""Salt/Jinja (and shell-style) templates of aerospike.conf: wildcard them, or render them for real.

A golden aerospike.conf is often a template that Salt renders per node (``{{ grains['id'] }}``,
``{% if %}``), or that a container entrypoint fills with shell variables (``${SERVICE_PORT}``,
``$( … )``), or that a script fills with ``sed`` (a lone ``MEMORY_PER_NS`` line). Without the
values, :func:`wildcard_template` turns it into conf text the parser reads, **line for line** (line
N of the output is line N of the template, so every report points at the template's own line):

- ``{{ … }}`` becomes the wildcard :data:`ascad.conf.model.WILDCARD`, one token: the compare stage
  treats it as equal to any value. A token only partly templated (``{{ ip }}:3000``,
  ``/opt/${NS}.dat``) becomes one wildcard as a whole: a value cannot be half-known.
- ``${VAR}``, ``$VAR`` and ``$( … )`` (shell, quotes and nested parentheses respected) are
  wildcards the same way. A ``$`` that starts none of these is kept, and so are ``${un}`` and
  ``${dn}``: they are the server's own LDAP tokens (``user-dn-pattern uid=${un},ou=People``).
- A line whose code is *only* placeholders (``{{ extra_lines }}``, ``${security_stanza}``,
  ``$([ -n "$X" ] && echo "file $X {")``) or a lone upper-case word (``MEMORY_PER_NS``; Aerospike's
  parameter names are all lower case, so such a line is a ``sed`` placeholder) stands for unknown
  lines — often several parameters or a whole stanza — and becomes blank.
- ``{# … #}`` comments and ``{% … %}`` statements become blank; their newlines are kept, so a
  multi-line ``{% %}`` keeps the lines after it in place. Whitespace control (``{%-``, ``-%}``) is
  ignored: it would move lines.
- ``{% if %}`` / ``{% elif %}`` / ``{% else %}`` / ``{% endif %}``: the **first branch** is kept
  and every other branch is blanked (one branch of a conditional is what a node gets; the first is
  the one a template author writes as the usual case). A ``{% for %}`` body is kept once, and
  its ``{{ … }}`` become :data:`ascad.conf.model.WILDCARD_MANY`: a path holding it (``namespace
  {{ ns }}`` in a loop over namespaces, a seed in a loop over hosts) pairs with *every* matching
  path on the node, so each namespace the loop made is checked against the loop body. Its
  ``{% else %}`` (empty-loop branch) is blanked. Bodies that produce no output — ``{% macro %}``,
  block ``{% set %}``, Salt's ``{% load_yaml %}``/``load_json``/``load_text`` — are blanked.
  ``{% raw %}`` … ``{% endraw %}`` is kept as text.
- ``#`` starts a conf comment: placeholders after it are left to the parser, which drops comments.
  Jinja tags inside a conf comment still count as tags (Jinja does not know conf comments).

:func:`render_template` renders for real with Jinja2 in a sandbox, with ``StrictUndefined``: a
missing variable is an error naming the template line. Salt's ``grains``, ``pillar`` and ``salt``
are plain variables here; :func:`parse_vars` turns ``grains.id=node1`` into nested dicts, and
:func:`load_vars_file` reads a TOML or JSON file of them. Like Salt, the ``do`` and loop-control
extensions are on and the trailing newline is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ascad.conf.model import WILDCARD, WILDCARD_MANY, WILDCARD_RE, is_wild
from ascad.errors import AscadError

_JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# Aerospike's own LDAP query tokens (user-dn-pattern, user-query-pattern, role-query-pattern):
# the server substitutes them, so they are literal conf text, never template placeholders.
_SERVER_TOKENS = frozenset({"${un}", "${dn}"})
_CAPS_LINE_RE = re.compile(r"^[A-Z][A-Z0-9_]+$")
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


def is_template(text: str) -> bool:
    """True when the text has Jinja tags, or shell/sed placeholders outside ``#`` comments."""
    if _JINJA_RE.search(text):
        return True
    for line in text.split("\n"):
        if "$" in line and WILDCARD in _shell_wildcards(line):
            return True
        if _CAPS_LINE_RE.match(_code_part(line).strip()):
            return True
    return False


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


# --- wildcarding ----------------------------------------------------------------------------


@dataclass
class _Frame:
    word: str
    end: str
    line: int
    active: bool  # this frame's current branch is output


def wildcard_template_notes(text: str, source: str = "<template>") -> Wildcarded:
    """Like :func:`wildcard_template`, also counting wildcards and noting blanked lines."""
    result = Wildcarded("")
    out: list[str] = []
    stack: list[_Frame] = []

    def active() -> bool:
        return all(f.active for f in stack)

    for seg in _lex(text, source):
        if seg.kind == "text":
            out.append(seg.body if active() else "\n" * seg.newlines)
            continue
        if seg.kind == "{{":
            # Inside a `{% for %}` body the line stands for any number of lines (WILDCARD_MANY).
            marker = WILDCARD_MANY if any(f.word == "for" for f in stack) else WILDCARD
            out.append((marker if active() else "") + "\n" * seg.newlines)
            continue
        out.append("\n" * seg.newlines)
        if seg.kind == "{#":
            continue
        _statement(seg, stack, result, source)
    if stack:
        top = stack[-1]
        raise AscadError(
            f"'{{% {top.word} %}}' opened here is never closed with '{{% {top.end} %}}'",
            f"{source}:{top.line}",
        )
    lines = "".join(out).split("\n")
    result.text = "\n".join(_finish_line(ln, i, result) for i, ln in enumerate(lines, start=1))
    return result


def _statement(seg: _Seg, stack: list[_Frame], result: Wildcarded, source: str) -> None:
    word = _stmt_word(seg.body)
    where = f"{source}:{seg.line}"
    if word in ("raw", "endraw"):
        return  # the lexer already kept the raw body as text
    if word == "if":
        stack.append(_Frame("if", "endif", seg.line, True))
    elif word in ("elif", "else"):
        if not stack or stack[-1].word not in ("if", "for"):
            raise AscadError(f"'{{% {word} %}}' outside '{{% if %}}'", where)
        if stack[-1].word == "for" and word == "elif":
            raise AscadError("'{% elif %}' inside '{% for %}'", where)
        if all(f.active for f in stack[:-1]):
            first = "first branch" if stack[-1].word == "if" else "loop body"
            result.notes.append(
                TemplateNote(seg.line, f"'{{% {word} %}}' branch blanked ({first} kept)")
            )
        stack[-1].active = False
    elif word in _KEEP_BLOCKS:
        stack.append(_Frame(word, _KEEP_BLOCKS[word], seg.line, True))
    elif word in _BLANK_BLOCKS or (word == "set" and "=" not in seg.body):
        stack.append(_Frame(word, _BLANK_BLOCKS.get(word, "endset"), seg.line, False))
    elif word.startswith("end"):
        if not stack:
            raise AscadError(f"'{{% {word} %}}' closes nothing", where)
        if stack[-1].end != word:
            top = stack[-1]
            raise AscadError(
                f"'{{% {word} %}}' does not close '{{% {top.word} %}}' from line {top.line}", where
            )
        stack.pop()
    elif word == "include" and all(f.active for f in stack):
        result.notes.append(
            TemplateNote(seg.line, "'{% include %}': included lines are not compared")
        )
    # Any other statement (set x = …, import, from, do, extends, break, continue) outputs nothing.


def _shell_wildcards(line: str) -> str:
    """Replace ``${…}``, ``$NAME`` and ``$( … )`` before the first ``#`` that is not inside them."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "#":
            out.append(line[i:])
            break
        if c == "$" and i + 1 < n:
            end = _shell_end(line, i)
            if end > i:
                out.append(WILDCARD)
                i = end
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _shell_end(line: str, i: int) -> int:
    """End index of a shell substitution starting at ``line[i] == '$'``, or ``i`` if none."""
    nxt = line[i + 1]
    if nxt == "{":
        close = line.find("}", i + 2)
        if (
            close < 0
            or not re.match(r"[A-Za-z_]", line[i + 2])
            or line[i : close + 1] in _SERVER_TOKENS
        ):
            return i
        return close + 1
    if nxt == "(":
        depth, j, quote = 0, i + 1, ""
        while j < len(line):
            ch = line[j]
            if quote:
                if ch == "\\" and quote == '"':
                    j += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return len(line)  # unclosed: the rest of the line is the substitution
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", line[i + 1 :])
    return i + 1 + m.end() if m else i


def _code_part(line: str) -> str:
    return line.split("#", 1)[0]


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
        line = _shell_wildcards(line)
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
    if len(tokens) == 1 and _CAPS_LINE_RE.match(tokens[0]):
        result.notes.append(TemplateNote(lineno, f"placeholder line '{tokens[0]}': blanked"))
        return ""
    return line


# --- rendering -----------------------------------------------------------------------------


def render_template(text: str, variables: dict[str, object], source: str = "<template>") -> str:
    """Render with Jinja2 (sandboxed, ``StrictUndefined``); errors name ``source:line``."""
    import jinja2  # here: wildcarding a template (the common case) needs no Jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
    )
    lines = text.split("\n")
    try:
        template = env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise AscadError(
            f"template syntax error: {exc.message}", f"{source}:{exc.lineno}"
        ) from None
    try:
        return template.render(variables)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc)
        shown = f" in '{lines[line - 1].strip()}'" if 0 < line <= len(lines) else ""
        raise AscadError(
            f"undefined variable{shown}: {exc.message} (give it with --var KEY=VALUE or a variables file)",
            f"{source}:{line}" if line else source,
        ) from None
    except Exception as exc:  # a template's own code failed (TypeError, ZeroDivisionError, …)
        line = _template_line(exc)
        raise AscadError(
            f"template failed: {exc.__class__.__name__}: {exc}",
            f"{source}:{line}" if line else source,
        ) from None


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
    """Variables from a ``.toml`` or ``.json`` file (a table/object at the top)."""
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
        else:
            raise AscadError("variables file must be .toml or .json", where)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise AscadError(f"cannot parse the variables file: {exc}", where) from None
    if not isinstance(doc, dict):
        raise AscadError("variables file must hold a table/object at the top", where)
    return doc
