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
objects of its own (``gc.freeze()`` before the pause), the move would thaw them too, so it is
skipped and the collector is only turned back on. The move is made only for a pause that made
:data:`PROMOTE_AT` objects or more: a small structure gains nothing from it, and a process that
parses many small confs (the dashboard's) keeps its young garbage collected young.
"""

from __future__ import annotations

import gc

# Below this many new objects a young collection walks them in no time (an agent's 20 KB conf
# makes about a thousand): only a large structure is moved to the oldest generation directly.
PROMOTE_AT = 10_000


class gc_paused:  # (lower case: used like a function, ``with gc_paused():``)
    """Run the body with the cyclic collector off, then promote what it made (see above). A
    nested pause, or a caller's own ``gc.disable()``, is left as it is: only the pause that
    turned the collector off turns it back on. (A class rather than a generator: every parse
    and every flatten enters one, and this costs a third of ``contextlib.contextmanager``.)"""

    __slots__ = ("_before", "_paused")

    def __enter__(self) -> None:
        self._paused = gc.isenabled()
        if self._paused:
            self._before = gc.get_count()[0]
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if not self._paused:
            return
        made = gc.get_count()[0] - self._before  # (no collection ran meanwhile: net new objects)
        if made >= PROMOTE_AT and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
