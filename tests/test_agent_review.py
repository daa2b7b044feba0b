"""The agent as an SRE deploys it: every defect found in review, each with its test.

Settings that were accepted but broke the agent later (infinite or absurd durations, a bad
url_template, a listen address with spaces, a state_dir that is a file, a typo in an ASCAD_*
variable), a SIGHUP to a port already in use, niceness applied twice under systemd, SIGTERM in
the middle of a cycle, a state file after kill -9, /metrics read by a strict parser, the Server
header, the cluster name while the node is down, a failing role check that cost the runtime check.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ascad.agent.cycle import STALE_TEMP_SECONDS, CycleRunner, load_status, save_status
from ascad.agent.daemon import Agent
from ascad.agent.settings import SettingsError, load_settings
from ascad.lab.emulator import cluster as ec
from ascad.report.cycle_text import render_text
from ascad.report.status import cycle_to_dict
from tests.helpers import (
    AGENT_CONF,
    ThreadedNode,
    agent_files,
    ascad_agent,
    free_port,
    ioprio_class,
    proc_priority,
    run_ascad,
    served,
    subprocess_env,
    write_agent_toml,
)
from tests.test_metrics import parse as strict_parse

TOKEN = "review-token"


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as err:
        load_settings(data=data, env=env or {})
    return err.value.problems


LOOP = {"server": {"listen": "127.0.0.1"}}


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        ("agent", "interval", float("inf")),
        ("agent", "interval", "99999999999999999999d"),
        ("agent", "jitter", float("nan")),
        ("aerospike", "timeout", float("inf")),
        ("peers", "timeout", "400d"),
        ("riemann", "ttl_factor", float("inf")),
        ("riemann", "ttl_factor", float("nan")),
    ],
)
def test_non_finite_or_absurd_numbers_are_refused(table: str, key: str, value: Any) -> None:
    # Before: interval = inf passed --check-config; the events' ttl was then inf and every
    # delivery failed; jitter = nan made the sleep nan.
    data = {**LOOP, table: {key: value}}
    (line,) = problems(data)
    assert line.startswith(f"<settings>: [{table}] {key}")


def test_a_section_that_is_not_a_table_says_so() -> None:
    # Before: "unknown section [agent]" for `agent = 5`.
    (line,) = problems({**LOOP, "agent": 5})
    assert line == "<settings>: [agent] must be a table, not 5"


def test_a_typo_in_an_agent_environment_variable_is_an_error() -> None:
    env = {
        "ASCAD_RIEMANN_HOTS": "riemann.example",
        "ASCAD_SERVER_TOKEN": "x",
        "ASCAD_GIT_CACHE": "/c",
    }
    (line,) = problems(LOOP, env)
    assert line == "environment ASCAD_RIEMANN_HOTS: unknown setting"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("http://{host}:{bogus}", "unknown placeholder {bogus}"),
        ("http://{host}:{port", "'http://{host}:{port'"),
        ("ftp://{host}:9145", "is not an http(s):// agent URL"),
    ],
)
def test_url_template_is_checked_at_start(template: str, expected: str) -> None:
    # Before: accepted, then a KeyError in every cycle lost the whole cycle.
    (line,) = problems({**LOOP, "peers": {"url_template": template}})
    assert "[peers] url_template" in line and expected in line


def test_listen_must_be_an_address_or_host_name(tmp_path: Path) -> None:
    token = tmp_path / "t"
    token.write_text("x\n")
    (line,) = problems({"server": {"listen": "not an address", "token_file": str(token)}})
    assert "[server] listen" in line and "not an IP address or a host name" in line
    for ok in ("::1", "[::1]", "localhost", "aero-1.example", "10.0.0.1"):
        load_settings(data={"server": {"listen": ok, "token_file": str(token)}}, env={})


def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    (line,) = problems({**LOOP, "agent": {"state_dir": str(f)}})
    assert "[agent] state_dir" in line and "is not a directory" in line


def test_an_unreadable_token_is_reported_once(tmp_path: Path) -> None:
    # Before: a second line claimed no token was set at all.
    lines = problems({"server": {"listen": "0.0.0.0", "token_file": str(tmp_path / "none")}})
    assert len(lines) == 1 and "cannot read" in lines[0]
    lines = problems({"server": {"listen": "0.0.0.0", "token": "inline"}})
    assert len(lines) == 1 and "secrets are not written in the file" in lines[0]


# --- priority -------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="/proc and ioprio are Linux")
@pytest.mark.parametrize(("start_nice", "expected"), [(0, 10), (5, 10), (15, 15)])
def test_agent_runs_at_its_niceness_not_above_it(
    tmp_path: Path, start_nice: int, expected: int
) -> None:
    # Before: os.nice(10) added to systemd's Nice=10 and the agent ran at 19.
    golden, config = agent_files(tmp_path)
    base = os.nice(0)
    if base > start_nice:
        pytest.skip(f"the test runs at niceness {base}")
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        write_agent_toml(config, tmp_path, node.port, golden)
        with ascad_agent(config, preexec_fn=lambda: os.nice(start_nice - base)) as (proc, lines):
            lines.wait_for("check golden: ok")
            priority, nice = proc_priority(proc.pid)
            assert nice == expected
            assert priority == 20 + expected
            assert ioprio_class(proc.pid) in (3, None)
            if shutil.which("ionice"):
                assert ioprio_class(proc.pid) == 3  # idle
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0


# --- SIGTERM during a cycle, kill -9 and the state file --------------------------------------------


def _black_hole() -> socket.socket:
    """A listening socket that accepts connections into its backlog and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def test_sigterm_during_a_cycle_exits_0_and_keeps_the_state_file(tmp_path: Path) -> None:
    (tmp_path / "aerospike.conf").write_text(AGENT_CONF.read_text())
    state = tmp_path / "state"
    previous = {"schema": "ascad.agent.status/1", "node": "n1", "checks": [], "duration": 1.0}
    save_status(str(state), previous)
    hole = _black_hole()
    config = tmp_path / "ascad.toml"
    config.write_text(
        f"""
[agent]
node_name = "n1"
role = "slave"
conf = "{tmp_path / "aerospike.conf"}"
state_dir = "{state}"
[aerospike]
address = "aerospike://127.0.0.1:{free_port()}"
timeout = 1
[peers]
master_url = ["http://127.0.0.1:{hole.getsockname()[1]}"]
timeout = "120s"
[server]
listen = "127.0.0.1"
port = 0
"""
    )
    try:
        with ascad_agent(config, "--no-priority") as (proc, lines):
            lines.wait_for("serving on ")
            conn, _ = hole.accept()  # the cycle's peer request is waiting on the black hole
            conn.settimeout(10)
            assert conn.recv(4096).startswith(b"GET /v1/config ")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            lines.wait_for("stopped")
            assert not any("Traceback" in line for line in lines.seen)
            conn.close()
    finally:
        hole.close()
    assert json.loads((state / "status.json").read_text()) == previous
    assert [p.name for p in state.iterdir()] == ["status.json"]


