"""Agent settings: file, environment, secrets, and one clear message per bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ascad.agent.settings import (
    SettingsError,
    describe_schema,
    env_name,
    load_settings,
    parse_duration,
)
from tests.helpers import LOOP, ROOT

EXAMPLE = ROOT / "deploy" / "ascad.toml.example"


def loopback(**extra: dict) -> dict:
    data: dict = {"server": {"listen": "127.0.0.1"}}
    for section, table in extra.items():
        data.setdefault(section, {}).update(table)
    return data


def test_defaults_on_loopback() -> None:
    s = load_settings(data=loopback(), env={})
    assert s.role == "auto"
    assert s.interval == 6 * 3600
    assert s.port == 9145
    assert s.riemann_ttl_factor == 2.5
    assert s.conf == "/etc/aerospike/aerospike.conf"
    assert s.node_name  # the hostname
    assert s.token is None


def test_file_values_and_durations(tmp_path: Path) -> None:
    path = tmp_path / "ascad.toml"
    token = tmp_path / "token"
    token.write_text("\n  tok-123  \n")
    token.chmod(0o600)  # a secret: other users may not read it
    path.write_text(
        f"""
[agent]
node_name = "n1"
role = "master"
interval = "30m"
jitter = 90
tags = ["a", "b"]

[golden]
source = "/srv/golden/aerospike.conf"

[server]
listen = "0.0.0.0"
token_file = "{token}"

[peers]
urls = {{ "BB9" = "http://10.0.0.2:9145" }}

[compare]
ignore = ["logging.*"]
"""
    )
    s = load_settings(str(path), env={})
    assert (s.node_name, s.role, s.interval, s.jitter) == ("n1", "master", 1800.0, 90.0)
    assert s.tags == ["a", "b"]
    assert s.token == "tok-123"
    assert s.urls == {"BB9": "http://10.0.0.2:9145"}
    assert s.compare == {"ignore": ["logging.*"]}
    assert s.source == str(path)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "ASCAD_AGENT_INTERVAL": "2h",
        "ASCAD_AGENT_TAGS": "x, y",
        "ASCAD_PEERS_URLS": "A1=http://a:1,B2=http://b:2",
        "ASCAD_RIEMANN_TLS": "false",
        "ASCAD_SERVER_PORT": "9200",
        "ASCAD_SERVER_TOKEN": "from-env",
        "ASCAD_AEROSPIKE_USER": "admin",
        "ASCAD_AEROSPIKE_PASSWORD": "pw",
    }
    s = load_settings(data=loopback(agent={"interval": "5m"}), env=env)
    assert s.interval == 7200
    assert s.tags == ["x", "y"]
    assert s.urls == {"A1": "http://a:1", "B2": "http://b:2"}
    assert s.port == 9200
    assert s.token == "from-env"
    assert (s.aerospike_user, s.aerospike_password) == ("admin", "pw")


def test_every_bad_value_gets_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        """
[agent]
role = "boss"
interval = "soon"
nice = 40
surprise = 1

[server]
listen = "0.0.0.0"
port = 70000

[riemann]
transport = "carrier-pigeon"

