"""checks.pipeline: two local sources compared without an event loop give what the async path
gives (the same differences, warnings and errors), and only local sources take that way."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest

from ascad.checks.pipeline import Comparison, Rules, compare_local_sources, compare_sources
from ascad.errors import AscadError
from ascad.runtime.login import NodeLogin
from ascad.sources.loader import LoadOptions, is_local_spec
from tests.helpers import FIXTURES

CONFS = sorted((FIXTURES / "confs").glob("*.conf"))


def both_ways(
    left: str, right: str, rules: Rules, options: LoadOptions
) -> tuple[Comparison, Comparison]:
    sync = compare_local_sources(left, right, options, rules)
    in_loop = asyncio.run(compare_sources(left, right, options, NodeLogin(), rules))
    return sync, in_loop


@pytest.mark.parametrize(("left", "right"), list(pairwise(CONFS[:12])))
def test_local_comparison_is_the_async_one(left: Path, right: Path) -> None:
    for rules in (Rules(), Rules(ignore=("namespace[*].*",), build="8.1.2.2")):
        sync, in_loop = both_ways(str(left), str(right), rules, LoadOptions())
        assert sync.result.differences == in_loop.result.differences
        assert sync.result.ignored == in_loop.result.ignored
        assert sync.warnings == in_loop.warnings and sync.unmatched == in_loop.unmatched
        assert (sync.result.left, sync.result.right) == (in_loop.result.left, in_loop.result.right)


def test_local_errors_are_the_async_ones(tmp_path: Path) -> None:
    good = str(CONFS[0])
    bad = tmp_path / "bad.conf"
    bad.write_text("service {\n    proto-fd-max\n}\n")
    cases = [
        (good, str(tmp_path / "missing.conf"), LoadOptions()),
        (str(bad), good, LoadOptions()),
        (str(tmp_path / "missing.conf"), str(bad), LoadOptions()),  # the left side's error
        (good, good, LoadOptions(timeout=0)),
    ]
    for left, right, options in cases:
        with pytest.raises(AscadError) as sync:
            compare_local_sources(left, right, options, Rules())
        with pytest.raises(AscadError) as in_loop:
            asyncio.run(compare_sources(left, right, options, NodeLogin(), Rules()))
        assert str(sync.value) == str(in_loop.value)


def test_only_files_and_stdin_are_local(tmp_path: Path) -> None:
    assert is_local_spec(str(CONFS[0])) and is_local_spec("-")
    assert is_local_spec(str(tmp_path / "not-there-yet.conf"))  # the reader says it is missing
    for spec in (
        "aerospike://127.0.0.1:3000",
        "aerospike+tls://h:4333",
        "http://127.0.0.1:9145",
        "git+file:///srv/salt.git#aerospike.conf@main",
        "gitlab+https://gitlab.example/ops/salt#a.conf@main",
        "",
    ):
        assert not is_local_spec(spec), spec
