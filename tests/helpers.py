"""Shared test helpers: fixture paths, git in a throw-away repository, emulated nodes served while
the CLI runs, ``ascad`` subprocesses, local HTTP servers, and reading a process's priority.

Each helper was written once per test module before; the tests keep their own data and assertions.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from ascad.cli import main
from ascad.lab.emulator import cluster as ec
from ascad.lab.emulator.node import EmulatedNode
from ascad.lab.emulator.server import EmulatorCluster
from ascad.runtime.info import InfoClient
from ascad.sources import FetchedText, fetch_text, parse_source

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
FIXTURES = Path(__file__).parent / "fixtures"
CONFS = sorted((FIXTURES / "confs").glob("*.conf"))


def free_port() -> int:
    """A loopback port nobody listens on (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_url(port: int) -> str:
    """The CLI's address of an emulated node on loopback."""
    return f"aerospike://127.0.0.1:{port}"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``ascad ARGV`` in this process: (exit code, stdout, stderr)."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def fetch(spec: str, **kw: Any) -> FetchedText:
    """The text of a source spec (file, git, GitLab, agent URL), read as the CLI reads it."""
    return asyncio.run(fetch_text(parse_source(spec), **kw))


# --- git ------------------------------------------------------------------------------------------

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    """``git -C REPO ARGS`` with a fixed identity, no user or system config (so no signing or
    templates from the machine) and no GIT_* variable from the caller (a test may set GIT_DIR
    for the code under test); returns stdout without its trailing newline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_IDENTITY, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    out = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    return out.stdout.strip()


def commit_file(repo: Path, rel: str, text: str, message: str) -> str:
    """Write ``rel`` (parents made) in ``repo``, commit it alone; returns the new commit's sha."""
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(repo: Path, files: dict[str, str], message: str = "golden") -> Path:
    """A new repository at ``repo`` on branch main with ``files`` (relative path -> text) in one
    commit."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return repo


# --- emulated nodes while blocking code runs ------------------------------------------------------


def call_with_emulated(
    nodes: Sequence[EmulatedNode],
    fn: Callable[[EmulatorCluster], T],
    *,
    setup: Callable[[EmulatorCluster], Awaitable[object]] | None = None,
    timeout: float = 60,
    **running: Any,
) -> T:
    """Serve ``nodes`` (``ec.running``: ``security=``, ``tls=``) in this thread's event loop and call
    the blocking ``fn(cluster)`` in a worker thread, as the CLI runs its own ``asyncio.run``.
    ``setup`` runs first in the loop (faults, set-config); the whole is bounded by ``timeout``."""

    async def go() -> T:
        async with ec.running(nodes, **running) as cluster:
            if setup is not None:
                await setup(cluster)
            return await asyncio.to_thread(fn, cluster)

    return asyncio.run(asyncio.wait_for(go(), timeout))


def cli_against_node(
    node: EmulatedNode,
    argv_of: Callable[[int], list[str]],
    *,
    setup: Callable[[EmulatorCluster], Awaitable[object]] | None = None,
    timeout: float = 60,
    **running: Any,
) -> tuple[int, int]:
    """``ascad argv_of(port)`` against one emulated ``node`` (see call_with_emulated): returns
    (exit code, the node's port)."""

    def cli(cluster: EmulatorCluster) -> tuple[int, int]:
        port = cluster.nodes[0].port
        return main(argv_of(port)), port

    return call_with_emulated([node], cli, setup=setup, timeout=timeout, **running)


def info_on_first(
    command: str, expect: str | None = None
) -> Callable[[EmulatorCluster], Awaitable[str]]:
    """A ``setup`` that sends one info command (set-config, log-set…) to the first node; with
    ``expect``, asserts its answer."""

    async def setup(cluster: EmulatorCluster) -> str:
        async with InfoClient("127.0.0.1", cluster.nodes[0].port, timeout=5) as client:
            answer = await client.info(command)
        if expect is not None:
            assert answer == expect, answer
        return answer

    return setup


class DictHandler:
    """An emulated node's content: fixed info answers (``build`` always), None for anything
    else."""

    def __init__(self, answers: dict[str, str] | None = None, build: str = "8.1.2.2") -> None:
        self.answers = {"build": build, **(answers or {})}

    def answer(self, command: str) -> str | None:
        return self.answers.get(command)


def run_cluster(
    test: Callable[[EmulatorCluster], Awaitable[None]],
    handlers: Sequence[Any],
    timeout: float = 30,
    **kw: Any,
) -> EmulatorCluster:
    """``test(cluster)`` against a started ``EmulatorCluster(handlers, **kw)`` (no peers wired),
    bounded by ``timeout``, always stopping it; returns the stopped cluster."""

    async def go() -> EmulatorCluster:
        cluster = EmulatorCluster(list(handlers), **kw)
        await cluster.start()
        try:
            await asyncio.wait_for(test(cluster), timeout)
        finally:
            await cluster.stop()
        return cluster

    return asyncio.run(go())


class BackgroundLoop:
    """An event loop running in its own thread, so the test's thread (the CLI, a subprocess's
    wait) can block or call asyncio.run() while servers in this loop keep answering."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        """Run ``coro`` in the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ThreadedNode:
    """``with ThreadedNode(conf) as node:`` one emulated node (id A1) of ``conf`` served from a
    BackgroundLoop; ``node.port`` is where it listens. For subprocess tests."""

    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self.bg: BackgroundLoop | None = None
        self.cluster: EmulatorCluster | None = None
        self.port = 0

    def __enter__(self) -> ThreadedNode:
        self.bg = BackgroundLoop()
        try:
            self.cluster = self.bg.run(ec.start([ec.load_node(str(self.conf), node_id="A1")]), 10)
        except BaseException:
            self.bg.close()
            raise
        self.port = self.cluster.nodes[0].port
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.bg is not None and self.cluster is not None
        try:
            self.bg.run(self.cluster.stop(), 10)
        finally:
            self.bg.close()


# --- ascad subprocesses ---------------------------------------------------------------------------


def subprocess_env() -> dict[str, str]:
    """This environment for an ``ascad`` subprocess: the tree's src first on PYTHONPATH, and no
    ASCAD_* variable from the caller (they are settings the agent would read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCAD_")}
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_ascad(*args: str, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``python -m ascad.cli ARGS`` to completion, output captured as text (``env=`` and other
    subprocess.run arguments may be given)."""
    kw.setdefault("env", subprocess_env())
    return subprocess.run(
        [sys.executable, "-m", "ascad.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


class Lines:
    """A subprocess's stderr lines, read on a thread; wait_for() has a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            self.q.put(line)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The first line (from here on) that contains ``text``; AssertionError with all lines
        seen when none does within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged; got:\n{''.join(self.seen)}")


@contextmanager
def ascad_agent(
    config: Path, *args: str, **popen: Any
) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """``ascad agent --config CONFIG ARGS`` as a subprocess (stderr read by Lines, stdout dropped);
    killed on the way out if still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ascad.cli", "agent", "--config", str(config), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=subprocess_env(),
        **popen,
    )
    try:
        yield proc, Lines(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


AGENT_CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"


def agent_files(tmp: Path) -> tuple[Path, Path]:
    """``tmp/aerospike.conf`` and a golden ``tmp/golden.conf``, both AGENT_CONF; returns (golden,
    the settings path ``tmp/ascad.toml``, not written yet)."""
    (tmp / "aerospike.conf").write_text(AGENT_CONF.read_text())
    golden = tmp / "golden.conf"
    golden.write_text(AGENT_CONF.read_text())
    return golden, tmp / "ascad.toml"


def write_agent_toml(path: Path, tmp: Path, node_port: int, golden: Path, extra: str = "") -> None:
    """Agent settings for a master "n1" reading ``tmp/aerospike.conf`` and the node on
    ``node_port``, state in ``tmp/state``, a golden file, serving on 127.0.0.1 (a free port), one
    cycle an hour; ``extra`` lines go in [agent]."""
    path.write_text(
        f"""
[agent]
node_name = "n1"
role = "master"
conf = "{tmp / "aerospike.conf"}"
interval = "1h"
jitter = 0
state_dir = "{tmp / "state"}"
{extra}

[aerospike]
address = "aerospike://127.0.0.1:{node_port}"
timeout = 3

[golden]
source = "{golden}"

[server]
listen = "127.0.0.1"
port = 0
"""
    )


def proc_priority(pid: int) -> tuple[int, int]:
    """(priority, nice) of ``pid`` from /proc/PID/stat (fields 18 and 19; the split starts after
    the command name, field 3)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[15]), int(fields[16])


def ioprio_class(pid: int) -> int | None:
    """The I/O class of ``pid`` (0 none, 1 realtime, 2 best-effort, 3 idle), read with util-linux
    ionice or the ioprio_get system call (not with the code under test); None when neither can."""
    if shutil.which("ionice"):
        out = subprocess.run(["ionice", "-p", str(pid)], capture_output=True, text=True, timeout=5)
        word = out.stdout.split(":")[0].strip()
        return {"none": 0, "realtime": 1, "best-effort": 2, "idle": 3}.get(word)
    if os.uname().machine != "x86_64":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    value = libc.syscall(252, 1, pid)  # ioprio_get(IOPRIO_WHO_PROCESS, pid)
    return None if value < 0 else value >> 13


# --- HTTP servers ---------------------------------------------------------------------------------


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[int]:
    """``async with served(app) as port:`` the aiohttp ``app`` on 127.0.0.1 (a free port), cleaned
    up on the way out."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
