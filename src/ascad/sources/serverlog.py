"""The Aerospike server log -> the last ``set-config``/``log-set`` line per conf path.

Facts (aerospike/aerospike-server, tag 8.1.2.0, commit 05b91c64):

- every accepted runtime change is logged at INFO by ``as/src/base/cfg_info.c:914``
  ``cf_info(AS_INFO, "set-config command completed: params %s", cmd)``; ``cmd`` is the command's
  parameters as sent (``context=namespace;id=test;default-ttl=86400``); the deprecated
  ``config-set`` name goes through the same function;
- ``log-set`` logs ``as/src/base/thr_info.c:2421`` ``cf_info(AS_INFO, "log-set:id=%s:%s=%s",
  id, context, level)``;
- a file sink line is ``cf/src/log.c:855`` ``"%s (%s): (%s:%d) "`` (level, context, file, line)
  after ``sprintf_now`` (``cf/src/log.c:921-932``): ``strftime("%b %d %Y %T")``, ``.%03ld`` with
  ``log-millis``, then `` GMT: `` (UTC), or `` GMT%z: `` with ``log-local-time``:
  ``Dec 01 2026 23:15:02.123 GMT: INFO (info): (cfg_info.c:914) set-config command completed:
  params context=service;proto-fd-max=20000``;
- a syslog sink (the journal) gets the same text without the time (``cf/src/log.c:1011``); the
  journal gives the time.

Reading is bounded: files are searched from their end, newest file first (a file given and its
rotated siblings ``FILE.1``, ``FILE.2.gz``, ``FILE-20261201.gz`` …), and the search stops when every
wanted path has its last line or the byte budget is spent. A gzipped file can only be read from
its start; it is read whole when it fits the remaining budget and skipped (with a note) when not.
Line numbers are exact when the file was read whole; in a file larger than the budget the line's
place is given as its byte offset (``FILE@OFFSET``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

#: Bytes searched, all files together, by default: 256 MiB (about a million log lines).
DEFAULT_BUDGET = 256 * 1024 * 1024
CHUNK = 1024 * 1024
#: A line longer than this is no log line the server writes (MAX_LOG_STRING_LEN is 2048).
MAX_LINE = 64 * 1024
#: The journal: at most this many of the unit's newest entries are read.
JOURNAL_ENTRIES = 200_000
JOURNAL = "journal"
JOURNAL_SECONDS = 30.0

_PREFIX_RE = re.compile(
    rb"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{4} \d\d:\d\d:\d\d)(?:\.(?P<ms>\d{3}))?"
    rb" GMT(?P<tz>[+-]\d{4})?: "
)
_BODY_RE = re.compile(
    r"^[A-Z]+ \((?P<ctx>[\w-]+)\): \((?P<loc>[^)]*)\) "
    r"(?:(?:set-config|config-set) command completed: params (?P<params>.*)"
    r"|log-set:id=(?P<sink>\d+):(?P<lctx>[^=]+)=(?P<level>\S+))$"
)
_SELECTORS = ("context", "id", "namespace", "set", "dc", "action")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


@dataclass(frozen=True)
class LogChange:
    """One logged runtime change of one path. ``path`` is a conf path (docs/paths.md), or for
    ``log-set`` ``log-set[SINK_ID].context[CTX]`` (the sink's name comes from the node)."""

    path: str
    time: datetime  # timezone-aware
    command: str  # as an operator would type it: ``set-config:context=…;…``
    source: str  # FILE:LINE, FILE@OFFSET or journal:UNIT


@dataclass
class LogScan:
    """What a search found: the last change per wanted path, and what was read."""

    changes: dict[str, LogChange] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # the files (or journal) searched
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)  # files skipped or unreadable, and why
    complete: bool = True  # False: the budget ran out before every file was searched


