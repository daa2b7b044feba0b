"""Deployment files: the systemd unit's required options, the Salt copy of it, and the Salt
template rendering a settings file the agent accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import jinja2
import pytest

from ascad.agent.settings import load_settings
from tests.helpers import ROOT

DEPLOY = ROOT / "deploy"


def test_unit_has_priority_restart_user_and_hardening() -> None:
    unit = (DEPLOY / "ascad.service").read_text()
    lines = {line.strip() for line in unit.splitlines()}
    for required in (
        "User=ascad",
        "Nice=10",
        "IOSchedulingClass=idle",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=ascad",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ):
        assert required in lines, required
    # nothing that would stop it from reading /etc/aerospike or using the network
    assert "PrivateNetwork=yes" not in lines
    assert not any(x.startswith("InaccessiblePaths=") for x in lines)


def test_salt_copy_of_the_unit_is_identical() -> None:
    assert (DEPLOY / "salt" / "ascad" / "ascad.service").read_bytes() == (
        DEPLOY / "ascad.service"
    ).read_bytes()


def test_salt_template_renders_valid_settings(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    token.chmod(0o600)  # a secret: other users may not read it
    settings = {
        "agent": {"node_name": "aero-1", "role": "auto", "interval": "6h", "tags": ["a", "b"]},
        "aerospike": {"address": "aerospike://127.0.0.1:3000"},
        "golden": {"source": "git+https://gitlab.example/ops/salt.git#aerospike.conf@main"},
        "peers": {"url_template": "http://{host}:9145", "urls": {"BB9": "http://x:9145"}},
        "server": {"listen": "0.0.0.0", "port": 9145, "token_file": str(token)},
        "riemann": {"host": "riemann.example", "tls": False},
    }
    template = (DEPLOY / "salt" / "ascad" / "ascad.toml.jinja").read_text()
    text = jinja2.Environment().from_string(template).render(settings=settings)
    data = tomllib.loads(text)
    assert data["peers"]["urls"] == {"BB9": "http://x:9145"}
    s = load_settings(data=data, env={})
    assert (s.node_name, s.tags, s.token, s.riemann_host) == (
        "aero-1",
        ["a", "b"],
        "t",
        "riemann.example",
    )


def test_systemd_analyze_finds_nothing_to_say(tmp_path: Path) -> None:
    """`systemd-analyze verify` exits 0 even for unknown keys or out-of-range values: it only
    warns on stderr, so the test requires an empty stderr. ExecStart is pointed at an existing
    binary (ascad is not installed in /opt here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "ascad.service"
    text = (DEPLOY / "ascad.service").read_text()
    assert "ExecStart=/opt/ascad/bin/ascad agent --config /etc/ascad/ascad.toml" in text
    unit.write_text(text.replace("/opt/ascad/bin/ascad", shutil.which("true") or "/bin/true"))
    proc = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""
    # the check itself works: a bad key is reported
    unit.write_text(unit.read_text().replace("Nice=10", "Nice=10\nNicety=1"))
    proc = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert "Unknown key" in proc.stderr and "Nicety" in proc.stderr


def _salt_env() -> jinja2.Environment:
    """Jinja as Salt sets it up for these files: strict about undefined names, with Salt's
    ``json`` filter."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["json"] = json.dumps
    return env


def test_salt_state_renders_to_valid_yaml_with_the_pillar_example(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    env = _salt_env()
    salt_dir = DEPLOY / "salt"
    pillar_text = env.from_string((salt_dir / "pillar.example.sls").read_text()).render(
        grains={"id": "aero-1: the first"}  # a minion id that would break an unquoted scalar
    )
    pillar = yaml.safe_load(pillar_text)
    assert pillar["ascad"]["settings"]["agent"]["node_name"] == "aero-1: the first"
    state_text = env.from_string((salt_dir / "ascad.sls").read_text()).render(
        salt={"pillar.get": lambda key, default=None: pillar.get(key, default)}
    )
    state = yaml.safe_load(state_text)
    # every state id maps to state functions whose arguments are a list of one-key mappings
    for sid, body in state.items():
        assert isinstance(body, dict), sid
        for function, args in body.items():
            assert "." in function, (sid, function)
            assert isinstance(args, list) and all(len(a) == 1 for a in args), (sid, function)
    assert {"ascad-user", "/etc/ascad/ascad.toml", "ascad-check-config", "ascad-service"} <= set(
        state
    )
    # the service waits for a valid settings file, the package and systemd's daemon-reload
    service = {k: v for a in state["ascad-service"]["service.running"] for k, v in a.items()}
    assert {"cmd": "ascad-check-config"} in service["require"]
    assert {"cmd": "ascad-systemd-reload"} in service["require"]
    assert service["reload"] is True
    # the settings file is rendered from the pillar by the toml template
    managed = {k: v for a in state["/etc/ascad/ascad.toml"]["file.managed"] for k, v in a.items()}
    assert managed["source"] == "salt://ascad/ascad.toml.jinja"
    context = managed["context"]
    template = (salt_dir / "ascad" / "ascad.toml.jinja").read_text()
    toml_text = jinja2.Environment().from_string(template).render(**context)
    data = tomllib.loads(toml_text)
    token = tmp_path / "token"
    token.write_text("t\n")
    token.chmod(0o600)  # a secret: other users may not read it
    data["server"]["token_file"] = str(token)  # /etc/ascad/token does not exist here
    s = load_settings(data=data, env={})
    assert (s.node_name, s.role, s.riemann_host) == ("aero-1: the first", "auto", "riemann.example")


def test_salt_toml_template_escapes_strings(tmp_path: Path) -> None:
    nasty = "a \"quoted\" \\ back\\slash\tand <html> & 'single'"
    settings = {
        "agent": {"node_name": nasty, "tags": [nasty, "b"], "interval": 3600, "ionice": False},
        "peers": {"urls": {'BB9"x': "http://h:9145"}},
        "riemann": {"ttl_factor": 2.5},
    }
    template = (DEPLOY / "salt" / "ascad" / "ascad.toml.jinja").read_text()
    data = tomllib.loads(jinja2.Environment().from_string(template).render(settings=settings))
    assert data == settings
