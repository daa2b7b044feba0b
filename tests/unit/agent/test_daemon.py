"""The agent (ascad.agent.daemon): a reload to a port in use keeps the old server and settings;
the events keep the cluster name while the node is down and after a restart."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from ascad.agent.cycle import save_status
from ascad.agent.daemon import Agent
from ascad.agent.settings import load_settings
from ascad.lab.emulator import cluster as ec
from ascad.report.status import cycle_to_dict
from tests.helpers import AGENT_CONF, loop_settings, serving_agent


def test_reload_to_a_port_in_use_keeps_the_old_server_and_settings(tmp_path: Path) -> None:
    # Before: the old server was stopped, the new one failed to bind, and the agent went on
    # serving nothing with half of the new settings in force.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)

    async def main() -> None:
        async with serving_agent(tmp_path) as agent:
            url, old, server = agent.url, agent.settings, agent.server
            new = loop_settings(tmp_path, taken.getsockname()[1], tags=["new"])
            with pytest.raises(Exception, match="cannot listen"):
                await agent.reload(new)
            assert agent.settings is old and agent.server is server and agent.url == url
            async with aiohttp.ClientSession() as s, s.get(url + "/healthz") as r:
                assert r.status == 200
            # a good reload still works afterwards
            await agent.reload(loop_settings(tmp_path, 0, tags=["new"]))
            assert agent.settings.tags == ["new"] and agent.runner.settings.tags == ["new"]

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        taken.close()


def test_events_keep_the_cluster_name_while_the_node_is_down(tmp_path: Path) -> None:
    from ascad.agent.daemon import build_events

    async def main() -> None:
        s = loop_settings(tmp_path, 0, tmp_path / "golden.conf", role="master")
        s.riemann_host = "127.0.0.1"
        nodes = [ec.load_node(str(tmp_path / "aerospike.conf"), node_id="A1")]
        agent = Agent(s, serve=False)
        try:
            async with ec.running(nodes) as cluster:
                s.aerospike_address = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
                first = await agent.runner.run()
            second = await agent.runner.run()  # the node is gone
        finally:
            await agent.stop()
        assert first.cluster == "cakery"
        assert second.check("runtime").state == "warning"
        assert second.cluster == "cakery"
        events = build_events(second, s)
        assert {e.service for e in events} == {"ascad runtime", "ascad golden"}
        for e in events:
            attrs = {a.key: a.value for a in e.attributes}
            assert attrs["cluster"] == "cakery" and attrs["role"] == "master"
        # and after a restart, from the state file
        save_status(s.state_dir, cycle_to_dict(second))
        assert Agent(s, serve=False).runner.last_cluster == "cakery"

    (tmp_path / "aerospike.conf").write_text(AGENT_CONF.read_text())
    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_master_turned_slave_drops_its_golden_series(tmp_path: Path) -> None:
    """A node that was master and became a slave no longer runs the golden check: /metrics has
    no golden series left (a stale last-success time would fire an age alert forever)."""
    from tests.helpers import LOOP_TOKEN, parse_prometheus

    (tmp_path / "m").mkdir()
    (tmp_path / "b").mkdir()

    async def scrape(agent: Agent) -> dict[str, dict]:
        headers = {"Authorization": f"Bearer {LOOP_TOKEN}"}
        async with (
            aiohttp.ClientSession() as s,
            s.get(agent.url + "/metrics", headers=headers) as r,
        ):
            return parse_prometheus(await r.text())

    def checks(families: dict[str, dict], name: str) -> set[str]:
        return {dict(k)["check"] for k in families.get(name, {}).get("samples", {})}

    async def main() -> None:
        nodes = [ec.load_node(str(AGENT_CONF), node_id="A1")]
        async with ec.running(nodes) as cluster:
            address = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            master_settings = loop_settings(
                tmp_path / "m", 0, tmp_path / "m" / "golden.conf", role="master"
            )
            master_settings.aerospike_address = address
            b_settings = loop_settings(
                tmp_path / "b", 0, tmp_path / "b" / "golden.conf", role="master"
            )
            b_settings.aerospike_address = address
            master, b = Agent(master_settings), Agent(b_settings)
            await master.start()
            await b.start()
            try:
                await b.run_cycle()
                before = await scrape(b)
                assert checks(before, "ascad_last_success_timestamp_seconds") == {
                    "runtime",
                    "golden",
                }
                assert checks(before, "ascad_drift_differences") == {"runtime", "golden"}
                role = {dict(k)["role"] for k in before["ascad_role_info"]["samples"]}
                assert role == {"master"}

                slave = load_settings(
                    data={
                        "agent": {
                            "conf": str(tmp_path / "b" / "aerospike.conf"),
                            "state_dir": str(tmp_path / "b" / "state"),
                            "node_name": "n1",
                            "role": "slave",
                        },
                        "aerospike": {"address": address},
                        "peers": {"master_url": [master.url]},
                        "server": {
                            "listen": "127.0.0.1",
                            "port": 0,
                            "token_file": str(tmp_path / "b" / "token"),
                        },
                    },
                    env={},
                )
                await b.reload(slave)
                cycle = await b.run_cycle()
                assert {c.check for c in cycle.checks} == {"runtime", "peer"}
                after = await scrape(b)
                for name in (
                    "ascad_last_success_timestamp_seconds",
                    "ascad_drift_differences",
                    "ascad_check_state",
                ):
                    assert "golden" not in checks(after, name), name
                assert checks(after, "ascad_last_success_timestamp_seconds") == {"runtime", "peer"}
                info = [dict(k) for k in after["ascad_role_info"]["samples"]]
                assert [(i["role"], i["master"]) for i in info] == [("slave", master.url)]
            finally:
                await b.stop()
                await master.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_check_that_cannot_run_or_finds_drift_is_logged_as_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`journalctl -u ascad -p warning` (the README's way to see trouble) must show a node that
    cannot be read, and drift; a check that is ok stays at info."""
    import logging

    golden = tmp_path / "golden.conf"
    s = loop_settings(tmp_path, 0, golden, role="master")  # (writes the conf and the golden)
    assert "proto-fd-max 15000" in AGENT_CONF.read_text()
    golden.write_text(AGENT_CONF.read_text().replace("proto-fd-max 15000", "proto-fd-max 9000"))
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        s.aerospike_address = f"aerospike://127.0.0.1:{closed.getsockname()[1]}"

    async def main() -> None:
        agent = Agent(s, serve=False)
        try:
            await agent.run_cycle()
        finally:
            await agent.stop()

    with caplog.at_level(logging.INFO, logger="ascad.agent"):
        asyncio.run(asyncio.wait_for(main(), 30))
    levels = {
        r.getMessage().split(":")[0]: (r.levelname, r.getMessage())
        for r in caplog.records
        if r.getMessage().startswith("check ")
    }
    assert levels["check runtime"][0] == "WARNING" and "warning" in levels["check runtime"][1]
    assert levels["check golden"] == ("WARNING", "check golden: critical (1 difference)")
    golden.write_text(AGENT_CONF.read_text())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ascad.agent"):
        asyncio.run(asyncio.wait_for(main(), 30))
    [ok] = [r for r in caplog.records if r.getMessage().startswith("check golden")]
    assert (ok.levelname, ok.getMessage()) == ("INFO", "check golden: ok (0 differences)")
