"""Pausing Python's cyclic garbage collector around work that builds many objects and no cycles.

Parsing and flattening a conf allocate tens of thousands of small objects (a node and a setting
per line) that refer only downwards: reference counting alone frees them, so the collector finds
nothing, but its generation-0 threshold (700 allocations) starts it over and over as the tree
grows, and each pass that reaches an older generation walks the whole heap again: a fifth of
the time of a large parse. :func:`gc_paused` turns the collector off for the duration and back
on after (if it was on), so whatever the work leaves behind is collected as usual afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off; nested use and a caller's own pause are left
    as they are (the collector is turned back on only by the pause that turned it off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
