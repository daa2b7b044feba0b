"""The terminal report's wording for each kind of difference, in both argument orders."""

from __future__ import annotations

from ascad.compare import CHANGED, SET_AT_RUNTIME, CompareResult, Difference
from ascad.report.terminal import difference_line, render_differences

NODE = "aerospike://127.0.0.1:3000"


def test_set_at_runtime_names_default_and_running_value_in_either_order() -> None:
    conf_left = CompareResult(
        "a.conf",
        NODE,
        [
            Difference(
                "service.migrate-threads", SET_AT_RUNTIME, "1", "4", None, None, restart=False
            )
        ],
    )
    node_left = CompareResult(
        NODE,
        "a.conf",
        [
            Difference(
                "service.migrate-threads", SET_AT_RUNTIME, "4", "1", None, None, restart=False
            )
        ],
    )
    for result in (conf_left, node_left):
        text = render_differences(result)
        assert (
            "! migrate-threads: default 1 -> running 4, set at runtime, not in the conf [dynamic]"
            in text
        )
        d = result.differences[0]
        assert difference_line(d, result.left, result.right) == (
            f"service.migrate-threads: default 1 -> running 4 on {NODE}, set at runtime, not in the conf [dynamic]"
        )


def test_runtime_side_has_no_line_number() -> None:
    result = CompareResult(
        "a.conf",
        NODE,
        [Difference("service.proto-fd-max", CHANGED, "15000", "20000", 4, None, restart=False)],
    )
    text = render_differences(result)
    assert f"15000 (a.conf:4) -> 20000 ({NODE}) [dynamic]" in text
    assert ":None" not in text
