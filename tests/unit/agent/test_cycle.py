"""One agent cycle (ascad.agent.cycle): the state file, a failing check that costs no other
check, and peer fetches that never follow a redirect."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from aiohttp import web

from ascad.agent.cycle import STALE_TEMP_SECONDS, CycleRunner, load_status, save_status
from tests.helpers import AGENT_CONF, ThreadedNode, loop_settings, served


def test_stale_temporary_state_files_are_removed(tmp_path: Path) -> None:
    save_status(str(tmp_path), {"schema": "ascad.agent.status/1", "checks": []})
    old, fresh = tmp_path / ".status.old.tmp", tmp_path / ".status.fresh.tmp"
    old.write_text('{"half')
    fresh.write_text('{"half')
    then = time.time() - STALE_TEMP_SECONDS - 5
    os.utime(old, (then, then))
    assert load_status(str(tmp_path)) == {"schema": "ascad.agent.status/1", "checks": []}
    assert not old.exists()
    assert fresh.exists()  # maybe being written right now by the agent: left alone


def test_a_bug_in_the_peer_check_does_not_cost_the_runtime_check(tmp_path: Path) -> None:
    async def main() -> None:
        with ThreadedNode(tmp_path / "aerospike.conf") as node:
            s = loop_settings(tmp_path, 0)
            s.aerospike_address = f"aerospike://127.0.0.1:{node.port}"
            s.discovery, s.static = "static", None  # past validation, as a bug would be
            runner = CycleRunner(s)
            try:
                cycle = await runner.run()
            finally:
                await runner.close()
        runtime, peer = cycle.checks
        assert (runtime.check, runtime.state) == ("runtime", "ok")
        assert (peer.check, peer.state) == ("peer", "warning")
        assert peer.reason.startswith("internal error: TypeError")

    (tmp_path / "aerospike.conf").write_text(AGENT_CONF.read_text())
    asyncio.run(asyncio.wait_for(main(), 30))


def test_peer_fetches_do_not_follow_redirects(tmp_path: Path) -> None:
    """A redirect would hand the fleet's bearer token to whatever host it names."""
    seen: list[str | None] = []

    async def main() -> None:
        async def elsewhere(request: web.Request) -> web.Response:
            seen.append(request.headers.get("Authorization"))
            return web.Response(text="service {\n}\n")

        app2 = web.Application()
        app2.router.add_get("/v1/config", elsewhere)
        async with served(app2) as port2:

            async def redirect(request: web.Request) -> web.Response:
                raise web.HTTPFound(f"http://127.0.0.1:{port2}/v1/config")

            app1 = web.Application()
            app1.router.add_get("/v1/config", redirect)
            async with served(app1) as port1:
                runner = CycleRunner(loop_settings(tmp_path, 0))
                try:
                    with pytest.raises(Exception, match="HTTP 302"):
                        await runner.peers.fetch_config(f"http://127.0.0.1:{port1}")
                finally:
                    await runner.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert seen == []


def test_a_3x_node_runtime_check_carries_the_version_warning(tmp_path: Path) -> None:
    """A replayed 3.14.1.1 node with its conf: no drift (no default assumed) and the runtime check
    says the build is older than every schema (status, events and text show it)."""
    from ascad.lab.emulator.server import EmulatorCluster
    from tests.helpers import FIXTURES, replay

    async def main() -> None:
        async with EmulatorCluster([replay("mgmtlib-3.14.1.1-reconstructed")]) as cluster:
            s = loop_settings(tmp_path, 0)
            conf = FIXTURES / "runtime-confs" / "mgmtlib-3.14.1.1.conf"
            Path(s.conf).write_text(conf.read_text())
            s.aerospike_address = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
            runner = CycleRunner(s)
            try:
                cycle = await runner.run()
            finally:
                await runner.close()
        runtime = cycle.check("runtime")
        assert runtime is not None and (runtime.state, runtime.differences) == ("ok", [])
        [w] = runtime.version_warnings
        assert (w.kind, w.build) == ("older_than_table", "3.14.1.1-130-g1b87c46")

    asyncio.run(asyncio.wait_for(main(), 30))
