"""The agent's HTTP server on 127.0.0.1: token, 404, ETag/304, loopback without a token, TLS, no
Server header naming the software, and /metrics read by a strict parser."""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ascad.agent.daemon import Agent
from ascad.agent.server import ConfigServer, etag_matches, metrics_samples
from ascad.agent.settings import SettingsError, load_settings
from ascad.report.metrics import render_metrics
from tests.helpers import (
    AGENT_CONF,
    FIXTURES,
    LOOP_TOKEN,
    ThreadedNode,
    loop_settings,
    parse_prometheus,
    serving_agent,
)

TLS = FIXTURES / "tls"
CONF = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
TOKEN = "s3cret-token-for-tests"


def make_settings(tmp: Path, **server: Any):  # type: ignore[no-untyped-def]
    conf = tmp / "aerospike.conf"
    if not conf.exists():
        conf.write_bytes(CONF.read_bytes())
    (tmp / "token").write_text(TOKEN + "\n")
    (tmp / "token").chmod(0o600)  # a secret: other users may not read it
    table: dict[str, Any] = {"listen": "127.0.0.1", "port": 0, "token_file": str(tmp / "token")}
    table.update(server)
    table = {k: v for k, v in table.items() if v is not None}
    return load_settings(
        data={"agent": {"conf": str(conf), "state_dir": str(tmp / "state")}, "server": table},
        env={},
    )


STATUS = {
    "schema": "ascad.agent.status/1",
    "node": "n1",
    "duration": 0.25,
    "checks": [
        {"check": "runtime", "state": "critical", "count": 2},
        {"check": "peer", "state": "ok", "count": 0},
    ],
}


def serve(
    settings: Any,
    body: Callable[[ConfigServer, aiohttp.ClientSession], Awaitable[None]],
    status: dict[str, Any] | None = None,
    connector: Callable[[], aiohttp.TCPConnector] | None = None,
) -> None:
    async def main() -> None:
        async with asyncio.timeout(30):
            server = ConfigServer(settings, lambda: status, lambda: {"runtime": 1700000000.0})
            await server.start()
            try:
                async with aiohttp.ClientSession(
                    connector=connector() if connector else None
                ) as session:
                    await body(server, session)
            finally:
                await server.stop()

    asyncio.run(main())


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_missing_or_wrong_token_is_401_with_nothing_served(tmp_path: Path) -> None:
    conf_text = CONF.read_bytes()

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        cases: list[dict[str, str]] = [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ]
        for path in ("/v1/config", "/v1/config.json", "/v1/status", "/metrics", "/etc/passwd"):
            for headers in cases:
                async with s.get(server.url + path, headers=headers) as r:
                    data = await r.read()
                    assert r.status == 401, (path, headers)
                    assert data == b"401 unauthorized\n"
                    assert "ETag" not in r.headers
                    assert b"proto-fd-max" not in data and conf_text[:40] not in data
        async with s.get(server.url + "/healthz") as r:
            assert r.status == 200 and await r.text() == "ok\n"

    serve(make_settings(tmp_path), body, STATUS)


def test_unknown_paths_are_404_and_only_get_head(tmp_path: Path) -> None:
    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        for path in (
            "/",
            "/v1",
            "/v1/config/",
            "/v1/configx",
            "/v2/config",
            "/static/aerospike.conf",
            "/v1/config/../../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
        ):
            async with s.get(server.url + path, headers=AUTH) as r:
                assert r.status == 404, path
                assert b"root:" not in await r.read()
        async with s.post(server.url + "/v1/config", headers=AUTH, data=b"x") as r:
            assert r.status == 405
        async with s.head(server.url + "/v1/config", headers=AUTH) as r:
            assert r.status == 200 and await r.read() == b""

    serve(make_settings(tmp_path), body, STATUS)


def test_config_etag_and_304(tmp_path: Path) -> None:
    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        conf = tmp_path / "aerospike.conf"
        async with s.get(server.url + "/v1/config", headers=AUTH) as r:
            assert r.status == 200
            assert await r.read() == conf.read_bytes()
            etag = r.headers["ETag"]
            assert etag == '"' + hashlib.sha256(conf.read_bytes()).hexdigest() + '"'
            assert r.headers["Content-Type"].startswith("text/plain")
        for inm in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            async with s.get(
                server.url + "/v1/config", headers={**AUTH, "If-None-Match": inm}
            ) as r:
                assert r.status == 304, inm
                assert await r.read() == b""
                assert r.headers["ETag"] == etag
        # the file changes: the old tag no longer matches and the new bytes are served
        conf.write_bytes(conf.read_bytes() + b"\n# edited\n")
        async with s.get(server.url + "/v1/config", headers={**AUTH, "If-None-Match": etag}) as r:
            assert r.status == 200
            assert (await r.read()).endswith(b"# edited\n")
            assert r.headers["ETag"] != etag

    serve(make_settings(tmp_path), body, STATUS)


