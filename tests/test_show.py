"""`ascad show aerospike://…`: the running config as conf text that our parser reads back."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ascad.cli import main
from ascad.conf.parser import parse_text
from ascad.lab.emulator.node import load_node
from ascad.lab.emulator.replay import ReplayHandler
from ascad.lab.emulator.server import EmulatorCluster
from tests.helpers import FIXTURES, call_with_emulated, info_on_first, node_url

T = TypeVar("T")

CONF_81 = str(FIXTURES / "runtime-confs" / "exporter-8.1.2.2.conf")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _with_node(fn: Callable[[str], T], *, action: str | None = None) -> T:
    """``fn(address)`` in a thread while an emulated node of CONF_81 serves (``action`` sent
    first)."""
    return call_with_emulated(
        [load_node(CONF_81, build="8.1.2.2")],
        lambda cluster: fn(node_url(cluster.nodes[0].port)),
        setup=info_on_first(action) if action else None,
    )


def test_show_prints_non_default_values_that_parse() -> None:
    code, out, _ = _with_node(lambda spec: _run(["show", spec]))
    assert code == 0
    tree = parse_text(out, "shown.conf")
    assert tree.root.find("namespace", "employees_flash") is not None
    assert "cluster-name as80_cluster_1" in out
    assert "mounts-budget 4G" in out  # sizes written with the conf's suffixes
    assert "context any info" in out
    assert "migrate-threads" not in out  # a default
    assert "service-threads" not in out  # machine-dependent
    assert " null" not in out


def test_show_all_includes_defaults_and_still_parses() -> None:
    code, out, _ = _with_node(lambda spec: _run(["show", spec, "--all"]))
    assert code == 0
    assert "migrate-threads 1" in out and "index-type shmem" in out
    parse_text(out, "all.conf")


def test_show_reflects_set_config_and_saved_output_has_zero_drift(tmp_path: Path) -> None:
    def both(spec: str):
        code, out, _ = _run(["show", spec])
        saved = tmp_path / "saved.conf"
        saved.write_text(out)
        return code, out, _run(["diff", str(saved), spec])

    code, out, (dcode, dout, _) = _with_node(
        both, action="set-config:context=service;migrate-threads=3"
    )
    assert code == 0 and "migrate-threads 3" in out
    assert dcode == 0, dout


def test_show_of_a_replayed_6_x_capture_uses_the_one_line_memory_engine() -> None:
    handler = ReplayHandler(
        FIXTURES / "runtime" / "exporter-6.x",
        overrides={"node": "BB9060011AC4202", "build": "6.3", "namespaces": "test"},
    )

    async def go():
        async with EmulatorCluster([handler]) as cluster:
            spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            return await asyncio.to_thread(_run, ["show", spec])

    code, out, _ = asyncio.run(go())
    assert code == 0
    assert "    storage-engine memory\n" in out and "memory-size 4G" in out
    parse_text(out, "six.conf")


def test_show_needs_a_node_address() -> None:
    code, _, err = _run(["show", "some.conf"])
    assert code == 2 and "aerospike://" in err
