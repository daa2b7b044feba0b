"""Acknowledgements: a baseline file (TOML, meant to live in git) of known differences.

::

    # why these differ, and until when (comments are kept by `ascad ack`)
    [[ack]]
    path = "namespace[test].default-ttl"     # a path glob (docs/paths.md): * and ?
    reason = "load test until the end of the month"
    owner = "alice"
    until = 2026-12-31                        # a TOML date (or "2026-12-31"); optional
    node = "A1"                               # optional: node id, name or address (globs), or a list
    group = "cakery"                          # optional: the cluster name

A difference matched by an active entry is reported as acknowledged (JSON ``acknowledged``), and
does not make the exit status 1 nor a check critical. After its ``until`` day (the entry holds
through that day, UTC) the difference counts again, with a note. An entry that matches no
difference is warned about (``baseline_unmatched``): it is stale, or a typo.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from ascad.compare.diff import Acknowledgement, Difference

if TYPE_CHECKING:
    from ascad.checks.fleet import FleetReport
from ascad.conf.paths import glob_regex
from ascad.errors import AscadError

KEYS = {"path", "reason", "owner", "until", "node", "group"}
_HEADER_RE = re.compile(r"^[ \t]*\[\[[ \t]*ack[ \t]*\]\]", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    path: str
    reason: str
    line: int
    source: str
    owner: str | None = None
    until: date | None = None
    nodes: tuple[str, ...] = ()
    group: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def active(self, today: date) -> bool:
        return self.until is None or today <= self.until

    def applies_to(self, identities: Iterable[str], group: str | None) -> bool:
        """Is this node one the entry is about (its ``node`` and ``group``)?"""
        if self.nodes:
            names = [i for i in identities if i]
            if not any(glob_regex(n).match(i) for n in self.nodes for i in names):
                return False
        return self.group is None or self.group == group

    def matches(self, path: str, identities: Iterable[str], group: str | None) -> bool:
        return bool(glob_regex(self.path).match(path)) and self.applies_to(identities, group)

    def acknowledgement(self) -> Acknowledgement:
        node = ",".join(self.nodes) or None
        until = self.until.isoformat() if self.until else None
        return Acknowledgement(
            self.path, self.reason, self.where, self.owner, until, node, self.group
        )


@dataclass(frozen=True)
class Baseline:
    source: str
    entries: tuple[Entry, ...]


def parse_baseline(text: str, source: str) -> Baseline:
    """A baseline's entries; AscadError naming the file and line for anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AscadError(f"not valid TOML: {exc}", source) from None
    unknown = sorted(set(data) - {"ack"})
    if unknown:
        raise AscadError(
            f"unknown table or key {unknown[0]!r} (a baseline holds [[ack]] entries)", source
        )
    items = data.get("ack", [])
    if not isinstance(items, list):
        raise AscadError("ack must be an array of tables: [[ack]]", source)
    lines = [text.count("\n", 0, m.start()) + 1 for m in _HEADER_RE.finditer(text)]
    entries = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        where = f"{source}:{line}" if line else source
        entries.append(_entry(item, where, source, line))
    return Baseline(source, tuple(entries))


def _entry(item: object, where: str, source: str, line: int) -> Entry:
    if not isinstance(item, dict):
        raise AscadError("an [[ack]] entry must be a table", where)
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise AscadError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})", where)
    path, reason = item.get("path"), item.get("reason")
    if not isinstance(path, str) or not path.strip():
        raise AscadError('an [[ack]] entry needs path = "PATH GLOB"', where)
    if not isinstance(reason, str) or not reason.strip():
        raise AscadError(f'[[ack]] {path}: needs reason = "why it is known"', where)
    owner = item.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise AscadError(f"[[ack]] {path}: owner must be a string", where)
    until = parse_until(item.get("until"), where)
    node = item.get("node", [])
    nodes = [node] if isinstance(node, str) else node
    if not isinstance(nodes, list) or not all(isinstance(n, str) and n for n in nodes):
        raise AscadError(f"[[ack]] {path}: node must be a string or a list of strings", where)
    group = item.get("group")
    if group is not None and not isinstance(group, str):
        raise AscadError(f"[[ack]] {path}: group must be a string", where)
    return Entry(path.strip(), reason.strip(), line, source, owner, until, tuple(nodes), group)