[nonsense]
x = 1
"""
    )
    with pytest.raises(SettingsError) as err:
        load_settings(str(path), env={"ASCAD_RIEMANN_PORT": "fifty"})
    problems = err.value.problems
    text = "\n".join(problems)
    assert f"{path}: [agent] interval: 'soon' is not a duration" in text
    assert f"{path}: [agent] surprise: unknown setting" in text
    assert f"{path}: unknown section [nonsense]" in text
    assert "environment ASCAD_RIEMANN_PORT: 'fifty' is not a whole number" in text
    assert "[agent] role (ASCAD_AGENT_ROLE): 'boss' is not one of master, slave, auto" in text
    assert "[agent] nice (ASCAD_AGENT_NICE): must be between 0 and 19" in text
    assert "[server] port (ASCAD_SERVER_PORT): must be between 0 and 65535" in text
    assert "'carrier-pigeon' is not tcp or udp" in text
    assert "a token is required" in text
    assert len(problems) == 9, problems
    assert str(err.value).startswith("invalid settings:\n  ")


def test_secrets_are_never_inline(tmp_path: Path) -> None:
    for section, key in (("server", "token"), ("aerospike", "password"), ("golden", "token")):
        with pytest.raises(SettingsError) as err:
            load_settings(data=loopback(**{section: {key: "plain"}}), env={})
        assert f"[{section}] {key}: secrets are not written in the file" in str(err.value)
        assert "plain" not in str(err.value)


def test_secret_file_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n\n")
    empty.chmod(0o600)
    with pytest.raises(SettingsError) as err:
        load_settings(data=loopback(server={"token_file": str(empty)}), env={})
    assert f"[server] token_file: {empty}: token file is empty" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(data=loopback(aerospike={"password_file": str(tmp_path / "nope")}), env={})
    assert "nope: cannot read the password file: no such file" in str(err.value)


def test_cross_checks() -> None:
    cases = {
        "a slave needs the master's agent URL": {"agent": {"role": "slave"}},
        "a master compares with the golden": {"agent": {"role": "master"}},
        "is not an http(s):// agent URL": {
            "agent": {"role": "slave"},
            "peers": {"master_url": ["ftp://x"]},
        },
        "'9145' is not a host: it would be read as the IPv4 address 0.0.35.185": {
            "agent": {"role": "slave"},
            "peers": {"master_url": ["http://9145"]},
        },
        "'127.1' is not a host": {"peers": {"discovery": "static", "static": ["http://127.1:9"]}},
        "discovery = static needs the list": {"peers": {"discovery": "static"}},
        "must start with aerospike://": {"aerospike": {"address": "http://x"}},
        "a user is set, so a password is needed": {"aerospike": {"user": "admin"}},
        "give the host too: HOST:46529": {"aerospike": {"address": "aerospike://46529"}},
        "must not exceed the interval": {"agent": {"interval": "1m", "jitter": "2m"}},
        "Riemann has no TLS over UDP": {"riemann": {"transport": "udp", "tls": True}},
        "no such file": {"server": {"tls_cert": "/nonexistent.pem", "tls_key": "/x.key"}},
        "must be at least 1": {"riemann": {"ttl_factor": 0.5}},
        "[compare] ignore must be a list": {"compare": {"ignore": "x"}},
    }
    for expected, data in cases.items():
        with pytest.raises(SettingsError) as err:
            load_settings(data=loopback(**data), env={})
        assert expected in str(err.value), (expected, str(err.value))


def test_check_does_not_need_a_token() -> None:
    s = load_settings(data={"server": {"listen": "0.0.0.0"}}, env={}, serving=False)
    assert s.token is None


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[agent\nrole = 1\n")
    with pytest.raises(SettingsError) as err:
        load_settings(str(path), env={})
    assert str(err.value).startswith(f"{path}: not valid TOML")
    with pytest.raises(SettingsError, match="file not found"):
        load_settings(str(tmp_path / "missing.toml"), env={})


def test_parse_duration() -> None:
    assert parse_duration("6h") == 21600
    assert parse_duration("1.5m") == 90
    assert parse_duration("1d") == 86400
    assert parse_duration(45) == 45
    for bad in ("6 hours", "", True, "-1s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_env_names() -> None:
    assert env_name("agent", "node_name") == "ASCAD_AGENT_NODE_NAME"
    assert env_name("server", "token_file") == "ASCAD_SERVER_TOKEN_FILE"


def test_example_file_documents_and_loads_every_setting(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for key, env, _ in describe_schema():
        section, name = key[1:].split("] ")
        assert f"[{section}]" in text
        assert f"{name} =" in text, key
        assert env in text, env
    # the example is valid once its files exist: point them at temporary ones
    token = tmp_path / "token"
    token.write_text("t\n")
    token.chmod(0o600)  # a secret: other users may not read it
    s = load_settings(
        str(EXAMPLE),
        env={"ASCAD_SERVER_TOKEN_FILE": str(token), "ASCAD_AGENT_NODE_NAME": "n1"},
    )
    assert s.role == "auto" and s.token == "t"


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as err:
        load_settings(data=data, env=env or {})
    return err.value.problems


# --- values once accepted that broke the agent later ----------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        ("agent", "interval", float("inf")),
        ("agent", "interval", "99999999999999999999d"),
        ("agent", "jitter", float("nan")),
        ("aerospike", "timeout", float("inf")),
        ("peers", "timeout", "400d"),
        ("riemann", "ttl_factor", float("inf")),
        ("riemann", "ttl_factor", float("nan")),
    ],
)
def test_non_finite_or_absurd_numbers_are_refused(table: str, key: str, value: Any) -> None:
    # Before: interval = inf passed --check-config; the events' ttl was then inf and every
    # delivery failed; jitter = nan made the sleep nan.
    data = {**LOOP, table: {key: value}}
    (line,) = problems(data)
    assert line.startswith(f"<settings>: [{table}] {key}")


def test_a_section_that_is_not_a_table_says_so() -> None:
    # Before: "unknown section [agent]" for `agent = 5`.
    (line,) = problems({**LOOP, "agent": 5})
    assert line == "<settings>: [agent] must be a table, not 5"


def test_a_typo_in_an_agent_environment_variable_is_an_error() -> None:
    env = {
        "ASCAD_RIEMANN_HOTS": "riemann.example",
        "ASCAD_SERVER_TOKEN": "x",
        "ASCAD_GIT_CACHE": "/c",
    }
    (line,) = problems(LOOP, env)
    assert line == "environment ASCAD_RIEMANN_HOTS: unknown setting"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("http://{host}:{bogus}", "unknown placeholder {bogus}"),
        ("http://{host}:{port", "'http://{host}:{port'"),
        ("ftp://{host}:9145", "is not an http(s):// agent URL"),
        # docs/settings.md: it must contain {host}, whatever the role (every peer would get the
        # same URL); before, only role auto with aerospike discovery was checked
        ("http://aero-1:9145", "must contain {host}"),
    ],
)
def test_url_template_is_checked_at_start(template: str, expected: str) -> None:
    # Before: accepted, then a KeyError in every cycle lost the whole cycle.
    (line,) = problems({**LOOP, "peers": {"url_template": template}})
    assert "[peers] url_template" in line and expected in line


def test_listen_must_be_an_address_or_host_name(tmp_path: Path) -> None:
    token = tmp_path / "t"
    token.write_text("x\n")
    token.chmod(0o600)  # a secret: other users may not read it
    (line,) = problems({"server": {"listen": "not an address", "token_file": str(token)}})
    assert "[server] listen" in line and "not an IP address or a host name" in line
    for ok in ("::1", "[::1]", "localhost", "aero-1.example", "10.0.0.1"):
        load_settings(data={"server": {"listen": ok, "token_file": str(token)}}, env={})


def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    (line,) = problems({**LOOP, "agent": {"state_dir": str(f)}})
    assert "[agent] state_dir" in line and "is not a directory" in line


def test_an_unreadable_token_is_reported_once(tmp_path: Path) -> None:
    # Before: a second line claimed no token was set at all.
    lines = problems({"server": {"listen": "0.0.0.0", "token_file": str(tmp_path / "none")}})
    assert len(lines) == 1 and "cannot read" in lines[0]
    lines = problems({"server": {"listen": "0.0.0.0", "token": "inline"}})
    assert len(lines) == 1 and "secrets are not written in the file" in lines[0]


def test_aerospike_auth_and_tls_name() -> None:
    s = load_settings(
        data=loopback(
            aerospike={
                "auth": "pki",
                "tls_cert": str(ROOT / "tests/fixtures/tls/client.pem"),
                "tls_key": str(ROOT / "tests/fixtures/tls/client.key"),
            }
        ),
        env={"ASCAD_AEROSPIKE_TLS_NAME": "node1.example"},
    )
    assert (s.aerospike_auth, s.aerospike_tls_name) == ("PKI", "node1.example")
    assert "must be INTERNAL, EXTERNAL" in " ".join(problems(loopback(aerospike={"auth": "ldap"})))
    assert "PKI logs in with a client certificate" in " ".join(
        problems(loopback(aerospike={"auth": "PKI"}))
    )
