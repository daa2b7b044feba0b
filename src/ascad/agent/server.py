"""The agent's HTTP server: this node's aerospike.conf and the last cycle's results, nothing else.

Endpoints (GET and HEAD only; aiohttp answers 405 to other methods on these paths):

- ``/v1/config``: the conf file's bytes exactly as written (``text/plain``), ``ETag`` the quoted
  sha256 of those bytes; ``If-None-Match`` with that tag (or ``*``) gets 304 and no body
  (RFC 9110 13.1.2: weak comparison, a list of tags allowed).
- ``/v1/config.json``: the parsed tree (stanzas and parameters with lines) and the flat settings
  with their canonical values and lines.
- ``/v1/status``: the last cycle's results (``ascad.agent.status/1``).
- ``/healthz``: ``ok``; never needs the token (load balancers and systemd probes).
- ``/metrics``: Prometheus text.

Why aiohttp and not the seed's Flask + waitress: the agent is asyncio end to end (info client,
peer fetches, Riemann), aiohttp is already a dependency for the HTTP client, and one event loop
serves the HTTP requests, runs the cycle and handles signals without threads. waitress serves
each request on a thread from a fixed pool (4 by default), so 1000 concurrent clients queue behind
four threads; aiohttp keeps each connection as a coroutine. The conf is served from memory (re-read
only when its size, mtime or inode changes), so a request costs one ``stat``. Figures: bench/agent.py.

Authentication: ``Authorization: Bearer TOKEN`` compared with :func:`hmac.compare_digest` (time
does not depend on how much of the token matched). It is checked before routing, so without the
token every path except ``/healthz`` answers 401 with a fixed body: an unauthenticated client
learns neither the paths nor the config. A server listening on loopback only may run without a
token (settings refuse a token-less server on any other address). No static file routes exist:
only the one conf file named in the settings is ever read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import ssl
import stat
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

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
SERVER_HEADER = "ascad"


class ConfCache:
    """The conf file's bytes and sha256, re-read when its stat signature changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sig: tuple[int, int, int] | None = None
        self.data = b""
        self.etag = ""
        self._parsed: dict[str, Any] | None = None

    def get(self) -> tuple[bytes, str]:
        """The bytes, read by the sources' one reader (size limit); a pipe or device is refused
        here, since waiting for a writer would stall the event loop that serves every request."""
        st = os.stat(self.path)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError("not a regular file; the agent serves a conf file", self.path)
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if sig != self._sig:
            data = read_conf_bytes(self.path)
            self.data = data
            self.etag = '"' + hashlib.sha256(data).hexdigest() + '"'
            self._sig = sig
            self._parsed = None
        return self.data, self.etag

    def parsed(self) -> dict[str, Any]:
        data, etag = self.get()
        if self._parsed is None:
            tree = parse_bytes(data, self.path)
            flat = flatten(tree)
            self._parsed = {
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
        return self._parsed


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


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or any listed tag equal to ours by weak comparison."""
    ours = etag.removeprefix("W/")
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False


def metrics_samples(status: dict[str, Any] | None, last_success: dict[str, float]) -> list[Sample]:
    """Prometheus samples from the last status document and each check's last success time."""
    samples: list[Sample] = []
    if status:
        for c in status.get("checks", []):
            samples.append(
                Sample("ascad_drift_differences", float(c["count"]), {"check": c["check"]})
            )
        for c in status.get("checks", []):
            samples.append(
                Sample("ascad_check_ok", 1.0 if c["state"] == "ok" else 0.0, {"check": c["check"]})
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
    return samples


class ConfigServer:
    """The HTTP server. ``status`` is a callable returning the latest status document (or None)
    and ``last_success`` the per-check last success times; both are read per request."""

    def __init__(
        self,
        settings: AgentSettings,
        status: Callable[[], dict[str, Any] | None],
        last_success: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        self.settings = settings
        self.status = status
        self.last_success = last_success or dict
        self.conf = ConfCache(settings.conf)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port: int | None = None
        token = settings.token
        self._token = token.encode() if token else None

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls_cert else "http"
        host = self.settings.listen
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{scheme}://{host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=1024)
        app.on_response_prepare.append(_server_header)
        app.router.add_get("/v1/config", self._config)
        app.router.add_get("/v1/config.json", self._config_json)
        app.router.add_get("/v1/status", self._status)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
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
        holds the real one)."""
        port = self.settings.port if port is None else port
        ctx = self.ssl_context()
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        host = self.settings.listen.strip("[]")
        self._site = web.TCPSite(self._runner, host, port, ssl_context=ctx, backlog=2048)
        try:
            await self._site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise AscadError(f"cannot listen: {exc.strerror or exc}", f"{host}:{port}") from None
        server = self._site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("serving on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- middleware and handlers --

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS and self._token is not None:
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self._token
            )
            if not ok:
                return web.Response(
                    status=401,
                    body=_UNAUTHORIZED,
                    content_type="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="ascad"'},
                )
        return await handler(request)

    async def _config(self, request: web.Request) -> web.StreamResponse:
        try:
            data, etag = self.conf.get()
        except OSError as exc:
            log.error("cannot read %s: %s", self.conf.path, exc.strerror)
            return _json({"error": "the conf file cannot be read"}, 503)
        except AscadError as exc:
            log.error("cannot serve the conf: %s", exc)
            return _json({"error": "the conf file cannot be read"}, 503)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match")
        if inm is not None and etag_matches(inm, etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=data, content_type="text/plain", charset="utf-8", headers=headers)

    async def _config_json(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = self.conf.parsed()
        except OSError as exc:
            log.error("cannot read %s: %s", self.conf.path, exc.strerror)
            return _json({"error": "the conf file cannot be read"}, 503)
        except AscadError as exc:
            return _json({"error": str(exc)}, 500)
        # The JSON is made from the conf bytes alone: the conf's tag validates it too.
        headers = {"ETag": self.conf.etag, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match")
        if inm is not None and etag_matches(inm, self.conf.etag):
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
        text = render_metrics(metrics_samples(self.status(), self.last_success()))
        return web.Response(body=text.encode(), headers={"Content-Type": METRICS_TYPE})


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    """``Server: ascad``: no Python or aiohttp version for a scanner to match against CVEs."""
    response.headers["Server"] = SERVER_HEADER


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=(json.dumps(doc, indent=2) + "\n").encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )
