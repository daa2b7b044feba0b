"""Deployment files: the systemd unit's required options, the Salt copy of it, and the Salt
template rendering a settings file the agent accepts. The state itself is applied for real by
Salt in test_salt.py; the example settings run in test_example_settings.py."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
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
        "Type=notify",  # READY=1 once the server listens (ascad.agent.notify)
        "NotifyAccess=main",
        "LimitNOFILE=8192",
        "RestartPreventExitStatus=2",
    ):
        assert required in lines, required
    assert "Type=exec" not in lines and "Type=simple" not in lines
    # nothing that would stop it from reading /etc/aerospike or using the network
    assert "PrivateNetwork=yes" not in lines
    assert not any(x.startswith("InaccessiblePaths=") for x in lines)


def test_the_units_documentation_is_installed_by_the_wheel() -> None:
    """Documentation= names a file the wheel installs into the venv (share/doc/ascad/…)."""
    unit = (DEPLOY / "ascad.service").read_text()
    (doc,) = re.findall(r"^Documentation=file://(\S+)$", unit, re.MULTILINE)
    prefix = "/opt/ascad/share/doc/ascad/"
    assert doc.startswith(prefix)
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data = setuptools["data-files"]
    folder, name = doc.removeprefix("/opt/ascad/").rsplit("/", 1)
    assert any(fnmatch.fnmatch(f"docs/{name}", pattern) for pattern in data[folder])
    assert (ROOT / "docs" / name).is_file()


def test_the_states_default_version_is_the_release() -> None:
    sls = (DEPLOY / "salt" / "ascad.sls").read_text()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"{{% set version = ascad.get('version', '{version}') %}}" in sls


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
    warns on stderr, so the test requires an empty stderr. ExecStart is pointed at the ascad
    installed in this venv (not in /opt here; test_salt.py verifies the unit the state installs,
    with its drop-in, and test_wheel.py the one the wheel ships). verify needs no running systemd:
    it loads the unit as the manager would and checks that its executables exist."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "ascad.service"
    text = (DEPLOY / "ascad.service").read_text()
    assert "ExecStart=/opt/ascad/bin/ascad agent --config /etc/ascad/ascad.toml" in text
    installed = Path(sys.executable).with_name("ascad")
    assert installed.is_file()
    unit.write_text(text.replace("/opt/ascad/bin/ascad", str(installed)))
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