def parse_until(value: object, where: str) -> date | None:
    """A TOML date or a ``YYYY-MM-DD`` string (None: no end)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise AscadError(f"until must be a date such as 2026-12-31, not {value!r}", where)


def load_baseline(path: str) -> Baseline:
    """Read and parse a baseline file (AscadError naming it when it cannot be read)."""
    return parse_baseline(read_baseline_text(path), path)


def read_baseline_text(path: str, *, missing_ok: bool = False) -> str:
    """A baseline file's text (``""`` for a missing file with ``missing_ok``: ``ascad ack``
    creates it); AscadError naming the file when it cannot be read or is not UTF-8."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise AscadError("baseline file not found", path) from None
    except OSError as exc:
        raise AscadError(f"cannot read the baseline: {exc.strerror or exc}", path) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AscadError("the baseline is not UTF-8 text", path) from None


def today_utc() -> date:
    return datetime.now(UTC).date()


def acknowledge(
    differences: Sequence[Difference],
    baseline: Baseline,
    *,
    identities: Iterable[str] = (),
    group: str | None = None,
    today: date | None = None,
    used: set[int] | None = None,
) -> list[Difference]:
    """Each difference with the first active entry that matches it; an expired entry's match
    adds a note instead. ``used`` collects the indexes of the entries that matched."""
    today = today or today_utc()
    ids = list(identities)
    out = []
    for d in differences:
        ack: Acknowledgement | None = None
        expired: Entry | None = None
        for i, e in enumerate(baseline.entries):
            if not e.matches(d.path, ids, group):
                continue
            if used is not None:
                used.add(i)
            if e.active(today):
                ack = e.acknowledgement()
                break
            expired = expired or e
        if ack is not None:
            out.append(replace(d, acknowledged=ack))
        elif expired is not None:
            until = expired.until.isoformat() if expired.until else ""
            note = f"acknowledgement expired on {until} ({expired.where}: {expired.reason})"
            out.append(replace(d, note=f"{d.note}; {note}" if d.note else note))
        else:
            out.append(d)
    return out


def acknowledge_fleet(
    report: FleetReport, baseline: Baseline, today: date | None = None
) -> list[str]:
    """A fleet report with its golden differences and differing parameters acknowledged (an
    entry's ``node`` must name a node of the group, or of the nodes off the majority value);
    returns the unmatched entries."""
    used: set[int] = set()
    members = {g.id: g.members for g in report.groups}
    cluster = None
    for gr in report.golden_results:
        gr.result.differences = acknowledge(
            gr.result.differences,
            baseline,
            identities=members.get(gr.group, []),
            group=cluster,
            today=today,
            used=used,
        )
    today = today or today_utc()
    for p in report.parameters:
        minority = [n for h in p.values[1:] for n in h.nodes] or [
            n for h in p.values for n in h.nodes
        ]
        for i, e in enumerate(baseline.entries):
            if e.matches(p.path, minority, cluster):
                used.add(i)
                if e.active(today):
                    p.acknowledged = e.acknowledgement()
                    break
    return unmatched(baseline, used)


def unmatched(
    baseline: Baseline,
    used: set[int],
    identities: Iterable[str] | None = None,
    group: str | None = None,
) -> list[str]:
    """``BASELINE:LINE: PATH`` for each entry that matched no difference; with ``identities``,
    entries about other nodes or groups (a fleet's shared baseline) are not this node's to warn
    about."""
    ids = None if identities is None else list(identities)
    return [
        f"{e.where}: {e.path}"
        for i, e in enumerate(baseline.entries)
        if i not in used and (ids is None or e.applies_to(ids, group))
    ]


__all__ = [
    "Baseline",
    "Entry",
    "acknowledge",
    "acknowledge_fleet",
    "load_baseline",
    "parse_baseline",
    "parse_until",
    "today_utc",
    "unmatched",
]
