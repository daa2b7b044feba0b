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


def _fleet(values: list[str]) -> str:
    from ascad.checks.fleet import NodeConfig, analyse
    from ascad.report.fleet_text import render
    from tests.helpers import PEER_PATTERNS, flat_of

    nodes = [
        NodeConfig(f"n{i}", flat_of(f"service {{\n    proto-fd-max {v}\n}}\n", f"n{i}"))
        for i, v in enumerate(values)
    ]
    return render(analyse(nodes, PEER_PATTERNS), width=80)


def test_values_of_a_parameter_line_up_and_one_parameter_differs() -> None:
    text = _fleet(["15000", "15000", "9", "150000"])
    lines = [line for line in text.splitlines() if line.startswith("      ")]
    assert lines == [
        "      15000   g1 (2 nodes)",
        "      9       g2 (1 node): n2",
        "      150000  g3 (1 node): n3",
    ]
    assert "drift: 3 groups, 1 parameter differs; ignored: 0" in text


def test_a_long_value_is_not_padded_beyond_the_limit() -> None:
    long = "1" * 30
    lines = [line for line in _fleet(["7", long]).splitlines() if line.startswith("      ")]
    assert lines == ["      7" + " " * 23 + "  g1 (1 node)", f"      {long}  g2 (1 node): n1"]


def test_group_lines_line_up_past_nine_groups() -> None:
    text = _fleet([str(1000 + i) for i in range(11)])
    rows = [line for line in text.splitlines() if line.startswith("  g")]
    assert len(rows) == 11
    assert {line.index(" node") for line in rows} == {rows[0].index(" node")}
    assert rows[0].startswith("  g1      1 node  ") and rows[10].startswith("  g11     1 node  ")
