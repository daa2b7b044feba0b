"""The agent's history: findings per check, kept across restarts in ``state_dir/history.sqlite``.

Per check: its state and since when it has been in it (``first_seen``) up to the last cycle
(``last_seen``). Per finding (check, path): ``first_seen``, ``last_seen`` and ``resolved_at``; a
path that differs again after it was resolved opens a new row, so the history keeps both.

Written safely: SQLite in WAL mode with ``synchronous=FULL``, one transaction per cycle. A crash
(``kill -9``, power loss) leaves the last committed cycle: never a half-written one, never a
corrupt file (SQLite's journal is replayed on the next open). A store that cannot be opened
(read-only directory, a file that is not SQLite) is logged once per cycle and the cycle goes on
without history: the checks never depend on it.

A change of a check's state (ok -> critical, critical -> ok, -> warning), a new path or a
resolved one marks the check ``changed`` for this cycle: the events carry it so a Riemann stream
can alert on changes only (docs/riemann.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ascad.checks.results import WARNING, CycleResult

log = logging.getLogger("ascad.agent")

FILENAME = "history.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checks (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    since REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    check_name TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX IF NOT EXISTS findings_open ON findings (check_name, path) WHERE resolved_at IS NULL;
CREATE TABLE IF NOT EXISTS cycles (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
    findings INTEGER NOT NULL);
"""


