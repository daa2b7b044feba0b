"""The fleet text report (ascad.report.fleet_text)."""

from __future__ import annotations

from ascad.compare.drift import set_at_runtime
from ascad.report.fleet_text import _golden_lines


def test_set_at_runtime_in_the_fleet_golden_section_reads_like_diff() -> None:
    d = set_at_runtime("service.migrate-threads", "1", "4", restart=False)
    [line] = _golden_lines([d], "golden.conf", "n1.conf", lambda _code, text: text)
    assert line == (
        "    ! service.migrate-threads: not in the conf; the node runs 4, the default is 1 "
        "(likely a set-config not written to the conf) [dynamic]"
    )
