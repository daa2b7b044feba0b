"""`ascad demo`: the whole system on loopback, with one drift of each kind, then a clean shutdown.

Three emulated Aerospike nodes (one process, 127.0.0.1), a golden Salt/Jinja template in a real
git repository, three agents (auto roles: the lowest node id is master) and a Riemann sink that
decodes the real protobuf frames. Cycle 1 shows a clean cluster; then a hand edit on node2, a
``set-config`` on node3 and a golden change not yet deployed; cycle 2 shows what each agent found
and the events Riemann received. Everything runs in a temporary directory that is removed at the
end, and every server is stopped.

With ``keep`` (``ascad demo --keep``) the cluster stays up after cycle 2 until SIGINT (Ctrl-C) or
SIGTERM: the agents cycle every :data:`KEEP_INTERVAL` seconds, the master's ``/ui/`` address and
how to log in are printed, and the files are kept afterwards (their directory is printed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from ascad.agent.daemon import Agent
from ascad.agent.settings import AgentSettings, load_settings
from ascad.checks.results import CycleResult
from ascad.errors import AscadError
from ascad.lab.emulator import cluster as emulator
from ascad.lab.emulator.node import load_node
from ascad.lab.riemann_sink import RiemannSink
from ascad.report.cycle_text import render_text
from ascad.report.terminal import output_columns, wrap_line
from ascad.runtime.info import InfoClient
from ascad.sources.git import CACHE_ENV as GIT_CACHE_ENV
from ascad.sources.template import render_template

CLUSTER = "cakery"
NODES = (
    ("node1", "A1", "127.0.0.11"),
    ("node2", "B2", "127.0.0.12"),
    ("node3", "C3", "127.0.0.13"),
)
TEMPLATE_PATH = "aerospike/aerospike.conf.j2"
SET_CONFIG = "set-config:context=namespace;namespace=test;default-ttl=86400"
TOKEN = "demo-token"
#: With --keep: seconds between the agents' cycles (edits show on the page within that).
KEEP_INTERVAL = 20.0

# What cycle 2 must find: (host, service) -> (state, metric).
EXPECTED = {
    ("node1", "ascad runtime"): ("ok", 0.0),
    ("node1", "ascad golden"): ("critical", 1.0),
    ("node2", "ascad runtime"): ("critical", 1.0),
    ("node2", "ascad peer"): ("critical", 1.0),
    ("node3", "ascad runtime"): ("critical", 1.0),
    ("node3", "ascad peer"): ("ok", 0.0),
}


@dataclass
class Printer:
    out: TextIO
    colour: bool = False

    def say(self, text: str = "") -> None:
        """One line, wrapped between tokens for the output's width (``$COLUMNS``, or 80)."""
        self.out.write("\n".join(wrap_line(text, output_columns(self.out))) + "\n")
        self.out.flush()

    def head(self, text: str) -> None:
        self.say()
        self.say(f"\033[1m{text}\033[0m" if self.colour else text)


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "ops",
        "GIT_AUTHOR_EMAIL": "ops@example.org",
        "GIT_COMMITTER_NAME": "ops",
        "GIT_COMMITTER_EMAIL": "ops@example.org",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
    except FileNotFoundError:
        raise AscadError("the demo needs the git command") from None
    except subprocess.CalledProcessError as exc:
        raise AscadError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None
    return proc.stdout.strip()


def template_text() -> str:
    """The demo's golden Salt/Jinja template (shipped in ascad.lab.demo_data)."""
    return resources.files("ascad.lab.demo_data").joinpath("aerospike.conf.j2").read_text("utf-8")


def node_vars(node_id: str, address: str) -> dict[str, object]:
    """The grains and pillar Salt would render the template with for one node."""
    return {
        "grains": {"aerospike_node_id": node_id, "ipv4": [address]},
        "pillar": {"aerospike": {"cluster": CLUSTER, "seeds": [a for _, _, a in NODES]}},
    }