async def _raw_exchange(url: str, request: bytes) -> bytes:
    """One request as exact bytes on its own connection; the whole answer (the server closes)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()


def _answer_without_date(raw: bytes) -> tuple[bytes, list[bytes], bytes]:
    raw = raw.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")  # the answer to an Expect
    head, _, payload = raw.partition(b"\r\n\r\n")
    status, *fields = head.split(b"\r\n")
    return status, sorted(f for f in fields if not f.lower().startswith(b"date:")), payload


def test_the_short_way_to_the_conf_answers_as_the_application_does(tmp_path: Path) -> None:
    """GET /v1/config skips the router (ConfigServer._dispatch); the spellings that take the
    application's way (a query, an escaped letter) get the same answer, byte for byte but the
    Date, for each token case, HEAD, a 304 and an Expect header."""
    etag = '"' + hashlib.sha256(CONF.read_bytes()).hexdigest() + '"'
    auths = [f"Authorization: Bearer {TOKEN}\r\n", "", "Authorization: Bearer wrong\r\n"]
    extras = ["", f"If-None-Match: {etag}\r\n", "Expect: 100-continue\r\n"]

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        for method in ("GET", "HEAD"):
            for auth in auths:
                for extra in extras:
                    answers = set()
                    for target in ("/v1/config", "/v1/config?x=1", "/v1/%63onfig"):
                        raw = await _raw_exchange(
                            server.url,
                            f"{method} {target} HTTP/1.1\r\nHost: x\r\n{auth}{extra}"
                            "Connection: close\r\n\r\n".encode(),
                        )
                        status, fields, payload = _answer_without_date(raw)
                        assert b"Server: ascad" in fields, (method, target, auth, extra)
                        answers.add((status, tuple(fields), payload))
                    assert len(answers) == 1, (method, auth, extra, answers)
                    assert {a[0] for a in answers} <= {
                        b"HTTP/1.1 200 OK",
                        b"HTTP/1.1 304 Not Modified",
                        b"HTTP/1.1 401 Unauthorized",
                    }

    serve(make_settings(tmp_path), body, STATUS)


def _without_dates(raw: bytes) -> bytes:
    return re.sub(rb"(?im)^date: [^\r\n]*\r\n", b"", raw)


@pytest.mark.parametrize("conf_bytes", [None, b""], ids=["conf", "empty-conf"])
def test_the_short_way_keeps_connections_as_the_application_does(
    tmp_path: Path, conf_bytes: bytes | None
) -> None:
    """Two requests on one connection when the first keeps it alive, else one (HTTP/1.0 and 1.1, with and
    without a Connection header), GET and HEAD, an empty conf too: the short way's stream of
    answers is the application's, byte for byte but the Dates (the short way writes its answer
    itself, ascad.agent.server._Whole)."""
    if conf_bytes is not None:
        (tmp_path / "aerospike.conf").write_bytes(conf_bytes)
    auth = f"Authorization: Bearer {TOKEN}\r\n"

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        for version in ("1.0", "1.1"):
            for connection in ("", "Connection: keep-alive\r\n", "Connection: close\r\n"):
                for method in ("GET", "HEAD"):
                    streams = set()
                    for target in ("/v1/config", "/v1/config?x=1"):
                        first = f"{method} {target} HTTP/{version}\r\nHost: x\r\n{auth}{connection}"
                        second = f"GET {target} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n"
                        kept = "keep-alive" in connection or (version, connection) == ("1.1", "")
                        # the parser refuses bytes after a request that closes its connection
                        request = f"{first}\r\n{second}\r\n" if kept else f"{first}\r\n"
                        raw = await asyncio.wait_for(
                            _raw_exchange(server.url, request.encode()), 20
                        )
                        assert raw.count(b" 200 OK\r\n") == 1 + kept
                        assert raw.startswith(f"HTTP/{version} 200 OK".encode()), raw
                        streams.add(_without_dates(raw))
                    assert len(streams) == 1, (version, connection, method, streams)

    serve(make_settings(tmp_path), body, STATUS)


def test_a_failure_on_the_short_way_is_a_logged_500_that_names_no_software(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        async def broken() -> tuple[bytes, str]:
            raise RuntimeError("conf cache broken")

        server.conf.fetch = broken  # type: ignore[method-assign]
        async with s.get(server.url + "/v1/config", headers=AUTH) as r:
            assert r.status == 500
            assert r.headers["Server"] == "ascad"
            assert "conf cache" not in await r.text()
        assert server.listener is not None and server.listener.open == 1
        async with s.get(server.url + "/healthz") as r:  # the connection was marked idle again
            assert r.status == 200

    serve(make_settings(tmp_path), body, STATUS)
    assert "conf cache broken" in caplog.text
    assert "GET /v1/config" in caplog.text


def test_config_json_status_and_metrics(tmp_path: Path) -> None:
    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        async with s.get(server.url + "/v1/config.json", headers=AUTH) as r:
            doc = await r.json()
        settings = {x["path"]: x for x in doc["settings"]}
        assert settings["service.proto-fd-max"]["canonical"] == "15000"
        assert settings["service.proto-fd-max"]["line"] == 4
        assert doc["tree"][0] == {
            "stanza": "service",
            "name": None,
            "line": 3,
            "end_line": 6,
            "children": [
                {"key": "proto-fd-max", "values": ["15000"], "line": 4},
                {"key": "cluster-name", "values": ["cakery"], "line": 5},
            ],
        }
        async with s.get(server.url + "/v1/status", headers=AUTH) as r:
            assert r.status == 200 and (await r.json()) == STATUS
        async with s.get(server.url + "/metrics", headers=AUTH) as r:
            text = await r.text()
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert 'ascad_drift_differences{check="runtime"} 2\n' in text
        assert 'ascad_drift_differences{check="peer"} 0\n' in text
        assert 'ascad_check_state{check="runtime",state="critical"} 1\n' in text
        assert 'ascad_last_success_timestamp_seconds{check="runtime"} 1700000000\n' in text
        assert "ascad_cycle_duration_seconds 0.25\n" in text

    serve(make_settings(tmp_path), body, STATUS)


def test_a_failing_handler_is_a_logged_500_that_names_no_software(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_status() -> dict[str, Any] | None:
        raise RuntimeError("status document unavailable")

    async def main() -> None:
        async with asyncio.timeout(30):
            server = ConfigServer(make_settings(tmp_path), broken_status)
            await server.start()
            try:
                async with (
                    aiohttp.ClientSession() as s,
                    s.get(server.url + "/v1/status", headers=AUTH) as r,
                ):
                    assert r.status == 500
                    assert r.headers["Server"] == "ascad"
                    assert "status document" not in await r.text()  # the reason stays in the log
            finally:
                await server.stop()

    asyncio.run(main())
    assert "status document unavailable" in caplog.text
    assert "GET /v1/status" in caplog.text


def test_status_before_the_first_cycle_is_503(tmp_path: Path) -> None:
    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        async with s.get(server.url + "/v1/status", headers=AUTH) as r:
            assert r.status == 503 and (await r.json())["pending"] is True

    serve(make_settings(tmp_path), body, None)


def test_loopback_without_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, token_file="")
    assert settings.token is None

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        async with s.get(server.url + "/v1/config") as r:
            assert r.status == 200 and b"proto-fd-max" in await r.read()
        async with s.get(server.url + "/nope") as r:
            assert r.status == 404

    serve(settings, body, STATUS)


def test_non_loopback_without_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        make_settings(tmp_path, listen="0.0.0.0", token_file="")
    assert "not only loopback: a token is required" in str(err.value)
    assert "ASCAD_SERVER_TOKEN_FILE" in str(err.value)


def _client_ctx(cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(TLS / "client.pem"), str(TLS / "client.key"))
    return ctx


def test_tls_and_client_certificates(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        tls_cert=str(TLS / "server.pem"),
        tls_key=str(TLS / "server.key"),
        tls_client_ca=str(TLS / "ca.pem"),
    )

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        assert server.url.startswith("https://")
        url = server.url + "/v1/config"
        async with s.get(
            url, headers=AUTH, ssl=_client_ctx(True), server_hostname="node1.ascad.test"
        ) as r:
            assert r.status == 200 and b"proto-fd-max" in await r.read()
        # no client certificate: the handshake fails, nothing is served
        with pytest.raises(aiohttp.ClientError):
            async with s.get(
                url, headers=AUTH, ssl=_client_ctx(False), server_hostname="node1.ascad.test"
            ) as r:
                await r.read()
        # plain HTTP on the TLS port gets nothing
        with pytest.raises(aiohttp.ClientError):
            async with s.get(url.replace("https://", "http://"), headers=AUTH) as r:
                assert r.status != 200
        # an untrusted server chain is refused by the client
        with pytest.raises(aiohttp.ClientError):
            async with s.get(
                url,
                headers=AUTH,
                ssl=ssl.create_default_context(cafile=str(TLS / "other-ca.pem")),
                server_hostname="node1.ascad.test",
            ) as r:
                await r.read()

    serve(settings, body, STATUS)


def test_tls_without_client_ca(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, tls_cert=str(TLS / "server.pem"), tls_key=str(TLS / "server.key")
    )

    async def body(server: ConfigServer, s: aiohttp.ClientSession) -> None:
        async with s.get(
            server.url + "/healthz", ssl=_client_ctx(False), server_hostname="node1.ascad.test"
        ) as r:
            assert r.status == 200

    serve(settings, body, STATUS)


def test_etag_matches() -> None:
    assert etag_matches('"a"', '"a"')
    assert etag_matches('W/"a"', '"a"')
    assert etag_matches('"b", "a"', '"a"')
    assert etag_matches("*", '"a"')
    assert not etag_matches('"b"', '"a"')
    assert not etag_matches("", '"a"')


# --- the server of a started agent ----------------------------------------------------------------


def test_no_response_names_the_server_software(tmp_path: Path) -> None:
    async def main() -> None:
        auth = {"Authorization": f"Bearer {LOOP_TOKEN}"}
        async with serving_agent(tmp_path) as agent, aiohttp.ClientSession() as s:
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
        auth = {"Authorization": f"Bearer {LOOP_TOKEN}"}
        async with serving_agent(tmp_path) as agent, aiohttp.ClientSession() as s:
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
            settings = loop_settings(tmp, 0, tmp / "golden.conf", role="master")
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
                s.get(
                    agent.url + "/metrics", headers={"Authorization": f"Bearer {LOOP_TOKEN}"}
                ) as r,
            ):
                assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                return await r.text()
        finally:
            await agent.stop()

    (tmp / "aerospike.conf").write_text(AGENT_CONF.read_text())
    return asyncio.run(asyncio.wait_for(main(), 60))


def test_served_metrics_parse_strictly_and_survive_a_restart(tmp_path: Path) -> None:
    text = _served_metrics(tmp_path)
    families = parse_prometheus(text)
    assert set(families) == {
        "ascad_build_info",
        "ascad_role_info",
        "ascad_drift_differences",
        "ascad_check_state",
        "ascad_last_success_timestamp_seconds",
        "ascad_cycle_duration_seconds",
        "ascad_cycle_timestamp_seconds",
        "ascad_interval_seconds",
        "ascad_config_info",
        "ascad_cycles_total",
        "ascad_riemann_deliveries_total",
        "ascad_riemann_delivery_failures_total",
        "ascad_check_failures_total",
    }
    assert families["ascad_cycles_total"]["type"] == "counter"
    # Restarted: each check of the persisted status starts at 0 failures (the series exists).
    assert set(families["ascad_check_failures_total"]["samples"].values()) == {0.0}
    # Before: after a restart /metrics had no last success time until the first cycle ended.
    last = families["ascad_last_success_timestamp_seconds"]["samples"]
    assert set(last) == {(("check", "runtime"),), (("check", "golden"),)}
    assert all(v > 1.7e9 for v in last.values())
    prom = pytest.importorskip("prometheus_client.parser")
    parsed = {f.name: f for f in prom.text_string_to_metric_families(text)}
    assert parsed["ascad_drift_differences"].type == "gauge"
    assert {s.labels["check"] for s in parsed["ascad_check_state"].samples} == {"runtime", "golden"}
    assert "ascad_check_ok" not in parsed  # ascad_check_state says it all
    assert parsed["ascad_check_failures"].type == "counter"  # the parser drops _total
    assert parsed["ascad_build_info"].samples[0].labels["version"]
    assert parsed["ascad_role_info"].samples[0].labels["role"] == "master"


def test_metrics_leave_out_what_is_unknown_and_pass_promtool() -> None:
    """A check that could not run has no difference count (absent, not 0); the build, role and
    failure counters are there; prometheus_client's parser and promtool accept the text."""
    import shutil
    import subprocess

    status = {
        "node": "n2",
        "cluster": "prod",
        "role": "slave",
        "master": "http://a:9145",
        "duration": 0.5,
        "started": 1.7e9,
        "checks": [
            {"check": "runtime", "state": "warning", "count": 0},
            {"check": "peer", "state": "critical", "count": 3},
        ],
    }
    counters = {"ascad_cycles_total": 4, "ascad_check_failures_total": {"runtime": 2, "peer": 0}}
    text = render_metrics(metrics_samples(status, {"peer": 1.7e9}, counters, 21600))
    assert 'ascad_drift_differences{check="peer"} 3\n' in text
    assert 'ascad_drift_differences{check="runtime"}' not in text
    assert 'ascad_check_state{check="runtime",state="warning"} 1\n' in text
    assert 'ascad_check_failures_total{check="runtime"} 2\n' in text
    assert (
        'ascad_role_info{cluster="prod",node="n2",role="slave",master="http://a:9145"} 1\n' in text
    )
    assert "ascad_check_ok" not in text
    prom = pytest.importorskip("prometheus_client.parser")
    families = {f.name: f for f in prom.text_string_to_metric_families(text)}
    assert families["ascad_check_failures"].type == "counter"
    assert families["ascad_build_info"].samples[0].labels["version"]
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (./dev test installs Debian's prometheus)")
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr
