"""Two FlatConfigs -> the list of real differences between them.

A difference has a path (docs/paths.md), a kind, both values as written and both line numbers.
Kinds:

- ``changed``: the path is on both sides with different canonical values;
- ``only_left`` / ``only_right``: the path is on one side only. A stanza missing on one side is
  reported once, not once per parameter inside it.

A logging ``context NAME`` on one side only is compared with the other side's ``context any`` of
the same sink, which sets it there (cf/src/log.c): equal levels are no difference.

Values equal to :data:`~ascad.conf.model.WILDCARD` (from a template's ``{{ … }}``) match anything;
such matches are counted in ``CompareResult.wildcards``. ``ignore`` takes glob patterns over paths
where ``*`` matches any run of characters and ``?`` one character; ``[`` and ``]`` are literal, so
``namespace[test].*`` means what it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ascad.conf.model import WILDCARD_MANY, WILDCARD_RE, FlatConfig, Setting, is_wild
from ascad.conf.paths import glob_regex


class Kind(StrEnum):
    """What a difference is (its JSON ``kind``)."""

    CHANGED = "changed"  # on both sides, different canonical values
    ONLY_LEFT = "only_left"  # on the left side only
    ONLY_RIGHT = "only_right"  # on the right side only
    # Runtime comparisons only: not in the conf, and the running value differs from the default.
    SET_AT_RUNTIME = "set_at_runtime"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Side:
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


CHANGED = Kind.CHANGED
ONLY_LEFT = Kind.ONLY_LEFT
ONLY_RIGHT = Kind.ONLY_RIGHT
SET_AT_RUNTIME = Kind.SET_AT_RUNTIME


@dataclass(frozen=True)
class Provenance:
    """The server log line that last set a runtime difference's path (``ascad.compare.origin``)."""

    time: str  # ISO 8601, as the log has it (UTC unless the server logs local time)
    command: str  # set-config:… or log-set:…
    source: str  # FILE:LINE, FILE@OFFSET or journal:UNIT


@dataclass(frozen=True)
class Acknowledgement:
    """The baseline entry that acknowledges a difference (``ascad.checks.baseline``)."""

    path: str  # the entry's path glob
    reason: str
    source: str  # BASELINE:LINE
    owner: str | None = None
    until: str | None = None  # ISO date; after it the difference counts again
    node: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Difference:
    path: str
    kind: Kind
    left: str | None
    right: str | None
    left_line: int | None
    right_line: int | None
    # Filled by later stages when known: does fixing it need a restart (static parameter)?
    restart: bool | None = None
    note: str | None = None
    # The path names a whole stanza (present on one side only, or of another type).
    stanza: bool = False
    # Which side is the running node, when one is (a ``set_at_runtime`` difference holds the
    # running value on that side and the version's default on the other).
    node: Side | None = None
    # Issue 14, filled after comparing: the log line that set it, where it comes from
    # (``runtime``, ``file`` or ``unknown``), the baseline entry that acknowledges it, and since
    # when the agent has seen it (ISO 8601).
    provenance: Provenance | None = None
    origin: str | None = None
    origin_note: str | None = None
    acknowledged: Acknowledgement | None = None
    first_seen: str | None = None


@dataclass
class CompareResult:
    left: str
    right: str
    differences: list[Difference] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # paths skipped by ignore patterns
    wildcards: list[str] = field(default_factory=list)  # paths matched by a template wildcard
    # path -> the other side's value, for each match where a template's wildcard stood for the
    # value itself (`replication-factor {{ rf }}`): a value that was not checked
    wildcard_values: dict[str, str] = field(default_factory=dict)
    # paths stated on one side at the server version's default, left out on the other (no drift)
    defaults: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences

    @property
    def findings(self) -> list[Difference]:
        """The differences that count: every one not acknowledged by a baseline entry."""
        return [d for d in self.differences if d.acknowledged is None]


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)


def unmatched_patterns(patterns: Iterable[str], *configs: FlatConfig) -> list[str]:
    """The patterns that match no path of any of ``configs``: likely a typo in an ``--ignore``
    (``namespace[tset].*``), since a pattern that matches nothing ignores nothing."""
    paths = [p for conf in configs for p in conf.settings]
    return [p for p in dict.fromkeys(patterns) if not any(glob_regex(p).match(x) for x in paths)]


def values_match(left: str, right: str) -> bool | None:
    """True/False for equal/different; None when equal only through a wildcard."""
    if left == right:
        return True
    if not is_wild(left) and not is_wild(right):
        return False
    lt, rt = left.split(" "), right.split(" ")
    if len(lt) != len(rt):
        return None if WILDCARD_RE.fullmatch(left) or WILDCARD_RE.fullmatch(right) else False
    for a, b in zip(lt, rt, strict=True):
        if a != b and not WILDCARD_RE.fullmatch(a) and not WILDCARD_RE.fullmatch(b):
            return False
    return None


_CONTEXT_RE = re.compile(r"^(.*\.context)\[([^\]]+)\]\Z", re.DOTALL)


def _logging_any(path: str, other: dict[str, Setting]) -> Setting | None:
    """For a logging ``…context[NAME]`` path, the other side's ``…context[any]`` of the same sink.

    ``context any LEVEL`` sets every context of the sink (cf/src/log.c); a later
    ``context NAME LEVEL`` overrides one. So a context named on one side only is set, on the other
    side, by that side's ``any`` line: ``context any info`` equals ``context any info`` plus
    ``context misc info``.
    """
    if not path.startswith("logging."):
        return None
    m = _CONTEXT_RE.match(path)
    if m is None or m.group(2) == "any":
        return None
    return other.get(f"{m.group(1)}[any]")


