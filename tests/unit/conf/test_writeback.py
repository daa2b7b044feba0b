"""Write-back keeps every other byte: on every sample conf, each plain parameter changed in turn
leaves every other line byte-identical and re-parses to the new value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.conf.writeback import Edit, WriteBackError, apply_edits, replace_value

CONFS = sorted((Path(__file__).parents[2] / "fixtures" / "confs").glob("*.conf"))


def test_replace_value_keeps_the_rest_of_the_line() -> None:
    assert replace_value("    proto-fd-max 15000  # why\n", "proto-fd-max", "20000") == (
        "    proto-fd-max 20000  # why\n"
    )
    assert replace_value("\tkey\t1\r\n", "key", "2") == "\tkey\t2\r\n"
    assert replace_value("        context misc info\n", "context", "detail", keep=1) == (
        "        context misc detail\n"
    )
    with pytest.raises(WriteBackError):
        replace_value("    storage-engine memory { data-size 1G }\n", "storage-engine", "x")


@pytest.mark.parametrize("path", CONFS, ids=[p.name for p in CONFS])
def test_every_parameter_of_every_sample(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = parse_text(text, path.name)
    flat = flatten(tree)
    lines = text.splitlines(keepends=True)
    edited = 0
    # every plain parameter, in file order, up to 40 per file (the suite's time)
    for p, setting in flat.settings.items():
        if edited >= 40:
            break
        if (
            setting.stanza
            or p.endswith("]")
            or " " in setting.value
            or "{" in lines[setting.line - 1]
        ):
            continue
        new_value = "7" if setting.value != "7" else "8"
        try:
            out = apply_edits(text, tree, [Edit(p, new_value, setting.line)])
        except WriteBackError:
            continue  # refused (a line the edit cannot make plainly): nothing written
        edited += 1
        new_lines = out.splitlines(keepends=True)
        assert len(new_lines) == len(lines)
        for i, (a, b) in enumerate(zip(lines, new_lines, strict=True)):
            if i != setting.line - 1:
                assert a == b, (p, i + 1)
        assert flatten(parse_text(out, path.name)).settings[p].value == new_value, p
    assert edited > 0


def test_insert_into_a_stanza_and_refuse_a_missing_one() -> None:
    text = (
        "service {\n    proto-fd-max 15000 # c\n}\n\nnamespace test {\n\treplication-factor 2\n}\n"
    )
    tree = parse_text(text, "a.conf")
    out = apply_edits(text, tree, [Edit("namespace[test].default-ttl", "86400", None)])
    assert out == text.replace(
        "\treplication-factor 2\n", "\treplication-factor 2\n\tdefault-ttl 86400\n"
    )
    with pytest.raises(WriteBackError, match="no namespace\\[other\\] stanza"):
        apply_edits(text, tree, [Edit("namespace[other].default-ttl", "1", None)])
    with pytest.raises(WriteBackError, match="does not state it"):
        apply_edits(text, tree, [Edit("service.proto-fd-max", "1", 5)])
