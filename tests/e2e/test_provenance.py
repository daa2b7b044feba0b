"""`ascad diff CONF aerospike://…` with the node's log: provenance and origin on the right
difference, against an emulated node that logs its set-config lines in the server's format."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from ascad.lab.emulator.node import load_node
from tests.helpers import CONF_81, cli_against_node, info_on_first


def _node(tmp: Path, conf_age: float) -> tuple[Path, Path, object]:
    conf = tmp / "aerospike.conf"
    shutil.copy(CONF_81, conf)
    old = time.time() - conf_age
    os.utime(conf, (old, old))
    node = load_node(str(conf), build="8.1.2.2")
    log = tmp / "aerospike.log"
    log.write_text(
        "Dec 01 2020 08:00:00 GMT: INFO (info): (cfg_info.c:914) set-config command completed: "
        "params context=service;proto-fd-max=1\n"
    )
    node.log_file = str(log)
    return conf, log, node


def test_set_config_line_gives_time_command_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf, log, node = _node(tmp_path, 3600)
    node.started -= 60  # type: ignore[attr-defined]  # up for a minute
    cmd = "set-config:context=namespace;id=test;default-ttl=86400"
    rc, _ = cli_against_node(
        node,  # type: ignore[arg-type]
        lambda p: [
            "diff",
            str(conf),
            f"aerospike://127.0.0.1:{p}",
            "--server-log",
            str(log),
            "--format",
            "json",
        ],
        setup=info_on_first(cmd, "ok"),
    )
    assert rc == 1
    doc = json.loads(capsys.readouterr().out)
    (d,) = doc["differences"]
    assert d["path"] == "namespace[test].default-ttl"
    assert d["provenance"]["command"] == cmd
    assert d["provenance"]["source"] == f"{log}:2"  # line 1 is an older, unrelated line
    assert d["provenance"]["time"].endswith("Z")
    assert d["origin"] == "runtime"
    assert "provenance_note" not in doc


def test_text_says_it_under_the_difference_and_why_once_without_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide: this test reads content, not layout
    conf, log, node = _node(tmp_path, 3600)
    rc, _ = cli_against_node(
        node,  # type: ignore[arg-type]
        lambda p: ["diff", str(conf), f"aerospike://127.0.0.1:{p}", "--server-log", str(log)],
        setup=info_on_first("set-config:context=service;proto-fd-max=20000", "ok"),
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert "set by set-config:context=service;proto-fd-max=20000 at " in out
    assert f"({log}:2)" in out
    # the conf's own log sink (/var/log/aerospike.log) is not this machine's: no log named
    conf2, _, node2 = _node(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path, 60)
    rc, _ = cli_against_node(
        node2,  # type: ignore[arg-type]
        lambda p: ["diff", str(conf2), f"aerospike://127.0.0.1:{p}", "--format", "json"],
        setup=info_on_first("set-config:context=service;proto-fd-max=20000", "ok"),
    )
    doc = json.loads(capsys.readouterr().out)
    assert "provenance" not in doc["differences"][0]
    assert doc["provenance_note"].startswith("no provenance for any difference: ")


def test_file_edited_after_the_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf, log, node = _node(tmp_path, 3600)
    node.started -= 600  # type: ignore[attr-defined]  # up for ten minutes
    conf.write_text(conf.read_text().replace("proto-fd-max 15000", "proto-fd-max 16000"))
    rc, _ = cli_against_node(
        node,  # type: ignore[arg-type]
        lambda p: [
            "diff",
            str(conf),
            f"aerospike://127.0.0.1:{p}",
            "--server-log",
            str(log),
            "--format",
            "json",
        ],
    )
    assert rc == 1
    (d,) = json.loads(capsys.readouterr().out)["differences"]
    assert d["path"] == "service.proto-fd-max"
    assert d["origin"] == "file"
    assert "provenance" not in d
    assert "next restart" in d["origin_note"]