def _under_any(path: str, stanzas: Sequence[str]) -> bool:
    return any(path.startswith(s) and path[len(s)] in ".[" for s in stanzas if len(path) > len(s))


def wildcard_regex(path: str) -> re.Pattern[str]:
    """A wildcard path as a regex; a wildcard never spans past the ``]`` that ends its name."""
    out, pos = [], 0
    for m in WILDCARD_RE.finditer(path):
        out += [re.escape(path[pos : m.start()]), r"[^\]]+?"]
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def compare(
    left: FlatConfig,
    right: FlatConfig,
    ignore: Sequence[str] = (),
) -> CompareResult:
    """Every real difference between ``left`` and ``right``, in file order: left lines, with each
    right-only path placed after the left line of the path that precedes it in the right file."""
    result = CompareResult(left=left.source, right=right.source)
    ls, rs = left.settings, right.settings

    left_only = [p for p in ls if p not in rs]
    right_only = [p for p in rs if p not in ls]

    # A path holding a template wildcard pairs with one unmatched path on the other side; one from
    # a `{% for %}` body (WILDCARD_MANY) with every matching one.
    paired: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []  # (left path, right path)
    for own, other, left_side in ((left_only, right_only, True), (right_only, left_only, False)):
        for path in own:
            if path in paired or not is_wild(path):
                continue
            rx = wildcard_regex(path)
            many = WILDCARD_MANY in path
            for candidate in other:
                if candidate in paired or is_wild(candidate) or not rx.match(candidate):
                    continue
                paired.setdefault(path, candidate)
                paired[candidate] = path
                pairs.append((path, candidate) if left_side else (candidate, path))
                if not many:
                    break

    ignored: list[str] = []
    diffs: list[tuple[float, int, Difference]] = []

    def skip(path: str) -> bool:
        if ignore and matches_any(path, ignore):
            ignored.append(path)
            return True
        return False

    for lpath, rpath in pairs:
        ls_, rs_ = ls[lpath], rs[rpath]
        concrete = rpath if is_wild(lpath) else lpath  # report the node's real name
        result.wildcards.append(concrete)
        same = values_match(ls_.canonical, rs_.canonical)
        if same is None:
            _unchecked_value(result, concrete, ls_, rs_)
        elif same is False and not skip(concrete):
            diffs.append((ls_.line, rs_.line, _changed(concrete, ls_, rs_)))

    for path, ls_ in ls.items():
        found = rs.get(path)
        if found is None or ls_.canonical == found.canonical:  # (equal: the common case, no call)
            continue
        rs_ = found
        same = values_match(ls_.canonical, rs_.canonical)
        if same is None:
            result.wildcards.append(path)
            _unchecked_value(result, path, ls_, rs_)
        elif not same and not skip(path):
            diffs.append((ls_.line, 0, _changed(path, ls_, rs_)))

    def by_any(path: str, own: Setting, other: dict[str, Setting], left_side: bool) -> bool:
        """A one-sided logging context compared with the other side's ``context any``."""
        any_ = _logging_any(path, other)
        if any_ is None:
            return False
        left_s, right_s = (own, any_) if left_side else (any_, own)
        same = values_match(left_s.canonical, right_s.canonical)
        if same is None:
            result.wildcards.append(path)
        elif not same and not skip(path):
            diffs.append((left_s.line, right_s.line, _changed(path, left_s, right_s)))
        return True

    # A right-only path sorts just before the left line of the next path after it in the right
    # file that the left side has too: the report follows both files in one merged order, and
    # like diff(1)'s hunks, what only the left has (-) comes before what only the right has (+)
    # (`- address[10.0.0.1]` then `+ address[10.0.0.2]`).
    anchor: dict[str, float] = {}
    following = float("inf")
    for path in reversed(rs) if right_only else ():  # (only a right-only path has an anchor)
        partner = path if path in ls else paired.get(path)
        if partner is not None and partner in ls:
            following = ls[partner].line - 0.5
        else:
            anchor[path] = following

    def one_sided(
        only: list[str], own: dict[str, Setting], other: dict[str, Setting], left_side: bool
    ) -> None:
        """Paths on one side only; a missing stanza is reported once, not its contents."""
        missing_stanzas: list[str] = []
        for path in only:
            if path in paired:
                continue
            s = own[path]
            if _under_any(path, missing_stanzas) or by_any(path, s, other, left_side):
                continue
            if s.stanza:
                missing_stanzas.append(path)
            if skip(path):
                continue
            if left_side:
                d = Difference(path, ONLY_LEFT, s.value, None, s.line, None, stanza=s.stanza)
                diffs.append((s.line, 0, d))
            else:
                d = Difference(path, ONLY_RIGHT, None, s.value, None, s.line, stanza=s.stanza)
                diffs.append((anchor.get(path, float("inf")), s.line, d))

    one_sided(left_only, ls, rs, True)
    one_sided(right_only, rs, ls, False)

    diffs.sort(key=lambda t: (t[0], t[1]))
    result.differences = [d for _, _, d in diffs]
    result.ignored = ignored
    return result


def _unchecked_value(result: CompareResult, path: str, left: Setting, right: Setting) -> None:
    """Record the value a template's wildcard stood for (the side without one)."""
    if is_wild(left.canonical) != is_wild(right.canonical):
        result.wildcard_values[path] = right.value if is_wild(left.canonical) else left.value


def _changed(path: str, left: Setting, right: Setting) -> Difference:
    return Difference(
        path, CHANGED, left.value, right.value, left.line, right.line, stanza=left.stanza
    )
