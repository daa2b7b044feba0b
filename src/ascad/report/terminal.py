"""Human output of a comparison, like a good diff: grouped by stanza, coloured on a terminal."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ascad.compare.diff import (
    CHANGED,
    ONLY_LEFT,
    SET_AT_RUNTIME,
    CompareResult,
    Difference,
    Kind,
    Side,
)
from ascad.conf.model import display as conf_display
from ascad.conf.paths import parent_and_leaf
from ascad.errors import printable

RED, GREEN, YELLOW, BOLD, DIM, RESET = (
    "\033[31m",
    "\033[32m",
    "\033[33m",
    "\033[1m",
    "\033[2m",
    "\033[0m",
)


def display(text: str) -> str:
    """A path or value for a person: template wildcards as ``{{…}}`` and control characters
    escaped (a value read from a node may hold an ESC or CR; it must not drive the terminal)."""
    return printable(conf_display(text))


def use_colour(stream: TextIO, choice: str = "auto") -> bool:
    """``always``/``never``/``auto`` (auto: a terminal, NO_COLOR not set, TERM not ``dumb``)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


#: Columns assumed when the output is not a terminal and $COLUMNS is not set (a pipe, a file).
DEFAULT_COLUMNS = 80
_ANSI = re.compile(r"\033\[[0-9;]*m")


