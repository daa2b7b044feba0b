"""`ascad agent` as a real subprocess (priority, SIGHUP, SIGTERM), `ascad check` exit codes, and
the master election rule."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from ascad.agent import roles
from ascad.agent.settings import DEFAULT_CONFIG, load_settings, origin_line
from ascad.errors import AscadError
from tests.helpers import (
    AGENT_CONF,
    ThreadedNode,
    agent_files,
    ascad_agent,
    free_port,
    ioprio_class,
    proc_priority,
    run_ascad,
    subprocess_env,
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
            # priority: nice raised by 10 over ours, idle I/O class (or a logged note)
            assert proc_priority(proc.pid)[1] == min(19, os.nice(0) + 10)
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


def _check(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ascad("check", "--config", str(config), *args)


def test_check_exit_codes(tmp_path: Path) -> None:
    base = AGENT_CONF.read_text()
    golden, config = agent_files(tmp_path)
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        ok = _check(config)
        assert ok.returncode == 0, ok.stderr
        assert "== runtime: OK" in ok.stdout and "== golden: OK" in ok.stdout

        golden.write_text(base.replace("proto-fd-max 15000", "proto-fd-max 9000"))
        drift = _check(config, "--format", "json")
        assert drift.returncode == 1, drift.stderr
        doc = json.loads(drift.stdout)
        golden_check = next(c for c in doc["checks"] if c["check"] == "golden")
        assert golden_check["state"] == "critical"
        assert [d["path"] for d in golden_check["differences"]] == ["service.proto-fd-max"]
        assert golden_check["differences"][0]["left_line"] == 4
        text = _check(config)
        assert text.returncode == 1
        assert "proto-fd-max: 15000" in text.stdout and "9000" in text.stdout

    # the node is gone: the runtime check cannot run -> exit 2, with the reason
    write_agent_toml(config, tmp_path, free_port(), golden)
    down = _check(config)
    assert down.returncode == 2
    assert "== runtime: WARNING (could not run)" in down.stdout
    assert "refused" in down.stdout


def test_check_names_its_settings_and_exits_2_when_events_are_not_delivered(
    tmp_path: Path,
) -> None:
    golden, config = agent_files(tmp_path)
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        ok = _check(config)
        assert ok.returncode == 0, ok.stderr
        assert ok.stderr.splitlines()[0] == f"ascad: settings from {config}"

        # events asked for, no Riemann configured: the report, then one line, exit 2
        none = _check(config, "--send-events")
        assert none.returncode == 2, none.stderr
        assert "== runtime: OK" in none.stdout
        assert none.stderr.splitlines()[-1] == (
            "ascad: --send-events: no Riemann configured (set [riemann] host or ASCAD_RIEMANN_HOST)"
        )

        # Riemann configured but down: exit 2, one line, no agent wording
        port = free_port()
        with config.open("a") as f:
            f.write(f'\n[riemann]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2\n')
        down = _check(config, "--send-events")
        assert down.returncode == 2, down.stderr
        [line] = [x for x in down.stderr.splitlines() if "--send-events" in x]
        assert line.startswith(
            f"ascad: --send-events: Riemann at 127.0.0.1:{port} (tcp): events not delivered:"
        )
        assert "next cycle" not in down.stderr and "Traceback" not in down.stderr
        # without --send-events the same settings are fine
        assert _check(config).returncode == 0


def test_check_without_a_settings_file_says_defaults_are_used(tmp_path: Path) -> None:
    if os.path.exists(DEFAULT_CONFIG):
        pytest.skip(f"{DEFAULT_CONFIG} exists on this machine")
    env = subprocess_env()
    env["ASCAD_AEROSPIKE_ADDRESS"] = f"aerospike://127.0.0.1:{free_port()}"
    env["ASCAD_AGENT_STATE_DIR"] = str(tmp_path / "state")
    proc = run_ascad("check", env=env, cwd=tmp_path)
    assert proc.stderr.splitlines()[0] == (
        f"ascad: no settings file (no --config, and {DEFAULT_CONFIG} does not exist): "
        "built-in defaults and ASCAD_* environment variables"
    )
    assert proc.stdout.startswith("node ")  # the report still runs on the defaults
    defaults = load_settings(None, {}, serving=False)
    assert origin_line(defaults) == proc.stderr.splitlines()[0][len("ascad: ") :]


# --- election ------------------------------------------------------------------------------------


def test_peers_candidates_are_ordered_by_hex_node_id() -> None:
    peers = "3,3000,[[BB9A,,[10.0.0.3]],[BB92,,[10.0.0.2:3100]],[BB9,,[::1]]]"
    cands = roles.peers_candidates("BB95", peers, "http://{host}:9145", {"BB92": "http://x:1/"})
    assert [c.node_id for c in cands] == ["BB9", "BB92", "BB95", "BB9A"]
    assert [c.url for c in cands] == [
        "http://[::1]:9145",
        "http://x:1",
        None,
        "http://10.0.0.3:9145",
    ]
    assert cands[2].is_self


def test_elect_skips_unreachable_and_says_so() -> None:
    cands = [
        roles.Candidate("A1", "http://a"),
        roles.Candidate("B2", None, is_self=True),
        roles.Candidate("C3", "http://c"),
    ]

    async def fetch(c: roles.Candidate) -> str:
        raise AscadError("cannot connect: refused", c.url)

    e = asyncio.run(roles.elect(cands, fetch))
    assert e.is_self and e.master.node_id == "B2"
    assert (
        e.fallback_note
        == "A1 http://a unreachable (cannot connect: refused); compared with self (B2)"
    )

    async def fetch_ok(c: roles.Candidate) -> str:
        if c.node_id == "A1":
            raise AscadError("HTTP 401", c.url)
        return "text"

    e = asyncio.run(roles.elect(cands, fetch_ok, self_first_ok=False))
    assert e.master.node_id == "C3" and e.value == "text"
    assert "A1 http://a unreachable (HTTP 401)" in (e.fallback_note or "")
    e = asyncio.run(roles.elect(cands[:1], fetch))
    assert e.master is None and e.fallback_note.endswith("compared with nobody")


def test_static_candidates() -> None:
    async def status(url: str) -> dict:
        if url == "http://down":
            raise AscadError("no answer", url)
        return {"node_id": {"http://a": "A1", "http://me": "B2"}[url]}

    cands, skipped = asyncio.run(
        roles.static_candidates("B2", ["http://me/", "http://down", "http://a"], status)
    )
    assert [(c.node_id, c.url, c.is_self) for c in cands] == [
        ("A1", "http://a", False),
        ("B2", None, True),
    ]
    assert [s.candidate.url for s in skipped] == ["http://down"]


@pytest.mark.parametrize(("a", "b"), [("FF", "100"), ("BB9", "bb90"), ("9", "A")])
def test_node_id_key_is_numeric(a: str, b: str) -> None:
    assert roles.node_id_key(a) < roles.node_id_key(b)
