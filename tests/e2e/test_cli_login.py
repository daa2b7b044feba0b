"""Aerospike tools' login conventions on the command line: -U/-P (a real pty for the prompt, a
pipe for the refusal), --auth in every mode, --tls-* options, TLS names by host and by
--tls-name, and astools.conf profiles (file order, --instance, --config-file, --no-config-file)
against emulated secured nodes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ascad.lab.emulator import cluster as ec
from ascad.lab.emulator.server import EmulatorCluster, Security, ServerTls, User
from tests.helpers import (
    AGENT_CONF,
    FIXTURES,
    BackgroundLoop,
    agent_files,
    cli_against_node,
    run_ascad,
    subprocess_env,
    write_agent_toml,
)

CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
TLS = FIXTURES / "tls"
SECURITY = Security(
    {"admin": "s3cret", "ascad-client": User(None, roles=("read",))},
    ldap_users={"alice": "ldap-pw"},
)
MTLS = ServerTls(
    str(TLS / "server.pem"), str(TLS / "server.key"), "node1.ascad.test", str(TLS / "ca.pem")
)
SERVER_TLS = ServerTls(str(TLS / "server.pem"), str(TLS / "server.key"), "node1.ascad.test")


@pytest.fixture(autouse=True)
def _no_user_astools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets an empty home (no ~/.aerospike/astools.conf of the machine's user)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ASCAD_PASSWORD", raising=False)
    if os.path.exists("/etc/aerospike/astools.conf"):
        pytest.skip("this machine has /etc/aerospike/astools.conf, which would be read")


def show(
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    *,
    scheme: str = "aerospike",
    host: str = "127.0.0.1",
    query: str = "",
    **running: object,
) -> tuple[int, str, str]:
    """``ascad show ADDRESS ARGS`` against one emulated node: (exit code, stdout, stderr)."""
    rc, _ = cli_against_node(
        ec.load_node(str(CONF)),
        lambda port: ["show", f"{scheme}://{host}:{port}{query}", *args],
        **running,
    )
    out, err = capsys.readouterr()
    return rc, out, err


def secret(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text + "\n")
    p.chmod(0o600)
    return str(p)


# --- --auth, each mode ---------------------------------------------------------------------------


def test_auth_internal_with_u_and_password_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = secret(tmp_path, "pw", "s3cret")
    rc, out, err = show(capsys, ["-U", "admin", "--password-file", pw], security=SECURITY)
    assert rc == 0, err
    assert "namespace" in out


def test_auth_external_over_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = secret(tmp_path, "pw", "ldap-pw")
    args = ["-U", "alice", "--password-file", pw, "--auth", "external"]
    args += ["--tls-cafile", str(TLS / "ca.pem"), "--tls-name", "node1.ascad.test"]
    rc, out, err = show(capsys, args, scheme="aerospike+tls", security=SECURITY, tls=SERVER_TLS)
    assert rc == 0, err
    assert "namespace" in out


def test_auth_external_without_tls_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = secret(tmp_path, "pw", "ldap-pw")
    rc, out, err = show(
        capsys, ["-U", "alice", "--password-file", pw, "--auth", "EXTERNAL"], security=SECURITY
    )
    assert rc == 2 and out == ""
    assert "needs TLS" in err and "EXTERNAL_INSECURE" in err and len(err.splitlines()) == 1


def test_auth_external_insecure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = secret(tmp_path, "pw", "ldap-pw")
    args = ["-U", "alice", "--password-file", pw, "--auth", "EXTERNAL_INSECURE"]
    rc, _out, err = show(capsys, args, security=SECURITY)
    assert rc == 0, err


def test_auth_pki_with_a_client_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    """No user, no password: the node takes the user (CN ascad-client) from the certificate."""
    args = ["--auth", "PKI", "--tls-enable", "--tls-cafile", str(TLS / "ca.pem")]
    args += ["--tls-certfile", str(TLS / "client.pem"), "--tls-keyfile", str(TLS / "client.key")]
    args += ["--tls-name", "node1.ascad.test"]
    rc, out, err = show(capsys, args, security=SECURITY, tls=MTLS)
    assert rc == 0, err
    assert "namespace" in out


def test_auth_pki_without_a_certificate_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--auth", "PKI", "--tls-cafile", str(TLS / "ca.pem"), "--tls-name", "node1.ascad.test"]
    rc, _out, err = show(capsys, args, scheme="aerospike+tls", security=SECURITY, tls=MTLS)
    assert rc == 2
    assert "--auth PKI logs in with a TLS client certificate" in err


# --- TLS names ------------------------------------------------------------------------------------


def test_tls_name_by_host_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """The loopback certificate is for 127.0.0.1 and localhost: no --tls-name needed."""
    loopback = ServerTls(str(TLS / "loopback.pem"), str(TLS / "loopback.key"))
    for host in ("127.0.0.1", "localhost"):
        rc, _out, err = show(
            capsys,
            ["--tls-cafile", str(TLS / "ca.pem")],
            scheme="aerospike+tls",
            host=host,
            tls=loopback,
        )
        assert rc == 0, err


def test_tls_name_given_and_mismatch_refused(capsys: pytest.CaptureFixture[str]) -> None:
    ca = ["--tls-cafile", str(TLS / "ca.pem")]
    rc, _out, err = show(
        capsys, [*ca, "--tls-name", "node1.ascad.test"], scheme="aerospike+tls", tls=SERVER_TLS
    )
    assert rc == 0, err
    # the same name in the address
    rc, _out, err = show(
        capsys, ca, scheme="aerospike+tls", query="?tls-name=node1.ascad.test", tls=SERVER_TLS
    )
    assert rc == 0, err
    # no name: the host 127.0.0.1 is checked, and the certificate does not carry it
    rc, out, err = show(capsys, ca, scheme="aerospike+tls", tls=SERVER_TLS)
    assert rc == 2 and out == ""
    assert "TLS name mismatch" in err and "not the host '127.0.0.1' as written" in err
    assert "pass --tls-name node1.ascad.test" in err and len(err.splitlines()) == 1
    # a wrong name
    rc, _out, err = show(capsys, [*ca, "-t", "other.test"], scheme="aerospike+tls", tls=SERVER_TLS)
    assert rc == 2 and "not tls-name 'other.test'" in err


# --- astools.conf ---------------------------------------------------------------------------------


def write_astools(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_astools_user_file_gives_the_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Path(os.environ["HOME"])
    write_astools(
        home / ".aerospike" / "astools.conf", '[cluster]\nuser = "admin"\npassword = "s3cret"\n'
    )
    rc, _out, err = show(capsys, [], security=SECURITY)
    assert rc == 0, err
    # --no-config-file: the profile is not read, so the node wants a login
    rc, _out, err = show(capsys, ["--no-config-file"], security=SECURITY)
    assert rc == 2 and "security enabled" in err


def test_astools_instance_and_config_file_precedence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Path(os.environ["HOME"])
    write_astools(
        home / ".aerospike" / "astools.conf",
        '[cluster]\nuser = "admin"\npassword = "wrong"\n\n'
        '[cluster_ldap]\nuser = "alice"\npassword = "ldap-pw"\nauth = "EXTERNAL_INSECURE"\n',
    )
    # the user file's [cluster]: wrong password
    rc, _out, err = show(capsys, [], security=SECURITY)
    assert rc == 2 and "wrong password for user 'admin'" in err
    # --config-file is read after it and wins, key by key (user stays, password replaced)
    extra = write_astools(tmp_path / "extra.conf", '[cluster]\npassword = "s3cret"\n')
    rc, _out, err = show(capsys, ["--config-file", str(extra)], security=SECURITY)
    assert rc == 0, err
    # --instance ldap reads [cluster_ldap] only
    rc, _out, err = show(capsys, ["--instance", "ldap"], security=SECURITY)
    assert rc == 0, err
    # the command line beats the profile
    rc, _out, err = show(capsys, ["--instance", "ldap", "--auth", "INTERNAL"], security=SECURITY)
    assert rc == 2 and "an LDAP user? use --auth EXTERNAL" in err
    # an instance no file defines
    rc, _out, err = show(capsys, ["--instance", "nope"], security=SECURITY)
    assert rc == 2 and "no [cluster_nope] section" in err


def test_astools_bad_files_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_astools(tmp_path / "bad.conf", "[cluster\nuser = 1\n")
    rc, _out, err = show(capsys, ["--config-file", str(bad)])
    assert rc == 2 and str(bad) in err and "not valid TOML" in err and "line 1" in err
    unknown = write_astools(tmp_path / "unknown.conf", '[cluster]\nusr = "a"\n')
    rc, _out, err = show(capsys, ["--config-file", str(unknown)])
    assert rc == 2 and "unknown key 'usr'" in err
    readable = write_astools(tmp_path / "open.conf", '[cluster]\npassword = "x"\n', 0o644)
    rc, _out, err = show(capsys, ["--config-file", str(readable)])
    assert rc == 2 and "other users may read" in err
    rc, _out, err = show(capsys, ["--config-file", str(tmp_path / "missing.conf")])
    assert rc == 2 and "no such file" in err


# --- -P: prompt on a terminal, refused otherwise ---------------------------------------------------


@pytest.fixture
def secured_node() -> Iterator[int]:
    """One secured emulated node (of AGENT_CONF) served from a background loop (for
    subprocesses); its port."""
    bg = BackgroundLoop()
    cluster: EmulatorCluster | None = None
    try:
        cluster = bg.run(ec.start([ec.load_node(str(AGENT_CONF))], security=SECURITY), 10)
        yield cluster.nodes[0].port
    finally:
        if cluster is not None:
            bg.run(cluster.stop(), 10)
        bg.close()


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    seen = b""
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_p_prompts_on_a_terminal_without_echo(secured_node: int, tmp_path: Path) -> None:
    env = {**subprocess_env(), "HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "ascad.cli", "show", f"aerospike://127.0.0.1:{secured_node}"]
    argv += ["-U", "admin", "-P"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        os.execve(argv[0], argv, env)
    try:
        deadline = time.monotonic() + 60
        before = _read_until(fd, b"Password for admin: ", deadline)
        assert b"Password for admin: " in before, before
        os.write(fd, b"s3cret\n")
        after = b""
        while time.monotonic() < deadline:
            chunk = _read_until(fd, b"\x00never", min(deadline, time.monotonic() + 1))
            if not chunk:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
            after += chunk
        else:
            pytest.fail("ascad did not finish")
        assert b"s3cret" not in before + after  # never echoed
        assert b"namespace" in after
        assert os.waitstatus_to_exitcode(status) == 0
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_p_on_a_pipe_is_refused(secured_node: int, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "ascad.cli", "show", f"aerospike://127.0.0.1:{secured_node}"]
    proc = subprocess.run(
        [*argv, "-U", "admin", "-P"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**subprocess_env(), "HOME": str(tmp_path)},
        start_new_session=True,  # no controlling terminal either
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "stdin is not a terminal" in proc.stderr and "--password-file" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_p_with_a_value_is_refused_without_echoing_it(capsys: pytest.CaptureFixture[str]) -> None:
    from ascad.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["show", "aerospike://127.0.0.1:1", "-U", "admin", "-Ps3cret"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "takes no value" in err and "s3cret" not in err


def test_check_takes_the_login_options_over_its_settings(secured_node: int, tmp_path: Path) -> None:
    """`ascad check`: -U/--password-file and astools.conf (--instance) over [aerospike]."""
    golden, config = agent_files(tmp_path)
    write_agent_toml(config, tmp_path, secured_node, golden)
    env = {**subprocess_env(), "HOME": str(tmp_path)}
    bare = run_ascad("check", "--config", str(config), env=env)
    assert bare.returncode == 2 and "security enabled" in bare.stdout
    pw = secret(tmp_path, "pw", "s3cret")
    ok = run_ascad("check", "--config", str(config), "-U", "admin", "--password-file", pw, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "== runtime: OK" in ok.stdout
    profile = write_astools(
        tmp_path / "astools.conf", '[cluster_prod]\nuser = "admin"\npassword = "s3cret"\n'
    )
    argv = ["check", "--config", str(config), "--config-file", str(profile), "--instance", "prod"]
    assert run_ascad(*argv, env=env).returncode == 0


def test_p_before_a_source_is_the_prompt_flag(tmp_path: Path) -> None:
    """`-P SOURCE` (an address, an existing file, another option): the flag, not a password."""
    from ascad.commands.common import password_flags

    conf = tmp_path / "a.conf"
    conf.write_text("service {\n}\n")
    assert password_flags(["show", "-P", "aerospike://h"]) == [
        "show",
        "--password=",
        "aerospike://h",
    ]
    assert password_flags(["diff", "-P", str(conf), "x"])[1] == "--password="
    assert password_flags(["diff", "--password", "-U", "a"])[1] == "--password="
    assert password_flags(["diff", "-P", "s3cret", "a"]) == ["diff", "-P", "s3cret", "a"]
    assert password_flags(["diff", "-P"]) == ["diff", "-P"]
    assert password_flags(["diff", "--", "-P", "x://"]) == ["diff", "--", "-P", "x://"]


def test_p_before_the_address_prompts_on_a_pipe_refusal(secured_node: int, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "ascad.cli", "show", "-U", "admin", "-P"]
    proc = subprocess.run(
        [*argv, f"aerospike://127.0.0.1:{secured_node}"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env={**subprocess_env(), "HOME": str(tmp_path)},
        start_new_session=True,
    )
    assert proc.returncode == 2 and "stdin is not a terminal" in proc.stderr
