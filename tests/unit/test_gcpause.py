"""ascad.gcpause: the collector is off inside, back on after (also after an error), and a pause
inside a pause, or inside a caller's own gc.disable(), leaves the collector as it found it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from ascad.gcpause import gc_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_and_on_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_on_again_after_an_error() -> None:
    with pytest.raises(ValueError, match="boom"), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_one_alone() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # still the outer pause's
    assert gc.isenabled()


def test_a_callers_own_disable_is_kept() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_cyclic_garbage_made_inside_is_collected_after() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector can free it

    with gc_paused():
        alive = weakref.ref(Node())
        junk = [[] for _ in range(10_000)]  # would start the collector many times over
        assert len(junk) == 10_000
        assert alive() is not None  # nothing collected it during the pause
    gc.collect()
    assert alive() is None


def test_what_the_pause_made_goes_to_the_oldest_generation() -> None:
    gc.collect()
    with gc_paused():
        made = [[i] for i in range(20_000)]  # 20,001 tracked containers
    young, middle, _ = gc.get_count()
    assert young < 700 and middle < 10  # not waiting in generation 0 for a walk of its own
    assert any(made[-1] is o for o in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0  # moved, not left frozen


def test_a_small_pause_leaves_its_objects_young() -> None:
    gc.collect()
    with gc_paused():
        made = [[i] for i in range(100)]
    assert gc.get_count()[0] >= 100  # still counted in generation 0: collected young as usual
    assert not any(made[-1] is o for o in gc.get_objects(generation=2))


def test_a_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            made = [[i] for i in range(1_000)]
        assert len(made) == 1_000
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
