"""Master candidates (ascad.agent.roles, ascad.agent.cycle.PeerClient): an answer counts only when
it is an ascad agent's, so a login page answering 200 is skipped and the healthy next master is
used; and a master that requires client certificates ([server] tls_client_ca) is read with the
peer client's own ([peers] tls_cert, tls_key), or refused with a reason that names them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ascad.agent import roles
from ascad.agent.cycle import CycleRunner, PeerClient
from ascad.agent.server import ConfigServer
from ascad.agent.settings import SettingsError, load_settings
from tests.helpers import AGENT_CONF, FIXTURES, LOOP_TOKEN, ThreadedNode, loop_settings, served

TLS = FIXTURES / "tls"
CONF_TEXT = AGENT_CONF.read_text()


def _foreign_app() -> web.Application:
    """Things that answer 200 on /v1/config but are no ascad agent (and one JSON-form agent)."""
    app = web.Application()

    def route(name: str, handler: Any) -> None:
        app.router.add_get(f"/{name}/v1/config", handler)

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")

    async def nginx(request: web.Request) -> web.Response:
        return web.Response(text=CONF_TEXT, headers={"Server": "nginx/1.25.3"})

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, world!\n", headers={"Server": "ascad"})

    async def octets(request: web.Request) -> web.Response:
        return web.Response(
            body=CONF_TEXT.encode(),
            content_type="application/octet-stream",
            headers={"Server": "ascad"},
        )

    async def as_json(request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps({"text": CONF_TEXT}),
            content_type="application/json",
            headers={"Server": "ascad"},
        )

    for name, handler in (
        ("html", html),
        ("nginx", nginx),
        ("hello", hello),
        ("octets", octets),
        ("json", as_json),
    ):
        route(name, handler)
    return app


def _master(tmp: Path, **server: str) -> ConfigServer:
    tmp.mkdir(exist_ok=True)
    s = loop_settings(tmp, 0)
    for key, value in server.items():
        setattr(s, key, value)
    return ConfigServer(s, lambda: None)


def test_a_non_ascad_answer_is_skipped_and_the_next_master_is_used(tmp_path: Path) -> None:
    async def main() -> None:
        master = _master(tmp_path / "master")
        await master.start(0)
        peers = PeerClient(LOOP_TOKEN, 5.0)
        try:
            async with served(_foreign_app()) as port:
                base = f"http://127.0.0.1:{port}"
                names = ("html", "nginx", "hello", "octets")
                cands = [roles.Candidate(None, f"{base}/{n}") for n in names]
                cands.append(roles.Candidate("B2", master.url))
                election = await roles.elect(cands, lambda c: peers.fetch_config(c.url or ""))
        finally:
            await peers.close()
            await master.stop()
        assert election.master is not None and election.master.url == master.url
        assert election.value[1] == CONF_TEXT
        reasons = {s.candidate.url.rsplit("/", 1)[1]: s for s in election.skipped}  # type: ignore[union-attr]
        assert all(s.what == "is not an ascad agent" for s in reasons.values())
        assert "an HTML page, not a conf" in reasons["html"].reason
        assert "'nginx/1.25.3' (Server header), not an ascad agent" in reasons["nginx"].reason
        assert "the answer is not a conf" in reasons["hello"].reason
        assert "Content-Type 'application/octet-stream'" in reasons["octets"].reason
        note = election.fallback_note or ""
        assert f"{base}/html is not an ascad agent (an HTML page" in note
        assert note.endswith(f"compared with B2 {master.url}")

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_json_form_is_an_agent_answer(tmp_path: Path) -> None:
    async def main() -> tuple[str, str]:
        peers = PeerClient(None, 5.0)
        try:
            async with served(_foreign_app()) as port:
                return await peers.fetch_config(f"http://127.0.0.1:{port}/json")
        finally:
            await peers.close()

    _, text = asyncio.run(asyncio.wait_for(main(), 30))
    assert text == CONF_TEXT


def test_a_slave_cycle_falls_back_past_a_login_page(tmp_path: Path) -> None:
    """The whole cycle: the first master URL is a web page answering 200, the second a real
    agent; the peer check compares with the second and says why the first was skipped."""
    conf = tmp_path / "aerospike.conf"
    conf.write_text(CONF_TEXT)

    async def main() -> Any:
        master = _master(tmp_path / "master")
        await master.start(0)
        try:
            async with served(_foreign_app()) as port:
                with ThreadedNode(conf) as node:
                    s = loop_settings(tmp_path, 0)
                    s.role = "slave"
                    s.aerospike_address = f"aerospike://127.0.0.1:{node.port}"
                    s.master_urls = [f"http://127.0.0.1:{port}/html", master.url]
                    runner = CycleRunner(s)
                    try:
                        return await runner.run(), port
                    finally:
                        await runner.close()
        finally:
            await master.stop()

    cycle, port = asyncio.run(asyncio.wait_for(main(), 60))
    peer = {c.check: c for c in cycle.checks}["peer"]
    assert peer.state == "ok", peer.reason
    assert cycle.role == "slave"
    assert f"http://127.0.0.1:{port}/html is not an ascad agent (an HTML page" in (
        cycle.fallback or ""
    )


def test_a_slave_whose_master_url_is_itself_is_not_green(tmp_path: Path) -> None:
    """One pillar sets the same master_url on every node, the master's own included: that node
    would compare its conf with itself and stay ok forever. Its own answer (Ascad-Instance) is
    recognised: the peer check is a warning that says so, while another agent with the same
    settings, in the same process, still compares with it."""
    from ascad.agent.daemon import Agent

    conf = tmp_path / "aerospike.conf"
    conf.write_text(CONF_TEXT)

    async def main() -> Any:
        with ThreadedNode(conf) as node:
            s = loop_settings(tmp_path, 0)
            s.role = "slave"
            s.aerospike_address = f"aerospike://127.0.0.1:{node.port}"
            agent = Agent(s)
            await agent.start()
            try:
                url = agent.url
                assert url is not None
                s.master_urls = [url]
                itself = await agent.runner.run()
                other = CycleRunner(s, instance="another agent")
                try:
                    theirs = await other.run()
                finally:
                    await other.close()
            finally:
                await agent.stop()
        return url, itself, theirs

    url, itself, theirs = asyncio.run(asyncio.wait_for(main(), 60))
    peer = {c.check: c for c in itself.checks}["peer"]
    assert peer.state == "warning"
    assert peer.reason == (
        f"no master reachable: {url} is this agent itself (its answer is this agent's own: set"
        " [peers] master_url to the master's agent, or role = master on the master); compared"
        " with nobody"
    )
    assert {c.check: c for c in theirs.checks}["peer"].state == "ok"


# --- mutual TLS between agents --------------------------------------------------------------------


def _slave_settings(tmp: Path, node_port: int, master_url: str, **peers: str):  # type: ignore[no-untyped-def]
    token = tmp / "token"
    token.write_text(LOOP_TOKEN + "\n")
    token.chmod(0o600)
    return load_settings(
        data={
            "agent": {
                "role": "slave",
                "conf": str(tmp / "aerospike.conf"),
                "state_dir": str(tmp / "state"),
                "node_name": "slave",
            },
            "aerospike": {"address": f"aerospike://127.0.0.1:{node_port}"},
            "peers": {"master_url": [master_url], "ca_file": str(TLS / "ca.pem"), **peers},
            "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(token)},
        },
        env={},
    )


@pytest.mark.parametrize("with_cert", [True, False])
def test_a_master_requiring_client_certificates(tmp_path: Path, with_cert: bool) -> None:
    conf = tmp_path / "aerospike.conf"
    conf.write_text(CONF_TEXT)
    client = (
        {"tls_cert": str(TLS / "client.pem"), "tls_key": str(TLS / "client.key")}
        if with_cert
        else {}
    )

    async def main() -> Any:
        master = _master(
            tmp_path / "master",
            tls_cert=str(TLS / "loopback.pem"),
            tls_key=str(TLS / "loopback.key"),
            tls_client_ca=str(TLS / "ca.pem"),
        )
        await master.start(0)
        assert master.url.startswith("https://127.0.0.1:")
        try:
            with ThreadedNode(conf) as node:
                runner = CycleRunner(_slave_settings(tmp_path, node.port, master.url, **client))
                try:
                    return await runner.run()
                finally:
                    await runner.close()
        finally:
            await master.stop()

    cycle = asyncio.run(asyncio.wait_for(main(), 60))
    peer = {c.check: c for c in cycle.checks}["peer"]
    if with_cert:
        assert peer.state == "ok", peer.reason
        assert cycle.role == "slave"
    else:
        assert peer.state == "warning"
        assert "the peer requires a client certificate (its [server] tls_client_ca)" in (
            peer.reason or ""
        )
        assert "set [peers] tls_cert and tls_key" in (peer.reason or "")
        assert "Aerospike service port" not in (peer.reason or "")  # the old, misleading words


def test_peer_client_certificate_settings(tmp_path: Path) -> None:
    base = {"server": {"listen": "127.0.0.1"}}
    with pytest.raises(SettingsError, match="tls_cert and tls_key go together"):
        load_settings(data={**base, "peers": {"tls_cert": str(TLS / "client.pem")}}, env={})
    s = load_settings(
        data=base,
        env={
            "ASCAD_PEERS_TLS_CERT": str(TLS / "client.pem"),
            "ASCAD_PEERS_TLS_KEY": str(TLS / "client.key"),
        },
    )
    assert (s.peers_tls_cert, s.peers_tls_key) == (
        str(TLS / "client.pem"),
        str(TLS / "client.key"),
    )
    loose = tmp_path / "client.key"
    loose.write_bytes((TLS / "client.key").read_bytes())
    loose.chmod(0o644)
    with pytest.raises(SettingsError) as err:
        load_settings(
            data={**base, "peers": {"tls_cert": str(TLS / "client.pem"), "tls_key": str(loose)}},
            env={},
        )
    assert f"{loose}: TLS key has mode 0644: other users may read or write it" in str(err.value)
