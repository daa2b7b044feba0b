"""The agent's HTTP server: this node's aerospike.conf and the last cycle's results, nothing else.

Endpoints (GET and HEAD only; aiohttp answers 405 to other methods on these paths):

- ``/v1/config``: the conf file's bytes exactly as written (``text/plain``), ``ETag`` the quoted
  sha256 of those bytes; ``If-None-Match`` with that tag (or ``*``) gets 304 and no body
  (RFC 9110 13.1.2: weak comparison, a list of tags allowed). ``Ascad-Instance``: this agent
  process's random id, so a slave whose master URL leads back to itself knows (roles.check_not_self).
- ``/v1/config.json``: the parsed tree (stanzas and parameters with lines) and the flat settings
  with their canonical values and lines.
- ``/v1/status``: the last cycle's results (``ascad.agent.status/1``).
- ``/healthz``: ``ok``; never needs the token (load balancers and systemd probes).
- ``/metrics``: Prometheus text.
- ``/ui/``: the cluster's page for a browser (:mod:`ascad.agent.ui`, docs/dashboard.md), with its
  login form, its two assets and the conf pages its line links go to.

Why aiohttp and not the seed's Flask + waitress: the agent is asyncio end to end (info client,
peer fetches, Riemann), aiohttp is already a dependency for the HTTP client, and one event loop
serves the HTTP requests, runs the cycle and handles signals without threads. waitress serves
each request on a thread from a fixed pool (4 by default), so 1000 concurrent clients queue behind
four threads; aiohttp keeps each connection as a coroutine. The conf is read for every request (a
few KiB, in a worker thread, one read shared by the requests that arrive while it runs) and its
ETag is the sha256 of the bytes read: no stat signature to fool, so an edit that keeps the size and
the mtime (``cp -p``, a restored backup) is served at once. Figures: bench/agent.py.

Authentication: ``Authorization: Bearer TOKEN`` compared with :func:`hmac.compare_digest` (time
does not depend on how much of the token matched). It is checked before routing, so without the
token every path except ``/healthz`` answers 401 with a fixed body: an unauthenticated client
learns neither the paths nor the config. A server listening on loopback only may run without a
token (settings refuse a token-less server on any other address). Under ``/ui/`` a session
cookie from the login form counts as the token (:mod:`ascad.agent.ui`), and the login form and
the page's two assets (shipped in the package, no data) need none. No static file routes exist:
only the one conf file named in the settings is ever read.

Clients that never authenticate are bounded by :mod:`ascad.agent.listener`: TLS handshake, request
and keep-alive timeouts, a connection cap from the open-files limit, a fixed 401 for a request the
parser refuses, counted log lines and no token in any (figures: bench/hostile.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import ssl
import stat
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import HttpVersion10, HttpVersion11
from aiohttp.http_writer import _serialize_headers

from ascad.agent import listener as limits
from ascad.agent import ui
from ascad.agent.roles import INSTANCE_HEADER
from ascad.agent.settings import AgentSettings
from ascad.conf.flatten import flatten
from ascad.conf.model import Param, Stanza, display
from ascad.conf.parser import parse_bytes
from ascad.errors import AscadError, SourceError
from ascad.report.metrics import CONTENT_TYPE as METRICS_TYPE
from ascad.report.metrics import Sample, render_metrics
from ascad.report.status import STATUS_SCHEMA
from ascad.sources.local import read_conf_bytes

log = logging.getLogger("ascad.agent.http")

PUBLIC_PATHS = frozenset({"/healthz"})
_UNAUTHORIZED = b"401 unauthorized\n"
# ``Server: ascad``: no Python or aiohttp version for a scanner to match against CVEs.
SERVER_HEADER = "ascad"
# The methods of the /v1/config route (add_get adds HEAD).
_CONFIG_METHODS = frozenset({"GET", "HEAD"})


#: What a read of the conf gave: its bytes and tag, or why it failed.
_Outcome = tuple[bytes, str] | BaseException


class ConfCache:
    """The conf file's bytes and their sha256, read again for every request.

    The tag is the content's hash, never a stat signature: an in-place edit of the same size with
    the mtime put back (``cp -p``, ``touch -r``, a restored backup) keeps inode, size and mtime,
    and a cache keyed on them would serve the old bytes while the agent's own check reads the new
    ones. A conf is kilobytes: reading it costs less than one answer.

    :meth:`fetch` reads in a worker thread (a slow disk never stalls the event loop) and shares a
    read between requests, but only one that *started after* a request arrived: requests that come
    while a read runs wait for the next one, so none is answered with bytes read before it came:
    an edit finished before a request is in its answer. :meth:`get` is the same read, blocking.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = b""
        self.etag = ""
        self._parsed: dict[str, Any] | None = None
        self._parsed_etag = ""
        self._started = 0  # reads started by fetch()
        # The read in flight: its loop and the requests it answers (each its own future, so one
        # cancelled leaves the others theirs); the requests that came while it runs wait in
        # _next for the read that follows it.
        self._inflight: tuple[asyncio.AbstractEventLoop, list[asyncio.Future[_Outcome]]] | None
        self._inflight = None
        self._next: list[asyncio.Future[_Outcome]] = []

    def _read(self) -> tuple[bytes, str]:
        """The bytes, read by the sources' one reader (size limit), and their quoted sha256. A
        pipe or device is refused: waiting for a writer would hold up every request."""
        st = os.stat(self.path)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError("not a regular file; the agent serves a conf file", self.path)
        data = read_conf_bytes(self.path)
        return data, '"' + hashlib.sha256(data).hexdigest() + '"'

    def _keep(self, data: bytes, etag: str) -> tuple[bytes, str]:
        self.data, self.etag = data, etag
        return data, etag

    def get(self) -> tuple[bytes, str]:
        """The bytes and ETag now (blocking; tools and tests)."""
        return self._keep(*self._read())

    async def fetch(self) -> tuple[bytes, str]:
        """The bytes and ETag, read after this call began (OSError or AscadError as ``get``).

        Each request waits on a future of its own; when a read ends, every request it answers is
        woken at once (a lock would wake them one after the other, a loop iteration each)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Outcome] = loop.create_future()
        inflight = self._inflight
        if inflight is not None and inflight[0] is loop:
            self._next.append(waiter)  # that read began before this request came: the next one
        else:
            self._begin(loop, [waiter])
        outcome = await waiter
        if isinstance(outcome, BaseException):
            raise outcome
        return self._keep(*outcome)

    def _begin(
        self, loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future[_Outcome]]
    ) -> None:
        self._started += 1
        self._inflight = (loop, waiters)
        self._next = []
        read = loop.run_in_executor(None, self._read)
        read.add_done_callback(lambda done: self._finished(loop, waiters, done))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        waiters: list[asyncio.Future[_Outcome]],
        read: asyncio.Future[tuple[bytes, str]],
    ) -> None:
        """A read ended: its requests get its outcome, and the ones that came meanwhile a new
        read (none starts for requests all gone)."""
        if read.cancelled():  # the executor shut down under it
            for w in waiters:
                w.cancel()
        else:
            exc = read.exception()
            outcome: _Outcome = read.result() if exc is None else exc
            for w in waiters:
                if not w.done():
                    w.set_result(outcome)
        if self._inflight is not None and self._inflight[1] is waiters:
            self._inflight = None
            waiting = [w for w in self._next if not w.done()]
            if waiting:
                self._begin(loop, waiting)
            else:
                self._next = []

    async def fetch_parsed(self) -> tuple[dict[str, Any], str]:
        """The ``/v1/config.json`` document and the conf's ETag (the JSON is made from the conf
        bytes alone, so their tag validates it too); parsed again only when the bytes change."""
        data, etag = await self.fetch()
        if self._parsed is None or self._parsed_etag != etag:
            doc = await asyncio.to_thread(self._document, data, etag)
            self._parsed, self._parsed_etag = doc, etag
        return self._parsed, etag

    def parsed(self) -> dict[str, Any]:
        """The ``/v1/config.json`` document of the file as it is now (blocking)."""
        data, etag = self.get()
        if self._parsed is None or self._parsed_etag != etag:
            self._parsed, self._parsed_etag = self._document(data, etag), etag
        return self._parsed

    def _document(self, data: bytes, etag: str) -> dict[str, Any]:
        tree = parse_bytes(data, self.path)
        flat = flatten(tree)
        return {
            "source": self.path,
            "sha256": etag.strip('"'),
            "tree": [_node(c) for c in tree.root.children],
            "settings": [
                {
                    "path": display(s.path),
                    "value": display(s.value),
                    "canonical": display(s.canonical),
                    "line": s.line,
                    "stanza": s.stanza,
                }
                for s in flat.settings.values()
            ],
            "warnings": [
                {"line": w.line, "col": w.col, "message": w.message} for w in tree.warnings
            ],
        }


def _node(n: Stanza | Param) -> dict[str, Any]:
    if isinstance(n, Param):
        return {"key": n.key, "values": list(n.values), "line": n.line}
    return {
        "stanza": n.kind,
        "name": n.name,
        "line": n.line,
        "end_line": n.end_line,
        "children": [_node(c) for c in n.children],
    }


def _not_modified(request: web.BaseRequest, etag: str) -> bool:
    """``GET /v1/config`` answers 304: an ``If-None-Match`` that matches ``etag``."""
    inm = request.headers.get("If-None-Match")
    return inm is not None and etag_matches(inm, etag)


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or any listed tag equal to ours by weak comparison."""
    ours = etag.removeprefix("W/")
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False


