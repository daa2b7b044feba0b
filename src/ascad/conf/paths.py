"""Splitting paths (docs/paths.md) into segments (a ``.`` inside ``[…]`` never splits), and path globs.

``namespace[a.b].storage-engine.file[0]`` -> ``namespace[a.b]``, ``storage-engine``, ``file[0]``.
Every stage that takes a path apart uses these, so the rule lives in one place.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=65536)
def split_path(path: str) -> tuple[str, ...]:
    """The segments of ``path``. Cached: fleets split the same few thousand paths many times."""
    out: list[str] = []
    start = 0
    depth = 0
    for i, ch in enumerate(path):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "." and depth == 0:
            out.append(path[start:i])
            start = i + 1
    out.append(path[start:])
    return tuple(out)


def segment_parts(segment: str) -> tuple[str, str | None]:
    """``file[/a.log]`` -> (``file``, ``/a.log``); ``mode`` -> (``mode``, None)."""
    if segment.endswith("]") and "[" in segment:
        base, _, rest = segment.partition("[")
        return base, rest[:-1]
    return segment, None


def parent_and_leaf(path: str) -> tuple[str, str]:
    """(``namespace[test]``, ``default-ttl``) for ``namespace[test].default-ttl``; ("", path) at the top."""
    segs = split_path(path)
    return ".".join(segs[:-1]), segs[-1]


def ancestors(path: str) -> list[str]:
    """Every proper prefix of ``path`` that ends at a segment boundary, shortest first."""
    segs = split_path(path)
    return [".".join(segs[:i]) for i in range(1, len(segs))]


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile an ignore glob over paths: ``*`` any run, ``?`` one character, everything else
    literal (so ``namespace[test].*`` means what it says)."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.DOTALL)
