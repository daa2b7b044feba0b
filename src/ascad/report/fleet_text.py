"""Human output of ``ascad fleet``: groups, unreachable nodes, differing parameters, the matrix.

Laid out for the output's width (``$COLUMNS``, the terminal's, or 80 when piped:
:func:`ascad.report.terminal.output_columns`): long lines wrap only between tokens (a path, a URL,
a node's name is never split). The node × node matrix is printed while it fits that width (and
up to :data:`NODE_MATRIX_MAX` reachable nodes), its rows named in a legend; beyond that the
group × group matrix, which holds the same information (nodes in one group have zero differences
between them), and when even that does not fit, one line per pair of groups.
"""

from __future__ import annotations

from typing import TextIO

from ascad.checks.fingerprint import SHORT
from ascad.checks.fleet import FleetReport, ValueHolders
from ascad.compare.diff import CHANGED, ONLY_LEFT, ONLY_RIGHT, SET_AT_RUNTIME, Difference
from ascad.errors import printable
from ascad.report.terminal import (
    BOLD,
    DEFAULT_COLUMNS,
    DIM,
    GREEN,
    RED,
    RESET,
    YELLOW,
    Paint,
    display,
    output_columns,
    restart_note,
    set_at_runtime_text,
    show_value,
    visible_len,
    wrap_lines,
)

NODE_MATRIX_MAX = 40
RESTART_NOTES = {True: " [restart needed]", False: " [dynamic]"}  # as terminal.restart_note
MEMBERS_SHOWN = 8
VALUE_PAD = 24  # a longer value is not padded further: its groups follow it


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _members(names: list[str], verbose: bool) -> str:
    if verbose or len(names) <= MEMBERS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:MEMBERS_SHOWN]) + f", … and {len(names) - MEMBERS_SHOWN} more"


def _value(h: ValueHolders) -> str:
    return "(absent)" if h.value is None else show_value(h.value)


def summary_line(report: FleetReport) -> str:
    """One line: clean or what was found, plus "ignored: N"."""
    found = []
    if len(report.groups) > 1:
        found.append(f"{len(report.groups)} groups")
    if report.parameters:
        n = len(report.parameters)
        found.append(f"{_plural(n, 'parameter')} differ{'s' if n == 1 else ''}")
    if report.golden_differences:
        found.append(_plural(report.golden_differences, "golden difference"))
    reachable = len(report.nodes) - len(report.unreachable)
    head = (
        f"drift: {', '.join(found)}"
        if found
        else (f"all {reachable} nodes identical" if reachable != 1 else "1 node")
        + (" and equal to the golden" if report.golden else "")
    )
    if report.unreachable:
        # Not drift: the answer is incomplete (exit 2), whatever was found among the others.
        if not found:
            head = f"{reachable} reachable node{'s' if reachable != 1 else ''} identical" + (
                " and equal to the golden" if report.golden else ""
            )
        head += f"; incomplete: {len(report.unreachable)} unreachable (not compared)"
    return f"{head}; ignored: {len(report.ignored)}"