def metrics_samples(
    status: dict[str, Any] | None,
    last_success: dict[str, float],
    counters: dict[str, Any] | None = None,
    interval: float | None = None,
) -> list[Sample]:
    """Prometheus samples from the last status document, each check's last success time, the
    agent's counters (cycles, Riemann deliveries, failed checks) and its interval (docs/agent.md,
    docs/observability.md).

    What is not known is absent, never 0: a check that could not run has no
    ``ascad_drift_differences`` (its ``ascad_check_state{state="warning"}`` says why), and a check
    this node no longer runs (a master turned slave stops the golden check) has no series at all.
    A counter's value may be a mapping ``check -> count`` (one series per check)."""
    import platform

    from ascad import __version__

    samples: list[Sample] = [
        Sample(
            "ascad_build_info",
            1.0,
            {"version": __version__, "python": platform.python_version()},
        )
    ]
    if status:
        for c in status.get("checks", []):
            if c.get("state") not in ("ok", "critical"):
                continue  # could not run: the number of differences is unknown
            samples.append(
                Sample("ascad_drift_differences", float(c["count"]), {"check": c["check"]})
            )
        samples.extend(
            Sample(
                "ascad_check_state",
                1.0 if c["state"] == state else 0.0,
                {"check": c["check"], "state": state},
                help="1 for the state of the check's last run.",
            )
            for c in status.get("checks", [])
            for state in ("ok", "critical", "warning")
        )
    for check, when in sorted(last_success.items()):
        samples.append(Sample("ascad_last_success_timestamp_seconds", when, {"check": check}))
    if status:
        samples.append(Sample("ascad_cycle_duration_seconds", float(status["duration"])))
        if isinstance(status.get("started"), int | float):
            ended = float(status["started"]) + float(status["duration"])
            samples.append(Sample("ascad_cycle_timestamp_seconds", ended))
        where = {"cluster": str(status.get("cluster") or ""), "node": str(status.get("node"))}
        fingerprints = status.get("fingerprints") or {}
        samples.extend(
            Sample("ascad_config_info", 1.0, {**where, "source": source, "fingerprint": str(fp)})
            for source, fp in sorted(fingerprints.items())
        )
        if status.get("role"):
            samples.append(
                Sample(
                    "ascad_role_info",
                    1.0,
                    {
                        **where,
                        "role": str(status["role"]),
                        # a slave's master (its agent's URL); empty on the master itself
                        "master": str(status.get("master") or "")
                        if status["role"] == "slave"
                        else "",
                    },
                )
            )
    if interval is not None:
        samples.append(Sample("ascad_interval_seconds", float(interval)))
    for name, value in sorted((counters or {}).items()):
        if isinstance(value, dict):
            samples.extend(
                Sample(name, float(v), {"check": str(k)}, type="counter")
                for k, v in sorted(value.items())
            )
        else:
            samples.append(Sample(name, float(value), type="counter"))
    return samples


