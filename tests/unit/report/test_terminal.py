"""The terminal report's wording for each kind of difference, in both argument orders."""

from __future__ import annotations

import pytest

from ascad.compare.diff import CHANGED, SET_AT_RUNTIME, CompareResult, Difference, Side
from ascad.compare.drift import set_at_runtime
from ascad.report.terminal import difference_line, render_differences

NODE = "aerospike://127.0.0.1:3000"
LEFT, RIGHT = Side.LEFT, Side.RIGHT


def test_set_at_runtime_names_default_and_running_value_in_either_order() -> None:
    conf_left = CompareResult(
        "a.conf",
        NODE,
        [
            Difference(
                "service.migrate-threads", SET_AT_RUNTIME, "1", "4", None, None, False, node=RIGHT
            )
        ],
    )
    node_left = CompareResult(
        NODE,
        "a.conf",
        [
            Difference(
                "service.migrate-threads", SET_AT_RUNTIME, "4", "1", None, None, False, node=LEFT
            )
        ],
    )
    for result in (conf_left, node_left):
        text = render_differences(result)
        assert (
            "! migrate-threads: not in the conf; the node runs 4, the default is 1 "
            "(likely a set-config not written to the conf) [dynamic]" in text
        )
        assert "set at runtime" not in text
        assert "1 difference (1 not in the conf, off the default)" in text
        d = result.differences[0]
        assert difference_line(d, result.left, result.right) == (
            f"service.migrate-threads: not in the conf; {NODE} runs 4, the default is 1 [dynamic]"
        )


def test_set_at_runtime_static_is_one_statement_without_the_note() -> None:
    """A static parameter cannot be set at runtime, and the JSON note is not printed again."""
    d = set_at_runtime("service.run-as-daemon", "true", "false", restart=True)
    text = render_differences(CompareResult("a.conf", NODE, [d]))
    line = next(x for x in text.splitlines() if "run-as-daemon" in x)
    assert line == (
        "  ! run-as-daemon: not in the conf; the node runs false, the default is true "
        "[restart needed]"
    )


def test_stanza_type_change_is_listed_under_its_parent_by_its_own_name() -> None:
    d = Difference(
        "namespace[test].storage-engine", CHANGED, "device", "memory", 11, 12, stanza=True
    )
    text = render_differences(CompareResult("a.conf", "b.conf", [d]))
    assert text.splitlines()[:4] == [
        "--- a.conf",
        "+++ b.conf",
        "namespace[test]",
        # the header names the files once; each difference gives its lines on its own side
        "  ~ storage-engine: device (line 11) -> memory (line 12) (stanza type)",
    ]
    assert "type:" not in text


def test_verbose_lists_ignored_paths_and_template_notes() -> None:
    result = CompareResult(
        "t.conf.j2",
        "n.conf",
        [Difference("service.proto-fd-max", CHANGED, "15000", "20000", 3, 2)],
        ignored=["service.migrate-threads"],
    )
    notes = [
        ("t.conf.j2", 4, "'{% else %}' branch blanked (first branch kept)"),
        ("t.conf.j2", 9, "'{% include %}': included lines are not compared"),
    ]
    quiet = render_differences(result, template_notes=notes)
    assert "migrate-threads" not in quiet and "{% else %}" not in quiet
    assert quiet.rstrip().endswith("ignored: 1; template: 1 branch blanked, 1 other note, see -v")
    loud = render_differences(result, verbose=True, template_notes=notes)
    assert "  x service.migrate-threads" in loud
    assert "  t.conf.j2:4: '{% else %}' branch blanked (first branch kept)" in loud
    assert "see -v" not in loud


def test_runtime_side_has_no_line_number() -> None:
    result = CompareResult(
        "a.conf",
        NODE,
        [Difference("service.proto-fd-max", CHANGED, "15000", "20000", 4, None, restart=False)],
    )
    text = render_differences(result)
    assert "15000 (line 4) -> 20000 [dynamic]" in text
    assert text.startswith(f"--- a.conf\n+++ {NODE}\n")
    assert ":None" not in text


def test_wrap_line_breaks_only_between_tokens() -> None:
    from ascad.report.terminal import visible_len, wrap_line

    url = "aerospike://127.0.0.1:30001"
    line = "  g1   3 nodes  " + ", ".join([url] * 5)
    parts = wrap_line(line, 40)
    assert all(visible_len(p) <= 40 for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(line.split())  # nothing lost or cut
    assert all(url in p or not p.strip() for p in parts[1:])
    assert all(p.startswith("      ") for p in parts[1:])  # continuation: indent + 4
    long = "x" * 100
    assert wrap_line(f"  {long} y", 40) == [f"  {long}", "      y"]  # a long token stands alone
    coloured = "\033[31mred\033[0m " * 10
    assert all(visible_len(p) <= 20 for p in wrap_line(coloured.strip(), 20))


def test_output_columns_follow_columns_then_80(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ascad.report.terminal import output_columns

    monkeypatch.setenv("COLUMNS", "132")
    assert output_columns(io.StringIO()) == 132
    monkeypatch.setenv("COLUMNS", "wide")
    assert output_columns(io.StringIO()) == 80
    monkeypatch.delenv("COLUMNS")
    assert output_columns(io.StringIO()) == 80  # not a terminal: a pipe or a file


def test_a_url_source_line_is_not_read_as_a_port() -> None:
    d = Difference("service.proto-fd-max", CHANGED, "20000", "15000", 4, 4, restart=False)
    text = difference_line(d, "/etc/aerospike/aerospike.conf", "http://127.0.0.1:9145/v1/config")
    assert text == (
        "service.proto-fd-max: 20000 (/etc/aerospike/aerospike.conf:4) -> 15000 "
        "(http://127.0.0.1:9145/v1/config line 4) [dynamic]"
    )
