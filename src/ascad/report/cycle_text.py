"""An agent cycle as text: what ``ascad check`` and the demo print, one section per check."""

from __future__ import annotations

from typing import TextIO

from ascad.checks.results import WARNING, CycleResult
from ascad.report import terminal


def render_text(
    cycle: CycleResult,
    out: TextIO,
    *,
    colour: bool = False,
    verbose: bool = False,
    width: int | None = None,
) -> None:
    """The human report: one section per check, laid out for ``width`` columns (default: the
    stream's, :func:`ascad.report.terminal.output_columns`)."""
    width = width or terminal.output_columns(out)
    head = f"node {cycle.node}"
    if cycle.node_id:
        head += f" ({cycle.node_id})"
    head += f", role {cycle.role}"
    if cycle.master and cycle.role == "slave":
        head += f", master {cycle.master}"
    if cycle.cluster:
        head += f", cluster {cycle.cluster}"
    out.write("\n".join(terminal.wrap_line(head, width)) + "\n")
    if cycle.fallback:
        out.write("\n".join(terminal.wrap_line(f"master fallback: {cycle.fallback}", width)) + "\n")
    for c in cycle.checks:
        out.write(f"\n== {c.check}: {c.state.upper()}")
        if c.state == WARNING:
            out.write(
                " (could not run)\n" + "\n".join(terminal.wrap_line(str(c.reason), width)) + "\n"
            )
            continue
        n = len(c.differences)
        since = terminal.since_words(c.first_seen, c.finished or None)
        out.write(f" ({n} difference{'' if n == 1 else 's'}, {c.duration:.2f}s){since}\n")
        for w in c.version_warnings:  # a build older than every schema (3.x)
            out.write("\n".join(terminal.wrap_line(f"warning: {w.message}", width)) + "\n")
        if c.result is not None:
            # the history's first_seen is on the check's differences (the result's are older)
            c.result.differences = list(c.differences)
            out.write(
                terminal.render_differences(c.result, colour=colour, verbose=verbose, width=width)
            )
        notes = [f"warning: baseline entry matches nothing: {e}" for e in c.baseline_unmatched]
        if c.provenance_note:
            notes.insert(0, f"note: {c.provenance_note}")
        if c.change and not c.change.startswith("new ->"):
            notes.insert(0, f"changed this cycle: {c.change}")
        for note in notes:  # laid out for the width, like the differences above them
            out.write("\n".join(terminal.wrap_line(note, width)) + "\n")