def _settings(
    tmp: Path, name: str, node_port: int, golden: str, riemann_port: int
) -> AgentSettings:
    return load_settings(
        data={
            "agent": {
                "node_name": name,
                "role": "auto",
                "conf": str(tmp / name / "aerospike.conf"),
                "interval": "6h",
                "jitter": 0,
                "state_dir": str(tmp / name / "state"),
                "tags": ["ascad", "demo"],
                "cluster": CLUSTER,
                # the emulated node logs its set-config lines here (provenance)
                "server_log": [str(tmp / name / "aerospike.log")],
            },
            "aerospike": {"address": f"aerospike://127.0.0.1:{node_port}", "timeout": 5},
            "golden": {"source": golden, "timeout": 20},
            "peers": {"discovery": "aerospike", "timeout": 3},
            "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(tmp / "token")},
            "riemann": {"host": "127.0.0.1", "port": riemann_port, "timeout": 3},
        },
        env={},
    )


def _summary(cycles: list[CycleResult]) -> list[str]:
    rows = []
    for c in cycles:
        checks = "  ".join(f"{r.check} {r.state}" for r in c.checks)
        rows.append(f"  {c.node:6} {c.role:7} {checks}")
    return rows


def _event_rows(events: list[dict[str, Any]], width: int = 132) -> list[str]:
    """The events as a table for ``width`` columns (descriptions cut with "…" to fit, but never
    to fewer than 30 characters)."""
    rows = [f"  {'host':6} {'service':14} {'state':9} {'metric':>6}  description"]
    room = max(30, width - 42)  # 42: the columns before the description
    for e in sorted(events, key=lambda e: (e["host"], e["service"])):
        first = (e.get("description") or "").split("\n", 1)[0]
        if len(first) > room:
            first = first[: room - 1] + "…"
        rows.append(f"  {e['host']:6} {e['service']:14} {e['state']:9} {e['metric']:6.0f}  {first}")
    return rows


