"""Secret files and bad settings files (ascad.sources.secrets, ascad.agent.settings,
ascad.commands.common): a token, password or TLS key that other users may read or write is
refused with one line naming the file and its mode (0640 is fine); a two-line token file, a
settings file with a Latin-1 byte, a NUL byte in a path are one line naming the file, exit 2,
never a traceback and never the file's content, at start, with ``--check-config`` and on SIGHUP
(which keeps the old settings)."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest

from ascad.agent.settings import SettingsError, load_settings
from ascad.sources.secrets import SecretFileError, check_secret_mode, read_secret_file
from tests.helpers import (
    FIXTURES,
    ThreadedNode,
    agent_files,
    ascad_agent,
    run_ascad,
    subprocess_env,
    write_agent_toml,
)

TLS = FIXTURES / "tls"
SECRET = "tok-Vq3-secret-value"
LOOP = {"server": {"listen": "127.0.0.1"}}


def _secret(tmp: Path, mode: int, text: str = SECRET + "\n", name: str = "token") -> Path:
    path = tmp / name
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400, 0o440])
def test_owner_and_group_modes_are_accepted(tmp_path: Path, mode: int) -> None:
    path = _secret(tmp_path, mode)
    assert read_secret_file(str(path), "token file") == SECRET
    s = load_settings(data={**LOOP, "server": {**LOOP["server"], "token_file": str(path)}}, env={})
    assert s.token == SECRET


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o604, 0o602, 0o601])
def test_modes_open_to_others_are_refused(tmp_path: Path, mode: int) -> None:
    path = _secret(tmp_path, mode)
    with pytest.raises(SecretFileError) as err:
        read_secret_file(str(path), "token file")
    assert str(err.value) == (
        f"{path}: token file has mode {mode:04o}: other users may read or write it;"
        " chmod 600 (or 640 for a group) it"
    )
    with pytest.raises(SettingsError) as serr:
        load_settings(
            data={**LOOP, "golden": {"token_file": str(path)}, "agent": {"role": "auto"}}, env={}
        )
    (line,) = serr.value.problems
    assert line.startswith("<settings>: [golden] token_file: ") and f"mode {mode:04o}" in line
    assert SECRET not in line


def test_a_world_readable_token_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    path = _secret(tmp_path, 0o666)
    conf = tmp_path / "a.conf"
    conf.write_text("service {\n}\n")
    proc = run_ascad("diff", "--token-file", str(path), str(conf), str(conf), timeout=30)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"ascad: {path}: token file has mode 0666: other users may read or write it;"
        " chmod 600 (or 640 for a group) it\n"
    )


def test_tls_keys_open_to_others_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_bytes((TLS / "server.key").read_bytes())
    key.chmod(0o644)
    with pytest.raises(SettingsError) as err:
        load_settings(
            data={
                "server": {
                    "listen": "127.0.0.1",
                    "tls_cert": str(TLS / "server.pem"),
                    "tls_key": str(key),
                }
            },
            env={},
        )
    assert f"[server] tls_key (ASCAD_SERVER_TLS_KEY): {key}: TLS key has mode 0644" in str(
        err.value
    )
    with pytest.raises(SecretFileError, match="TLS key has mode 0644"):
        check_secret_mode(str(key), "TLS key")
    key.chmod(0o640)
    check_secret_mode(str(key), "TLS key")
    # the command line's --tls-key, before any connection is tried
    key.chmod(0o604)
    proc = run_ascad(
        "diff",
        "aerospike://127.0.0.1:9",
        str(TLS / "ca.pem"),
        "--tls-cert",
        str(TLS / "client.pem"),
        "--tls-key",
        str(key),
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{key}: TLS key has mode 0604" in proc.stderr and "Traceback" not in proc.stderr


def test_a_two_line_token_file_is_one_line_exit_2(tmp_path: Path) -> None:
    path = _secret(tmp_path, 0o600, text=f"{SECRET}\nsecond-line-value\n")
    conf = tmp_path / "a.conf"
    conf.write_text("service {\n}\n")
    proc = run_ascad("diff", "--token-file", str(path), "http://127.0.0.1:9", str(conf))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"ascad: {path}: token file has 2 non-empty lines (line 1 and line 2): it must hold the"
        " secret alone on one line\n"
    )
    assert SECRET not in proc.stderr and "second-line" not in proc.stderr
    with pytest.raises(SettingsError) as err:
        load_settings(data={**LOOP, "server": {**LOOP["server"], "token_file": str(path)}}, env={})
    assert "token file has 2 non-empty lines" in str(err.value)


def test_secret_file_edge_cases(tmp_path: Path) -> None:
    ctrl = _secret(tmp_path, 0o600, text="tok\x00en\n", name="nul")
    with pytest.raises(SecretFileError, match="holds a control character on line 1"):
        read_secret_file(str(ctrl), "token file")
    latin = tmp_path / "latin"
    latin.write_bytes(b"\n caf\xe9\n")
    latin.chmod(0o600)
    with pytest.raises(SecretFileError, match=r"is not UTF-8 text \(line 2\)"):
        read_secret_file(str(latin), "password file")
    with pytest.raises(SecretFileError) as err:
        read_secret_file(f"{tmp_path}/a\x00b", "token file")
    assert "the path contains a NUL byte" in str(err.value) and "\x00" not in str(err.value)
    with pytest.raises(SecretFileError, match="is not a regular file"):
        read_secret_file(str(tmp_path), "token file")


# --- settings files that cannot be read -----------------------------------------------------------

LATIN1 = b'[agent]\nnode_name = "caf\xe9-node"\nrole = "auto"\n[server]\nlisten = "127.0.0.1"\n'


def test_a_latin1_settings_file_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    config.write_bytes(LATIN1)
    for args in (("--check-config",), ("--once",)):
        proc = run_ascad("agent", "--config", str(config), *args, timeout=30)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr == (
            f"ascad: {config}:2:17: not UTF-8 (byte 0xe9): save the file as UTF-8\n"
        ), args
        assert "caf" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_nul_byte_in_any_path_is_one_line_per_key(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    config.write_text(
        '[agent]\nconf = "/etc/a\\u0000.conf"\nstate_dir = "/var/lib/\\u0000"\n'
        '[golden]\nsource = "/srv/g\\u0000.conf"\n[server]\nlisten = "127.0.0.1"\n'
        'token_file = "/etc/ascad/t\\u0000"\n'
    )
    proc = run_ascad("agent", "--config", str(config), "--check-config", timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "ascad: invalid settings:"
    assert lines[1:] == [
        f"  {config}: [agent] conf: '/etc/a\\x00.conf' contains a NUL byte",
        f"  {config}: [agent] state_dir: '/var/lib/\\x00' contains a NUL byte",
        f"  {config}: [golden] source: '/srv/g\\x00.conf' contains a NUL byte",
        f"  {config}: [server] token_file: '/etc/ascad/t\\x00' contains a NUL byte",
    ]


def test_check_config_exits_2_for_any_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    for text in ("[agent]\nsurprise = 1\n", "[agent\n", "[agent]\nrole = 'boss'\n"):
        config.write_text(text)
        proc = run_ascad("agent", "--config", str(config), "--check-config", timeout=30)
        assert proc.returncode == 2, (text, proc.stderr)
        assert "Traceback" not in proc.stderr
    proc = run_ascad("agent", "--config", str(tmp_path / "absent.toml"), "--check-config")
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_sighup_with_a_latin1_file_logs_one_line_and_keeps_the_settings(tmp_path: Path) -> None:
    golden, config = agent_files(tmp_path)
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        with ascad_agent(config) as (proc, lines):
            url = lines.wait_for("serving on ").rsplit(" ", 1)[1].strip()
            lines.wait_for("check golden: ok")
            before = len(lines.seen)
            config.write_bytes(LATIN1 + b"# " + b"secret-looking \xe9 content " * 200 + b"\n")
            proc.send_signal(signal.SIGHUP)
            line = lines.wait_for("reload refused, old settings kept")
            assert f"{config}:2:17: not UTF-8 (byte 0xe9)" in line
            assert "caf" not in line and "secret-looking" not in line and len(line) < 300
            with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                assert r.read() == b"ok\n"
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            lines.wait_for("stopped")
            logged = "".join(lines.seen[before:])
            assert "secret-looking" not in logged and "Traceback" not in logged


def test_secrets_from_the_environment_are_one_line_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(data=LOOP, env={"ASCAD_SERVER_TOKEN": f"{SECRET}\nX-Injected: 1"})
    assert err.value.problems == [
        "environment ASCAD_SERVER_TOKEN: the secret holds a control character"
    ]
    # A CRLF environment file's "\r" is trailing whitespace, as before: stripped, not refused.
    s = load_settings(
        data=LOOP, env={"ASCAD_AGENT_NODE_NAME": "aero-1\r", "ASCAD_SERVER_TOKEN": "t\r"}
    )
    assert (s.node_name, s.token) == ("aero-1", "t")
    conf = tmp_path / "a.conf"
    conf.write_text("service {\n}\n")
    env = {"ASCAD_TOKEN": f"{SECRET}\nX-Injected: 1"}
    proc = run_ascad("diff", "http://127.0.0.1:9", str(conf), env={**subprocess_env(), **env})
    assert proc.returncode == 2
    assert proc.stderr == "ascad: $ASCAD_TOKEN holds a control character: give the token alone\n"


def test_environment_tokens_stay_with_their_source_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """$ASCAD_TOKEN is for agents and $GITLAB_TOKEN for GitLab, each taken when that kind is read:
    the command line passes neither on to every source (a git remote never gets one)."""
    import argparse

    from ascad.commands.common import load_options
    from ascad.sources.http import token_from_env
    from ascad.sources.spec import Kind

    monkeypatch.setenv("ASCAD_TOKEN", "agent-token")
    monkeypatch.setenv("GITLAB_TOKEN", "gitlab-token")
    options = load_options(argparse.Namespace(token_file=None, var=[], vars_file=None, timeout=5))
    assert options.token is None
    assert token_from_env(Kind.AGENT) == "agent-token"
    assert token_from_env(Kind.GITLAB) == "gitlab-token"
