"""Deployment files: the systemd unit's required options, the Salt copy of it, and the Salt
template rendering a settings file the agent accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jinja2

from ascad.agent.settings import load_settings

DEPLOY = Path(__file__).parent.parent / "deploy"


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
