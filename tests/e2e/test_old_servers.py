"""A node older than every schema (a replayed 3.14.1.1 capture): ``ascad diff`` (text and JSON),
``ascad fleet --runtime`` (text and JSON) and ``ascad show`` say so, and no default is assumed;
the 7.0 field capture beside it for contrast."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.lab.emulator.server import EmulatorCluster
from tests.helpers import FIXTURES, replay

CAPTURE = "mgmtlib-3.14.1.1-reconstructed"
CONF = str(FIXTURES / "runtime-confs" / "mgmtlib-3.14.1.1.conf")


def _cli(argv_of, capture: str = CAPTURE) -> int:  # type: ignore[no-untyped-def]
    async def go() -> int:
        async with EmulatorCluster([replay(capture)]) as cluster:
            url = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            return await asyncio.to_thread(main, argv_of(url))

    return asyncio.run(asyncio.wait_for(go(), 60))


def test_diff_text_and_json_say_the_node_is_older_than_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli(lambda url: ["diff", CONF, url]) == 0
    err = capsys.readouterr().err
    assert "ascad: warning: server 3.14.1.1" in err and "older than the oldest schema" in err
    assert _cli(lambda url: ["diff", "--format", "json", CONF, url]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == []
    assert [w["kind"] for w in doc["version_warnings"]] == ["older_than_table"]


def test_conf_vs_conf_with_a_3x_version_settles_no_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "b.conf"
    text = Path(CONF).read_text()
    # proto-fd-max 15000 stated on one side only: the 4.0 default, settled on 4.0 but not on 3.x
    other.write_text(text.replace("\tproto-fd-max 15000\n", "", 1))
    assert main(["diff", CONF, str(other), "--server-version", "4.0.0.1"]) == 0
    capsys.readouterr()
    assert main(["diff", "--format", "json", CONF, str(other), "--server-version", "3.14.1.1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [d["path"] for d in doc["differences"]] == ["service.proto-fd-max"]
    assert doc["differences"][0]["restart"] is None
    assert doc["version_warnings"][0]["build"] == "3.14.1.1"


def test_fleet_text_and_json_say_the_node_is_older_than_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli(lambda url: ["fleet", url])
    out = capsys.readouterr().out
    assert "warning: server 3.14.1.1" in out and "no default is assumed" in out
    _cli(lambda url: ["fleet", "--format", "json", url])
    doc = json.loads(capsys.readouterr().out)
    assert [w["kind"] for w in doc["version_warnings"]] == ["older_than_table"]


def test_show_of_a_3x_node_says_every_value_is_shown_and_diffs_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(lambda url: ["show", url]) == 0
    text = capsys.readouterr().out
    assert "# warning: server 3.14.1.1" in text and "every value the node prints is shown" in text
    assert "defaults left out" not in text
    assert "read-consistency-level-override off" in text  # 3.x's own default, not assumed away
    shown = tmp_path / "shown.conf"
    shown.write_text(text)
    assert _cli(lambda url: ["diff", "--format", "json", str(shown), url]) == 0
    assert json.loads(capsys.readouterr().out)["differences"] == []


def test_show_of_the_7_0_field_capture_diffs_clean_and_has_no_version_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = "exporter-7.0.0.0-rc4"
    assert _cli(lambda url: ["show", url], capture) == 0
    text = capsys.readouterr().out
    assert "# warning:" not in text and "defaults left out" in text
    shown = tmp_path / "shown.conf"
    shown.write_text(text)
    assert _cli(lambda url: ["diff", "--format", "json", str(shown), url], capture) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [] and "version_warnings" not in doc
