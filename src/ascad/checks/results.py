"""What a check and an agent cycle found: typed, data-only results (``ascad.report`` renders them:
``report.status`` as JSON, ``report.events`` as Riemann events, ``report.cycle_text`` as text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ascad.compare.diff import CompareResult, Difference


@dataclass(frozen=True)
class VersionWarning:
    """A warning about the server version a check was judged by, not about one line.

    ``kind`` ``older_than_table``: the build is older than every schema ascad holds (3.x), so
    values are compared but no default is assumed and restart flags are unknown.
    """

    kind: str
    build: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "build": self.build, "message": self.message}


def version_warnings(*builds: str | None) -> list[VersionWarning]:
    """One warning per distinct build (in order) that is older than the table."""
    if not any(builds):
        return []  # two conf files without a version: the knowledge table is not imported
    from ascad.knowledge.table import older_than_table_message

    out: list[VersionWarning] = []
    for build in dict.fromkeys(b for b in builds if b):
        message = older_than_table_message(build)
        if message is not None:
            out.append(VersionWarning("older_than_table", build, message))
    return out


class State(StrEnum):
    """A check's state, as Riemann has it: ``warning`` means the check could not run."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


OK, WARNING, CRITICAL = State.OK, State.WARNING, State.CRITICAL


@dataclass
class CheckResult:
    """The outcome of one check. ``master`` names what a peer/golden check compared with;
    ``fallback`` says which masters were skipped and why."""

    check: str
    state: State
    differences: list[Difference] = field(default_factory=list)
    reason: str | None = None
    duration: float = 0.0
    master: str | None = None
    fallback: str | None = None
    left: str = ""
    right: str = ""
    ignored: int = 0
    finished: float = 0.0
    result: CompareResult | None = None
    # the build the check was judged by is older than every schema (3.x), …
    version_warnings: list[VersionWarning] = field(default_factory=list)
    # issue 14: why differences have no provenance; the history store's view of this check
    # (ISO 8601): since when it has been in its state, when it was last seen in it, and whether
    # this cycle changed it (ok -> critical, a new path, a path resolved)
    provenance_note: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    changed: bool | None = None
    change: str | None = None  # what changed, in words ("ok -> critical", "new: PATH", …)
    resolved: list[str] = field(default_factory=list)  # paths resolved this cycle
    baseline_unmatched: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.state != WARNING


@dataclass
class CycleResult:
    """Every check of one cycle. ``role`` is what this node acted as (``master``, ``slave`` or
    ``unknown`` when no master could be settled)."""

    node: str
    node_id: str | None
    role: str
    configured_role: str
    cluster: str
    master: str | None
    started: float
    duration: float
    checks: list[CheckResult]
    fallback: str | None = None
    # the short configuration fingerprints (checks.fingerprint): "conf" and "runtime"
    fingerprints: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all ok, 1 drift found, 2 a check could not run (2 wins over 1)."""
        if any(c.state == WARNING for c in self.checks):
            return 2
        if any(c.state == CRITICAL for c in self.checks):
            return 1
        return 0

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)