def output_columns(stream: TextIO | None = None) -> int:
    """The width to lay text out for: ``$COLUMNS`` when it is a positive number (as the shell
    sets it), else the terminal's width when ``stream`` is a terminal, else 80 (a pipe or a file:
    what diff(1)'s side-by-side mode and most pagers assume)."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        try:
            return max(20, os.get_terminal_size(stream.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            return shutil.get_terminal_size((DEFAULT_COLUMNS, 24)).columns
    return DEFAULT_COLUMNS


def visible_len(text: str) -> int:
    """The columns ``text`` takes on a terminal (colour codes take none)."""
    return len(_ANSI.sub("", text))


def wrap_line(line: str, width: int, indent: int | None = None) -> list[str]:
    """``line`` cut into lines of at most ``width`` columns, only between space-separated tokens
    (a path, a value, a URL is never split); a token longer than a whole line stands alone on its
    line. Continuation lines are indented by ``indent`` spaces (default: the line's own indent
    plus four)."""
    if width <= 0 or visible_len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    pad = " " * (lead + 4 if indent is None else indent)
    # words and the runs of spaces between them: a break drops the run it falls on
    parts = re.split(r"( +)", line[lead:].rstrip(" "))
    out: list[str] = []
    current = line[:lead] + parts[0]
    for k in range(1, len(parts), 2):
        gap, word = parts[k], parts[k + 1]
        if visible_len(current) + len(gap) + visible_len(word) > width:
            out.append(current)
            current = pad + word
        else:
            current += gap + word
    out.append(current)
    return out


def wrap_lines(lines: Sequence[str], width: int) -> list[str]:
    """Every line wrapped to ``width`` (:func:`wrap_line`)."""
    return [part for line in lines for part in wrap_line(line, width)]


def group_of(path: str) -> tuple[str, str]:
    """Split a path into (stanza, rest) at its last segment: ``namespace[test]``, ``x``."""
    return parent_and_leaf(path)


def restart_note(d: Difference) -> str:
    """`` [restart needed]`` (static), `` [dynamic]``, or nothing when unknown."""
    if d.restart is True:
        return " [restart needed]"
    if d.restart is False:
        return " [dynamic]"
    return ""


# Paints a text in an ANSI colour (or leaves it plain): ``c(RED, "x")``.
Paint = Callable[[str, str], str]


def set_at_runtime_text(
    d: Difference,
    default: str | None,
    running: str | None,
    c: Paint | None = None,
) -> str:
    """The one statement for a ``set_at_runtime`` difference (its JSON ``note`` is not repeated):
    the conf does not set the parameter and the node runs another value than the default. A
    dynamic one was most likely changed by a ``set-config`` never written back to the conf."""
    paint = c or (lambda _code, text: text)
    text = (
        f"not in the conf; the node runs {paint(GREEN, show_value(running))}, "
        f"the default is {paint(RED, show_value(default))}"
    )
    if d.restart is False:
        text += " (likely a set-config not written to the conf)"
    return text


def _target(d: Difference) -> tuple[str, str]:
    """(group, name) a difference is listed under. A typed stanza whose type changed is listed
    under its parent stanza by its own name (``storage-engine``), since its path has no ``type``
    segment; a stanza on one side only is its own group, as ``(whole stanza)``."""
    if d.stanza and d.kind != CHANGED:
        return d.path, "(whole stanza)"
    return group_of(d.path)


def render_differences(
    result: CompareResult,
    *,
    colour: bool = False,
    verbose: bool = False,
    left_name: str | None = None,
    right_name: str | None = None,
    template_notes: Sequence[tuple[str, int, str]] = (),
    width: int | None = None,
) -> str:
    """The whole human report as one string (ends with a newline); lines wrapped between tokens
    at ``width`` columns when given.

    The ``--- LEFT`` / ``+++ RIGHT`` header names both sources once; each difference then gives
    its line numbers only (``(line 4)``), on the side it is printed on, as diff(1)'s hunks do.
    Equal sources print the summary line alone (no header above nothing).

    ``template_notes`` are (source, line, message) from wildcarding a template (a blanked
    ``{% else %}`` branch, an include, a placeholder line): listed with ``verbose``, counted in the
    summary line otherwise, since they explain why a node on another branch differs.
    """

    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if colour else text

    lname = left_name or result.left
    rname = right_name or result.right
    out: list[str] = []
    if result.differences:
        out += [c(BOLD, f"--- {printable(lname)}"), c(BOLD, f"+++ {printable(rname)}")]
    current_group: str | None = None
    groups: dict[str, list[Difference]] = {}
    for d in result.differences:
        groups.setdefault(_target(d)[0], []).append(d)
    for group, diffs in groups.items():
        if group != current_group:
            out.append(c(BOLD, display(group) or "(top level)"))
            current_group = group
        for d in diffs:
            name = display(_target(d)[1])
            note = restart_note(d) + (f" ({d.note})" if d.note else "")
            left_at = _line_ref(d.left_line)
            right_at = _line_ref(d.right_line)
            if d.kind == CHANGED:
                kind = " (stanza type)" if d.stanza else ""
                out.append(
                    f"  {c(YELLOW, '~')} {name}: "
                    f"{c(RED, show_value(d.left))}{left_at} -> "
                    f"{c(GREEN, show_value(d.right))}{right_at}{kind}{note}"
                )
            elif d.kind == SET_AT_RUNTIME:
                # Not in the conf; the running value differs from the version's default. The
                # line says so itself: the JSON note would only repeat it.
                default, running = _default_and_running(d)
                out.append(
                    f"  {c(YELLOW, '!')} {name}: {set_at_runtime_text(d, default, running, c)}"
                    + restart_note(d)
                )
            elif d.kind == ONLY_LEFT:
                out.append(
                    f"  {c(RED, '-')} {name} {show_value(d.left, d.stanza)}".rstrip()
                    + f"{left_at}{note}"
                )
            else:
                out.append(
                    f"  {c(GREEN, '+')} {name} {show_value(d.right, d.stanza)}".rstrip()
                    + f"{right_at}{note}"
                )
            # issue 14: where it comes from and whether it is known, one short line each
            out.extend(c(DIM, f"      {line}") for line in difference_notes(d))
    if verbose and result.wildcards:
        # each match with the node's value; `(any value)` where the template fixed the value
        # and only the path was templated (`namespace {{ ns }}`), so the value was checked
        out.append(c(DIM, "template wildcards matched (the other side's value):"))
        for p in result.wildcards:
            value = result.wildcard_values.get(p)
            shown = f" = {show_value(value)} (not checked: templated)" if value is not None else ""
            out.append(c(DIM, f"  * {display(p)}{shown}"))
    if verbose and result.defaults:
        out.append(c(DIM, "stated at the default on one side, left out on the other (no drift):"))
        out.extend(c(DIM, f"  = {display(p)}") for p in result.defaults)
    if verbose and result.ignored:
        out.append(c(DIM, "ignored (--ignore and expected per-node paths):"))
        out.extend(c(DIM, f"  x {display(p)}") for p in result.ignored)
    if verbose and template_notes:
        out.append(c(DIM, "template (parts not compared):"))
        out.extend(c(DIM, f"  {src}:{line}: {message}") for src, line, message in template_notes)
    out.append(summary_line(result, () if verbose else template_notes))
    if width:
        out = wrap_lines(out, width)
    return "\n".join(out) + "\n"


def _line_ref(line: int | None) -> str:
    """`` (line 4)`` under a ``---``/``+++`` header that names the file; nothing for a side
    without lines (a running node: the header names it)."""
    return f" (line {line})" if line else ""


def difference_notes(d: Difference) -> list[str]:
    """The short lines under a difference: provenance, origin, acknowledgement, since when."""
    out: list[str] = []
    if d.provenance is not None:
        p = d.provenance
        out.append(f"set by {printable(p.command)} at {p.time} ({printable(p.source)})")
    if d.origin_note and (d.provenance is None or d.origin != "runtime"):
        out.append(printable(d.origin_note))
    if d.acknowledged is not None:
        a = d.acknowledged
        who = f", {a.owner}" if a.owner else ""
        until = f" until {a.until}" if a.until else ""
        out.append(f"acknowledged{until}{who}: {printable(a.reason)} ({printable(a.source)})")
    if d.first_seen is not None:
        out.append(f"first seen {d.first_seen}{since_words(d.first_seen)}")
    return out


def age(seconds: float) -> str:
    """A duration in words, to its largest unit: ``3 days``, ``5 hours``, ``2 minutes``."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def since_words(first_seen: str | None, now: float | None = None) -> str:
    """`` (since 3 days)`` for an ISO 8601 first_seen; empty without one."""
    if not first_seen:
        return ""
    import time
    from datetime import datetime

    try:
        then = datetime.fromisoformat(first_seen.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return ""
    return f" (since {age((now or time.time()) - then)})"


def origin_words(d: Difference) -> str:
    """The origin in words for one-line renderings (events, logs): empty when unknown."""
    if d.origin == "runtime":
        if d.provenance is not None:
            return f"; changed at runtime by {d.provenance.command} at {d.provenance.time}"
        return "; changed at runtime, never written back"
    if d.origin == "file":
        return "; the file was edited after the server started (applies at the next restart)"
    return ""


def difference_line(d: Difference, left: str, right: str) -> str:
    """One difference on one plain line (Riemann descriptions, logs): path, values, lines, and
    whether fixing it needs a restart."""
    text = _difference_text(d, left, right) + restart_note(d) + origin_words(d)
    if d.acknowledged is not None:
        text += f" (acknowledged: {d.acknowledged.reason})"
    return text


def _difference_text(d: Difference, left: str, right: str) -> str:
    path = display(d.path)
    if d.kind == CHANGED:
        return (
            f"{path}: {display(d.left or '')} ({_at(left, d.left_line)})"
            f" -> {display(d.right or '')} ({_at(right, d.right_line)})"
        )
    if d.kind == SET_AT_RUNTIME:
        default, running = _default_and_running(d)
        node = left if d.node is Side.LEFT else right
        return (
            f"{path}: not in the conf; {node} runs {show_value(running)}, the default is "
            f"{show_value(default)}"
        )
    if d.kind == ONLY_LEFT:
        return f"{path} = {display(d.left or '')} only in {_at(left, d.left_line)}"
    return f"{path} = {display(d.right or '')} only in {_at(right, d.right_line)}"


def _default_and_running(d: Difference) -> tuple[str | None, str | None]:
    """A set_at_runtime difference holds the default on the conf's side and the running value on
    the node's side (``d.node``; the left in ``ascad diff NODE CONF``)."""
    if d.node is Side.LEFT:
        return d.right, d.left
    return d.left, d.right


def _at(name: str, line: int | None) -> str:
    """``file:line`` (as compilers write it, which editors follow), ``URL line N`` for a source
    named by a URL (``http://host:9145:4`` would read as a port), or just the source's name when
    it has no lines (a running node)."""
    name = printable(name)
    if not line:
        return name
    if "://" in name and not name.startswith("file://"):
        return f"{name} line {line}"
    return f"{name}:{line}"


def show_value(value: str | None, stanza: bool = False) -> str:
    """A value for the report: wildcards as ``{{…}}``, an empty value as ``""`` (nothing for a
    stanza's empty type, nor for a side without the value)."""
    if value is None:
        return ""
    if stanza:
        return display(value)
    return display(value) if value != "" else '""'


# How the summary line counts each kind ("set at runtime" would be wrong for a static parameter,
# whose running value comes from a conf that has changed since the node started).
_KIND_LABELS: dict[Kind, str] = {SET_AT_RUNTIME: "not in the conf, off the default"}


def template_summary(notes: Sequence[tuple[str, int, str]]) -> str | None:
    """``template: 2 branches blanked, 1 other note, see -v`` (None without notes)."""
    if not notes:
        return None
    blanked = sum("branch blanked" in message for _src, _line, message in notes)
    other = len(notes) - blanked
    parts = []
    if blanked:
        parts.append(f"{blanked} branch{'es' if blanked != 1 else ''} blanked")
    if other:
        parts.append(f"{other} other note{'s' if other != 1 else ''}")
    return f"template: {', '.join(parts)}, see -v"


def summary_line(result: CompareResult, template_notes: Sequence[tuple[str, int, str]] = ()) -> str:
    n = len(result.differences)
    counts: dict[str, int] = {}
    for d in result.differences:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    parts = []
    if n == 0:
        text = "no differences"
    else:
        for kind in sorted(counts):
            label = _KIND_LABELS.get(Kind(kind), kind.replace("_", " "))
            parts.append(f"{counts[kind]} {label}")
        text = f"{n} difference{'s' if n != 1 else ''} ({', '.join(parts)})"
    extras = []
    acked = n - len(result.findings)
    if acked:
        extras.append(f"acknowledged (baseline): {acked}")
    if result.ignored:
        extras.append(f"ignored: {len(result.ignored)}")
    if result.wildcards:
        extras.append(f"template wildcards: {len(result.wildcards)}")
    if result.wildcard_values:
        n_values = len(result.wildcard_values)
        extras.append(f"{n_values} value{'s' if n_values != 1 else ''} not checked: templated")
    if result.defaults:
        extras.append(f"stated at the default on one side only: {len(result.defaults)}")
    template = template_summary(template_notes)
    if template:
        extras.append(template)
    return text + (f"; {'; '.join(extras)}" if extras else "")


def print_report(result: CompareResult, stream: TextIO = sys.stdout, **kwargs: object) -> None:
    """The report on ``stream``, laid out for its width (:func:`output_columns`)."""
    kwargs.setdefault("width", output_columns(stream))
    stream.write(render_differences(result, **kwargs))  # type: ignore[arg-type]
