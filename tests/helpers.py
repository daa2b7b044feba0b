"""Shared test helpers: fixture paths, git in a throw-away repository, emulated nodes served while
the CLI runs, ``ascad`` subprocesses, local HTTP servers, and reading a process's priority; and
what several test modules share: the sample confs' versions, real captures, the info protocol on a
bare socket, the agent on loopback, a Prometheus checker, Riemann events and sinks, config sources,
and a fleet of confs.

Each helper was written once per test module before; the tests keep their own data and assertions.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from ascad.agent.daemon import Agent
from ascad.agent.settings import load_settings
from ascad.cli import main
from ascad.compare.expected import CompareSettings
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.lab.emulator import cluster as ec
from ascad.lab.emulator.node import EmulatedNode
from ascad.lab.emulator.replay import ReplayHandler
from ascad.lab.emulator.server import EmulatorCluster, EmulatorNode
from ascad.lab.riemann_sink import RiemannSink
from ascad.report.riemann import build_event
from ascad.runtime import admin
from ascad.runtime.info import InfoClient
from ascad.runtime.snapshot import kv_get, parse_kv
from ascad.sources import FetchedText, fetch_text, parse_source
from tools.chromium import CHROMIUM, CHROMIUM_ARGS  # the one list of Chromium's flags

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


def run_python(code: str, timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` (this interpreter) to completion, output captured as text (``env=``,
    ``input=`` and other subprocess.run arguments may be given)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, **kw
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
    config: Path, *args: str, env: dict[str, str] | None = None, **popen: Any
) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """``ascad agent --config CONFIG ARGS`` as a subprocess (stderr read by Lines, stdout dropped;
    ``env`` added to its environment); killed on the way out if still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ascad.cli", "agent", "--config", str(config), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**subprocess_env(), **(env or {})},
        **popen,
    )
    try:
        yield proc, Lines(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@contextmanager
def shared_tmp(prefix: str) -> Iterator[Path]:
    """A new directory under /tmp that every user may enter (pytest's tmp_path is under a 0700
    one, and a test running ascad as another user needs to reach its files); removed after."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


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


# --- fixture paths and the sample confs' versions -------------------------------------------------

CONF_DIR = FIXTURES / "confs"
BAD_CONFS = FIXTURES / "validate"
RUNTIME = FIXTURES / "runtime"
EXPORTER = RUNTIME / "exporter-8.1.2.2"
CONF_81 = str(FIXTURES / "runtime-confs" / "exporter-8.1.2.2.conf")


def line_of(text: str, conf: str = CONF_81) -> int:
    """The 1-based line of the first line of ``conf`` that contains ``text``."""
    lines = Path(conf).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# SOURCES.md gives a range for a few files; the version used for them (docs/knowledge.md).
RANGE_VERSIONS = {"6.x": "6.4", "5.x–6.x": "6.4"}

# Errors that are right: Aerospike's SSD samples ship with their `device` lines commented out, to
# be filled in; as they are, the server refuses a device namespace without storage.
EXPECTED_ERRORS = {
    "server-8.1-ssd.conf": [(50, "context")],
    "server-6.4.0.1-ssd.conf": [(50, "context")],
}
NO_STORAGE = "'storage-engine device' names no 'device' and no 'file'"


def sample_versions() -> list[tuple[str, str]]:
    rows = []
    for line in (CONF_DIR / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\S+\.conf) \| [^|]* \| ([^|]+) \|", line)
        if m:
            version = m.group(2).strip().split(" ")[0]
            rows.append((m.group(1), RANGE_VERSIONS.get(version, version)))
    return rows


def build_of(version: str) -> str:
    """A four-part build for a SOURCES.md version (`8.1` -> `8.1.0.0`, `7.2.0.0-rc1` -> `7.2.0.0`)."""
    parts = re.findall(r"\d+", version.split("-")[0])
    return ".".join([*parts, "0", "0", "0", "0"][:4])


# --- real captures --------------------------------------------------------------------------------


def capture_answers(directory: str, **extra: str) -> dict[str, str | None]:
    answers: dict[str, str | None] = dict(ReplayHandler(RUNTIME / directory).answers)
    answers.update(extra)
    return answers


def _service_node_id(directory: str, command: str) -> str:
    handler = ReplayHandler(RUNTIME / directory)
    return kv_get(parse_kv(handler.answer(command) or ""), "node-id") or "BB9000000000001"


def replay(directory: str, **extra: str | None) -> ReplayHandler:
    """A replay handler over one capture directory, with the few answers the capture lacks.

    The captures were taken by other tools and omit ``node`` (its value is the captured
    service's ``node-id``), and some trim the namespace list or answer ``sets`` for all
    namespaces; each override below says which real answer it is derived from. ``extra``
    (field captures only) adds or replaces answers: an injected runtime change.
    """
    if directory == "exporter-8.1.2.2":
        h = ReplayHandler(RUNTIME / directory)
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": _service_node_id(directory, "get-config:context=service"),
                # only these two namespaces' configs were kept in the split capture
                "namespaces": "test;employees_flash",
                "sets/test": h.answer("sets"),  # `sets` holds only namespace test's set
            },
        )
    if directory == "exporter-6.x":
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": _service_node_id(directory, "get-config:context=service"),
                "build": "6.3",  # full-captures/exporter-6.x: build=6.3
                "namespaces": "test",
                # full capture's xdr line, trimmed to the one dc whose config was split out
                "get-config:context=xdr": "dcs=backup_dc_asdev20;src-id=0;trace-sample=0",
            },
        )
    if directory == "jdbc-4.5.1.5":
        return ReplayHandler(
            RUNTIME / directory, overrides={"node": _service_node_id(directory, "get-config")}
        )
    if directory == "mgmtlib-6.4-excerpts":
        return ReplayHandler(
            RUNTIME / directory,
            overrides={
                "node": "BB9060011AC4202",
                "build": "6.4.0.0",
                "namespaces": "test",
                # the excerpt lists dcs=DC1,DC2 but kept only DC1's config
                "get-config:context=xdr": "dcs=DC1;src-id=0;trace-sample=0",
            },
        )
    if directory in FIELD_CAPTURES:
        # the field captures' missing answers, each derived from the capture itself
        # (tests/fixtures/runtime-confs/*.overrides.json; tests/fixtures/runtime/SOURCES.md)
        overrides = json.loads(
            (FIXTURES / "runtime-confs" / f"{FIELD_CAPTURES[directory]}.overrides.json").read_text()
        )
        return ReplayHandler(RUNTIME / directory, overrides={**overrides, **extra})
    raise AssertionError(directory)


# capture directory -> the stem of its conf and overrides in tests/fixtures/runtime-confs
FIELD_CAPTURES = {
    "exporter-7.0.0.0-rc4": "exporter-7.0.0.0-rc4",
    "mgmtlib-3.14.1.1-reconstructed": "mgmtlib-3.14.1.1",
}


# --- the info protocol on a bare socket -----------------------------------------------------------


class RawSocket:
    """A bare socket to one node: send bytes, read one whole message."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, node: EmulatorNode) -> RawSocket:
        return cls(*await asyncio.open_connection(node.host, node.port))

    async def exchange(self, data: bytes) -> bytes:
        """Send; return the whole reply (header included)."""
        self.writer.write(data)
        await self.writer.drain()
        header = await asyncio.wait_for(self.reader.readexactly(8), 5)
        size = admin.parse_proto_header(header)[2]
        return header + await asyncio.wait_for(self.reader.readexactly(size), 5)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def info_message(body: bytes) -> bytes:
    return admin.proto_header(admin.PROTO_TYPE_INFO, len(body)) + body


async def raw_info(port: int, commands: list[str]) -> dict[str, str]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    body = "".join(c + "\n" for c in commands).encode()
    writer.write(bytes([2, 1]) + len(body).to_bytes(6, "big") + body)
    await writer.drain()
    header = await asyncio.wait_for(reader.readexactly(8), 5)
    data = await asyncio.wait_for(reader.readexactly(int.from_bytes(header[2:], "big")), 5)
    writer.close()
    await writer.wait_closed()
    out = {}
    for line in data.decode().splitlines():
        k, _, v = line.partition("\t")
        out[k] = v
    return out


# --- the agent on loopback ------------------------------------------------------------------------

LOOP_TOKEN = "review-token"
LOOP = {"server": {"listen": "127.0.0.1"}}


def loop_settings(tmp: Path, port: int, golden: Path | None = None, **agent: Any):  # type: ignore[no-untyped-def]
    """Settings on loopback with a token; ``golden`` (written here) for a master."""
    conf = tmp / "aerospike.conf"
    conf.write_text(AGENT_CONF.read_text())
    (tmp / "token").write_text(LOOP_TOKEN + "\n")
    (tmp / "token").chmod(0o600)  # a secret: other users may not read it
    data: dict[str, Any] = {
        "agent": {"conf": str(conf), "state_dir": str(tmp / "state"), "node_name": "n1", **agent},
        "server": {"listen": "127.0.0.1", "port": port, "token_file": str(tmp / "token")},
    }
    if golden is not None:
        golden.write_text(AGENT_CONF.read_text())
        data["golden"] = {"source": str(golden)}
    return load_settings(data=data, env={})


@asynccontextmanager
async def serving_agent(tmp: Path) -> AsyncIterator[Agent]:
    """A started Agent on loopback (loop_settings, a free port), stopped on the way out."""
    agent = Agent(loop_settings(tmp, 0))
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


# --- Prometheus text format -----------------------------------------------------------------------

# A checker written from the format's grammar, not from the renderer.
_HELP = re.compile(r"# HELP (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<text>(?:[^\\\n]|\\\\|\\n)*)")
_TYPE = re.compile(r"# TYPE (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<type>gauge|counter|untyped)")
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
_SAMPLE = re.compile(
    rf"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})?"
    r" (?P<value>NaN|[+-]Inf|[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"
)
_ONE_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text)


def parse_prometheus(text: str) -> dict[str, dict]:
    """Family name -> {help, type, samples: {labels tuple: value}}; asserts the grammar."""
    assert text.endswith("\n")
    families: dict[str, dict] = {}
    current = None
    for line in text[:-1].split("\n"):
        if m := _HELP.fullmatch(line):
            current = m["name"]
            assert current not in families, f"family {current} appears twice"
            families[current] = {"help": _unescape(m["text"]), "samples": {}}
        elif m := _TYPE.fullmatch(line):
            assert m["name"] == current and "type" not in families[current]
            families[current]["type"] = m["type"]
        else:
            m = _SAMPLE.fullmatch(line)
            assert m, f"not a sample line: {line!r}"
            assert m["name"] == current, "sample outside its family"
            labels = tuple((k, _unescape(v)) for k, v in _ONE_LABEL.findall(m["labels"] or ""))
            value = m["value"].replace("Inf", "inf").replace("NaN", "nan")
            families[current]["samples"][labels] = float(value)
    return families


# --- Riemann --------------------------------------------------------------------------------------


def run_bounded(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(30):
            return await coro

    return asyncio.run(bounded())


def riemann_event(check: str = "golden", **over: Any) -> Any:
    args: dict[str, Any] = {
        "host": "node1.example",
        "check": check,
        "state": "critical",
        "metric": 3,
        "description": "namespace[test].replication-factor: 2 (aerospike.conf:41) != 3 (golden)",
        "ttl": 54000.0,
        "tags": ["ascad", "aerospike", "prod-eu"],
        "attributes": {"cluster": "prod-eu", "role": "master", "master": "node1.example"},
        "time": 1_700_000_000,
    }
    args.update(over)
    return build_event(**args)


async def with_sink(body: Callable[[RiemannSink], Awaitable[Any]], **kw: Any) -> Any:
    sink = RiemannSink(**kw)
    await sink.start()
    try:
        return await body(sink)
    finally:
        await sink.stop()


def server_ctx(cert: Path, key: Path, *, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cert)
    return ctx


# --- config sources: confs, loopback HTTP servers -------------------------------------------------

CONF_MAIN = "service {\n\tproto-fd-max 15000\n}\n"
CONF_MAIN2 = "service {\n\tproto-fd-max 20000\n}\n"
CONF_OTHER = "service {\n\tproto-fd-max 30000\n}\n"
GITLAB_PAT = "glpat-review-token"

RELEASE = web.AppKey("release", asyncio.Event)


async def with_server(app: web.Application, body: Callable[[int], Awaitable[object]]) -> object:
    """``body(port)`` with ``app`` served; a handler waiting on the app's RELEASE is let go first."""
    async with served(app) as port:
        try:
            return await asyncio.wait_for(body(port), 30)
        finally:
            release = app.get(RELEASE)
            if release is not None:
                release.set()


async def serve_while(app: web.Application, body: Callable[[int], Awaitable[object]]) -> object:
    async with served(app) as port:
        return await asyncio.wait_for(body(port), 60)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text, text
    return text


SALT_GOLDEN = """\
{# Salt-managed: do not edit
   by hand #}
{%- set fdmax = pillar.get('fdmax', 15000) -%}
{% macro seeds(nodes) -%}
{% for n in nodes %}
        mesh-seed-address-port {{ n }} 3002
{% endfor %}
{%- endmacro %}
service {
    proto-fd-max {{ fdmax }}
    node-id {{ grains['id'] }}
}
logging {
    file /var/log/aerospike/{{ grains['id'] }}.log {
        context any info
    }
}
network {
    heartbeat {
        mode mesh
{{ seeds(pillar['seeds']) }}
        interval 150
    }
}
namespace {{ pillar['ns'] }} {
    replication-factor 2
    storage-engine memory
}
namespace {{ grains['id'] }}-local {
    replication-factor 1
    storage-engine memory
}
"""


# --- JSON output ----------------------------------------------------------------------------------


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return code, json.loads(out)


# --- a fleet of confs -----------------------------------------------------------------------------

FLEET_N = 20
FLEET_DRIFT_VALUE = 2  # n03: a namespace value differs in its conf
FLEET_DRIFT_EXTRA = 6  # n07: one extra parameter in its conf
FLEET_RUNTIME_ONLY = 10  # n11: set-config on the running node only
FLEET_DOWN = 14  # n15: refuses connections

FLEET_TEMPLATE = """\
service {{
    proto-fd-max 15000
    cluster-name cakery
    node-id {node_id}
    pidfile /var/run/aerospike/asd-{i}.pid
}}
logging {{
    console {{
        context any info
    }}
}}
network {{
    service {{
        address 10.0.0.{ip}
        access-address 10.0.0.{ip}
        port 3000
    }}
    heartbeat {{
        mode mesh
        port 3002
{seeds}
        interval 150
        timeout 10
    }}
    fabric {{
        port 3001
    }}
}}
namespace test {{
    replication-factor {rf}
{extra}
    rack-id {rack}
    storage-engine memory {{
        data-size 4G
    }}
}}
namespace bar {{
    replication-factor 2
    storage-engine memory {{
        data-size 4G
    }}
}}
"""


def fleet_node_conf(i: int, *, rf: int = 2, extra: str = "") -> str:
    seeds = "\n".join(
        f"        mesh-seed-address-port 10.0.0.{j + 1} 3002"
        for j in range(min(FLEET_N, 4))
        if j != i
    )
    return FLEET_TEMPLATE.format(
        i=i,
        node_id=f"A{i + 1:03X}",
        ip=i + 1,
        seeds=seeds,
        rf=rf,
        extra=extra,
        rack=i % 3,
    )


def fleet_confs() -> list[str]:
    confs = [fleet_node_conf(i) for i in range(FLEET_N)]
    confs[FLEET_DRIFT_VALUE] = fleet_node_conf(FLEET_DRIFT_VALUE, rf=3)
    confs[FLEET_DRIFT_EXTRA] = fleet_node_conf(FLEET_DRIFT_EXTRA, extra="    default-ttl 1h")
    return confs


def flat_of(text: str, name: str):
    return flatten(parse_text(text, name))


PEER_PATTERNS = CompareSettings().peer_patterns()

_ADDR = re.compile(
    r"^(\s*)(address|access-address|alternate-access-address|tls-address|tls-access-address"
    r"|tls-alternate-access-address|interface-address)\s+\S+(.*)$"
)
_SEED = re.compile(r"^(\s*)(tls-)?mesh-seed-address-port\s+\S+\s+(\S+)(.*)$")


def as_node(text: str, n: int, nodes: int = 3) -> str:
    """The conf as node ``n`` of a cluster rendered from one template would have it: its own
    addresses, node-id and pidfile, and the *other* nodes as mesh seeds."""
    out: list[str] = []
    seeded: set[str] = set()
    for line in text.split("\n"):
        code = line.lstrip()
        if code.startswith("#"):
            out.append(line)
            continue
        if m := _ADDR.match(line):
            out.append(f"{m[1]}{m[2]} 10.1.0.{n}{m[3]}")
        elif m := _SEED.match(line):
            kind = m[2] or ""
            if kind not in seeded:  # one seed line per other node, whatever the sample listed
                seeded.add(kind)
                out += [
                    f"{m[1]}{kind}mesh-seed-address-port 10.1.0.{o} {m[3]}"
                    for o in range(1, nodes + 1)
                    if o != n
                ]
        elif m := re.match(r"^(\s*)node-id\s+\S+(.*)$", line):
            out.append(f"{m[1]}node-id A{n}{m[2]}")
        elif m := re.match(r"^(\s*)pidfile\s+\S+(.*)$", line):
            out.append(f"{m[1]}pidfile /var/run/aerospike/asd-{n}.pid{m[2]}")
        else:
            out.append(line)
            if re.match(r"^service\s*\{", line) and "node-id " not in text:
                out.append(f"\tnode-id A{n}")
    return "\n".join(out)


def write_nodes(tmp_path: Path, count: int = 3) -> list[str]:
    base = (ROOT / "tests" / "fixtures" / "confs" / "server-8.1-dev.conf").read_text()
    paths = []
    for n in range(1, count + 1):
        p = tmp_path / f"node{n}.conf"
        p.write_text(as_node(base, n, count))
        paths.append(str(p))
    return paths


# --- a real browser: Playwright driving Debian's Chromium -----------------------------------------


@contextmanager
def chromium(tmp: Path, *, javascript: bool = True, width: int = 1280) -> Iterator[Any]:
    """A Playwright browser context on Debian's Chromium (``./dev test`` installs it; skipped when
    it is missing), with a fresh profile in ``tmp``. Playwright's own browsers are never used."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (./dev test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp))
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            java_script_enabled=javascript,
            viewport={"width": width, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
