"""systemd readiness (``ascad.agent.notify``): datagrams to ``$NOTIFY_SOCKET`` (a path or an
abstract name), nothing without it, and the daemon's READY=1 once it listens and its first cycle
has started, RELOADING=1/READY=1 around SIGHUP and STOPPING=1 on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from ascad.agent import notify
from tests.helpers import (
    Lines,
    ThreadedNode,
    agent_files,
    ascad_agent,
    write_agent_toml,
)
from tests.notify_socket import NotifySocket


def test_the_address_is_a_path_or_an_abstract_name() -> None:
    assert notify.notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify.notify_address({"NOTIFY_SOCKET": "@sd-notify/42"}) == "\0sd-notify/42"
    for value in ("", "@", "relative/path", "vsock:2:1234"):
        assert notify.notify_address({"NOTIFY_SOCKET": value}) is None, value
    assert notify.notify_address({}) is None


def test_messages_reach_a_path_socket_and_an_abstract_one(tmp_path: Path) -> None:
    for path in (tmp_path / "notify", None):
        with NotifySocket(path) as ns:
            assert notify.notify("READY=1", "STATUS=serving\non two lines", env=ns.env)
            assert ns.wait_for("READY=1", timeout=5) == "READY=1\nSTATUS=serving on two lines"


def test_reloading_carries_the_monotonic_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with NotifySocket(tmp_path / "notify") as ns:
        monkeypatch.setenv("NOTIFY_SOCKET", ns.value)
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert notify.reloading()
        lines = ns.wait_for("RELOADING=1", timeout=5).split("\n")
        usec = int(lines[1].removeprefix("MONOTONIC_USEC="))
        assert before <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert notify.stopping() and ns.wait_for("STOPPING=1", timeout=5) == "STOPPING=1"


def test_no_socket_or_a_dead_one_is_not_an_error(tmp_path: Path) -> None:
    assert notify.notify("READY=1", env={}) is False
    assert notify.notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False
    # a socket file nobody reads from any more
    path = tmp_path / "closed"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.close()
    assert notify.notify("READY=1", env={"NOTIFY_SOCKET": str(path)}) is False


def agent_with(
    config: Path, env: dict[str, str]
) -> AbstractContextManager[tuple[subprocess.Popen[str], Lines]]:
    """``ascad agent --config CONFIG`` with ``env`` added to its environment."""
    return ascad_agent(config, env=env)


def test_the_daemon_is_ready_once_it_listens_and_says_reloading_and_stopping(
    tmp_path: Path,
) -> None:
    golden, config = agent_files(tmp_path)
    with ThreadedNode(tmp_path / "aerospike.conf") as node, NotifySocket() as ns:
        write_agent_toml(config, tmp_path, node.port, golden)
        with agent_with(config, ns.env) as (proc, lines):
            ready = ns.wait_for("READY=1")
            # READY=1 comes after the server listens: /healthz answers at once
            url = lines.wait_for("serving on ").rsplit(" ", 1)[1].strip()
            with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
                assert answer.read() == b"ok\n"
            assert f"STATUS=serving on {url}; first cycle running" in ready.split("\n")
            lines.wait_for("told systemd the agent is ready")
            ns.wait_for("STATUS=last cycle: role master: runtime ok, golden ok")
            proc.send_signal(signal.SIGHUP)
            assert ns.wait_for("RELOADING=1").startswith("RELOADING=1\nMONOTONIC_USEC=")
            ns.wait_for("READY=1")
            lines.wait_for("settings reloaded")
            proc.send_signal(signal.SIGTERM)
            ns.wait_for("STOPPING=1")
            assert proc.wait(timeout=15) == 0