def render(
    report: FleetReport,
    *,
    colour: bool = False,
    verbose: bool = False,
    width: int = DEFAULT_COLUMNS,
) -> str:
    """The whole report as one string (ends with a newline), laid out for ``width`` columns."""

    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if colour else text

    out: list[str] = []
    reachable = [n for n in report.nodes if n.reachable]
    out.append(
        c(
            BOLD,
            f"fleet ({report.mode}): {_plural(len(report.nodes), 'node')}, "
            f"{len(reachable)} reachable, {_plural(len(report.groups), 'group')}",
        )
    )

    out.append(c(BOLD, "groups (identical configs once per-node paths are ignored)"))
    labels = {n.name: n.label for n in report.nodes}

    def named(names: list[str]) -> list[str]:
        return [labels.get(name, name) for name in names]

    id_width = max((len(f"g{g.id}") for g in report.groups), default=2)  # g10 and on line up
    for g in report.groups:
        out.append(
            f"  {f'g{g.id}':<{id_width}}  {_plural(len(g.members), 'node'):>9}"
            f"  {g.fingerprint[:SHORT]}  "
            f"{_members(named(g.members), verbose)}{_golden_mark(report, g.id, c)}"
        )

    for w in report.version_warnings:
        out.append(f"  {c(RED, '!')} warning: {w.message}")

    if report.unreachable:
        out.append(c(BOLD, "unreachable (not compared)"))
        for n in report.unreachable:
            out.append(f"  {c(RED, '!')} {n.label}: {n.error}")

    if report.parameters:
        out.append(c(BOLD, "parameters that differ (most nodes first)"))
        for p in report.parameters:
            some = any(h.value is None for h in p.values)
            note = "  (not on every node)" if some else ""
            restart = "" if p.restart is None else RESTART_NOTES[p.restart]
            if p.acknowledged is not None:
                note += f"  (acknowledged: {printable(p.acknowledged.reason)})"
            out.append(
                f"  {c(YELLOW, '~')} {display(p.path)}{' (stanza)' if p.stanza else ''}"
                f"{restart}{note}"
            )
            # Values padded to the widest (up to VALUE_PAD) so the groups line up.
            pad = min(max(len(_value(h)) for h in p.values), VALUE_PAD)
            for i, h in enumerate(p.values):
                groups = " ".join(f"g{g}" for g in h.groups)
                who = f"{groups} ({_plural(len(h.nodes), 'node')})"
                if i > 0 or len(p.values) == 1:
                    who += f": {_members(named(h.nodes), verbose)}"
                val = _value(h)
                good = h.golden if h.golden is not None else i == 0
                tag = "  (golden)" if h.golden else ""
                out.append(
                    f"      {c(GREEN if good else RED, val)}{' ' * (pad - len(val))}  {who}{tag}"
                )

    if len(report.groups) > 1:
        out.extend(_matrix_lines(report, c, width))

    if report.golden is not None:
        out.append(c(BOLD, f"golden: {report.golden}"))
        for gr in report.golden_results:
            res = gr.result
            unchecked = (
                f" ({_plural(len(res.wildcard_values), 'value')} not checked: templated)"
                if report.golden_template and res.wildcard_values
                else ""
            )
            if res.equal:
                out.append(f"  g{gr.group}: no differences{unchecked}")
            else:
                # Line numbers name their file: the golden's, the group's first member's.
                member = next(g.members[0] for g in report.groups if g.id == gr.group)
                out.append(
                    f"  g{gr.group}: {_plural(len(res.differences), 'difference')}{unchecked}"
                )
                out.extend(_golden_lines(res.differences, report.golden, member, c))
            if verbose and report.golden_template:
                for path, value in res.wildcard_values.items():
                    out.append(c(DIM, f"    * {display(path)} = {show_value(value)} (templated)"))

    out.append(c(BOLD, summary_line(report)))
    return "\n".join(wrap_lines(out, width)) + "\n"


def _golden_mark(report: FleetReport, group: int, c: Paint) -> str:
    """``= golden`` or ``≠ golden`` after a group, with a golden."""
    match = report.golden_match(group)
    if match is None:
        return ""
    return "  " + (c(GREEN, "= golden") if match else c(RED, "≠ golden"))


