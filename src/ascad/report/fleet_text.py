"""Human output of ``ascad fleet``: groups, unreachable nodes, differing parameters, the matrix.

The node × node matrix is printed while it fits a terminal (up to :data:`NODE_MATRIX_MAX`
reachable nodes); beyond that the group × group matrix, which holds the same information (nodes
in one group have zero differences between them).
"""

from __future__ import annotations

from typing import TextIO

from ascad.checks.fingerprint import SHORT
from ascad.checks.fleet import FleetReport, ValueHolders
from ascad.compare.diff import CHANGED, ONLY_LEFT, ONLY_RIGHT, SET_AT_RUNTIME, Difference
from ascad.report.terminal import (
    BOLD,
    DIM,
    GREEN,
    RED,
    RESET,
    YELLOW,
    Paint,
    display,
    restart_note,
    set_at_runtime_text,
    show_value,
)

NODE_MATRIX_MAX = 40
MEMBERS_SHOWN = 8


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
        found.append(f"{_plural(len(report.parameters), 'parameter')} differ")
    if report.unreachable:
        found.append(f"{len(report.unreachable)} unreachable")
    if report.golden_differences:
        found.append(_plural(report.golden_differences, "golden difference"))
    reachable = len(report.nodes) - len(report.unreachable)
    head = (
        f"drift: {', '.join(found)}"
        if found
        else (f"all {reachable} nodes identical" if reachable != 1 else "1 node")
        + (" and equal to the golden" if report.golden else "")
    )
    return f"{head}; ignored: {len(report.ignored)}"


def render(report: FleetReport, *, colour: bool = False, verbose: bool = False) -> str:
    """The whole report as one string (ends with a newline)."""

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
    for g in report.groups:
        out.append(
            f"  g{g.id}  {_plural(len(g.members), 'node'):>9}  {g.fingerprint[:SHORT]}  "
            f"{_members(g.members, verbose)}"
        )

    for w in report.version_warnings:
        out.append(f"  {c(RED, '!')} warning: {w.message}")

    if report.unreachable:
        out.append(c(BOLD, "unreachable (not compared)"))
        for n in report.unreachable:
            out.append(f"  {c(RED, '!')} {n.name}: {n.error}")

    if report.parameters:
        out.append(c(BOLD, "parameters that differ (most nodes first)"))
        for p in report.parameters:
            some = any(h.value is None for h in p.values)
            note = "  (not on every node)" if some else ""
            out.append(
                f"  {c(YELLOW, '~')} {display(p.path)}{' (stanza)' if p.stanza else ''}{note}"
            )
            for i, h in enumerate(p.values):
                groups = " ".join(f"g{g}" for g in h.groups)
                who = f"{groups} ({_plural(len(h.nodes), 'node')})"
                if i > 0 or len(p.values) == 1:
                    who += f": {_members(h.nodes, verbose)}"
                val = _value(h)
                out.append(f"      {c(GREEN if i == 0 else RED, val)}  {who}")

    if len(report.groups) > 1:
        out.extend(_matrix_lines(report, c))

    if report.golden is not None:
        out.append(c(BOLD, f"golden: {report.golden}"))
        for gr in report.golden_results:
            res = gr.result
            if res.equal:
                out.append(f"  g{gr.group}: no differences")
                continue
            out.append(f"  g{gr.group}: {_plural(len(res.differences), 'difference')}")
            out.extend(_golden_lines(res.differences, f"g{gr.group}", c))
            if verbose and res.wildcards:
                out.append(c(DIM, f"    template wildcards matched: {len(res.wildcards)}"))

    out.append(c(BOLD, summary_line(report)))
    return "\n".join(out) + "\n"


def _golden_lines(diffs: list[Difference], group: str, c: Paint) -> list[str]:
    """One line per difference, golden on the left; lines only where the side has them."""
    out = []
    for d in diffs:
        where_l = f" (golden:{d.left_line})" if d.left_line else ""
        where_r = f" ({group}:{d.right_line})" if d.right_line else ""
        note = restart_note(d) + (f" ({d.note})" if d.note else "")
        path = display(d.path)
        if d.kind == CHANGED:
            out.append(
                f"    {c(YELLOW, '~')} {path}: {c(RED, show_value(d.left))}{where_l} -> "
                f"{c(GREEN, show_value(d.right))}{where_r}{note}"
            )
        elif d.kind == ONLY_LEFT:
            out.append(
                f"    {c(RED, '-')} {path} {show_value(d.left)}  only in golden{where_l}{note}"
            )
        elif d.kind == ONLY_RIGHT:
            out.append(
                f"    {c(GREEN, '+')} {path} {show_value(d.right)}  only in {group}{where_r}{note}"
            )
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


def _matrix_lines(report: FleetReport, c: Paint) -> list[str]:
    reachable = [n for n in report.nodes if n.reachable]
    cells: list[list[int | None]]
    if len(reachable) <= NODE_MATRIX_MAX:
        names, rows = report.node_matrix()
        keep = [i for i, n in enumerate(report.nodes) if n.reachable]
        labels = [str(k + 1) for k in range(len(keep))]
        cells = [[rows[i][j] for j in keep] for i in keep]
        titles = [f"{names[i]} (g{report.nodes[i].group})" for i in keep]
        head = "difference matrix (node × node; . = identical)"
    else:
        labels = [f"g{g.id}" for g in report.groups]
        cells = [list(row) for row in report.matrix]
        titles = [_plural(len(g.members), "node") for g in report.groups]
        head = "difference matrix (group × group; nodes in one group are identical)"
    width = max(3, *(len(lab) for lab in labels), *(len(str(x)) for row in cells for x in row)) + 1
    lw = max(len(lab) for lab in labels)
    lines = [c(BOLD, head), " " * (lw + 2) + "".join(f"{lab:>{width}}" for lab in labels)]
    for k, row in enumerate(cells):
        text = "".join(f"{('.' if v == 0 else str(v)):>{width}}" for v in row)
        lines.append(f"  {labels[k]:>{lw}}{text}  {c(DIM, titles[k])}")
    return lines


def print_report(report: FleetReport, stream: TextIO, **kwargs: object) -> None:
    stream.write(render(report, **kwargs))  # type: ignore[arg-type]