async def run_demo(out: TextIO, *, colour: bool = False, keep: bool = False) -> int:
    """Run the demo, printing to ``out``; 0 when ascad found exactly the injected drift."""
    p = Printer(out, colour)
    tmp = Path(tempfile.mkdtemp(prefix="ascad-demo-"))
    saved_cache = os.environ.get(GIT_CACHE_ENV)
    os.environ[GIT_CACHE_ENV] = str(tmp / "git-cache")  # the golden's clone goes with the rest
    try:
        return await _run(p, tmp, keep=keep)
    finally:
        if saved_cache is None:
            os.environ.pop(GIT_CACHE_ENV, None)
        else:
            os.environ[GIT_CACHE_ENV] = saved_cache
        if keep:
            p.say(f"\nfiles kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def _run(p: Printer, tmp: Path, *, keep: bool = False) -> int:
    p.say(
        "ascad demo: 3 emulated Aerospike nodes, a golden Salt template in git, 3 agents and a "
        "Riemann sink, all on 127.0.0.1"
    )
    (tmp / "token").write_text(TOKEN + "\n")
    (tmp / "token").chmod(0o600)  # a token file others may read is refused
    template = template_text()

    repo = tmp / "salt"
    (repo / "aerospike").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / TEMPLATE_PATH).write_text(template)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "aerospike: cakery cluster")
    golden = f"git+file://{repo}#{TEMPLATE_PATH}@main"

    confs: list[Path] = []
    for name, node_id, address in NODES:
        (tmp / name).mkdir()
        path = tmp / name / "aerospike.conf"
        path.write_text(
            render_template(template, node_vars(node_id, address), source=TEMPLATE_PATH)
        )
        confs.append(path)
    nodes = [
        load_node(str(path), node_id=node_id, cluster_name=CLUSTER)
        for path, (_, node_id, _) in zip(confs, NODES, strict=True)
    ]
    for node, path in zip(nodes, confs, strict=True):
        # the nodes have been up for a day (their uptime), and log their set-config lines
        node.started -= 86400
        node.log_file = str(path.parent / "aerospike.log")
        Path(node.log_file).touch()

    sink = RiemannSink(udp=False)
    await sink.start()
    agents: list[Agent] = []
    try:
        async with emulator.running(nodes) as cluster:
            for (name, _, _), wire in zip(NODES, cluster.nodes, strict=True):
                agent = Agent(_settings(tmp, name, wire.port, golden, sink.port))
                await agent.start()
                agents.append(agent)
            urls = {node_id: str(a.url) for (_, node_id, _), a in zip(NODES, agents, strict=True)}
            for a in agents:
                a.settings.urls = dict(urls)

            p.head("set-up")
            p.say(f"  golden   {golden}  (Salt/Jinja template)")
            for (name, node_id, _), wire, a, conf in zip(
                NODES, cluster.nodes, agents, confs, strict=True
            ):
                p.say(
                    f"  {name}    node-id {node_id}  aerospike://127.0.0.1:{wire.port}  "
                    f"agent {a.url}  conf {conf}"
                )
            p.say(f"  riemann  127.0.0.1:{sink.port}  (test sink decoding protobuf frames)")

            p.head("cycle 1: the cluster as Salt deployed it")
            cycles = list(await asyncio.gather(*(a.run_cycle() for a in agents)))
            for row in _summary(cycles):
                p.say(row)

            p.head("injecting one drift of each kind")
            edited = confs[1].read_text().replace("proto-fd-max 15000", "proto-fd-max 20000")
            confs[1].write_text(edited)
            p.say(f"  1. hand edit on node2: proto-fd-max 15000 -> 20000 in {confs[1]}")
            async with InfoClient("127.0.0.1", cluster.nodes[2].port, timeout=5) as client:
                answer = await client.info(SET_CONFIG)
            p.say(f"  2. on node3, never written back: {SET_CONFIG} -> {answer}")
            (repo / TEMPLATE_PATH).write_text(
                template.replace(
                    "namespace test {\n    replication-factor 2",
                    "namespace test {\n    replication-factor 3",
                )
            )
            _git(repo, "commit", "-q", "-am", "test: replication-factor 3")
            p.say(
                f"  3. golden change not yet deployed: commit {_git(repo, 'rev-parse', '--short', 'HEAD')} "
                "'test: replication-factor 3'"
            )

            p.head("cycle 2: what each agent found")
            before = len(sink.events)
            cycles = list(await asyncio.gather(*(a.run_cycle() for a in agents)))
            for cycle in cycles:
                p.say()
                p.say("-" * min(100, output_columns(p.out)))
                render_text(cycle, p.out, colour=p.colour)
            events = (await sink.wait_for(before + len(EXPECTED), timeout=10))[before:]

            p.head(f"events Riemann received in cycle 2 ({len(events)})")
            for row in _event_rows(events, output_columns(p.out)):
                p.say(row)
            if keep:
                await _keep_running(p, agents, tmp)
    finally:
        for a in agents:
            await a.stop()
        await sink.stop()

    found = {(e["host"], e["service"]): (e["state"], e["metric"]) for e in events}
    p.head("shut down")
    p.say("  agents, emulated nodes and Riemann sink stopped")
    if found != EXPECTED:
        p.say("ascad demo: the events differ from the drift injected:")
        for key in sorted(set(found) | set(EXPECTED)):
            if found.get(key) != EXPECTED.get(key):
                p.say(f"  {key}: expected {EXPECTED.get(key)}, got {found.get(key)}")
        return 1
    p.say("  every injected drift was found, on the right node and check, and nothing else")
    return 0


async def _keep_running(p: Printer, agents: list[Agent], tmp: Path) -> None:
    """The cluster stays up, the agents cycling, until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        master = agents[0]
        p.head("the cluster keeps running (--keep)")
        p.say(f"  dashboard  {master.url}/ui/")
        p.say(f"  log in with the token {TOKEN} (the file {tmp / 'token'})")
        p.say(f"  the API:   curl -H 'Authorization: Bearer {TOKEN}' {master.url}/v1/status")
        p.say(
            f"  the agents cycle every {KEEP_INTERVAL:g} s: edit a conf under {tmp}/node*/ and "
            "watch the page"
        )
        p.say("  press Ctrl-C to stop")
        for a in agents:
            a.settings.interval = KEEP_INTERVAL
            a.settings.jitter = 0.0
        loops = [asyncio.ensure_future(a.run(stop)) for a in agents]
        await stop.wait()
        p.say("\n  stopping")
        await asyncio.gather(*loops, return_exceptions=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
