"""Pausing Python's cyclic garbage collector while a stage builds a large acyclic structure.

Parsing and flattening a conf allocate tens of thousands of small objects (a node and a setting
per line) that refer only downwards, so reference counting alone frees them and the cyclic
collector never finds anything in them. Yet its generation-0 threshold (700 allocations) starts
it over and over as the structure grows, and each pass that reaches an older generation walks
the whole heap again. Even paused, the first pass after the pause walks every object made during
it (a fifth of a large parse, as cache misses).

:func:`gc_paused` turns the collector off for the duration; at the end it moves what the pause
made straight into the oldest generation (``gc.freeze()`` then ``gc.unfreeze()``, which the
documentation defines as exactly that move) and turns the collector back on. The structure is
long-lived data: the oldest generation is where the collector would have moved it after walking
it twice. Nothing escapes collection: cyclic garbage made meanwhile (by this thread or another)
is collected by the next full collection instead of a young one. When a caller has frozen
objects of its own (``ascad fleet`` freezes its imports), the move would thaw them too, so it is
skipped and the collector is only turned back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off, then promote what it made (see above). A
    nested pause, or a caller's own ``gc.disable()``, is left as it is: only the pause that
    turned the collector off turns it back on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