def params_paths(params: str) -> list[tuple[str, str]]:
    """(conf path, value) for each change in a set-config command's parameters."""
    pairs = [tuple(p.split("=", 1)) for p in params.strip().strip(";").split(";") if "=" in p]
    amap = {k.strip(): v.strip() for k, v in pairs}
    context = amap.get("context", "")
    changes = [(k.strip(), v.strip()) for k, v in pairs if k.strip() not in _SELECTORS]
    prefix: str | None
    if context in ("service", "network", "security"):
        prefix = context
    elif context == "namespace":
        ns = amap.get("id") or amap.get("namespace")
        prefix = None if ns is None else f"namespace[{ns}]"
        if prefix is not None and "set" in amap:
            prefix += f".set[{amap['set']}]"
    elif context == "xdr":
        prefix = "xdr"
        if "dc" in amap:
            prefix += f".dc[{amap['dc']}]"
            if "namespace" in amap:
                prefix += f".namespace[{amap['namespace']}]"
    else:
        prefix = None
    if prefix is None:
        return []
    return [(f"{prefix}.{key}", value) for key, value in changes if key]


def parse_time(ts: bytes, ms: bytes | None, tz: bytes | None) -> datetime | None:
    text = ts.decode("ascii")
    try:
        month = _MONTHS[text[:3]]
        day, year, clock = int(text[4:6]), int(text[7:11]), text[12:]
        hh, mm, ss = (int(x) for x in clock.split(":"))
        zone = UTC
        if tz:
            sign = 1 if tz[:1] == b"+" else -1
            zone = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])))
        micro = int(ms) * 1000 if ms else 0
        return datetime(year, month, day, hh, mm, ss, micro, tzinfo=zone)
    except (KeyError, ValueError):
        return None


def parse_message(message: str, when: datetime, source: str) -> list[LogChange]:
    """The changes one log message (after the time) records; [] for any other line."""
    m = _BODY_RE.match(message)
    if m is None:
        return []
    if m.group("params") is not None:
        params = m.group("params").rstrip()
        command = f"set-config:{params}"
        return [LogChange(p, when, command, source) for p, _ in params_paths(params)]
    sink, ctx, level = m.group("sink"), m.group("lctx"), m.group("level")
    command = f"log-set:id={sink};{ctx}={level}"
    return [LogChange(f"log-set[{sink}].context[{ctx.lower()}]", when, command, source)]


def parse_line(line: bytes, source: str) -> list[LogChange]:
    """The changes a file-sink log line records (``source``: its FILE:LINE)."""
    if b"command completed: params " not in line and b"log-set:id=" not in line:
        return []
    m = _PREFIX_RE.match(line)
    if m is None:
        return []
    when = parse_time(m.group("ts"), m.group("ms"), m.group("tz"))
    if when is None:
        return []
    body = line[m.end() :].decode("utf-8", "replace").rstrip("\r\n")
    return parse_message(body, when, source)


# --- files ---------------------------------------------------------------------------------------


_ROTATED_RE = r"(?:\.\d+|-\d{8}(?:\d{2})?|\.\d{8}(?:\d{2})?)?(?:\.gz)?"


