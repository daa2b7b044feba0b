"""/ui/ over real HTTP on 127.0.0.1: no token -> no data, the login form and its cookie
(HttpOnly, SameSite=Strict, not the token, not for the API), CSRF refusals, a strict CSP on every
answer, values shown as text, the token never in a URL or a page, the conf page's line anchors."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp

from ascad.agent import ui
from ascad.agent.server import ConfigServer
from tests.unit.agent.test_server import TOKEN, make_settings

SCRIPT = "<script>alert(1)</script>"
STATUS: dict[str, Any] = {
    "schema": "ascad.agent.status/1",
    "node": "n1",
    "node_id": "A1",
    "role": "master",
    "cluster": "cakery",
    "started": 1764631200.0,
    "duration": 0.2,
    "checks": [
        {
            "check": "golden",
            "state": "critical",
            "count": 1,
            "left": "/etc/aerospike/aerospike.conf",
            "right": "git:main:aerospike.conf",
            "finished": 1764631200.2,
            "differences": [
                {
                    "path": "service.cluster-name",
                    "kind": "changed",
                    "left": "cakery",
                    "right": SCRIPT,
                    "left_line": 5,
                    "right_line": 5,
                    "restart": False,
                }
            ],
        },
        {"check": "runtime", "state": "ok", "count": 0, "differences": []},
    ],
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def serve(
    tmp: Path,
    body: Callable[[str, aiohttp.ClientSession], Awaitable[None]],
    status: dict[str, Any] | None = STATUS,
    **server: Any,
) -> None:
    async def main() -> None:
        async with asyncio.timeout(30):
            srv = ConfigServer(make_settings(tmp, **server), lambda: status)
            await srv.start()
            try:
                async with aiohttp.ClientSession() as session:
                    await body(srv.url, session)
            finally:
                await srv.stop()

    asyncio.run(main())


async def login(url: str, s: aiohttp.ClientSession, token: str = TOKEN, **headers: str) -> Any:
    return await s.post(
        url + "/ui/login", data={"token": token}, allow_redirects=False, headers=headers
    )


def session_cookie(r: aiohttp.ClientResponse) -> tuple[str, str]:
    raw = r.headers["Set-Cookie"]
    value = raw.split(";", 1)[0].split("=", 1)[1]
    return value, raw


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []  # style attributes, event handlers, <style>
        self.in_script = False
        self.script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
            self.in_script = True
        if tag == "style" or "style" in a or any(k.startswith("on") for k in a):
            self.inline.append(tag)
        for k in ("src", "href", "action"):
            v = a.get(k)
            if v is not None:
                assert not re.match(r"(?i)\s*(https?:)?//", v), f"{tag} {k}={v}: not this agent"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text.append(data)


def test_no_token_no_data_and_the_login_form(tmp_path: Path) -> None:
    async def body(url: str, s: aiohttp.ClientSession) -> None:
        for path in ("/ui/", "/ui", "/ui/conf?node=n1", "/ui/?state=critical"):
            async with s.get(url + path, allow_redirects=False) as r:
                assert r.status == 303, path
                assert r.headers["Location"] == "/ui/login"
                text = await r.text()
                assert "cakery" not in text and "cluster-name" not in text
        for path in ("/ui/?fragment=1", "/v1/status"):
            async with s.get(url + path, allow_redirects=False) as r:
                assert r.status == 401 and await r.read() == b"401 unauthorized\n"
        async with s.get(url + "/ui/login") as r:
            assert r.status == 200 and r.headers["Content-Security-Policy"] == CSP
            page = await r.text()
            assert 'method="post"' in page and 'name="token"' in page and TOKEN not in page
            assert "cakery" not in page
        for name in ("ascad.css", "ascad.js", "favicon.svg"):
            async with s.get(url + "/ui/static/" + name) as r:
                assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
        async with s.get(url + "/ui/static/..%2f..%2fetc%2fpasswd", allow_redirects=False) as r:
            assert r.status in (303, 404) and b"root:" not in await r.read()
        async with s.get(url + "/ui/static/x.js", allow_redirects=False) as r:
            assert r.status == 303  # not an asset: behind the login like any other path

    serve(tmp_path, body)


def test_login_cookie_opens_the_page_not_the_api(tmp_path: Path) -> None:
    async def body(url: str, s: aiohttp.ClientSession) -> None:
        t0 = time.monotonic()
        async with await login(url, s, "wrong") as r:
            assert r.status == 401 and "Set-Cookie" not in r.headers
            assert "wrong token" in await r.text()
        assert time.monotonic() - t0 >= 0.4  # a wrong guess costs time
        async with await login(url, s) as r:
            assert r.status == 303 and r.headers["Location"] == "./"
            value, raw = session_cookie(r)
        attrs = {a.strip().split("=")[0].lower() for a in raw.split(";")[1:]}
        assert {"httponly", "samesite", "path", "max-age"} <= attrs
        assert "SameSite=Strict" in raw and "Path=/ui/" in raw and "secure" not in attrs
        assert TOKEN not in raw
        cookie = {"Cookie": f"{ui.COOKIE}={value}"}
        async with s.get(url + "/ui/", headers=cookie, allow_redirects=False) as r:
            assert r.status == 200
            assert r.headers["Content-Security-Policy"] == CSP
            assert r.headers["Cache-Control"] == "no-store"
            page = await r.text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and SCRIPT not in page
        assert TOKEN not in page
        tags = Tags()
        tags.feed(page)
        assert tags.scripts == [{"src": "static/ascad.js", "defer": None}]
        assert "".join(tags.script_text).strip() == ""
        assert tags.inline == []  # CSP forbids inline styles and handlers: none are needed
        # the fragment the script polls for, and the conf page the line links go to
        async with s.get(url + "/ui/?fragment=1&state=critical", headers=cookie) as r:
            frag = await r.text()
            assert r.status == 200 and "<html" not in frag and 'id="checks"' in frag
            assert ">cluster-name</span>" in frag and "runtime</td>" not in frag
        # compressed for a browser that takes it (aiohttp's client does, and decodes)
        async with s.get(url + "/ui/", headers=cookie) as r:
            assert r.headers.get("Content-Encoding") in ("gzip", "deflate")
            assert "cakery" in await r.text()
        async with s.get(url + "/ui/conf?node=n1", headers=cookie) as r:
            conf = await r.text()
            assert r.status == 200 and '<li id="L4">\tproto-fd-max 15000</li>' in conf
        async with s.get(url + "/ui/conf?node=nobody", headers=cookie) as r:
            assert r.status == 404
        # the cookie is for the page only: the API still wants the bearer token
        async with s.get(url + "/v1/status", headers=cookie) as r:
            assert r.status == 401
        # and the bearer token opens the page too (curl, scripts)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with s.get(url + "/ui/", headers=auth, allow_redirects=False) as r:
            assert r.status == 200
        async with s.post(url + "/ui/logout", headers=cookie, allow_redirects=False) as r:
            assert r.status == 303 and f"{ui.COOKIE}=" in r.headers["Set-Cookie"]
            assert "Max-Age=0" in r.headers["Set-Cookie"]

    serve(tmp_path, body)


def test_forged_expired_and_cross_site_are_refused(tmp_path: Path) -> None:
    token = TOKEN.encode()
    expired = ui.session_value(token, now=time.time() - ui.SESSION_SECONDS - 5)
    forged = ui.session_value(b"another-token")
    assert not ui.session_valid(expired, token)
    assert not ui.session_valid(forged, token)
    assert not ui.session_valid("9" * 40 + ".x", token)
    assert ui.session_valid(ui.session_value(token), token)

    async def body(url: str, s: aiohttp.ClientSession) -> None:
        for value in (expired, forged, TOKEN, "", "1.2"):
            cookie = {"Cookie": f"{ui.COOKIE}={value}"}
            async with s.get(url + "/ui/", headers=cookie, allow_redirects=False) as r:
                assert r.status == 303, value
        for headers in (
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
        ):
            async with await login(url, s, **headers) as r:
                assert r.status == 403 and "Set-Cookie" not in r.headers, headers
        async with await login(url, s, **{"Sec-Fetch-Site": "same-origin"}) as r:
            assert r.status == 303
        async with await login(url, s, Origin=url) as r:
            assert r.status == 303

    serve(tmp_path, body)


def test_loopback_without_token_needs_no_login(tmp_path: Path) -> None:
    async def body(url: str, s: aiohttp.ClientSession) -> None:
        async with s.get(url + "/ui/", allow_redirects=False) as r:
            assert r.status == 200 and "cluster-name" in await r.text()
        async with s.get(url + "/ui/login", allow_redirects=False) as r:
            assert r.status == 303

    serve(tmp_path, body, token_file=None)


def test_pending_agent_page(tmp_path: Path) -> None:
    async def body(url: str, s: aiohttp.ClientSession) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with s.get(url + "/ui/", headers=auth) as r:
            page = await r.text()
            assert r.status == 200 and "no cycle has finished yet" in page

    serve(tmp_path, body, status=None)


def test_master_page_gathers_its_peers_server_side(tmp_path: Path) -> None:
    """A master by settings with [peers] static: each peer's status and conf fetched with the
    token, this agent's own URL in the list shown once, a dead URL its own `unreachable` row, the
    fleet groups from the confs read; one round shared by the requests that follow."""
    from ascad.agent.cycle import CycleRunner
    from tests.helpers import free_port

    peer_doc = {
        **STATUS,
        "node": "n2",
        "node_id": "B2",
        "role": "slave",
        "checks": [
            {
                "check": "peer",
                "state": "critical",
                "count": 1,
                "differences": [
                    {
                        "path": "service.proto-fd-max",
                        "kind": "changed",
                        "left": "16000",
                        "right": "15000",
                        "left_line": 4,
                        "right_line": 4,
                        "restart": False,
                    }
                ],
            }
        ],
    }

    async def main() -> None:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        ms = make_settings(tmp_path / "a")
        ps = make_settings(tmp_path / "b")
        conf = tmp_path / "b" / "aerospike.conf"
        conf.write_text(conf.read_text().replace("proto-fd-max 15000", "proto-fd-max 16000"))
        peer = ConfigServer(ps, lambda: peer_doc)
        twin = ConfigServer(ps, lambda: {**peer_doc, "node_id": "C3"})  # the same node_name
        runner = CycleRunner(ms)
        master = ConfigServer(ms, lambda: STATUS, runner=lambda: runner)
        await peer.start()
        await twin.start()
        await master.start()
        dead = f"http://127.0.0.1:{free_port()}"
        ms.static = [master.url, peer.url, twin.url, dead]
        ms.peers_timeout = 3.0
        try:
            async with aiohttp.ClientSession() as s:
                auth = {"Authorization": f"Bearer {TOKEN}"}
                async with s.get(master.url + "/ui/", headers=auth) as r:
                    page = await r.text()
                async with s.get(master.url + "/ui/conf?node=n2", headers=auth) as r:
                    assert '<li id="L4">\tproto-fd-max 16000</li>' in await r.text()
                assert master.ui.rounds == 1  # the conf page used the same round
        finally:
            await master.stop()
            await peer.stop()
            await twin.stop()
            await runner.close()
        text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
        assert "A1 n1 this agent" in text and "B2 n2" in text
        assert text.count("this agent") == 1
        assert f"{dead}/v1/status: cannot connect" in text
        assert '<a href="conf?node=n2#L4">line 4</a>' in page
        assert 'id="groups"' in page and 'id="matrix"' in page
        assert "C3 n2 (C3)" in text  # two agents named n2: told apart
        assert "3 of 4 confs read" in text

    asyncio.run(asyncio.wait_for(main(), 30))