def iso(ts: float | None) -> str | None:
    """A UNIX time as ISO 8601 UTC to the second (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Finding:
    """One row of the history (``ascad history``)."""

    check: str
    path: str
    kind: str
    detail: str
    first_seen: float
    last_seen: float
    resolved_at: float | None


class HistoryStore:
    """``with HistoryStore(state_dir) as store: store.record(cycle)``."""

    def __init__(self, state_dir: str, *, create: bool = True) -> None:
        """``create``: make ``state_dir`` when missing; else the directory must exist (the store
        file is created in it when missing)."""
        self.path = os.path.join(state_dir, FILENAME)
        if create:
            os.makedirs(state_dir, exist_ok=True)
        elif not os.path.isdir(state_dir):
            raise FileNotFoundError(f"no such directory: {state_dir}")
        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, *, keep: bool = True) -> Iterator[None]:
        """One transaction, committed when the block ends (rolled back instead if ``keep`` is
        False, or the block raises)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT" if keep else "ROLLBACK")

    def record(
        self, cycle: CycleResult, now: float | None = None, *, keep: bool = True
    ) -> CycleResult:
        """Record one cycle (one transaction) and return it with each check's ``first_seen``,
        ``last_seen``, ``changed`` and each difference's ``first_seen`` filled in.

        ``keep=False`` fills them in the same way but leaves the store as it was: ``ascad check``
        beside a running agent must not move the agent's ``since`` or take its changes (the
        agent's next events would say ``changed: false`` for a change nobody was told of)."""
        now = time.time() if now is None else now
        checks = []
        with self.transaction(keep=keep):
            for c in cycle.checks:
                row = self.db.execute(
                    "SELECT state, since FROM checks WHERE name = ?", (c.check,)
                ).fetchone()
                state = str(c.state)
                changes: list[str] = []
                if row is None or row[0] != state:
                    changes.append(f"{row[0] if row else 'new'} -> {state}")
                    since = now
                else:
                    since = float(row[1])
                self.db.execute(
                    "INSERT INTO checks VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "state = excluded.state, since = excluded.since, last_seen = excluded.last_seen",
                    (c.check, state, since, now),
                )
                diffs = list(c.differences)
                resolved: list[str] = []
                if c.state != WARNING:  # a check that did not run says nothing about its paths
                    open_rows = {
                        path: first
                        for path, first in self.db.execute(
                            "SELECT path, first_seen FROM findings WHERE check_name = ? AND "
                            "resolved_at IS NULL",
                            (c.check,),
                        )
                    }
                    seen = set()
                    for i, d in enumerate(diffs):
                        if d.path in seen:
                            continue
                        seen.add(d.path)
                        if d.path in open_rows:
                            first = float(open_rows[d.path])
                            self.db.execute(
                                "UPDATE findings SET last_seen = ?, kind = ?, detail = ? WHERE "
                                "check_name = ? AND path = ? AND resolved_at IS NULL",
                                (now, str(d.kind), _detail(d), c.check, d.path),
                            )
                        else:
                            first = now
                            changes.append(f"new: {d.path}")
                            self.db.execute(
                                "INSERT INTO findings (check_name, path, kind, detail, "
                                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                                (c.check, d.path, str(d.kind), _detail(d), now, now),
                            )
                        diffs[i] = replace(d, first_seen=iso(first))
                    resolved = sorted(set(open_rows) - seen)
                    for path in resolved:
                        changes.append(f"resolved: {path}")
                        self.db.execute(
                            "UPDATE findings SET resolved_at = ? WHERE check_name = ? AND "
                            "path = ? AND resolved_at IS NULL",
                            (now, c.check, path),
                        )
                    # a path seen twice in one check keeps the first's first_seen
                    firsts = {d.path: d.first_seen for d in diffs if d.first_seen}
                    diffs = [replace(d, first_seen=firsts.get(d.path)) for d in diffs]
                checks.append(
                    replace(
                        c,
                        differences=diffs,
                        first_seen=iso(since),
                        last_seen=iso(now),
                        changed=bool(changes),
                        change="; ".join(changes) or None,
                        resolved=resolved,
                    )
                )
            self.db.execute(
                "INSERT INTO cycles (at, findings) VALUES (?, ?)",
                (now, sum(len(c.differences) for c in cycle.checks)),
            )
        return replace(cycle, checks=checks)

    def findings(self, *, include_resolved: bool = True, check: str | None = None) -> list[Finding]:
        """Every finding, open ones first, each group newest first."""
        sql = (
            "SELECT check_name, path, kind, detail, first_seen, last_seen, resolved_at "
            "FROM findings"
        )
        where, args = [], []
        if not include_resolved:
            where.append("resolved_at IS NULL")
        if check:
            where.append("check_name = ?")
            args.append(check)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY resolved_at IS NOT NULL, COALESCE(resolved_at, first_seen) DESC, path"
        return [Finding(*row) for row in self.db.execute(sql, args)]

    def check_states(self) -> list[tuple[str, str, float, float]]:
        """(check, state, since, last_seen) per check."""
        return list(
            self.db.execute("SELECT name, state, since, last_seen FROM checks ORDER BY name")
        )

    def integrity(self) -> str:
        """``PRAGMA integrity_check``: ``ok`` for an intact store."""
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])


def _detail(d: object) -> str:
    from ascad.compare.diff import Difference

    assert isinstance(d, Difference)
    return f"{d.left if d.left is not None else ''} -> {d.right if d.right is not None else ''}"


def record_cycle(state_dir: str, cycle: CycleResult, *, keep: bool = True) -> CycleResult:
    """``cycle`` recorded in ``state_dir``'s store; unchanged (and logged) when the store cannot be
    used: history is never a reason for a cycle to fail.

    ``keep=False`` (``ascad check``): the cycle is read against the agent's store, which is left
    as it was; without a store (no agent has run here) the cycle is returned as it is."""
    if not keep and not os.path.isfile(os.path.join(state_dir, FILENAME)):
        return cycle
    try:
        with HistoryStore(state_dir, create=keep) as store:
            return store.record(cycle, keep=keep)
    except FileNotFoundError:
        return cycle
    except (OSError, sqlite3.Error) as exc:
        log.error("cannot record the history in %s: %s", os.path.join(state_dir, FILENAME), exc)
        return cycle


__all__ = ["FILENAME", "Finding", "HistoryStore", "iso", "record_cycle"]
