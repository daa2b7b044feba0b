"""`ascad diff CONF aerospike://user@node` against a node with security on: login, and every way it
can fail, each with one clear line and exit 2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.lab.emulator.cluster import load_node, running
from ascad.lab.emulator.server import Security, User
from ascad.runtime.info import InfoClient
from ascad.runtime.snapshot import take_snapshot
from tests.helpers import FIXTURES, cli_against_node

CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
USERS: dict[str, str | User] = {"admin": "s3cret", "old": User("pw", password_expired=True)}


def run_against_node(
    argv: Callable[[int], list[str]], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    rc, _ = cli_against_node(load_node(str(CONF)), argv, security=Security(USERS))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def password_file(tmp_path: Path) -> Callable[[str], str]:
    def make(text: str) -> str:
        p = tmp_path / "pw"
        p.write_text(text + "\n")
        p.chmod(0o600)  # a secret: other users may not read it
        return str(p)

    return make


def test_right_password_reads_the_node(
    password_file: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    pw = password_file("s3cret")
    rc, out, err = run_against_node(
        lambda port: [
            "diff",
            "--format",
            "json",
            "--user",
            "admin",
            "--password-file",
            pw,
            str(CONF),
            f"aerospike://127.0.0.1:{port}",
        ],
        capsys,
    )
    assert rc == 0, err
    assert json.loads(out)["differences"] == []


@pytest.mark.parametrize(
    ("user", "password", "expected"),
    [
        ("admin", "wrong", "wrong password"),
        ("nobody", "s3cret", "unknown user"),
        ("old", "pw", "password of user 'old' has expired"),
    ],
)
def test_login_failures_are_one_clear_line(
    user: str,
    password: str,
    expected: str,
    password_file: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    pw = password_file(password)
    rc, out, err = run_against_node(
        lambda port: [
            "diff",
            "--user",
            user,
            "--password-file",
            pw,
            str(CONF),
            f"aerospike://127.0.0.1:{port}",
        ],
        capsys,
    )
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("ascad: 127.0.0.1:")
    assert expected in err.lower()


def test_no_login_on_a_secured_node(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_against_node(
        lambda port: ["diff", str(CONF), f"aerospike://127.0.0.1:{port}"], capsys
    )
    assert rc == 2
    assert err.count("\n") == 1
    # the options are named; a connection-level failure names the node only, no command list
    assert err.startswith("ascad: 127.0.0.1:") and err.split(": ")[1].count(" ") == 0, err
    assert "security enabled: give --user USER with --password-file FILE or $ASCAD_PASSWORD" in err


def test_password_file_without_user_says_user_is_missing(
    password_file: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ASCAD_PASSWORD", raising=False)
    pw = password_file("s3cret")
    rc, out, err = run_against_node(
        lambda port: ["diff", "--password-file", pw, str(CONF), f"aerospike://127.0.0.1:{port}"],
        capsys,
    )
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert "security enabled: --user is missing (a password was given)" in err


def test_user_without_password_is_refused_before_connecting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASCAD_PASSWORD", raising=False)
    assert main(["diff", "--user", "admin", str(CONF), "aerospike://127.0.0.1:9"]) == 2
    assert "needs a password" in capsys.readouterr().err


def test_password_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCAD_PASSWORD", "s3cret")
    rc, _, err = run_against_node(
        lambda port: ["diff", "--user", "admin", str(CONF), f"aerospike://127.0.0.1:{port}"], capsys
    )
    assert rc == 0, err


def test_expired_session_logs_in_again() -> None:
    """A session that expires on the server: the next request is refused and the client logs in anew."""
    node = load_node(str(CONF))

    async def go() -> tuple[int, int]:
        async with running([node], security=Security(USERS)) as cluster:
            wire = cluster.nodes[0]
            async with InfoClient(
                "127.0.0.1", wire.port, user="admin", password="s3cret", pool_size=1, timeout=5
            ) as client:
                first = await take_snapshot(client)
                wire.expire_sessions()
                second = await take_snapshot(client)
                assert first.service == second.service
                return client.logins, wire.logins

    client_logins, server_logins = asyncio.run(asyncio.wait_for(go(), 60))
    assert client_logins == 2 and server_logins == 2
