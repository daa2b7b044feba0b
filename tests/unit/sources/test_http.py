"""HTTP sources against loopback servers standing in for GitLab and a peer agent: answers in many
TCP segments, huge and HTML answers, redirects that would carry a token elsewhere."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from ascad.conf.decode import MAX_CONF_BYTES as MAX_SOURCE_BYTES
from ascad.errors import ConfSyntaxError, SourceError
from ascad.sources import fetch_text, parse_source
from tests.helpers import (
    CONF_MAIN,
    CONF_MAIN2,
    CONF_OTHER,
    GITLAB_PAT,
    RELEASE,
    fetch,
    free_port,
    one_line,
    serve_while,
    with_server,
)

# --- loopback servers standing in for GitLab and a peer agent -------------------------------------

GITLAB_TOKEN = "glpat-test-token"
GITLAB_FILES = {
    ("ops%2Fsalt", "aerospike%2Faerospike.conf", "main"): CONF_MAIN,
    ("ops%2Fsalt", "aerospike%2Faerospike.conf", None): CONF_OTHER,
    ("7", "aerospike%2Faerospike.conf", "main"): CONF_MAIN2,
    ("ops%2Fsalt", "bin.conf", "main"): None,
}


def gitlab_app() -> web.Application:
    """GitLab's raw-file endpoint: PRIVATE-TOKEN required, project and path %2F-encoded."""
    prefix = "/api/v4/projects/"

    async def raw(request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != GITLAB_TOKEN:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        path = request.raw_path.split("?", 1)[0]
        parts = path[len(prefix) :].split("/")
        if len(parts) != 5 or parts[1:3] != ["repository", "files"] or parts[4] != "raw":
            return web.json_response({"message": "404 Not Found"}, status=404)
        key = (parts[0], parts[3], request.query.get("ref"))
        if key not in GITLAB_FILES:
            return web.json_response({"message": "404 File Not Found"}, status=404)
        text = GITLAB_FILES[key]
        body = b"\xff\xfe binary" if text is None else text.encode()
        return web.Response(
            body=body,
            content_type="text/plain",
            headers={"X-Gitlab-Commit-Id": "c0ffee" * 6 + "1234"},
        )

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", raw)
    return app


def test_gitlab_raw_file_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)

    async def body(port: int) -> None:
        base = f"gitlab+http://127.0.0.1:{port}/ops/salt"
        got = await fetch_text(
            parse_source(f"{base}#aerospike/aerospike.conf@main"), token=GITLAB_TOKEN
        )
        assert got.text == CONF_MAIN and got.name == "gitlab:main:aerospike/aerospike.conf"
        assert got.version == "c0ffee" * 6 + "1234"
        # no ref: the project's default branch (no ?ref= sent)
        got = await fetch_text(
            parse_source(f"{base}.git#aerospike/aerospike.conf"), token=GITLAB_TOKEN
        )
        assert got.text == CONF_OTHER
        api = f"http://127.0.0.1:{port}/api/v4/projects/7/repository/files/aerospike%2Faerospike.conf/raw?ref=main"
        assert (await fetch_text(parse_source(api), token=GITLAB_TOKEN)).text == CONF_MAIN2
        # token from the environment
        monkeypatch.setenv("GITLAB_TOKEN", GITLAB_TOKEN)
        assert (
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"))
        ).text == CONF_MAIN
        monkeypatch.delenv("GITLAB_TOKEN")
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"))
        assert "HTTP 401" in str(err.value) and "GITLAB_TOKEN" in str(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"), token="wrong")
        assert "HTTP 401" in str(err.value) and "wrong" not in str(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#nope.conf@main"), token=GITLAB_TOKEN)
        assert "HTTP 404" in str(err.value) and "no file 'nope.conf' at ref 'main'" in str(
            err.value
        )
        with pytest.raises(ConfSyntaxError, match="not UTF-8"):
            await fetch_text(parse_source(f"{base}#bin.conf@main"), token=GITLAB_TOKEN)

    asyncio.run(with_server(gitlab_app(), body))


AGENT_TOKEN = "agent-secret"


def agent_app() -> web.Application:
    app = web.Application()
    app[RELEASE] = asyncio.Event()

    def authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {AGENT_TOKEN}"

    async def config(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="bearer token required")
        return web.Response(text=CONF_OTHER, headers={"ETag": '"v7"'})

    async def config_json(request: web.Request) -> web.Response:
        return web.json_response({"text": CONF_MAIN, "source": "/etc/aerospike/aerospike.conf"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.wait_for(request.app[RELEASE].wait(), 10)
        return web.Response(text=CONF_MAIN)

    app.router.add_get("/v1/config", config)
    app.router.add_get("/json/v1/config", config_json)
    app.router.add_get("/slow/v1/config", slow)
    return app


def test_peer_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASCAD_TOKEN", raising=False)

    async def body(port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        got = await fetch_text(parse_source(base), token=AGENT_TOKEN)
        assert (got.text, got.name, got.version) == (CONF_OTHER, base, "v7")
        monkeypatch.setenv("ASCAD_TOKEN", AGENT_TOKEN)
        assert (await fetch_text(parse_source(base + "/"))).text == CONF_OTHER
        monkeypatch.delenv("ASCAD_TOKEN")
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(base))
        assert (
            "HTTP 401" in str(err.value)
            and "ASCAD_TOKEN" in str(err.value)
            and base in str(err.value)
        )
        assert (await fetch_text(parse_source(base + "/json"))).text == CONF_MAIN
        with pytest.raises(SourceError, match="HTTP 404"):
            await fetch_text(parse_source(base + "/elsewhere"))
        with pytest.raises(SourceError, match=r"no complete answer within 0.3 s"):
            await fetch_text(parse_source(base + "/slow"), timeout=0.3)

    asyncio.run(with_server(agent_app(), body))


def test_refused_connection() -> None:
    port = free_port()
    with pytest.raises(SourceError) as err:
        fetch(f"http://127.0.0.1:{port}", timeout=5)
    assert "cannot connect" in str(err.value) and f"127.0.0.1:{port}" in str(err.value)
    with pytest.raises(SourceError, match="cannot connect"):
        fetch(f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf", timeout=5)


def test_json_answer_without_text_is_refused() -> None:
    app = web.Application()

    async def bad(request: web.Request) -> web.Response:
        return web.json_response({"config": 1})

    app.router.add_get("/v1/config", bad)

    async def body(port: int) -> None:
        with pytest.raises(SourceError, match="without a 'text' string"):
            await fetch_text(parse_source(f"http://127.0.0.1:{port}"))

    asyncio.run(with_server(app, body))


# A conf of about 200 kB: far more than one TCP segment or one aiohttp read.
BIG_CONF = "service {\n\tproto-fd-max 15000\n}\n" + "".join(
    f"namespace ns{i} {{\n\treplication-factor 2\n\tstorage-engine memory\n}}\n"
    for i in range(4000)
)


# --- long, huge, HTML and redirected answers ------------------------------------------------------


def streaming_app(seen: list[tuple[str, str | None]]) -> web.Application:
    async def chunked(request: web.Request) -> web.StreamResponse:
        """The conf in 4 kB pieces with pauses: the client sees many partial reads."""
        seen.append((request.host, request.headers.get("PRIVATE-TOKEN")))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        data = BIG_CONF.encode()
        for i in range(0, len(data), 4096):
            await resp.write(data[i : i + 4096])
            if i % (64 * 4096) == 0:
                await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        chunk = b"#" * (1024 * 1024 - 1) + b"\n"
        try:
            for _ in range(MAX_SOURCE_BYTES // len(chunk) + 2):
                await resp.write(chunk)
        except ConnectionError:  # the client stopped reading at the limit: expected
            pass
        return resp

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")

    async def error_page(request: web.Request) -> web.Response:
        page = (
            "<html>\n<head><style>p {x}</style></head>\n<body>\n<h1>502</h1>\n<p>Bad\tgateway</p>"
        )
        return web.Response(status=502, text=page, content_type="text/html")

    async def redirect_away(request: web.Request) -> web.Response:
        seen.append((request.host, request.headers.get("PRIVATE-TOKEN")))
        port = request.url.port
        raise web.HTTPFound(
            f"http://localhost:{port}/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw"
        )

    async def redirect_here(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw?ref=main")

    app = web.Application()
    app.router.add_get("/agent/v1/config", chunked)
    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw", chunked)
    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/huge.conf/raw", huge)
    app.router.add_get("/api/v4/projects/away/repository/files/a.conf/raw", redirect_away)
    app.router.add_get("/api/v4/projects/moved/repository/files/a.conf/raw", redirect_here)
    app.router.add_get("/html/v1/config", html)
    app.router.add_get("/bad/v1/config", error_page)
    return app


def test_an_answer_in_many_segments_is_read_whole() -> None:
    """aiohttp's content.read(n) returns after the first buffered segment: a conf longer than
    that was silently cut short (an agent's or GitLab's answer of a 28-namespace conf)."""
    seen: list[tuple[str, str | None]] = []

    async def body(port: int) -> None:
        got = await fetch_text(parse_source(f"http://127.0.0.1:{port}/agent"))
        assert got.text == BIG_CONF
        got = await fetch_text(
            parse_source(f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf@main"), token=GITLAB_PAT
        )
        assert got.text == BIG_CONF

    asyncio.run(serve_while(streaming_app(seen), body))
    assert len(seen) == 2


def test_huge_answer_is_refused_at_the_limit() -> None:
    async def body(port: int) -> None:
        spec = parse_source(f"gitlab+http://127.0.0.1:{port}/ops/salt#huge.conf@main")
        with pytest.raises(SourceError) as err:
            await fetch_text(spec, token=GITLAB_PAT, timeout=30)
        assert "larger than 4 MB" in one_line(err.value)
        assert "huge.conf" in str(err.value)

    asyncio.run(serve_while(streaming_app([]), body))


def test_redirect_to_another_host_never_carries_the_token() -> None:
    """aiohttp drops Authorization on a cross-host redirect but not GitLab's PRIVATE-TOKEN."""
    seen: list[tuple[str, str | None]] = []

    async def body(port: int) -> None:
        away = parse_source(f"gitlab+http://127.0.0.1:{port}/away#a.conf@main")
        with pytest.raises(SourceError) as err:
            await fetch_text(away, token=GITLAB_PAT)
        text = one_line(err.value)
        assert "redirected to http://localhost" in text and "not followed" in text
        assert GITLAB_PAT not in text
        # A redirect on the same host is followed.
        moved = parse_source(f"gitlab+http://127.0.0.1:{port}/moved#a.conf@main")
        assert (await fetch_text(moved, token=GITLAB_PAT)).text == BIG_CONF

    asyncio.run(serve_while(streaming_app(seen), body))
    assert all(host.startswith("127.0.0.1") for host, _ in seen), seen
    assert [tok for _, tok in seen] == [
        GITLAB_PAT,
        GITLAB_PAT,
    ]  # the away request, then the moved one


def test_html_answers_and_error_pages_are_one_clear_line() -> None:
    async def body(port: int) -> None:
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}/html"))
        assert "an HTML page, not a conf" in one_line(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}/bad"))
        text = one_line(err.value)
        assert text.endswith("HTTP 502: 502 Bad gateway"), text
        assert f"127.0.0.1:{port}/bad" in text

    asyncio.run(serve_while(streaming_app([]), body))


def test_agent_json_answer_that_is_not_utf8() -> None:
    async def latin(request: web.Request) -> web.Response:
        return web.Response(
            body='{"text": "caf\xe9"}'.encode("latin-1"), content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/v1/config", latin)

    async def body(port: int) -> None:
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}"))
        assert "not UTF-8 text: byte 0xe9 at line 1, column 14" in one_line(err.value)

    asyncio.run(serve_while(app, body))