def _internal_error(request: web.BaseRequest) -> web.HTTPInternalServerError:
    """The 500 for a bug met while handling ``request``, logged with its traceback (call it in
    the ``except`` block); the answer names no software but ``Server: ascad``."""
    log.exception("error handling %s %s", request.method, request.path)
    return web.HTTPInternalServerError(headers={"Server": SERVER_HEADER})


class ConfigServer:
    """The HTTP server. ``status`` is a callable returning the latest status document (or None)
    and ``last_success`` the per-check last success times; both are read per request."""

    def __init__(
        self,
        settings: AgentSettings,
        status: Callable[[], dict[str, Any] | None],
        last_success: Callable[[], dict[str, float]] | None = None,
        counters: Callable[[], dict[str, Any]] | None = None,
        runner: Callable[[], Any] | None = None,
        instance: str | None = None,
    ) -> None:
        self.settings = settings
        # Sent as Ascad-Instance with /v1/config (roles.check_not_self); the agent gives its own.
        self.instance = instance or secrets.token_hex(8)
        self.status = status
        self.last_success = last_success or dict
        self.counters = counters or dict
        self.conf = ConfCache(settings.conf)
        self._runner: web.AppRunner | None = None
        self._app_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] | None = None
        self.listener: limits.Listener | None = None
        self.port: int | None = None
        token = settings.token
        self._token = token.encode() if token else None
        self.ui = ui.Dashboard(self, runner)

    @property
    def token_bytes(self) -> bytes | None:
        return self._token

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls_cert else "http"
        host = self.settings.listen
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{scheme}://{host}:{self.port}"

    def app(self) -> web.Application:
        # One middleware for what every request needs (busy marking, the token, the Server
        # header): each middleware layer and the on_response_prepare signal cost a share of
        # every request (bench/agent.py).
        app = web.Application(middlewares=[self._front], client_max_size=1024)
        app.router.add_get("/v1/config", self._config)
        app.router.add_get("/v1/config.json", self._config_json)
        app.router.add_get("/v1/status", self._status)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self.ui.add_routes(app)
        return app

    def ssl_context(self) -> ssl.SSLContext | None:
        s = self.settings
        if not s.tls_cert:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(s.tls_cert, s.tls_key)
            if s.tls_client_ca:
                ctx.load_verify_locations(cafile=s.tls_client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as exc:
            raise AscadError(f"cannot load the server's TLS files: {exc}", s.tls_cert) from None
        return ctx

    async def start(self, port: int | None = None) -> None:
        """Listen on ``port`` (default: the settings'; 0 picks a free port; :attr:`port` then
        holds the real one), within the limits of :mod:`ascad.agent.listener`: TLS handshake,
        request and keep-alive timeouts, a connection cap from the open-files limit."""
        port = self.settings.port if port is None else port
        ctx = self.ssl_context()
        limits.install_redaction(self.settings.token)
        nofile = limits.nofile_limit()
        cap, backlog = limits.budget(nofile, tls=ctx is not None)
        self._runner = web.AppRunner(
            self.app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=limits.SHUTDOWN_TIMEOUT,
        )
        await self._runner.setup()
        assert self._runner.server is not None
        self._app_handler = self._runner.server.request_handler
        self._runner.server.request_handler = self._dispatch
        refusal: limits.Refusal = (
            (401, _UNAUTHORIZED, {"WWW-Authenticate": 'Bearer realm="ascad"'})
            if self._token is not None
            else limits.BAD_REQUEST
        )
        listener = limits.Listener(
            self._runner.server,
            ctx,
            cap=cap,
            backlog=backlog,
            refusal=refusal,
            server_header=SERVER_HEADER,
        )
        host = self.settings.listen.strip("[]")
        try:
            self.port = await listener.start(host, port)
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise AscadError(f"cannot listen: {exc.strerror or exc}", f"{host}:{port}") from None
        self.listener = listener
        log.info(
            "at most %d connections (open files limit %d), accept backlog %d; timeouts:"
            " TLS handshake %g s, request and keep-alive %g s",
            cap,
            nofile,
            backlog,
            limits.HANDSHAKE_TIMEOUT,
            limits.KEEPALIVE_TIMEOUT,
        )
        log.info("serving on %s", self.url)

    async def stop(self) -> None:
        """Stop accepting, let requests in progress finish (at most
        :data:`~ascad.agent.listener.SHUTDOWN_TIMEOUT`), close every connection left."""
        await self.ui.close()
        if self.listener is not None:
            self.listener.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.listener is not None:
            self.listener.abort()
            self.listener = None
            await asyncio.sleep(0)  # their connection_lost callbacks run

    # -- middleware and handlers --

    def _dispatch(self, request: web.BaseRequest) -> Awaitable[web.StreamResponse]:
        """The server's request handler: ``GET /v1/config`` the short way (:meth:`_short`),
        everything else through the application (router, middleware). A plain function giving
        aiohttp the coroutine to await: no coroutine of its own per request.

        ``/v1/config`` is the one path under load (every agent of a fleet and the collectors
        poll it), and the router and the middleware chain were about a tenth of its CPU
        (bench/agent.py). Only a request the router would send to :meth:`_config` takes the short
        way: the exact path (no query, no escapes), GET or HEAD (the route's methods), no
        ``Expect`` (the application answers it)."""
        if (
            request.raw_path == "/v1/config"
            and request.method in _CONFIG_METHODS
            and hdrs.EXPECT not in request.headers
        ):
            return self._short(cast(web.Request, request))
        assert self._app_handler is not None
        return self._app_handler(request)

    async def _short(self, request: web.Request) -> web.StreamResponse:
        """:meth:`_front` and :meth:`_config` in one coroutine for the short way: the same token
        check, busy marking, ``Server`` header and error handling, the same answer as a
        :class:`_Whole` (tests/unit/agent/test_server.py compares the two ways byte for byte)."""
        slot = limits.mark_busy(request)
        try:
            response = None
            if self._token is not None and not self._bearer_ok(request):
                response = ui.authorized(request, self._token, False)  # the 401
            if response is None:
                try:
                    data, etag = await self.conf.fetch()
                except (OSError, AscadError) as exc:
                    response = self._unreadable(exc)
                else:
                    headers = {
                        "ETag": etag,
                        "Cache-Control": "no-cache",
                        INSTANCE_HEADER: self.instance,
                    }
                    if _not_modified(request, etag):
                        response = _Whole(304, headers, b"")
                    else:
                        headers["Content-Type"] = "text/plain; charset=utf-8"
                        response = _Whole(200, headers, data)
        except Exception:  # a bug: logged here, answered 500 without the software's name
            raise _internal_error(request) from None
        finally:
            if slot is not None:
                limits.mark_idle(slot)
        response.headers["Server"] = SERVER_HEADER
        return response

    @web.middleware
    async def _front(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """The token, then the handler, with the connection marked busy meanwhile; ``Server:
        ascad`` on every answer, the router's 404 and 405 and a failure's 500 too. One function
        (no nested middleware, no partial): it runs for every request."""
        slot = limits.mark_busy(request)
        try:
            refused = self._refusal(request)
            response = await handler(request) if refused is None else refused
        except web.HTTPException as exc:  # 404, 405: raised by the router through here
            exc.headers["Server"] = SERVER_HEADER
            raise
        except Exception:  # a bug: logged here, answered 500 without the software's name
            raise _internal_error(request) from None
        finally:
            if slot is not None:
                limits.mark_idle(slot)
        response.headers["Server"] = SERVER_HEADER
        return response

    def _refusal(self, request: web.Request) -> web.StreamResponse | None:
        """None when the request may reach its handler, else the answer (401, or the dashboard's
        login redirect): the bearer token compared in constant time."""
        if self._token is None or request.path in PUBLIC_PATHS:
            return None
        return ui.authorized(request, self._token, self._bearer_ok(request))

    def _bearer_ok(self, request: web.BaseRequest) -> bool:
        """The request's ``Authorization: Bearer`` is the token (compared in constant time)."""
        assert self._token is not None
        # aiohttp decodes header bytes as UTF-8 with surrogateescape: encoding back the same
        # way gives the bytes as sent, whatever they are (non-UTF-8 is then just a mismatch).
        header = request.headers.get("Authorization", "")
        try:
            raw = header.encode("utf-8", "surrogateescape")
        except UnicodeError:
            raw = b""
        scheme, _, given = raw.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token)

    async def _config(self, request: web.Request) -> web.StreamResponse:
        try:
            data, etag = await self.conf.fetch()
        except (OSError, AscadError) as exc:
            return self._unreadable(exc)
        headers = {"ETag": etag, "Cache-Control": "no-cache", INSTANCE_HEADER: self.instance}
        if _not_modified(request, etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=data, content_type="text/plain", charset="utf-8", headers=headers)

    def _unreadable(self, exc: OSError | AscadError) -> web.Response:
        """The 503 of a conf that cannot be read, logged."""
        if isinstance(exc, OSError):
            log.error("cannot read %s: %s", self.conf.path, exc.strerror)
        else:
            log.error("cannot serve the conf: %s", exc)
        return _json({"error": "the conf file cannot be read"}, 503)

    async def _config_json(self, request: web.Request) -> web.StreamResponse:
        try:
            doc, etag = await self.conf.fetch_parsed()
        except OSError as exc:
            log.error("cannot read %s: %s", self.conf.path, exc.strerror)
            return _json({"error": "the conf file cannot be read"}, 503)
        except AscadError as exc:
            return _json({"error": str(exc)}, 500)
        # The JSON is made from the conf bytes alone: the conf's tag validates it too.
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match")
        if inm is not None and etag_matches(inm, etag):
            return web.Response(status=304, headers=headers)
        return _json(doc, headers=headers)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        doc = self.status()
        if doc is None:
            return _json({"schema": STATUS_SCHEMA, "pending": True}, 503)
        return _json(doc)

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok\n")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        text = render_metrics(
            metrics_samples(
                self.status(), self.last_success(), self.counters(), self.settings.interval
            )
        )
        return web.Response(body=text.encode(), headers={"Content-Type": METRICS_TYPE})


