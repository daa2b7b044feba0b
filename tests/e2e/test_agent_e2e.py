"""End to end on loopback: three emulated nodes, three agents (auto roles), a git golden repository
made here, and a Riemann sink decoding the real protobuf frames.

Phases: one of each drift -> exactly the expected events; drift fixed -> all ok; master's agent
stopped -> the slaves fall back and say so; Riemann stopped -> the agents keep their results and
deliver on the next cycle.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ascad.agent.daemon import Agent
from ascad.agent.settings import load_settings
from ascad.lab.emulator import cluster as ec
from ascad.lab.riemann_sink import RiemannSink
from ascad.runtime.info import InfoClient
from tests.helpers import AGENT_CONF, commit_file, init_repo

NODE_IDS = ("A1", "B2", "C3")  # hex: A1 < B2 < C3, so node1 is the master
TOKEN = "e2e-secret-token"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def seen(events: list[dict]) -> set[tuple]:
    return {(e["host"], e["service"], e["state"], e["metric"]) for e in events}


def agent_settings(tmp: Path, i: int, node_port: int, golden: str, riemann_port: int):  # type: ignore[no-untyped-def]
    return load_settings(
        data={
            "agent": {
                "node_name": f"node{i}",
                "role": "auto",
                "conf": str(tmp / f"node{i}" / "aerospike.conf"),
                "interval": "1h",
                "jitter": 0,
                "state_dir": str(tmp / f"state{i}"),
                "tags": ["ascad", "e2e"],
            },
            "aerospike": {"address": f"aerospike://127.0.0.1:{node_port}", "timeout": 5},
            "golden": {"source": golden, "timeout": 20},
            "peers": {"discovery": "aerospike", "timeout": 3},
            "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(tmp / "token")},
            "riemann": {"host": "127.0.0.1", "port": riemann_port, "timeout": 3},
        },
        env={},
    )


async def _scenario(tmp: Path) -> None:
    base = AGENT_CONF.read_text()
    (tmp / "token").write_text(TOKEN + "\n")
    (tmp / "token").chmod(0o600)  # a secret: other users may not read it
    repo = init_repo(tmp / "golden", {"aerospike.conf": base})
    golden = f"{repo}#aerospike.conf@main"
    confs = []
    for i in (1, 2, 3):
        (tmp / f"node{i}").mkdir()
        path = tmp / f"node{i}" / "aerospike.conf"
        path.write_text(base)
        confs.append(path)
    nodes = [ec.load_node(str(p), node_id=nid) for p, nid in zip(confs, NODE_IDS, strict=True)]
    sink = RiemannSink(udp=False)
    await sink.start()
    agents: list[Agent] = []
    async with ec.running(nodes) as cluster:
        try:
            for i, wire_node in enumerate(cluster.nodes, start=1):
                s = agent_settings(tmp, i, wire_node.port, golden, sink.port)
                agent = Agent(s)
                await agent.start()
                agents.append(agent)
            urls = {nid: a.url for nid, a in zip(NODE_IDS, agents, strict=True)}
            for a in agents:
                a.settings.urls = dict(urls)  # the agents' ports are known only once they listen

            # -- phase 1: a hand edit on node2, a set-config on node3, an undeployed golden change
            confs[1].write_text(base.replace("proto-fd-max 15000", "proto-fd-max 16000"))
            async with InfoClient("127.0.0.1", cluster.nodes[2].port) as c:
                assert await c.info("set-config:context=service;proto-fd-max=20000") == "ok"
            rf3 = base.replace("replication-factor 2", "replication-factor 3", 1)
            commit_file(repo, "aerospike.conf", rf3, "rf 3")
            cycles = await asyncio.gather(*(a.run_cycle() for a in agents))
            events = await sink.wait_for(6, timeout=10)
            assert len(events) == 6
            assert seen(events) == {
                ("node1", "ascad runtime", "ok", 0.0),
                ("node1", "ascad golden", "critical", 1.0),
                ("node2", "ascad runtime", "critical", 1.0),
                ("node2", "ascad peer", "critical", 1.0),
                ("node3", "ascad runtime", "critical", 1.0),
                ("node3", "ascad peer", "ok", 0.0),
            }
            assert [c.role for c in cycles] == ["master", "slave", "slave"]
            by = {(e["host"], e["service"]): e for e in events}
            golden_ev = by[("node1", "ascad golden")]
            assert "namespace[test].replication-factor: 2" in golden_ev["description"]
            assert "-> 3" in golden_ev["description"]
            peer_ev = by[("node2", "ascad peer")]
            assert "service.proto-fd-max: 16000" in peer_ev["description"]
            assert peer_ev["attributes"]["role"] == "slave"
            assert peer_ev["attributes"]["master"].startswith("A1 ")
            assert peer_ev["attributes"]["cluster"] == "cakery"
            assert "fallback" not in peer_ev["attributes"]
            assert peer_ev["ttl"] == pytest.approx(2.5 * 3600)
            assert peer_ev["tags"] == ["ascad", "e2e"]
            rt_ev = by[("node3", "ascad runtime")]
            assert "service.proto-fd-max: 15000" in rt_ev["description"]
            assert "20000" in rt_ev["description"]

            # -- phase 2: every drift fixed -> all ok, and the unchanged master conf is a 304
            confs[1].write_text(base)
            async with InfoClient("127.0.0.1", cluster.nodes[2].port) as c:
                assert await c.info("set-config:context=service;proto-fd-max=15000") == "ok"
            commit_file(repo, "aerospike.conf", base, "back to rf 2")
            before = len(sink.events)
            cycles = await asyncio.gather(*(a.run_cycle() for a in agents))
            events = (await sink.wait_for(before + 6, timeout=10))[before:]
            assert seen(events) == {
                (f"node{i}", f"ascad {check}", "ok", 0.0)
                for i, check in [
                    (1, "runtime"),
                    (1, "golden"),
                    (2, "runtime"),
                    (2, "peer"),
                    (3, "runtime"),
                    (3, "peer"),
                ]
            }
            assert all(c.exit_code == 0 for c in cycles)
            assert agents[1].runner.peers.not_modified == 1
            assert agents[2].runner.peers.not_modified == 1

            # -- phase 3: the master's agent is stopped: node2 (next id) takes the golden check
            # and says, as a peer warning, that it could not reach A1; node3 compares with node2;
            # both say A1 was skipped.
            await agents[0].stop()
            before = len(sink.events)
            c2, c3 = await asyncio.gather(agents[1].run_cycle(), agents[2].run_cycle())
            events = (await sink.wait_for(before + 5, timeout=10))[before:]
            assert seen(events) == {
                ("node2", "ascad runtime", "ok", 0.0),
                ("node2", "ascad golden", "ok", 0.0),
                ("node2", "ascad peer", "warning", 0.0),
                ("node3", "ascad runtime", "ok", 0.0),
                ("node3", "ascad peer", "ok", 0.0),
            }
            assert (c2.role, c3.role) == ("master", "slave")
            assert (c2.exit_code, c3.exit_code) == (2, 0)
            reason = c2.check("peer").reason or ""
            assert reason.startswith("no master reachable: A1 ") and "unreachable" in reason
            assert "this node (B2) is the first reachable candidate" in reason
            by = {(e["host"], e["service"]): e for e in events}
            for key in (("node2", "ascad golden"), ("node3", "ascad peer")):
                attrs = by[key]["attributes"]
                assert "A1" in attrs["fallback"] and "unreachable" in attrs["fallback"]
                assert "master fallback" in by[key]["description"]
            assert by[("node3", "ascad peer")]["attributes"]["master"].startswith("B2 ")
            assert c3.check("peer").fallback and "A1" in c3.check("peer").fallback

            # -- phase 4: Riemann down: the cycle still completes and keeps its results
            await sink.stop()
            delivered = agents[2].delivered
            c3 = await agents[2].run_cycle()
            assert c3.exit_code == 0
            assert agents[2].delivered == delivered
            assert agents[2].riemann_error and "refused" in agents[2].riemann_error
            assert agents[2].status_doc["started"] == c3.started
            before = len(sink.events)
            await sink.start()  # back on the same port
            await agents[2].run_cycle()
            events = (await sink.wait_for(before + 2, timeout=10))[before:]
            assert seen(events) == {
                ("node3", "ascad runtime", "ok", 0.0),
                ("node3", "ascad peer", "ok", 0.0),
            }
            assert agents[2].delivered == delivered + 1
        finally:
            for a in agents:
                await a.stop()
            await sink.stop()


def test_three_agents_end_to_end(tmp_path: Path) -> None:
    async def main() -> None:
        async with asyncio.timeout(120):
            await _scenario(tmp_path)

    asyncio.run(main())
