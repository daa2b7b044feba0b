"""An agent cycle as Riemann events (docs/riemann.md): one event per check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ascad.checks.results import WARNING, CycleResult
from ascad.errors import printable
from ascad.report.terminal import difference_line, since_words

#: Byte budget of one event attribute (cluster, master, role, fallback). With the description's
#: 4096 bytes, three events of at most 4096 + 4 x 512 bytes and their tags fit in one 16 KiB
#: UDP datagram.
ATTRIBUTE_BUDGET = 512


def cycle_events(
    cycle: CycleResult, *, host: str, ttl: float, tags: Sequence[str] = ()
) -> list[Any]:
    """One event per check: service ``ascad <check>``, metric = the number of differences,
    ``ttl`` (the agent gives ttl_factor × interval), attributes cluster/role, master (not on
    ``runtime`` events) and, when a master was skipped, ``fallback``."""
    # protobuf (the Riemann messages) is loaded by the first cycle that has events to send, so
    # an agent without [riemann] never holds it (bench/agent.py: idle RSS).
    from ascad.report.riemann import build_event, describe_differences

    events: list[Any] = []  # riemann_proto.Event messages
    for c in cycle.checks:
        if c.state == WARNING:
            lines = [f"could not run: {printable(str(c.reason))}"]
        else:
            lines = [
                difference_line(d, c.left, c.right) + since_words(d.first_seen, c.finished)
                for d in c.differences
            ] or [printable(f"no differences ({c.left} vs {c.right})")]
        for w in c.version_warnings:  # first, so that the reader knows how to read the rest
            lines.insert(0, describe_differences([f"warning: {w.message}"], 1024))
        if c.fallback:  # cut, so that a long list of skipped masters leaves room for the findings
            lines.insert(0, describe_differences([f"master fallback: {c.fallback}"], 1024))
        attributes = {
            "cluster": cycle.cluster or "",
            # The master a peer (or golden) check is about; a runtime check compares the node
            # with its own file, so a master would mean nothing there.
            "master": "" if c.check == "runtime" else c.master or cycle.master or "",
            "role": cycle.role,
        }
        if c.fallback:
            attributes["fallback"] = c.fallback
        # history (issue 14): a state change is marked, so a stream can alert on changes only
        if c.changed is not None:
            attributes["changed"] = "true" if c.changed else "false"
        if c.change:
            attributes["change"] = c.change
        if c.first_seen:
            attributes["since"] = c.first_seen
        events.append(
            build_event(
                host=host,
                check=c.check,
                state=str(c.state),
                metric=len(c.differences),
                description=describe_differences(lines),
                ttl=ttl,
                tags=list(tags),
                # A fallback note grows with the number of skipped masters: each attribute is
                # cut like a description line, so the event stays under the UDP limit.
                attributes={
                    k: describe_differences([v], ATTRIBUTE_BUDGET)
                    for k, v in attributes.items()
                    if v
                },
                time=int(c.finished or cycle.started),
            )
        )
    return events
