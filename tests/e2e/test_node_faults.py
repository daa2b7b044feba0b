"""The CLI against misbehaving nodes and over TLS, end to end: every failure is one line naming
host:port and the command, exit 2, and no read of a node runs past its --timeout; the `ascad
emulator` command serves TLS (and mutual TLS) that `ascad show`/`diff` read with
aerospike+tls://, and runs until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.lab.emulator.cluster import load_node
from ascad.lab.emulator.server import EmulatorCluster
from tests.helpers import (
    FIXTURES,
    ROOT,
    cli_against_node,
    free_port,
    node_url,
    raw_info,
    subprocess_env,
)

CONF = str(FIXTURES / "confs" / "server-8.1-dev.conf")
TLS = FIXTURES / "tls"


def _one_line_error(err: str, port: int) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    # "host:port command: …" for a failed command, "host:port: …" when the connection failed
    assert lines[0].startswith((f"ascad: 127.0.0.1:{port} ", f"ascad: 127.0.0.1:{port}: ")), lines[
        0
    ]
    return lines[0]


def _with_fault(fault: dict[str, object], argv_of, capsys: pytest.CaptureFixture[str]):
    async def setup(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(**fault)  # type: ignore[arg-type]

    rc, port = cli_against_node(
        load_node(CONF, build="8.1.2.2"),
        lambda port: argv_of(node_url(port)),
        setup=setup,
        timeout=30,
    )
    captured = capsys.readouterr()
    return rc, port, captured.out, captured.err


FAULTS = {
    "hang": ({"hang": True}, "no reply within 0.5s"),
    "truncate": ({"truncate": True}, "connection closed mid-reply"),
    "oversize": ({"oversize": True}, "over the 4194304-byte limit"),
    "wrong-version": ({"wrong_version": True}, "is this the service port?"),
    "wrong-type": ({"wrong_type": True}, "not an Aerospike info/admin message"),
    "refuse": ({"refuse": True}, "connection refused"),
}
COMMANDS = {
    "show": lambda spec: ["show", spec, "--timeout", "0.5"],
    "diff": lambda spec: ["diff", CONF, spec, "--timeout", "0.5"],
    "diff-reverse": lambda spec: ["diff", spec, CONF, "--timeout", "0.5"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_faulty_node_is_one_line_exit_2(
    fault: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    setting, message = FAULTS[fault]
    rc, port, out, err = _with_fault(setting, COMMANDS[command], capsys)
    assert rc == 2 and out == ""
    line = _one_line_error(err, port)
    assert message in line
    if fault == "refuse":
        # a connection-level failure names the node only, not the commands it never got
        assert line.startswith(f"ascad: 127.0.0.1:{port}: connection refused"), line
    else:
        assert "node,build" in line  # the request in flight: the snapshot's first one


def test_slow_node_is_bounded_by_the_whole_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    """Each reply comes after 0.3 s, under the 0.5 s per-request bound, but a snapshot takes
    three requests: the read as a whole is bounded by --timeout and fails, naming the request
    that was in flight."""
    rc, port, out, err = _with_fault(
        {"delay": 0.3}, lambda spec: ["show", spec, "--timeout", "0.5"], capsys
    )
    assert rc == 2 and out == ""
    line = _one_line_error(err, port)
    assert "not all read within 0.5s" in line
    assert "sets/" in line or "log/" in line  # the second request, not the first


def test_slow_node_within_the_timeout_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _port, out, err = _with_fault(
        {"delay": 0.05}, lambda spec: ["diff", CONF, spec, "--timeout", "10"], capsys
    )
    assert rc == 0, err
    assert "no differences" in out


def test_reply_in_small_segments_reads_the_same_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, _port, out, err = _with_fault(
        {"split": 512}, lambda spec: ["diff", "--format", "json", CONF, spec], capsys
    )
    assert rc == 0, err
    assert json.loads(out)["differences"] == []


def test_port_where_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    rc = main(["show", f"aerospike://127.0.0.1:{port}", "--timeout", "2"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert "connection refused" in _one_line_error(captured.err, port)


def test_tls_port_read_in_clear_text_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from ascad.lab.emulator.server import ServerTls

    rc, port = cli_against_node(
        load_node(CONF, build="8.1.2.2"),
        lambda port: ["show", node_url(port), "--timeout", "2"],
        tls=ServerTls(str(TLS / "server.pem"), str(TLS / "server.key")),
    )
    line = _one_line_error(capsys.readouterr().err, port)
    assert rc == 2 and "use aerospike+tls://" in line


# --- `ascad emulator` with TLS, read by the CLI --------------------------------------------------


SERVER_TLS = ["--tls-cert", str(TLS / "server.pem"), "--tls-key", str(TLS / "server.key")]


class EmulatorProcess:
    """``ascad emulator`` in a subprocess; its first stdout line says where the node listens."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ascad.cli", "emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            cwd=ROOT,
        )

    def port(self) -> int:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the emulator prints once bound, or exits
        assert line, self.stop()
        return int(line.split()[1].rsplit(":", 1)[1])

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=10)
        return err


