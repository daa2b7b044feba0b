"""One node client and one precedence rule (ascad.runtime.login): what an aerospike:// address
says (user@, TLS options) wins over --user/--tls-* and the agent's [aerospike] settings, the same
through every way a node is named (ascad diff, show, validate, fleet, the agent)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from ascad.agent.cycle import CycleRunner
from ascad.agent.settings import load_settings
from ascad.commands import common
from ascad.errors import AscadError
from ascad.lab.emulator.cluster import load_node
from ascad.lab.emulator.server import Security
from ascad.runtime.login import NodeLogin, connect, resolve
from tests.helpers import FIXTURES, cli_against_node

CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
# The URL names "admin" (the right user for the password); the flag names a user the node lacks.
USERS = {"admin": "s3cret"}


def test_the_address_user_wins_over_the_login_default() -> None:
    login = NodeLogin(user="nobody", password="pw", timeout=3.0)
    client = connect("aerospike://admin@127.0.0.1:3000", login)
    assert (client.user, client.password, client.timeout) == ("admin", "pw", 3.0)
    assert connect("aerospike://127.0.0.1:3000", login).user == "nobody"


def test_the_address_tls_options_win_and_the_login_fills_the_rest() -> None:
    login = NodeLogin(tls_ca="/flag/ca.pem", tls_cert="/flag/c.pem", tls_key="/flag/k.pem")
    addr = resolve("aerospike+tls://127.0.0.1?ca=/url/ca.pem&tls-name=n1", login)
    assert addr.tls is not None
    assert (addr.tls.ca_file, addr.tls.cert_file, addr.tls.key_file, addr.tls.tls_name) == (
        "/url/ca.pem",
        "/flag/c.pem",
        "/flag/k.pem",
        "n1",
    )
    assert str(addr) == "aerospike+tls://127.0.0.1:4333"  # the address still reads as given


def test_a_user_without_a_password_is_refused_before_connecting() -> None:
    with pytest.raises(AscadError, match="'admin' needs a password") as err:
        connect("aerospike://admin@127.0.0.1:9", NodeLogin())
    assert "127.0.0.1:9" in str(err.value)


def test_the_cli_and_the_agent_build_the_same_login(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    pw.chmod(0o600)  # a secret: other users may not read it
    args = argparse.Namespace(
        user="nobody", password_file=str(pw), tls_ca=None, tls_cert=None, tls_key=None, timeout=4.0
    )
    from_cli = common.node_login(args)
    settings = load_settings(
        data={
            "agent": {"node_name": "n1"},
            "aerospike": {"user": "nobody", "password_file": str(pw), "timeout": "4s"},
        },
        env={},
        serving=False,
    )
    from_agent = CycleRunner(settings).login()
    assert from_cli == from_agent
    for login in (from_cli, from_agent):
        assert connect("aerospike://admin@127.0.0.1:3000", login).user == "admin"


def _right_password(tmp_path: Path) -> str:
    p = tmp_path / "pw"
    p.write_text("s3cret\n")
    p.chmod(0o600)  # a secret: other users may not read it
    return str(p)


COMMANDS: dict[str, Callable[[str, str], list[str]]] = {
    "diff": lambda url, pw: ["diff", "--user", "nobody", "--password-file", pw, str(CONF), url],
    "show": lambda url, pw: ["show", "--user", "nobody", "--password-file", pw, url],
    "validate": lambda url, pw: [
        "validate",
        "--format",
        "json",
        "--user",
        "nobody",
        "--password-file",
        pw,
        "--server",
        url,
        str(CONF),
    ],
    "fleet --runtime": lambda url, pw: [
        "fleet",
        "--runtime",
        "--user",
        "nobody",
        "--password-file",
        pw,
        url,
    ],
}


def run_command(command: str, url_user: str, tmp_path: Path) -> int:
    """``ascad COMMAND … --user nobody`` against a secured node whose address names ``url_user``
    (or no user): the exit status."""
    pw = _right_password(tmp_path)
    rc, _ = cli_against_node(
        load_node(str(CONF)),
        lambda port: COMMANDS[command](f"aerospike://{url_user}127.0.0.1:{port}", pw),
        security=Security(dict(USERS)),
    )
    return rc


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_logs_in_as_the_user_the_address_names(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The address names the right user: the wrong --user is not used, the node is read."""
    rc = run_command(command, "admin@", tmp_path)
    out, err = capsys.readouterr()
    assert rc in (0, 1), err  # read: no login failure (exit 2)
    assert "nobody" not in err
    assert out
    # Without a user in the address, the flag's user is the one that logs in, and fails.
    rc = run_command(command, "", tmp_path)
    _, err = capsys.readouterr()
    assert rc == 2  # "nobody" is not a user of the node
    assert err.count("\n") == 1 and "127.0.0.1" in err


def test_tls_name_capath_and_tls_enable_from_the_login() -> None:
    login = NodeLogin(tls_name="node1.example", tls_capath="/ca.d", tls_enable=True)
    plain = resolve("aerospike://127.0.0.1", login)
    assert plain.tls is not None and plain.port == 4333  # no port written: the TLS default
    assert (plain.tls.tls_name, plain.tls.ca_path) == ("node1.example", "/ca.d")
    assert resolve("aerospike://127.0.0.1:3000", login).port == 3000  # a written port stays
    own = resolve("aerospike+tls://127.0.0.1?tls-name=n2", login)
    assert own.tls is not None and own.tls.tls_name == "n2"  # the address wins
    assert resolve("aerospike://127.0.0.1", NodeLogin()).tls is None


def test_pki_needs_no_password_and_passes_the_mode() -> None:
    login = NodeLogin(user="admin", auth="PKI", tls_cert="/c.pem", tls_key="/k.pem")
    with pytest.raises(AscadError, match="cannot load client certificate"):
        connect("aerospike+tls://127.0.0.1:9?ca=" + str(FIXTURES / "tls" / "ca.pem"), login)
    client = connect(
        "aerospike+tls://127.0.0.1:9",
        NodeLogin(
            auth="PKI",
            tls_ca=str(FIXTURES / "tls" / "ca.pem"),
            tls_cert=str(FIXTURES / "tls" / "client.pem"),
            tls_key=str(FIXTURES / "tls" / "client.key"),
        ),
    )
    assert (client.auth, client.user, client.password) == ("PKI", None, None)


def test_astools_conf_is_read_only_when_a_node_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken ~/.aerospike/astools.conf never stops a diff of two files."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aerospike").mkdir()
    (tmp_path / ".aerospike" / "astools.conf").write_text("[cluster\n")
    args = argparse.Namespace(left="a.conf", right="b.conf", timeout=4.0)
    assert common.node_login(args).user is None
    args = argparse.Namespace(left="a.conf", right="aerospike://127.0.0.1", timeout=4.0)
    with pytest.raises(AscadError, match="not valid TOML"):
        common.node_login(args)
