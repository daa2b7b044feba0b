"""The agent's ``/ui/`` pages: the cluster at a glance, served by every agent (docs/dashboard.md).

Routes (all under the API's auth rules; see :func:`authorized`):

- ``GET /ui/``: the page, rendered on the server (works with JavaScript off); the query string
  filters and sorts (``state``, ``check``, ``path``, ``sort``); ``fragment=1`` answers only its
  live part, which ``static/ascad.js`` asks for every :attr:`Dashboard.refresh` seconds.
- ``GET /ui/conf?node=NAME``: a node's conf with numbered lines (the differences link there).
- ``GET /ui/static/ascad.css``, ``/ui/static/ascad.js``: the only assets (no token needed: they
  hold no data, and the login form uses the stylesheet).
- ``GET|POST /ui/login``, ``POST /ui/logout``: the browser's way in (below).

What the master shows: every node it knows from its last cycle (the peers list it elected from;
a master by settings with static discovery: the ``[peers] static`` URLs),
each agent's ``/v1/status`` and ``/v1/config`` fetched here, server-side, with the agent's token
(the peer client's TLS settings, at most :data:`CONCURRENCY` at a time, each within
``[peers] timeout``), grouped as ``ascad fleet`` groups them (:func:`ascad.checks.fleet.analyse`).
An agent that does not answer is a node in state ``unreachable`` with the reason. What was fetched
is shared by every request; once it is :attr:`Dashboard.refresh` seconds old the next request
starts a new round in the background (one at a time) and is answered from the last one, so many
open pages cost the cluster one round per period and no page waits for a slow agent. A slave's page shows
its own node and links to the master's.

Logging in: a browser cannot send ``Authorization: Bearer`` by itself, and a token in a URL ends
up in the history, in proxies' logs and in ``Referer`` headers. So ``/ui/login`` is a form that
takes the token in a POST body and answers with a session cookie: ``HttpOnly`` (no script reads
it), ``SameSite=Strict`` (no other site's page can make the browser send it: no CSRF on any
route), ``Path=/ui/`` (the API still wants the bearer token), ``Secure`` over TLS, valid
:data:`SESSION_SECONDS`. The cookie is not the token: it is an expiry time and its HMAC-SHA256
keyed by the token, so the server keeps no sessions, a stolen cookie dies with its expiry, and
changing the token (a SIGHUP) logs every browser out. The login and logout POSTs are also refused
when the ``Origin`` or ``Sec-Fetch-Site`` header says another site sent them. Why not a reverse
proxy's header: trusting a header needs a proxy in front of every agent, and an agent reached
directly would accept a forged one. A proxy in front still works: it forwards the cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from ascad.agent.roles import Candidate
from ascad.errors import AscadError
from ascad.report import html
from ascad.report.dashboard import Filters, NodeStatus, build_view
from ascad.sources.loader import conf_from_text

if TYPE_CHECKING:
    from ascad.agent.cycle import CycleRunner
    from ascad.agent.server import ConfigServer
    from ascad.checks.fleet import NodeConfig

log = logging.getLogger("ascad.agent.ui")

COOKIE = "ascad_ui"
SESSION_SECONDS = 12 * 3600
CONCURRENCY = 16
DEFAULT_REFRESH = 10.0
RENDERED_KEPT = 32  # renderings kept per round (distinct filter sets)
#: Every /ui/ answer: scripts and styles from this agent only, no inline ones, no frames, no
#: forms posting elsewhere, nothing fetched from anywhere else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # nothing to other sites; Origin kept for our forms
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PUBLIC = frozenset({"/ui/login", *(f"/ui/static/{name}" for name in html.STATIC_FILES)})
_HMAC_LABEL = b"ascad-ui-session:"
UNAUTHORIZED = b"401 unauthorized\n"  # the API's answer (ascad.agent.server)


# --- the session cookie ---------------------------------------------------------------------------


def session_value(token: bytes, now: float | None = None) -> str:
    """A cookie value: expiry (epoch seconds) and its HMAC keyed by the token."""
    expiry = str(int((time.time() if now is None else now) + SESSION_SECONDS))
    mac = hmac.new(token, _HMAC_LABEL + expiry.encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{mac}"


def session_valid(value: str, token: bytes, now: float | None = None) -> bool:
    expiry, _, mac = value.partition(".")
    if not expiry.isdigit() or len(expiry) > 12:
        return False
    want = hmac.new(token, _HMAC_LABEL + expiry.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), want.encode()):
        return False
    return int(expiry) > (time.time() if now is None else now)


def cookie_ok(request: web.Request, token: bytes) -> bool:
    value = request.cookies.get(COOKIE)
    return bool(value) and session_valid(str(value), token)


def cross_site(request: web.Request) -> bool:
    """A POST another site's page made the browser send (login CSRF)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:  # browsers set it and pages cannot: the best witness
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser (curl, a script holding the token anyway)
        return False
    if origin == "null":
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() != request.host.lower()


# --- gathering the cluster ------------------------------------------------------------------------


@dataclass
class Gathered:
    """What one round fetched: every node's status, the confs read, the fleet document."""

    at: float
    nodes: list[NodeStatus]
    confs: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (source, text)
    fleet: dict[str, Any] | None = None
    master: str | None = None
    master_ui: str | None = None
    wall: float = field(default_factory=time.time)  # when it was read (epoch seconds)


class Dashboard:
    """The pages of one agent. ``runner`` gives the agent's current cycle runner (its peer client
    and the peers its last cycle listed); None: this agent alone (tests)."""

    def __init__(
        self,
        server: ConfigServer,
        runner: Callable[[], CycleRunner | None] | None = None,
        refresh: float = DEFAULT_REFRESH,
    ) -> None:
        self.server = server
        self.runner = runner or (lambda: None)
        self.refresh = refresh
        self._gathered: Gathered | None = None
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._task: asyncio.Future[None] | None = None
        self.rounds = 0  # gathering rounds run (tests: the cache is shared)
        self._names: dict[str, str] = {}  # node id -> node name, from earlier answers
        # pages rendered from the current round, by filters: open pages polling with the same
        # filters share one rendering per round
        self._rendered: dict[tuple[int, str, bool, bool], str] = {}
        self._rendered_round: Gathered | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ui", self._slash)
        app.router.add_get("/ui/", self._page)
        app.router.add_get("/ui/conf", self._conf)
        app.router.add_get("/ui/static/{name}", self._static)
        app.router.add_get("/ui/login", self._login_form)
        app.router.add_post("/ui/login", self._login)
        app.router.add_post("/ui/logout", self._logout)

    # -- gathering --

    async def gathered(self) -> Gathered:
        """What the last round fetched. The first request waits for a round; after that a round
        older than :attr:`refresh` is served as it is while the next one runs in the background
        (one at a time), so a page never waits for the cluster's slowest agent."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
            self._task = None
        g = self._gathered
        if g is None:
            async with self._lock[1]:
                if self._gathered is None:
                    self._gathered = await self._gather()
                    self.rounds += 1
                return self._gathered
        if time.monotonic() - g.at >= self.refresh and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._next_round())
        return g

    async def _next_round(self) -> None:
        assert self._lock is not None
        async with self._lock[1]:
            try:
                self._gathered = await self._gather()
                self.rounds += 1
            except Exception as exc:  # the page keeps the last round and says when it was read
                log.error("the page's round failed: %s: %s", type(exc).__name__, exc)

    async def close(self) -> None:
        """Stop a round in progress (the server is stopping)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _gather(self) -> Gathered:
        s = self.server.settings
        doc = self.server.status()
        own = NodeStatus(
            name=str((doc or {}).get("node") or s.node_name),
            node_id=(doc or {}).get("node_id"),
            url=None,
            doc=doc if doc is not None else {"pending": True},
            is_self=True,
        )
        confs: dict[str, tuple[str, str]] = {}
        try:
            data, _etag = await self.server.conf.fetch()
            confs[own.name] = (s.conf, data.decode("utf-8", "replace"))
        except (OSError, AscadError) as exc:
            own.error = f"cannot read {s.conf}: {exc}"
        runner = self.runner()
        role = (doc or {}).get("role")
        if role != "master" or runner is None:
            master, master_ui = _master_link(doc, runner)
            return Gathered(time.monotonic(), [own], confs, master=master, master_ui=master_ui)
        known = runner.known or [Candidate(None, u.rstrip("/")) for u in s.static]
        peers = [
            c for c in known if not c.is_self and (c.node_id is None or c.node_id != own.node_id)
        ]
        gate = asyncio.Semaphore(CONCURRENCY)
        timeout = s.peers_timeout

        read: dict[int, tuple[str, str]] = {}  # id(node) -> its conf (names may repeat)

        async def one(c: Candidate) -> NodeStatus:
            # a node that stops answering keeps the name it answered with before
            name = self._names.get(c.node_id or "") or c.node_id or c.url or "?"
            if not c.url:
                return NodeStatus(name, c.node_id, None, error="no agent URL for this node")
            async with gate:
                try:
                    async with asyncio.timeout(timeout):
                        status, config = await asyncio.gather(
                            runner.peers.status(c.url),
                            runner.peers.fetch_config(c.url),
                            return_exceptions=True,
                        )
                except TimeoutError:
                    return NodeStatus(
                        name, c.node_id, c.url, error=f"no answer within {timeout:g} s"
                    )
            if isinstance(status, BaseException):
                return NodeStatus(name, c.node_id, c.url, error=_reason(status))
            node_id = status.get("node_id") or c.node_id
            node = NodeStatus(
                str(status.get("node") or name), str(node_id) if node_id else None, c.url, status
            )
            if node.node_id and len(self._names) < 100_000:
                self._names[node.node_id] = node.name
            if isinstance(config, BaseException):
                node.error = f"conf: {_reason(config)}"
            else:
                read[id(node)] = config
            return node

        # a static list may name this agent too: its own answer is already the first row
        others = [
            n
            for n in await asyncio.gather(*(one(c) for c in peers))
            if n.doc is None or not own.node_id or n.node_id != own.node_id
        ]
        nodes = [own, *others]
        seen = {own.name}
        for n in others:  # two agents with one node_name: told apart by id or address
            if n.name in seen:
                n.name = f"{n.name} ({n.node_id or n.url})"
            seen.add(n.name)
            if id(n) in read:
                confs[n.name] = read[id(n)]
        fleet = await asyncio.to_thread(self._fleet, nodes, confs, runner)
        return Gathered(time.monotonic(), nodes, confs, fleet)

    @staticmethod
    def _fleet(
        nodes: list[NodeStatus], confs: dict[str, tuple[str, str]], runner: CycleRunner
    ) -> dict[str, Any] | None:
        """The ``ascad fleet`` document of the confs read (per-node paths skipped as in the
        peer check); nodes whose conf could not be read are its unreachable ones."""
        # The fleet analysis here, at the page's first round: an agent whose /ui/ is never
        # opened does not hold it (bench/agent.py, idle RSS).
        from ascad.checks.fleet import NodeConfig, analyse
        from ascad.report.fleet_json import report_to_dict

        fleet_nodes: list[NodeConfig] = []
        for n in nodes:
            node_id = n.node_id or (n.doc or {}).get("node_id")
            if n.name not in confs:
                why = n.error or "its agent did not answer"
                fleet_nodes.append(NodeConfig(n.name, error=why, node_id=node_id))
                continue
            source, text = confs[n.name]
            try:
                flat = conf_from_text(source, text).flat
            except AscadError as exc:
                fleet_nodes.append(NodeConfig(n.name, error=str(exc), node_id=node_id))
                continue
            fleet_nodes.append(NodeConfig(n.name, flat=flat, node_id=node_id))
        try:
            patterns = runner.compare_settings().peer_patterns()
            return report_to_dict(analyse(fleet_nodes, patterns))
        except AscadError as exc:
            log.warning("the page's fleet view: %s", exc)
            return None

    # -- handlers --

    def _logout_button(self, request: web.Request) -> bool:
        return self.server.token_bytes is not None and COOKIE in request.cookies

    async def _slash(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect("/ui/", headers=SECURITY_HEADERS)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        filters = Filters.from_query(request.query)
        g = await self.gathered()
        fragment = request.query.get("fragment") == "1"
        logout = self._logout_button(request)
        key = (id(g), filters.query(), fragment, logout)
        body = self._rendered.get(key)
        if body is None:
            cluster = (self.server.status() or {}).get("cluster") or None
            # a page of 500 nodes takes a few tenths of a second to render: not on the loop
            body = await asyncio.to_thread(self._render, g, filters, cluster, fragment, logout)
            if self._rendered_round is not g:
                self._rendered.clear()
                self._rendered_round = g
            if len(self._rendered) < RENDERED_KEPT:
                self._rendered[key] = body
        response = _html(body)
        # gzip when the browser takes it (500 nodes: 500 KiB -> 18 KiB). The page holds no
        # secret (no token, no CSRF token), so compression leaks nothing BREACH-style.
        response.enable_compression()
        return response

    def _render(
        self, g: Gathered, filters: Filters, cluster: str | None, fragment: bool, logout: bool
    ) -> str:
        view = build_view(
            g.nodes,
            filters,
            fleet=g.fleet,
            cluster=cluster,
            here=g.nodes[0].name,
            master=g.master,
            master_ui=g.master_ui,
            generated=g.wall,
        )
        view["refresh"] = self.refresh
        return html.render_dashboard(view, fragment=fragment, logout=logout)

    async def _conf(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("node", "")
        g = await self.gathered()
        if name not in g.confs:
            page = html.render_message_page(
                "no such conf", f"No conf of a node named {name!r} was read in the last round."
            )
            return _html(page, 404)
        source, text = g.confs[name]
        return _html(html.render_conf_page(name, source, text, logout=self._logout_button(request)))

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in html.STATIC_FILES:
            raise web.HTTPNotFound()
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return web.Response(
            text=html.static_file(name),
            content_type=html.STATIC_FILES[name],
            charset="utf-8",
            headers=headers,
        )

    def _secure(self, request: web.Request) -> bool:
        return request.secure or self.server.settings.loopback_only

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        if self.server.token_bytes is None:
            raise web.HTTPSeeOther("./", headers=SECURITY_HEADERS)
        return _html(html.render_login(secure=self._secure(request)))

    async def _login(self, request: web.Request) -> web.StreamResponse:
        token = self.server.token_bytes
        if token is None:
            raise web.HTTPSeeOther("./", headers=SECURITY_HEADERS)
        if cross_site(request):
            return _html(html.render_login(error="refused: sent from another site"), 403)
        try:
            form = await request.post()
        except (ValueError, web.HTTPException):
            form = {}  # type: ignore[assignment]
        given = form.get("token")
        raw = given.strip().encode("utf-8", "surrogateescape") if isinstance(given, str) else b""
        if not hmac.compare_digest(raw, token):
            await asyncio.sleep(0.5)  # a guess costs half a second
            page = html.render_login(error="wrong token", secure=self._secure(request))
            return _html(page, 401)
        response = web.HTTPSeeOther("./", headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE,
            session_value(token),
            max_age=SESSION_SECONDS,
            path="/ui/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        if cross_site(request):
            return _html(html.render_message_page("refused", "sent from another site"), 403)
        response = web.HTTPSeeOther("login", headers=SECURITY_HEADERS)
        response.del_cookie(COOKIE, path="/ui/")
        raise response


def _master_link(
    doc: dict[str, Any] | None, runner: CycleRunner | None
) -> tuple[str | None, str | None]:
    """A slave's master (its label) and the master's page, from the last cycle."""
    label = (doc or {}).get("master")
    if not isinstance(label, str) or (doc or {}).get("role") == "master":
        return None, None
    url = label.rsplit(" ", 1)[-1]
    if url.startswith(("http://", "https://")):
        return label, url.rstrip("/") + "/ui/"
    return label, None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, AscadError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


def authorized(
    request: web.Request, token: bytes | None, bearer_ok: bool
) -> web.StreamResponse | None:
    """None when the request may go on to its handler; else the answer. The API's rules: no
    token configured (loopback only) lets everything through; the bearer token always works;
    under ``/ui/`` a valid session cookie works too, the login page and the assets need nothing,
    and a browser without either is sent to the login form (no data)."""
    if token is None or bearer_ok or request.path in PUBLIC:
        return None
    if request.path == "/ui" or request.path.startswith("/ui/"):
        if cookie_ok(request, token):
            return None
        if request.method in ("GET", "HEAD") and request.query.get("fragment") != "1":
            return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": "/ui/login"})
    return web.Response(
        status=401,
        body=UNAUTHORIZED,
        content_type="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="ascad"'},
    )