def test_emulator_command_serves_tls_read_by_show_and_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    password.chmod(0o600)  # a secret: other users may not read it
    emu = EmulatorProcess(CONF, *SERVER_TLS, "--security", f"admin:{password}")
    try:
        port = emu.port()
        spec = f"aerospike+tls://127.0.0.1:{port}?tls-name=node1.ascad.test&ca={TLS / 'ca.pem'}"
        login = ["--user", "admin", "--password-file", str(password), "--timeout", "5"]
        assert main(["show", spec, *login]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"# Running configuration of aerospike+tls://127.0.0.1:{port}\n")
        assert "cluster-name cakery" in out
        assert main(["diff", "--format", "json", CONF, spec, *login]) == 0
        assert json.loads(capsys.readouterr().out)["differences"] == []
        # the CA from the option rather than the address
        bare = f"aerospike+tls://127.0.0.1:{port}?tls-name=x.cluster.ascad.test"
        assert main(["show", bare, "--tls-ca", str(TLS / "ca.pem"), *login]) == 0
        capsys.readouterr()
        # a name the certificate does not carry, and an untrusted CA: one line, exit 2
        wrong = f"aerospike+tls://127.0.0.1:{port}?tls-name=other.test&ca={TLS / 'ca.pem'}"
        assert main(["show", wrong, *login]) == 2
        assert "TLS name mismatch" in _one_line_error(capsys.readouterr().err, port)
        untrusted = f"aerospike+tls://127.0.0.1:{port}?ca={TLS / 'other-ca.pem'}"
        assert main(["show", untrusted, *login]) == 2
        assert "not trusted" in _one_line_error(capsys.readouterr().err, port)
    finally:
        err = emu.stop()
    assert "emulator stopped" in err


def test_emulator_command_mutual_tls(capsys: pytest.CaptureFixture[str]) -> None:
    emu = EmulatorProcess(CONF, *SERVER_TLS, "--tls-ca", str(TLS / "ca.pem"))
    try:
        port = emu.port()
        spec = f"aerospike+tls://127.0.0.1:{port}?tls-name=node1.ascad.test&ca={TLS / 'ca.pem'}"
        client = ["--tls-cert", str(TLS / "client.pem"), "--tls-key", str(TLS / "client.key")]
        assert main(["show", spec, *client, "--timeout", "5"]) == 0
        assert "cluster-name cakery" in capsys.readouterr().out
        assert main(["show", spec, "--timeout", "5"]) == 2
        assert "client certificate" in _one_line_error(capsys.readouterr().err, port)
    finally:
        emu.stop()


def test_emulator_command_tls_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", CONF, "--tls-cert", str(TLS / "server.pem")]) == 2
    assert "--tls-key" in capsys.readouterr().err
    bad = ["--tls-cert", str(TLS / "ca.pem"), "--tls-key", str(TLS / "server.key")]
    assert main(["emulator", CONF, *bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot load TLS certificate" in err


def test_emulator_command_runs_until_sigterm(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("service {\n cluster-name x\n}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ascad.cli", "emulator", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        node_id, addr, path = line.split()
        assert re.fullmatch(r"BB9[0-9A-F]{12}", node_id) and path == str(conf)
        port = int(addr.rsplit(":", 1)[1])
        got = asyncio.run(raw_info(port, ["cluster-name", "build"]))
        assert got == {"cluster-name": "x", "build": "8.1.2.2"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_emulator_command_ldap_and_pki_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ascad emulator --ldap-user/--pki-user/--tls-name`, read with --auth EXTERNAL and PKI."""
    password = tmp_path / "pw"
    password.write_text("ldap-pw\n")
    password.chmod(0o600)
    emu = EmulatorProcess(
        CONF,
        *SERVER_TLS,
        "--tls-ca",
        str(TLS / "ca.pem"),
        "--tls-name",
        "node1.ascad.test",
        "--ldap-user",
        f"alice:{password}",
        "--pki-user",
        "ascad-client",
    )
    try:
        port = emu.port()
        spec = f"aerospike+tls://127.0.0.1:{port}"
        tls = ["--tls-cafile", str(TLS / "ca.pem"), "--tls-name", "node1.ascad.test"]
        tls += ["--tls-certfile", str(TLS / "client.pem"), "--tls-keyfile", str(TLS / "client.key")]
        assert (
            main(["show", spec, *tls, "--auth", "PKI", "--timeout", "5", "--no-config-file"]) == 0
        )
        assert "cluster-name cakery" in capsys.readouterr().out
        ldap = ["-U", "alice", "--password-file", str(password), "--auth", "EXTERNAL"]
        assert main(["show", spec, *tls, *ldap, "--timeout", "5", "--no-config-file"]) == 0
        assert "cluster-name cakery" in capsys.readouterr().out
    finally:
        emu.stop()


def test_emulator_command_pki_user_needs_client_certificates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["emulator", CONF, *SERVER_TLS, "--pki-user", "x"]) == 2
    assert "--pki-user needs" in capsys.readouterr().err
    assert main(["emulator", CONF, "--tls-name", "x"]) == 2
    assert "--tls-name goes with" in capsys.readouterr().err
