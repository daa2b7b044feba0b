"""The ``ascad.fleet/1`` JSON document against the schema in docs/fleet.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, run_cli, write_nodes


def documented_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON example of docs/fleet.md (comments and ellipses removed), and the commented
    shape of a non-null ``golden``."""
    doc = (ROOT / "docs" / "fleet.md").read_text()
    block = doc.split("## JSON", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    golden_lines: list[str] = []
    lines: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        if stripped.startswith("//"):
            golden_lines.append(stripped[2:])
            continue
        lines.append(re.sub(r"\s+//\s.*$", "", line))
    text = "\n".join(lines)
    text = re.sub(r",\s*…", "", text)  # [a, …] -> [a]
    text = text.replace('"BB9…"', '"BB9"')
    main_doc = json.loads(text)
    golden_text = " ".join(golden_lines).replace("or:", "").strip()
    golden_text = golden_text.replace("[<ascad.diff/1 difference>]", "[]")
    return main_doc, json.loads(golden_text)


# Fields the docs say may be null (bullets under the JSON example of docs/fleet.md).
NULLABLE = {"node_id", "group", "error", "value", "canonical", "build", "restart"}


def check_shape(actual: Any, example: Any, where: str) -> None:
    """``actual`` has exactly the keys of ``example``, with values of the same JSON type; lists
    are checked element by element against the example's first element. A null in the example
    allows a value of any type (documented as "or …")."""
    if example is None or (actual is None and where.rsplit(".", 1)[-1] in NULLABLE):
        return
    if isinstance(example, bool):
        assert isinstance(actual, bool), where
    elif isinstance(example, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), where
    elif isinstance(example, str):
        assert isinstance(actual, str), f"{where}: {actual!r}"
    elif isinstance(example, list):
        assert isinstance(actual, list), where
        if example:
            for i, item in enumerate(actual):
                check_shape(item, example[0], f"{where}[{i}]")
    elif isinstance(example, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(example), f"{where}: {sorted(set(actual) ^ set(example))}"
        for key, value in example.items():
            check_shape(actual[key], value, f"{where}.{key}")


def test_fleet_json_matches_the_documented_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema, golden_schema = documented_schema()
    files = write_nodes(tmp_path, 3)
    drifted = Path(files[2])
    drifted.write_text(
        drifted.read_text().replace("replication-factor 2", "replication-factor 3", 1)
    )
    golden = tmp_path / "golden.conf"
    golden.write_text(Path(files[0]).read_text())
    argv = ["fleet", *files, str(tmp_path / "missing.conf"), "--golden", str(golden)]
    code, out, _ = run_cli([*argv, "--format", "json"], capsys)
    assert code == 2  # incomplete: one source could not be read
    doc = json.loads(out)
    golden_doc = doc.pop("golden")
    schema.pop("golden")
    check_shape(doc, schema, "$")
    check_shape(golden_doc, golden_schema, "$.golden")
    assert doc["schema"] == "ascad.fleet/1"
    assert doc["summary"] == {
        "nodes": 4,
        "reachable": 3,
        "unreachable": 1,
        "groups": 2,
        "parameters": 1,
        "golden_differences": 1,
    }
    assert [n["group"] for n in doc["nodes"]] == [1, 1, 2, None]
    assert doc["unreachable"][0]["name"].endswith("missing.conf")
    # The node × node matrix is counts[index(a.group)][index(b.group)].
    assert doc["matrix"] == {"by": "group", "groups": [1, 2], "counts": [[0, 1], [1, 0]]}
    (diff,) = [d for g in golden_doc["groups"] for d in g["differences"]]
    assert diff["kind"] == "changed" and diff["left"] == "2" and diff["right"] == "3"
    # A clean run: the same keys, golden null.
    code, out, _ = run_cli(["fleet", *files[:2], "--format", "json"], capsys)
    assert code == 0
    clean = json.loads(out)
    assert clean["clean"] is True and clean["golden"] is None
    check_shape(clean, {**schema, "golden": None}, "$")