def _golden_lines(diffs: list[Difference], golden: str, member: str, c: Paint) -> list[str]:
    """One line per difference, golden on the left; each line number with the file it is in
    (the golden's, the group's first member's), only where the side has lines. The golden is
    the reference: its value is never the odd one (red), the group's is."""
    out = []
    for d in diffs:
        where_l = f" ({golden}:{d.left_line})" if d.left_line else ""
        where_r = f" ({member}:{d.right_line})" if d.right_line else ""
        note = restart_note(d) + (f" ({d.note})" if d.note else "")
        path = display(d.path)
        if d.kind == CHANGED:
            out.append(
                f"    {c(YELLOW, '~')} {path}: {c(GREEN, show_value(d.left))}{where_l} -> "
                f"{c(RED, show_value(d.right))}{where_r}{note}"
            )
        elif d.kind == ONLY_LEFT:
            where_l = f" ({golden}:{d.left_line})" if d.left_line else f" ({golden})"
            out.append(f"    {c(RED, '-')} {path} {show_value(d.left)}  only in{where_l}{note}")
        elif d.kind == ONLY_RIGHT:
            where_r = f" ({member}:{d.right_line})" if d.right_line else f" ({member})"
            out.append(f"    {c(RED, '+')} {path} {show_value(d.right)}  only in{where_r}{note}")
        elif d.kind == SET_AT_RUNTIME:
            # The golden (a conf) is on the left: it holds the default, the group the running
            # value. Same marker and words as `ascad diff`; the JSON note is not repeated.
            text = set_at_runtime_text(d, d.left, d.right, c)
            out.append(f"    {c(YELLOW, '!')} {path}: {text}{restart_note(d)}")
        else:  # any other kind a runtime reader may add
            out.append(
                f"    {c(YELLOW, '*')} {path}: {show_value(d.left)} -> {c(GREEN, show_value(d.right))}"
                f" [{d.kind.replace('_', ' ')}]{note}"
            )
    return out


def _matrix_lines(report: FleetReport, c: Paint, width: int = DEFAULT_COLUMNS) -> list[str]:
    """The node × node matrix when it fits ``width``, else the group × group one, else one
    line per pair of groups (the compact form)."""
    reachable = [n for n in report.nodes if n.reachable]
    if len(reachable) <= NODE_MATRIX_MAX:
        _names, rows = report.node_matrix()
        keep = [i for i, n in enumerate(report.nodes) if n.reachable]
        labels = [str(k + 1) for k in range(len(keep))]
        cells: list[list[int | None]] = [[rows[i][j] for j in keep] for i in keep]
        titles = [f"{report.nodes[i].label}, g{report.nodes[i].group}" for i in keep]
        head = "difference matrix (node × node; . = identical)"
        lines = _table(head, labels, cells, titles, width, c)
        if lines is not None:
            return lines
    labels = [f"g{g.id}" for g in report.groups]
    cells = [list(row) for row in report.matrix]
    titles = [_plural(len(g.members), "node") for g in report.groups]
    head = "difference matrix (group × group; nodes in one group are identical)"
    lines = _table(head, labels, cells, titles, width, c)
    if lines is not None:
        return lines
    out = [c(BOLD, "differences between groups (group pairs; nodes in one group are identical)")]
    for i, a in enumerate(report.groups):
        for j in range(i + 1, len(report.groups)):
            b = report.groups[j]
            out.append(f"  g{a.id} vs g{b.id}: {_plural(report.matrix[i][j], 'difference')}")
    return out


def _table(
    head: str,
    labels: list[str],
    cells: list[list[int | None]],
    titles: list[str],
    width: int,
    c: Paint,
) -> list[str] | None:
    """The matrix with its row titles after each row when that fits ``width``, else with the
    titles in a legend under it; None when even the bare rows do not fit."""
    cell = max(2, *(len(lab) for lab in labels), *(len(str(x)) for row in cells for x in row)) + 1
    lw = max(len(lab) for lab in labels)
    top = " " * (lw + 2) + "".join(f"{lab:>{cell}}" for lab in labels)
    rows = [
        f"  {labels[k]:>{lw}}" + "".join(f"{('.' if v == 0 else str(v)):>{cell}}" for v in row)
        for k, row in enumerate(cells)
    ]
    if visible_len(top) > width:
        return None
    if all(visible_len(r) + 2 + len(t) <= width for r, t in zip(rows, titles, strict=True)):
        return [
            c(BOLD, head),
            top,
            *(f"{r}  {c(DIM, t)}" for r, t in zip(rows, titles, strict=True)),
        ]
    legend = [f"  {labels[k]:>{lw}}  {c(DIM, t)}" for k, t in enumerate(titles)]
    return [c(BOLD, head), top, *rows, *legend]


def print_report(report: FleetReport, stream: TextIO, **kwargs: object) -> None:
    kwargs.setdefault("width", output_columns(stream))
    stream.write(render(report, **kwargs))  # type: ignore[arg-type]