def test_kill_9_never_leaves_a_half_written_state_file(tmp_path: Path) -> None:
    golden, config = agent_files(tmp_path)
    status = tmp_path / "state" / "status.json"
    with ThreadedNode(tmp_path / "aerospike.conf") as node:
        # one cycle a second, so the kills land before, during and after writes
        write_agent_toml(config, tmp_path, node.port, golden)
        config.write_text(config.read_text().replace('interval = "1h"', 'interval = "1s"'))
        for i in range(4):
            with ascad_agent(config) as (proc, lines):
                lines.wait_for("next cycle in")  # the first state file is written
                time.sleep(0.3 * i)
                proc.send_signal(signal.SIGKILL)
            doc = json.loads(status.read_text())
            assert doc["schema"] == "ascad.agent.status/1" and doc["node"] == "n1"


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


# --- reload ---------------------------------------------------------------------------------------


def _loop_settings(tmp: Path, port: int, golden: Path | None = None, **agent: Any):  # type: ignore[no-untyped-def]
    """Settings on loopback with a token; ``golden`` (written here) for a master."""
    conf = tmp / "aerospike.conf"
    conf.write_text(AGENT_CONF.read_text())
    (tmp / "token").write_text(TOKEN + "\n")
    data: dict[str, Any] = {
        "agent": {"conf": str(conf), "state_dir": str(tmp / "state"), "node_name": "n1", **agent},
        "server": {"listen": "127.0.0.1", "port": port, "token_file": str(tmp / "token")},
    }
    if golden is not None:
        golden.write_text(AGENT_CONF.read_text())
        data["golden"] = {"source": str(golden)}
    return load_settings(data=data, env={})


@asynccontextmanager
async def _serving_agent(tmp: Path) -> AsyncIterator[Agent]:
    """A started Agent on loopback (_loop_settings, a free port), stopped on the way out."""
    agent = Agent(_loop_settings(tmp, 0))
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