def rotated_files(path: str) -> list[str]:
    """``path`` and its rotated siblings that exist, newest first (by mtime, then name)."""
    directory, base = os.path.split(path)
    rx = re.compile(re.escape(base) + _ROTATED_RE + r"\Z")
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return [path] if os.path.exists(path) else []
    found: list[tuple[float, str]] = []
    for name in names:
        if rx.match(name):
            full = os.path.join(directory, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            if os.path.isfile(full):
                found.append((st.st_mtime, full))
    # newest first; the live file first on a tie, then the lower rotation number
    found.sort(key=lambda t: (-t[0], t[1] != path, _rotation_number(t[1])))
    return [f for _, f in found]


def _rotation_number(path: str) -> int:
    m = re.search(r"\.(\d+)(?:\.gz)?\Z", path)
    return int(m.group(1)) if m and len(m.group(1)) < 8 else 0


class _Counting:
    """A binary file that counts the bytes read from it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.read_bytes = fh, 0

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        self.read_bytes += len(data)
        return data

    def seek(self, pos: int) -> None:
        self.fh.seek(pos)


_NEEDLES = (b"command completed: params ", b"log-set:id=")


def _reverse_lines(fh: _Counting, size: int, budget: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of the lines that may record a change (they hold one of the messages'
    words), from the end of a file backwards, reading at most ``budget`` bytes. Each block is
    searched at C speed; only its matching lines are cut out."""
    pos, rest = size, b""
    while pos > 0 and fh.read_bytes < budget:
        step = min(CHUNK, pos, budget - fh.read_bytes)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + rest
        first_nl = data.find(b"\n")
        if first_nl < 0:  # no line end in the block: a line too long to be the server's
            rest = data if len(data) <= MAX_LINE else b""
            continue
        body = data[first_nl + 1 :]
        base = pos + first_nl + 1
        hits: dict[int, bytes] = {}
        for needle in _NEEDLES:
            at = body.find(needle)
            while at >= 0:
                start = body.rfind(b"\n", 0, at) + 1
                end = body.find(b"\n", at)
                hits[start] = body[start : len(body) if end < 0 else end]
                at = body.find(needle, len(body) if end < 0 else end)
        for start in sorted(hits, reverse=True):
            yield base + start, hits[start]
        # the line the block starts inside of: completed by the next (earlier) block
        rest = data[:first_nl] if first_nl <= MAX_LINE else b""
    if pos == 0 and rest and any(n in rest for n in _NEEDLES):
        yield 0, rest


def _search_plain(path: str, want: _Wanted, budget: int, scan: LogScan) -> int:
    """Search one uncompressed file from its end; returns the bytes read."""
    with open(path, "rb") as raw:
        fh = _Counting(raw)
        size = os.fstat(raw.fileno()).st_size
        found: list[tuple[int, LogChange]] = []
        for offset, line in _reverse_lines(fh, size, budget):
            for change in parse_line(line, f"{path}@{offset}"):
                if want.take(change):
                    found.append((offset, change))
            if want.done():
                break
        if found and size <= budget:
            # exact line numbers: the file is small enough to be read whole
            lines = _line_numbers(fh, [o for o, _ in found])
            found = [
                (o, LogChange(c.path, c.time, c.command, f"{path}:{lines[o]}")) for o, c in found
            ]
        for _, change in found:
            want.taken[change.path] = change
            scan.changes[change.path] = change
        return fh.read_bytes


def _line_numbers(fh: _Counting, offsets: list[int]) -> dict[int, int]:
    """1-based line numbers of byte offsets (each the start of a line)."""
    out: dict[int, int] = {}
    fh.seek(0)
    pos, count, i = 0, 0, 0
    todo = sorted(set(offsets))
    while i < len(todo):
        block = fh.read(CHUNK)
        if not block:
            break
        end = pos + len(block)
        while i < len(todo) and todo[i] < end:
            out[todo[i]] = count + block.count(b"\n", 0, todo[i] - pos) + 1
            i += 1
        count += block.count(b"\n")
        pos = end
    return out


def _search_gzip(path: str, want: _Wanted, budget: int, scan: LogScan) -> int:
    """Read one gzipped file whole (forward); the last change per path wins."""
    found: dict[str, LogChange] = {}
    used = 0
    with gzip.open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            used += len(line)
            if used > budget:
                raise _OverBudget
            for change in parse_line(line[:MAX_LINE], f"{path}:{number}"):
                if want.wants(change):
                    found[change.path] = change
    for change in found.values():
        if want.take(change):
            scan.changes[change.path] = change
    return used


class _OverBudget(Exception):
    pass


class _Wanted:
    """The paths still looked for (None: every path)."""

    def __init__(self, paths: Iterable[str] | None) -> None:
        self.open: set[str] | None = None if paths is None else set(paths)
        self.taken: dict[str, LogChange] = {}

    def wants(self, change: LogChange) -> bool:
        if change.path in self.taken:
            return False
        return self.open is None or change.path in self.open or change.path.startswith("log-set[")

    def take(self, change: LogChange) -> bool:
        if not self.wants(change):
            return False
        self.taken[change.path] = change
        if self.open is not None:
            self.open.discard(change.path)
        return True

    def done(self) -> bool:
        return self.open is not None and not self.open


def scan_logs(
    files: Iterable[str],
    want: Iterable[str] | None = None,
    *,
    budget: int = DEFAULT_BUDGET,
    rotated: bool = True,
) -> LogScan:
    """The last change per path in ``files`` (each with its rotated siblings when ``rotated``),
    newest file first, reading at most ``budget`` bytes in all. ``want``: the conf paths looked
    for (the search stops when each has its line; ``log-set`` lines are always taken, since their
    sink is named by the node); None takes every path. ``journal`` reads the unit ``aerospike``
    through ``journalctl``."""
    scan = LogScan()
    wanted = _Wanted(want)
    order: list[str] = []
    for f in files:
        for name in rotated_files(f) if rotated and f != JOURNAL else [f]:
            if name not in order:
                order.append(name)
        if f != JOURNAL and not os.path.exists(f) and f not in order:
            scan.notes.append(f"{f}: no such file")
    left = budget
    for name in order:
        if wanted.done():
            break
        if left <= 0:
            scan.complete = False
            scan.notes.append(f"{name}: not searched (the {budget // 1048576} MiB budget is spent)")
            continue
        try:
            if name == JOURNAL:
                used = _search_journal("aerospike", wanted, scan)
            elif name.endswith(".gz"):
                used = _search_gzip(name, wanted, left, scan)
            else:
                used = _search_plain(name, wanted, left, scan)
        except _OverBudget:
            scan.complete = False
            scan.notes.append(f"{name}: not searched (larger than the remaining budget)")
            continue
        except FileNotFoundError as exc:
            what = "journalctl not found" if name == JOURNAL else "no such file"
            scan.notes.append(f"{name}: {what}" if name == JOURNAL else f"{exc.filename}: {what}")
            continue
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            scan.notes.append(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}")
            continue
        scan.sources.append(name)
        scan.bytes_read += used
        left -= used
    return scan


# --- the journal ---------------------------------------------------------------------------------


def parse_journal_entry(line: str, unit: str) -> list[LogChange]:
    """The changes one ``journalctl -o json`` entry records."""
    try:
        entry = json.loads(line)
    except ValueError:
        return []
    if not isinstance(entry, dict):
        return []
    message, stamp = entry.get("MESSAGE"), entry.get("__REALTIME_TIMESTAMP")
    if not isinstance(message, str) or not isinstance(stamp, str) or not stamp.isdigit():
        return []
    when = datetime.fromtimestamp(int(stamp) / 1_000_000, UTC)
    # a file-sink formatted line sent to stderr carries its own time: skip it
    m = _PREFIX_RE.match(message.encode("utf-8", "replace"))
    if m is not None:
        message = message.encode("utf-8", "replace")[m.end() :].decode("utf-8", "replace")
    return parse_message(message.rstrip(), when, f"journal:{unit}")


def _search_journal(unit: str, want: _Wanted, scan: LogScan) -> int:
    """The unit's newest entries, newest first (``journalctl -r``), at most JOURNAL_ENTRIES."""
    cmd = ["journalctl", "-u", unit, "-r", "-o", "json", "--no-pager", "-n", str(JOURNAL_ENTRIES)]
    used = 0
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace"
    ) as proc:
        assert proc.stdout is not None
        # bounded in time too: a journal that does not answer is killed
        watchdog = threading.Timer(JOURNAL_SECONDS, proc.kill)
        watchdog.start()
        try:
            for line in proc.stdout:
                used += len(line)
                for change in parse_journal_entry(line, unit):
                    if want.take(change):
                        scan.changes[change.path] = change
                if want.done():
                    break
        finally:
            watchdog.cancel()
            proc.kill()
    return used


__all__ = [
    "DEFAULT_BUDGET",
    "JOURNAL",
    "LogChange",
    "LogScan",
    "params_paths",
    "parse_journal_entry",
    "parse_line",
    "rotated_files",
    "scan_logs",
]
