"""`ascad agent` as a real subprocess: settings at start and on SIGHUP, its priority (nice and
I/O class, never applied twice), SIGTERM during a cycle, and kill -9 never leaving a half-written
state file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ascad.agent.cycle import save_status
from tests.helpers import (
    AGENT_CONF,
    ThreadedNode,
    agent_files,
    ascad_agent,
    free_port,
    ioprio_class,
    proc_priority,
    run_ascad,
    write_agent_toml,
)


def test_agent_subprocess_priority_sighup_sigterm(tmp_path: Path) -> None:
    golden, config = agent_files(tmp_path)
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        with ascad_agent(config) as (proc, lines):
            assert lines.wait_for("settings from ").rstrip().endswith(f"settings from {config}")
            url = lines.wait_for("serving on ").rsplit(" ", 1)[1].strip()
            lines.wait_for("check golden: ok")
            # priority: niceness at least 10 (the default `nice`), never lowered below ours (so
            # under `nice -n 10 ./dev test` it stays 10: docs/agent.md), idle I/O class (or a
            # logged note)
            assert proc_priority(proc.pid)[1] == max(os.nice(0), 10)
            ioclass = ioprio_class(proc.pid)
            assert ioclass in (3, None) or any("I/O" in s for s in lines.seen)
            with urllib.request.urlopen(url + "/v1/status", timeout=5) as r:
                status = json.load(r)
            assert status["node"] == "n1"
            assert {c["check"]: c["state"] for c in status["checks"]} == {
                "runtime": "ok",
                "golden": "ok",
            }
            assert json.loads((tmp_path / "state" / "status.json").read_text()) == status

            # SIGHUP with a good new file: reloaded
            write_agent_toml(config, tmp_path, node.port, golden, 'tags = ["reloaded"]')
            proc.send_signal(signal.SIGHUP)
            lines.wait_for("settings reloaded")
            # SIGHUP with a bad file: refused, old settings kept, server still up
            config.write_text("[agent]\nrole = 'emperor'\n")
            proc.send_signal(signal.SIGHUP)
            line = lines.wait_for("reload refused, old settings kept")
            assert "'emperor' is not one of master, slave, auto" in line
            with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                assert r.read() == b"ok\n"

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            lines.wait_for("stopped")


def test_agent_refuses_bad_settings_at_start(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    config.write_text("[agent]\nrole = 'emperor'\ninterval = 'later'\n")
    proc = run_ascad("agent", "--config", str(config), timeout=30)
    assert proc.returncode == 2
    assert f"{config}: [agent] interval: 'later' is not a duration" in proc.stderr
    assert "'emperor' is not one of master, slave, auto" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- priority -------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="/proc and ioprio are Linux")
@pytest.mark.parametrize(("start_nice", "expected"), [(0, 10), (5, 10), (15, 15)])
def test_agent_runs_at_its_niceness_not_above_it(
    tmp_path: Path, start_nice: int, expected: int
) -> None:
    # Before: os.nice(10) added to systemd's Nice=10 and the agent ran at 19.
    golden, config = agent_files(tmp_path)
    base = os.nice(0)
    if base > start_nice:
        pytest.skip(f"the test runs at niceness {base}")
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        with ascad_agent(config, preexec_fn=lambda: os.nice(start_nice - base)) as (proc, lines):
            lines.wait_for("check golden: ok")
            priority, nice = proc_priority(proc.pid)
            assert nice == expected
            assert priority == 20 + expected
            assert ioprio_class(proc.pid) in (3, None)
            if shutil.which("ionice"):
                assert ioprio_class(proc.pid) == 3  # idle
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0


# --- SIGTERM during a cycle, kill -9 and the state file --------------------------------------------


def _black_hole() -> socket.socket:
    """A listening socket that accepts connections into its backlog and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def test_sigterm_during_a_cycle_exits_0_and_keeps_the_state_file(tmp_path: Path) -> None:
    (tmp_path / "aerospike.conf").write_text(AGENT_CONF.read_text())
    state = tmp_path / "state"
    previous = {"schema": "ascad.agent.status/1", "node": "n1", "checks": [], "duration": 1.0}
    save_status(str(state), previous)
    hole = _black_hole()
    config = tmp_path / "ascad.toml"
    config.write_text(
        f"""
[agent]
node_name = "n1"
role = "slave"
conf = "{tmp_path / "aerospike.conf"}"
state_dir = "{state}"
[aerospike]
address = "aerospike://127.0.0.1:{free_port()}"
timeout = 1
[peers]
master_url = ["http://127.0.0.1:{hole.getsockname()[1]}"]
timeout = "120s"
[server]
listen = "127.0.0.1"
port = 0
"""
    )
    try:
        with ascad_agent(config, "--no-priority") as (proc, lines):
            lines.wait_for("serving on ")
            conn, _ = hole.accept()  # the cycle's peer request is waiting on the black hole
            conn.settimeout(10)
            assert conn.recv(4096).startswith(b"GET /v1/config ")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            lines.wait_for("stopped")
            assert not any("Traceback" in line for line in lines.seen)
            conn.close()
    finally:
        hole.close()
    assert json.loads((state / "status.json").read_text()) == previous
    assert [p.name for p in state.iterdir()] == ["status.json"]


def test_kill_9_never_leaves_a_half_written_state_file(tmp_path: Path) -> None:
    golden, config = agent_files(tmp_path)
    status = tmp_path / "state" / "status.json"
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        # one cycle a second, so the kills land before, during and after writes
        write_agent_toml(config, tmp_path, node.port, golden)
        config.write_text(config.read_text().replace('interval = "1h"', 'interval = "1s"'))
        for i in range(4):
            with ascad_agent(config) as (proc, lines):
                lines.wait_for("next cycle in")  # the first state file is written
                time.sleep(0.3 * i)
                proc.send_signal(signal.SIGKILL)
            doc = json.loads(status.read_text())
            assert doc["schema"] == "ascad.agent.status/1" and doc["node"] == "n1"
