"""The text report of one agent cycle (ascad.report.cycle_text), as `ascad check` prints it."""

from __future__ import annotations

from ascad.report.cycle_text import render_text


def test_check_report_says_1_difference() -> None:
    import io

    from ascad.checks.results import CheckResult, CycleResult
    from ascad.compare.diff import Difference

    diff = Difference("service.proto-fd-max", "changed", "1", "2", 4, None)
    cycle = CycleResult(
        "n1", "A1", "master", "auto", "c", None, 0.0, 0.1,
        [CheckResult("golden", "critical", [diff], duration=0.01)],
    )  # fmt: skip
    out = io.StringIO()
    render_text(cycle, out)
    assert "== golden: CRITICAL (1 difference, 0.01s)" in out.getvalue()