def test_reload_to_a_port_in_use_keeps_the_old_server_and_settings(tmp_path: Path) -> None:
    # Before: the old server was stopped, the new one failed to bind, and the agent went on
    # serving nothing with half of the new settings in force.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)

    async def main() -> None:
        async with _serving_agent(tmp_path) as agent:
            url, old, server = agent.url, agent.settings, agent.server
            new = _loop_settings(tmp_path, taken.getsockname()[1], tags=["new"])
            with pytest.raises(Exception, match="cannot listen"):
                await agent.reload(new)
            assert agent.settings is old and agent.server is server and agent.url == url
            async with aiohttp.ClientSession() as s, s.get(url + "/healthz") as r:
                assert r.status == 200
            # a good reload still works afterwards
            await agent.reload(_loop_settings(tmp_path, 0, tags=["new"]))
            assert agent.settings.tags == ["new"] and agent.runner.settings.tags == ["new"]

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        taken.close()


# --- HTTP -----------------------------------------------------------------------------------------


def test_no_response_names_the_server_software(tmp_path: Path) -> None:
    async def main() -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with _serving_agent(tmp_path) as agent, aiohttp.ClientSession() as s:
            for method, path, headers, status in [
                ("GET", "/v1/config", {}, 401),
                ("GET", "/v1/config", auth, 200),
                ("GET", "/nope", auth, 404),
                ("POST", "/v1/config", auth, 405),
                ("GET", "/healthz", {}, 200),
            ]:
                async with s.request(method, agent.url + path, headers=headers) as r:
                    assert r.status == status
                    assert r.headers["Server"] == "ascad"
                    assert "aiohttp" not in str(r.headers) and "Python" not in str(r.headers)

    asyncio.run(asyncio.wait_for(main(), 30))


def test_config_json_answers_304_to_its_etag(tmp_path: Path) -> None:
    async def main() -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with _serving_agent(tmp_path) as agent, aiohttp.ClientSession() as s:
            async with s.get(agent.url + "/v1/config.json", headers=auth) as r:
                assert r.status == 200
                etag = r.headers["ETag"]
            inm = {**auth, "If-None-Match": etag}
            async with s.get(agent.url + "/v1/config.json", headers=inm) as r:
                assert r.status == 304 and await r.read() == b""

    asyncio.run(asyncio.wait_for(main(), 30))


def _served_metrics(tmp: Path) -> str:
    """/metrics of a real agent after a real cycle (node down: runtime and peer are warnings),
    restarted once so the last success times come from the state file."""

    async def main() -> str:
        with ThreadedNode(tmp / "aerospike.conf") as node:
            settings = _loop_settings(tmp, 0, tmp / "golden.conf", role="master")
            settings.aerospike_address = f"aerospike://127.0.0.1:{node.port}"
            agent = Agent(settings)
            await agent.start()
            try:
                await agent.run_cycle()
            finally:
                await agent.stop()
        agent = Agent(settings)  # restarted: nothing ran yet in this process
        await agent.start()
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(agent.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as r,
            ):
                assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                return await r.text()
        finally:
            await agent.stop()

    (tmp / "aerospike.conf").write_text(AGENT_CONF.read_text())
    return asyncio.run(asyncio.wait_for(main(), 60))


def test_served_metrics_parse_strictly_and_survive_a_restart(tmp_path: Path) -> None:
    text = _served_metrics(tmp_path)
    families = strict_parse(text)
    assert set(families) == {
        "ascad_drift_differences",
        "ascad_check_ok",
        "ascad_check_state",
        "ascad_last_success_timestamp_seconds",
        "ascad_cycle_duration_seconds",
    }
    # Before: after a restart /metrics had no last success time until the first cycle ended.
    last = families["ascad_last_success_timestamp_seconds"]["samples"]
    assert set(last) == {(("check", "runtime"),), (("check", "golden"),)}
    assert all(v > 1.7e9 for v in last.values())
    prom = pytest.importorskip("prometheus_client.parser")
    parsed = {f.name: f for f in prom.text_string_to_metric_families(text)}
    assert parsed["ascad_drift_differences"].type == "gauge"
    assert {s.labels["check"] for s in parsed["ascad_check_ok"].samples} == {"runtime", "golden"}


# --- the cycle ------------------------------------------------------------------------------------


def test_a_bug_in_the_peer_check_does_not_cost_the_runtime_check(tmp_path: Path) -> None:
    async def main() -> None:
        with ThreadedNode(tmp_path / "aerospike.conf") as node:
            s = _loop_settings(tmp_path, 0)
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


def test_events_keep_the_cluster_name_while_the_node_is_down(tmp_path: Path) -> None:
    from ascad.agent.daemon import build_events

    async def main() -> None:
        s = _loop_settings(tmp_path, 0, tmp_path / "golden.conf", role="master")
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
                runner = CycleRunner(_loop_settings(tmp_path, 0))
                try:
                    with pytest.raises(Exception, match="HTTP 302"):
                        await runner.peers.fetch_config(f"http://127.0.0.1:{port1}")
                finally:
                    await runner.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert seen == []


