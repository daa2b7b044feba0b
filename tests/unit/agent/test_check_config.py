"""``ascad agent --check-config`` checks what the agent will need, not only the settings' syntax:
the conf file, the secret and TLS files, the golden source, the state directory and the peers'
scheme; each problem one line naming the settings file, the key and the file at fault; exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ascad.agent.preflight import preflight
from ascad.agent.settings import load_settings
from tests.helpers import AGENT_CONF, FIXTURES, run_ascad, shared_tmp, subprocess_env

TLS = FIXTURES / "tls"


def files(tmp: Path) -> dict[str, Path]:
    """A node's conf, a golden, a token (0600) and a state dir that all exist."""
    (tmp / "aerospike.conf").write_text(AGENT_CONF.read_text())
    (tmp / "golden.conf").write_text(AGENT_CONF.read_text())
    (tmp / "token").write_text("t0ken-t0ken\n")
    (tmp / "token").chmod(0o600)
    (tmp / "state").mkdir()
    return {
        "conf": tmp / "aerospike.conf",
        "golden": tmp / "golden.conf",
        "token": tmp / "token",
        "state": tmp / "state",
    }


def write(config: Path, f: dict[str, Path], extra: str = "", **over: str) -> None:
    v = {
        "role": "auto",
        "conf": str(f["conf"]),
        "golden": str(f["golden"]),
        "state": str(f["state"]),
        "template": "http://{host}:9145",
        **over,
    }
    config.write_text(
        f"""[agent]
role = "{v["role"]}"
conf = "{v["conf"]}"
state_dir = "{v["state"]}"
[golden]
source = "{v["golden"]}"
[peers]
url_template = "{v["template"]}"
[server]
listen = "0.0.0.0"
token_file = "{f["token"]}"
{extra}
"""
    )


