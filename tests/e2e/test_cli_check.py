"""`ascad check` as a real subprocess: exit codes, the settings it names, events that cannot be
delivered, and one line per bad setting."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ascad.agent.settings import DEFAULT_CONFIG, load_settings, origin_line
from tests.helpers import (
    AGENT_CONF,
    ThreadedNode,
    agent_files,
    free_port,
    run_ascad,
    subprocess_env,
    write_agent_toml,
)


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


def test_check_with_bad_settings_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    config.write_text('[agent]\ninterval = "soon"\n[peers]\nurl_template = "http://{x}"\n')
    proc = run_ascad(
        "check", "--config", str(config), env={**subprocess_env(), "ASCAD_RIEMANN_PROT": "1"}
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "ascad: invalid settings:"
    assert sorted(line.strip() for line in lines[1:]) == sorted(
        [
            f"{config}: [agent] interval: 'soon' is not a duration such as 6h, 30m or 45s",
            "environment ASCAD_RIEMANN_PROT: unknown setting",
            f"{config}: [peers] url_template (ASCAD_PEERS_URL_TEMPLATE): must contain {{host}}",
        ]
    )
