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


def test_check_report_says_the_build_is_older_than_the_table() -> None:
    import io

    from ascad.checks.results import CheckResult, CycleResult, version_warnings

    check = CheckResult("runtime", "ok", [], duration=0.01)
    check.version_warnings = version_warnings("3.14.1.1")
    cycle = CycleResult("n1", "A1", "master", "auto", "c", None, 0.0, 0.1, [check])
    out = io.StringIO()
    render_text(cycle, out)
    assert "warning: server 3.14.1.1 is older than the oldest schema ascad holds" in out.getvalue()