def check(config: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return run_ascad("agent", "--check-config", "--config", str(config), timeout=30, **kw)


def problems_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The problem lines of a failed check (one line alone, or the list under its heading)."""
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    if lines[0] == "ascad: invalid settings:":
        return [line.strip() for line in lines[1:]]
    assert len(lines) == 1, lines
    return [lines[0].removeprefix("ascad: ")]


def test_a_complete_setup_passes(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(config, f)
    proc = check(config)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{config}: settings are valid (role auto)\n"
    assert list(f["state"].iterdir()) == []  # the write test leaves nothing behind


def test_the_node_conf_must_exist_and_parse(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    missing = tmp_path / "nope" / "aerospike.conf"
    write(config, f, conf=str(missing))
    assert problems_of(check(config)) == [
        f"{config}: [agent] conf (ASCAD_AGENT_CONF): {missing}: no such file"
    ]
    f["conf"].write_text("service {\n    proto-fd-max 15000\n")  # the brace never closed
    write(config, f)
    (line,) = problems_of(check(config))
    assert line.startswith(f"{config}: [agent] conf (ASCAD_AGENT_CONF): {f['conf']}:")
    f["conf"].unlink()
    os.mkfifo(f["conf"])  # a pipe is refused at once, not waited for
    (line,) = problems_of(check(config))
    assert "not a regular file" in line and str(f["conf"]) in line


def test_tls_files_must_load(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    key = tmp_path / "client.key"
    shutil.copy(TLS / "client.key", key)
    key.chmod(0o600)
    not_a_ca = tmp_path / "not-a-ca.pem"
    not_a_ca.write_text("just some text\n")
    write(
        config,
        f,
        # the server's certificate with the client's key: not a pair; a CA file without a CA
        f'tls_cert = "{TLS / "server.pem"}"\ntls_key = "{key}"\ntls_client_ca = "{not_a_ca}"\n',
        template="https://{host}:9145",
    )
    lines = problems_of(check(config))
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        f"{config}: [server] tls_cert (ASCAD_SERVER_TLS_CERT): {TLS / 'server.pem'} with {key}:"
        " cannot load the certificate and key: "
    )
    assert lines[1].startswith(f"{config}: [server] tls_client_ca (ASCAD_SERVER_TLS_CLIENT_CA):")
    assert str(not_a_ca) in lines[1]
    # the right pair and CA pass
    server_key = tmp_path / "server.key"
    shutil.copy(TLS / "server.key", server_key)
    server_key.chmod(0o600)
    write(
        config,
        f,
        f'tls_cert = "{TLS / "server.pem"}"\ntls_key = "{server_key}"\n'
        f'tls_client_ca = "{TLS / "ca.pem"}"\n',
        template="https://{host}:9145",
    )
    assert check(config).returncode == 0


def test_secret_files_keep_their_rules(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(config, f)
    f["token"].chmod(0o644)
    (line,) = problems_of(check(config))
    assert line == (
        f"{config}: [server] token_file: {f['token']}: token file has mode 0644: other users may"
        " read or write it; chmod 600 (or 640 for a group) it"
    )


def test_the_golden_source_must_be_a_conf_that_exists(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(config, f, golden=str(tmp_path / "absent.conf"))
    assert problems_of(check(config)) == [
        f"{config}: [golden] source (ASCAD_GOLDEN_SOURCE): {tmp_path / 'absent.conf'}: No such"
        " file or directory"
    ]
    write(config, f, golden="aerospike://127.0.0.1:3000")
    (line,) = problems_of(check(config))
    assert "is not a golden conf" in line
    (tmp_path / "not-a-repo").mkdir()
    write(config, f, golden=f"{tmp_path / 'not-a-repo'}#aerospike.conf@main")
    (line,) = problems_of(check(config))
    assert f"{tmp_path / 'not-a-repo'}" in line, line
    # role auto: any node may become master, so a golden is needed
    config.write_text(
        f'[agent]\nconf = "{f["conf"]}"\nstate_dir = "{f["state"]}"\n'
        '[server]\nlisten = "127.0.0.1"\n'
    )
    (line,) = problems_of(check(config))
    assert line.startswith(f"{config}: [golden] source (ASCAD_GOLDEN_SOURCE): with role = ")


def test_the_peers_scheme_must_be_the_one_the_server_serves(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(config, f, template="https://{host}:9145")
    assert problems_of(check(config)) == [
        f"{config}: [peers] url_template (ASCAD_PEERS_URL_TEMPLATE): 'https://{{host}}:9145' is"
        " https:// but this agent serves http:// ([server] has no tls_cert); the agents share"
        " these settings, so no slave would reach a master"
    ]
    # a per-node exception with the wrong scheme too; a fixed slave's master_url is its own
    write(config, f, '[peers.urls]\nBB9 = "https://10.0.0.9:9145"\n')
    s = load_settings(str(config), env={})
    assert [p.split(": ", 2)[1] for p in preflight(s)] == ["[peers] urls (ASCAD_PEERS_URLS)"]
    s.role, s.master_urls = "slave", ["https://10.0.0.1:9145"]
    assert preflight(s) == []


def test_every_problem_at_once_one_line_each(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(
        config,
        f,
        conf=str(tmp_path / "absent.conf"),
        golden=str(tmp_path / "absent-golden.conf"),
        template="https://{host}:9145",
        state=str(tmp_path / "token" / "state"),  # under a file: cannot be made
    )
    lines = problems_of(check(config))
    keys = [line.split(": ", 2)[1] for line in lines]
    assert keys == [
        "[agent] conf (ASCAD_AGENT_CONF)",
        "[golden] source (ASCAD_GOLDEN_SOURCE)",
        "[agent] state_dir (ASCAD_AGENT_STATE_DIR)",
        "[peers] url_template (ASCAD_PEERS_URL_TEMPLATE)",
    ]
    assert all(line.startswith(f"{config}: ") for line in lines)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path is under a 0700 one)."""
    with shared_tmp("ascad-check-") as path:
        yield path


#: Runs ``ascad ARGS`` as nobody: every ascad module imported and the check run once first, as
#: root, its output dropped (this Python and its lazily imported modules may live where nobody
#: can read them), then the privileges dropped, then the command.
AS_NOBODY = """
import contextlib, importlib, io, os, pkgutil, sys
import ascad
for m in pkgutil.walk_packages(ascad.__path__, "ascad."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from ascad.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main(sys.argv[1:])
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
from ascad.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_the_state_dir_must_be_writable_by_the_agents_user(shared_dir: Path) -> None:
    """As the user the agent runs as (here: nobody, 65534): a state directory owned by root is
    not writable, and neither can a new one be made under a root-owned parent."""
    f = files(shared_dir)
    os.chown(f["token"], 65534, 65534)  # the agent's user owns its token (0600)
    config = shared_dir / "ascad.toml"
    write(config, f)

    def as_nobody() -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASCAD_")}
        return subprocess.run(
            [sys.executable, "-c", AS_NOBODY, "agent", "--check-config", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            env={**env, **subprocess_env()},
            cwd="/",
        )

    (line,) = problems_of(as_nobody())
    assert line.startswith(
        f"{config}: [agent] state_dir (ASCAD_AGENT_STATE_DIR): {f['state']}: not writable by this"
        " user"
    )
    os.chown(f["state"], 65534, 65534)
    proc = as_nobody()
    assert proc.returncode == 0, proc.stderr
    write(config, f, state=str(shared_dir / "new" / "state"))
    (line,) = problems_of(as_nobody())
    assert f"does not exist, and this user cannot create it in {shared_dir}" in line


def test_the_baseline_must_parse(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    (tmp_path / "baseline.toml").write_text('# known\n[[ack]]\npath = "x"\n')
    write(config, f, extra='[compare]\nbaseline = "baseline.toml"')
    (line,) = problems_of(check(config))
    assert line == (
        f"{config}: [compare] baseline: {tmp_path / 'baseline.toml'}:2: [[ack]] x: needs reason"
        ' = "why it is known"'
    )
    (tmp_path / "baseline.toml").write_text('[[ack]]\npath = "x"\nreason = "r"\n')
    assert check(config).returncode == 0


def test_a_salt_golden_needs_salt_call_and_its_directories(tmp_path: Path) -> None:
    f = files(tmp_path)
    config = tmp_path / "ascad.toml"
    write(config, f, golden="salt://aerospike/aerospike.conf.jinja")
    salt_call = FIXTURES.parent.parent / ".venv-salt" / "bin" / "salt-call"

    def with_salt(**keys: str) -> None:
        lines = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
        text = config.read_text().replace(
            'source = "salt://aerospike/aerospike.conf.jinja"\n',
            f'source = "salt://aerospike/aerospike.conf.jinja"\n{lines}',
        )
        config.write_text(text)

    with_salt(salt_call=str(tmp_path / "no-salt-call"), salt_config_dir=str(tmp_path / "nope"))
    assert problems_of(check(config)) == [
        f"{config}: [golden] salt_call (ASCAD_GOLDEN_SALT_CALL): {tmp_path / 'no-salt-call'}: not"
        " found (a salt:// golden is rendered by Salt on this node)",
        f"{config}: [golden] salt_config_dir (ASCAD_GOLDEN_SALT_CONFIG_DIR): {tmp_path / 'nope'}:"
        " no such directory",
    ]
    if salt_call.exists():
        write(config, f, golden="salt://aerospike/aerospike.conf.jinja")
        with_salt(salt_call=str(salt_call), salt_config_dir=str(tmp_path))
        proc = check(config)
        assert proc.returncode == 0, proc.stderr
