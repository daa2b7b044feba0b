"""Prometheus text format: rendered by hand, parsed back by a small independent checker."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ascad.errors import AscadError
from ascad.report.metrics import CONTENT_TYPE, Sample, format_value, render_metrics
from tests.helpers import parse_prometheus


def agent_samples() -> list[Sample]:
    out = []
    for check, diffs in (("runtime", 2), ("golden", 0), ("peer", 5)):
        out.append(Sample("ascad_drift_differences", diffs, {"check": check}))
        out.append(Sample("ascad_check_ok", int(diffs == 0), {"check": check}))
    out.append(Sample("ascad_last_success_timestamp_seconds", 1_700_000_123.25, {"check": "peer"}))
    out.append(Sample("ascad_cycle_duration_seconds", 0.731))
    return out


def test_agent_metrics_render_and_parse_back() -> None:
    text = render_metrics(agent_samples())
    families = parse_prometheus(text)
    assert list(families) == [
        "ascad_drift_differences",
        "ascad_check_ok",
        "ascad_last_success_timestamp_seconds",
        "ascad_cycle_duration_seconds",
    ]
    drift = families["ascad_drift_differences"]
    assert drift["type"] == "gauge"
    assert drift["help"].startswith("Differences found")
    assert drift["samples"] == {
        (("check", "runtime"),): 2.0,
        (("check", "golden"),): 0.0,
        (("check", "peer"),): 5.0,
    }
    assert families["ascad_check_ok"]["samples"][(("check", "golden"),)] == 1.0
    last = families["ascad_last_success_timestamp_seconds"]["samples"]
    assert last == {(("check", "peer"),): 1_700_000_123.25}
    assert families["ascad_cycle_duration_seconds"]["samples"] == {(): 0.731}
    assert 'ascad_drift_differences{check="runtime"} 2\n' in text
    assert "ascad_cycle_duration_seconds 0.731\n" in text
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_label_and_help_escaping() -> None:
    nasty = 'C:\\conf "main"\nline2'
    text = render_metrics([Sample("x_total", 1, {"path": nasty}, help='a \\ b\nc "q"')])
    assert 'x_total{path="C:\\\\conf \\"main\\"\\nline2"} 1' in text
    assert '# HELP x_total a \\\\ b\\nc "q"\n' in text  # quotes are not escaped in HELP
    families = parse_prometheus(text)
    assert families["x_total"]["samples"] == {(("path", nasty),): 1.0}
    assert families["x_total"]["help"] == 'a \\ b\nc "q"'


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
        max_size=4,
    ),
    st.floats(allow_nan=False),
)
def test_any_labels_and_values_round_trip(labels: dict[str, str], value: float) -> None:
    families = parse_prometheus(render_metrics([Sample("ascad_x", value, labels)]))
    ((got_labels, got_value),) = families["ascad_x"]["samples"].items()
    assert dict(got_labels) == labels
    assert got_value == value


def test_special_values() -> None:
    assert format_value(float("nan")) == "NaN"
    assert format_value(float("inf")) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(3.0) == "3"
    assert format_value(1e300) == "1e+300"
    parsed = parse_prometheus(render_metrics([Sample("v", float("nan")), Sample("w", -math.inf)]))
    assert math.isnan(parsed["v"]["samples"][()])
    assert parsed["w"]["samples"][()] == -math.inf


def test_empty_is_empty() -> None:
    assert render_metrics([]) == ""


@pytest.mark.parametrize(
    ("samples", "fragment"),
    [
        ([Sample("bad-name", 1)], "invalid metric name"),
        ([Sample("ok", 1, {"bad-label": "x"})], "invalid label name"),
        ([Sample("ok", 1, {"__name__": "x"})], "invalid label name"),
        ([Sample("ok", 1, type="summary")], "type 'summary'"),
        ([Sample("ok", 1), Sample("ok", 2, {"a": "b"}, type="counter")], "disagree on the type"),
        ([Sample("ok", 1, help="a"), Sample("ok", 2, {"a": "b"}, help="b")], "HELP"),
        ([Sample("ok", 1, {"c": "x"}), Sample("ok", 2, {"c": "x"})], "two samples"),
    ],
)
def test_invalid_input_is_an_ascad_error(samples: list[Sample], fragment: str) -> None:
    with pytest.raises(AscadError, match=fragment):
        render_metrics(samples)


def test_interleaved_families_are_grouped() -> None:
    text = render_metrics([Sample("a", 1, {"k": "1"}), Sample("b", 2), Sample("a", 3, {"k": "2"})])
    families = parse_prometheus(text)  # parse() fails if a family appears twice
    assert families["a"]["samples"] == {(("k", "1"),): 1.0, (("k", "2"),): 3.0}