# --- ascad check ----------------------------------------------------------------------------------


def test_check_report_says_1_difference() -> None:
    import io

    from ascad.checks.results import CheckResult, CycleResult
    from ascad.compare.diff import Difference

    diff = Difference("service.proto-fd-max", "changed", "1", "2", 4, None)
    cycle = CycleResult(
        "n1", "A1", "master", "auto", "c", None, 0.0, 0.1,
        [CheckResult("golden", "critical", [diff], duration=0.01)],
    )  # fmt: skip
    out = io.StringIO()
    render_text(cycle, out)
    assert "== golden: CRITICAL (1 difference, 0.01s)" in out.getvalue()


def test_check_with_bad_settings_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "ascad.toml"
    config.write_text('[agent]\ninterval = "soon"\n[peers]\nurl_template = "http://{x}"\n')
    proc = run_ascad(
        "check", "--config", str(config), env={**subprocess_env(), "ASCAD_RIEMANN_PROT": "1"}
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "ascad: invalid settings:"
    assert sorted(line.strip() for line in lines[1:]) == sorted(
        [
            f"{config}: [agent] interval: 'soon' is not a duration such as 6h, 30m or 45s",
            "environment ASCAD_RIEMANN_PROT: unknown setting",
            f"{config}: [peers] url_template (ASCAD_PEERS_URL_TEMPLATE): must contain {{host}}",
        ]
    )


# --- events ---------------------------------------------------------------------------------------


def test_events_of_a_huge_cycle_stay_under_the_udp_limit() -> None:
    """Every field as the issue gives it, and one Msg with all three events under 16384 bytes,
    even with 10,000 differences per check, a very long reason and 200 skipped masters."""
    from ascad.agent.daemon import build_events
    from ascad.checks.results import CheckResult, CycleResult
    from ascad.compare.diff import Difference
    from ascad.report.riemann import UDP_MAX_BYTES, encode_msg

    s = load_settings(data={**LOOP, "agent": {"node_name": "aero-1", "interval": "6h"}}, env={})
    diffs = [
        Difference(f"namespace[ns{i}].replication-factor", "changed", "2", "3", i + 1, i + 1)
        for i in range(10_000)
    ]
    fallback = "; ".join(
        f"N{i:03} http://10.0.0.{i % 250}:9145 unreachable (cannot connect: timeout)"
        for i in range(200)
    )
    cycle = CycleResult(
        "aero-1", "A1", "slave", "auto", "prod", "B2 http://b:9145", 1.7e9, 0.5,
        [
            CheckResult("runtime", "warning", reason="x" * 100_000, finished=1.7e9),
            CheckResult("peer", "critical", diffs, master="B2 http://b:9145", fallback=fallback,
                        left="/etc/aerospike/aerospike.conf", right="http://b:9145/v1/config",
                        finished=1.7e9),
            CheckResult("golden", "ok", [], left="a", right="b", finished=1.7e9),
        ],
    )  # fmt: skip
    events = build_events(cycle, s)
    assert len(encode_msg(events)) < UDP_MAX_BYTES
    by = {e.service: e for e in events}
    assert set(by) == {"ascad runtime", "ascad peer", "ascad golden"}
    peer = by["ascad peer"]
    assert (peer.host, peer.state, peer.metric_d, peer.ttl) == (
        "aero-1",
        "critical",
        10_000,
        6 * 3600 * 2.5,
    )
    assert not peer.HasField("metric_sint64") and not peer.HasField("metric_f")
    assert list(peer.tags) == ["ascad", "aerospike"]
    attrs = {a.key: a.value for a in peer.attributes}
    assert attrs["cluster"] == "prod" and attrs["role"] == "slave"
    assert attrs["master"] == "B2 http://b:9145"
    assert attrs["fallback"].startswith("N000 http://10.0.0.0:9145 unreachable")
    assert len(attrs["fallback"].encode()) <= 512
    lines = peer.description.split("\n")
    assert lines[0].startswith("master fallback: N000")
    assert lines[1].startswith(
        "namespace[ns0].replication-factor: 2 (/etc/aerospike/aerospike.conf:1) -> 3 ("
    )
    assert lines[-1].startswith("… and ") and lines[-1].endswith(" more")
    runtime = by["ascad runtime"]
    assert (runtime.state, runtime.metric_d) == ("warning", 0)
    assert runtime.description.startswith("could not run: xxx") and len(runtime.description) <= 4096
    golden = by["ascad golden"]
    assert (golden.state, golden.metric_d, golden.description) == (
        "ok",
        0,
        "no differences (a vs b)",
    )
