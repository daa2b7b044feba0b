"""Is this text a template? The cheap test every conf source goes through.

Every file ascad reads is asked :func:`is_template` (Jinja or ERB tags, shell or sed placeholders
outside comments) and :func:`has_placeholder_comment` (an init container's placeholder line);
only a template needs the rest of the template machinery (:mod:`ascad.sources.template`), which
is imported when one is found, so ``ascad diff`` of two plain confs never loads it.
"""

from __future__ import annotations

import re

from ascad.conf.model import WILDCARD

JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
ERB_RE = re.compile(r"<%.*?%>", re.S)
INCLUDE_RE = re.compile(r"\{%-?\s*include\b")
# Aerospike's own LDAP query tokens (user-dn-pattern, user-query-pattern, role-query-pattern):
# the server substitutes them, so they are literal conf text, never template placeholders.
SERVER_TOKENS = frozenset({"${un}", "${dn}"})
CAPS_LINE_RE = re.compile(r"^[A-Z][A-Z0-9_]+$")
PLACEHOLDER_COMMENT_RE = re.compile(r"^\s*#\s*[\w.-]*placeholder[\w.-]*\s*$", re.I)


def is_template(text: str) -> bool:
    """True when the text has Jinja or ERB tags, or shell/sed placeholders outside ``#`` comments."""
    if JINJA_RE.search(text) or ERB_RE.search(text):
        return True
    for line in text.split("\n"):
        if "$" in line and WILDCARD in shell_wildcards(line):
            return True
        if CAPS_LINE_RE.match(code_part(line).strip()):
            return True
    return False


def has_placeholder_comment(text: str) -> bool:
    """A ``# mesh-seed-placeholder`` line, which a Kubernetes init container replaces."""
    return any(PLACEHOLDER_COMMENT_RE.match(line) for line in text.split("\n"))


def shell_wildcards(line: str) -> str:
    """Replace ``${…}``, ``$NAME`` and ``$( … )`` before the first ``#`` that is not inside them."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "#":
            out.append(line[i:])
            break
        if c == "$" and i + 1 < n:
            end = shell_end(line, i)
            if end > i:
                out.append(WILDCARD)
                i = end
                continue
        out.append(c)
        i += 1
    return "".join(out)


def shell_end(line: str, i: int) -> int:
    """End index of a shell substitution starting at ``line[i] == '$'``, or ``i`` if none."""
    nxt = line[i + 1]
    if nxt == "{":
        close = line.find("}", i + 2)
        if (
            close < 0
            or not re.match(r"[A-Za-z_]", line[i + 2])
            or line[i : close + 1] in SERVER_TOKENS
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


def code_part(line: str) -> str:
    return line.split("#", 1)[0]