class _Whole(web.StreamResponse):
    """An answer whose headers and body are known when it is made (the short way's 200 and
    304): prepared and sent with what aiohttp's ``Response`` does for such an answer and no
    more: the ``Content-Length`` (none on a 304), ``Date``, and ``Connection`` as the request's
    keep-alive asks; the body left out for HEAD and 304; head and body in one write.

    ``Response`` reaches the same bytes through six coroutines, the writer's buffering of the
    head, and the checks for cookies, compression, chunking and the application's prepare
    signal, none of which this answer has (instructions per request under callgrind, 200
    connections x 100 GETs: 250,870 with it, 230,181 without, 214,303 with the head serialised
    here). The headers stay a ``CIMultiDict``
    serialised by aiohttp's own serialiser (aiohttp is pinned: ``_serialize_headers`` is not
    public), so a header set after this object is made (``Server``, by
    :meth:`ConfigServer._short`) is sent, and refused as aiohttp refuses it if it holds a
    control character."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(status=status, headers=headers)
        self._whole = body
        self._head = b""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        if self._payload_writer is not None:
            return self._payload_writer
        keep_alive = request.keep_alive if self._keep_alive is None else self._keep_alive
        self._keep_alive = keep_alive
        empty = self.status == 304 or request.method == hdrs.METH_HEAD
        self._must_be_empty_body = empty
        headers = self._headers
        # as Response: a HEAD gets the length of the GET's body (none when it is empty)
        if self.status != 304 and (self._whole or request.method != hdrs.METH_HEAD):
            headers[hdrs.CONTENT_LENGTH] = str(len(self._whole))
        headers[hdrs.DATE] = rfc822_formatted_time()
        version = request.version
        if hdrs.CONNECTION not in headers:
            if keep_alive:
                if version == HttpVersion10:
                    headers[hdrs.CONNECTION] = "keep-alive"
            elif version == HttpVersion11:
                headers[hdrs.CONNECTION] = "close"
        writer = self._payload_writer = request.writer
        self._req = request
        # aiohttp's own serialiser (it refuses control characters), the bytes kept for
        # write_eof: the writer's buffering of the head for the body is skipped, not redone
        self._head = _serialize_headers(
            f"HTTP/{version[0]}.{version[1]} {self.status} {self.reason}", headers
        )
        return writer

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        writer = self._payload_writer
        assert writer is not None and not data, "prepare() first; the body is given at creation"
        body = b"" if self._must_be_empty_body else self._whole
        await writer.write_eof(self._head + body)
        self._eof_sent = True
        self._req = None
        self._body_length = writer.output_size
        self._payload_writer = None


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=(json.dumps(doc, indent=2) + "\n").encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )
