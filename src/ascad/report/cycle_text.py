"""An agent cycle as text: what ``ascad check`` and the demo print, one section per check."""

from __future__ import annotations

from typing import TextIO

from ascad.checks.results import WARNING, CycleResult
from ascad.report import terminal


def render_text(
    cycle: CycleResult, out: TextIO, *, colour: bool = False, verbose: bool = False
) -> None:
    """The human report: one section per check."""
    head = f"node {cycle.node}"
    if cycle.node_id:
        head += f" ({cycle.node_id})"
    head += f", role {cycle.role}"
    if cycle.master and cycle.role == "slave":
        head += f", master {cycle.master}"
    if cycle.cluster:
        head += f", cluster {cycle.cluster}"
    out.write(head + "\n")
    if cycle.fallback:
        out.write(f"master fallback: {cycle.fallback}\n")
    for c in cycle.checks:
        out.write(f"\n== {c.check}: {c.state.upper()}")
        if c.state == WARNING:
            out.write(f" (could not run)\n{c.reason}\n")
            continue
        n = len(c.differences)
        out.write(f" ({n} difference{'' if n == 1 else 's'}, {c.duration:.2f}s)\n")
        for w in c.version_warnings:  # a build older than every schema (3.x)
            out.write(f"warning: {w.message}\n")
        if c.result is not None:
            out.write(terminal.render_differences(c.result, colour=colour, verbose=verbose))
