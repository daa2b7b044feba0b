"""Read a config over HTTP: a peer ascad agent, or GitLab's raw-file API.

- Peer agent: ``GET {base}/v1/config`` with ``Authorization: Bearer TOKEN``. The body is the
  node's conf text (``text/plain``); a JSON body ``{"text": "..."}`` is accepted too. The ``ETag``
  header, when sent, becomes :attr:`FetchedText.version`.
- GitLab: ``GET {api}/projects/{project}/repository/files/{path}/raw?ref=REF`` with the token in
  the ``PRIVATE-TOKEN`` header (GitLab's documented header for personal, project and group access
  tokens). Project and file path are URL-encoded with ``/`` as ``%2F``, as GitLab requires, and the
  URL is sent exactly as built (no re-quoting). GitLab answers 404 both for a missing file and for
  a project the token may not see, so the message says both.

Every request has a total timeout; bodies over 4 MiB are refused. Tokens never appear in errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Mapping

import aiohttp
from yarl import URL

from ascad.conf.decode import MAX_CONF_BYTES, decode_conf
from ascad.errors import SourceError
from ascad.sources.spec import (
    FetchedText,
    Kind,
    SourceSpec,
    decode_json_text,
    gitlab_raw_url,
)

AGENT_TOKEN_ENV = "ASCAD_TOKEN"
GITLAB_TOKEN_ENV = "GITLAB_TOKEN"
AGENT_CONFIG_PATH = "/v1/config"


def token_from_env(kind: Kind) -> str | None:
    """The token for a kind from the environment (``ASCAD_TOKEN`` or ``GITLAB_TOKEN``), if set."""
    name = GITLAB_TOKEN_ENV if kind is Kind.GITLAB else AGENT_TOKEN_ENV
    value = os.environ.get(name, "").strip()
    return value or None


async def read_body(resp: aiohttp.ClientResponse, limit: int, where: str) -> bytes:
    """The whole body, refused past ``limit`` bytes.

    ``resp.content.read(n)`` is not this: it returns as soon as *some* bytes are buffered (one
    TCP segment), so a conf served in several segments would be silently cut short.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise SourceError(f"answer larger than {limit // (1024 * 1024)} MB: refused", where)
        chunks.append(chunk)
    return b"".join(chunks)


MAX_REDIRECTS = 5


def _same_site(old: URL, new: URL) -> bool:
    """A redirect may keep the token only on the same host and port, or the same host moving
    from http to https (never https to http: the token would then travel in clear)."""
    if old.host != new.host:
        return False
    if old.scheme == new.scheme:
        return old.port == new.port
    return old.scheme == "http" and new.scheme == "https"


async def http_get(
    url: URL,
    headers: dict[str, str],
    where: str,
    timeout: float,
    session: aiohttp.ClientSession | None,
) -> tuple[int, bytes, Mapping[str, str]]:
    """GET with one total deadline: (status, body, headers); SourceError naming ``where``.

    Redirects are followed by hand, and only within the same site: aiohttp drops
    ``Authorization`` on a cross-host redirect but would send GitLab's ``PRIVATE-TOKEN`` header to
    any host a redirect names. A non-200 answer comes back with at most 2 KiB of its body. Shared
    by the sources and the agent's peer reads (``session``: the caller's pool, left open)."""
    own = session is None
    sess = session or aiohttp.ClientSession()
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                async with sess.get(url, headers=headers, allow_redirects=False) as resp:
                    if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                        target = url.join(URL(resp.headers["Location"]))
                        if not _same_site(url, target):
                            raise SourceError(
                                f"HTTP {resp.status}: redirected to {target.scheme}://"
                                f"{target.host}:{target.port}; not followed with the token "
                                "(name that host in the source if it is the right one)",
                                where,
                            )
                        url = target
                        continue
                    if resp.status != 200:
                        body = await resp.content.read(2048)
                        return resp.status, body, resp.headers
                    data = await read_body(resp, MAX_CONF_BYTES, where)
                    return resp.status, data, resp.headers
            raise SourceError(f"more than {MAX_REDIRECTS} redirects", where)
    except TimeoutError:  # asyncio.TimeoutError is TimeoutError since 3.11
        raise SourceError(f"no complete answer within {timeout:g} s", where) from None
    except aiohttp.ClientSSLError as exc:
        raise SourceError(f"TLS failed: {exc}", where) from None
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror if exc.os_error and exc.os_error.strerror else str(exc)
        raise SourceError(f"cannot connect: {reason}", where) from None
    except aiohttp.ServerDisconnectedError:
        # An Aerospike node reads "GET / HT" as a message header of a wrong version and hangs up.
        host = f"[{url.host}]" if url.host and ":" in url.host else url.host
        raise SourceError(
            "the server closed the connection without an HTTP answer: is this an Aerospike "
            f"service port? (read a node with aerospike://{host}:{url.port})",
            where,
        ) from None
    except aiohttp.ClientError as exc:
        raise SourceError(f"HTTP request failed: {exc.__class__.__name__}: {exc}", where) from None
    except OSError as exc:
        raise SourceError(f"cannot connect: {exc.strerror or exc}", where) from None
    finally:
        if own:
            await sess.close()


def _refuse_html(headers: Mapping[str, str], where: str) -> None:
    """An HTML page is never a conf: it is a login page, a proxy's error or a web UI."""
    content_type = str(headers.get("Content-Type", "")).lower()
    if content_type.startswith(("text/html", "application/xhtml")):
        raise SourceError(
            "the answer is an HTML page, not a conf (a login page, a proxy or the wrong URL?)",
            where,
        )


def _status_error(
    status: int, body: bytes, where: str, token_hint: str, not_found: str
) -> SourceError:
    text = body.decode("utf-8", "replace")
    if "<" in text:  # an HTML error page: keep its words, not its markup
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", text, flags=re.S | re.I)
    detail = " ".join(text.split())[:200]  # one line, whatever the server sent
    if status in (401, 403):
        msg = f"HTTP {status}: the token was refused or is missing ({token_hint})"
    elif status == 404:
        msg = f"HTTP 404: {not_found}"
    else:
        msg = f"HTTP {status}"
    if detail:
        msg += f": {detail}"
    return SourceError(msg, where)


async def fetch_agent(
    spec: SourceSpec,
    *,
    timeout: float = 10.0,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
) -> FetchedText:
    """``GET {base}/v1/config`` from a peer agent with a bearer token."""
    assert spec.kind is Kind.AGENT and spec.url
    token = token or token_from_env(Kind.AGENT)
    headers = {"Accept": "text/plain, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = URL(spec.url + AGENT_CONFIG_PATH)
    status, body, resp_headers = await http_get(url, headers, spec.display, timeout, session)
    if status != 200:
        raise _status_error(
            status,
            body,
            spec.display,
            f"--token-file or {AGENT_TOKEN_ENV}",
            "no config served here (is it an ascad agent?)",
        )
    _refuse_html(resp_headers, spec.display)
    content_type = str(resp_headers.get("Content-Type", ""))
    if content_type.startswith("application/json"):
        try:
            doc = json.loads(decode_json_text(body, spec.display))
            text = doc["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise SourceError("JSON answer without a 'text' string", spec.display) from None
        # The conf inside the JSON is held to the same rules as conf bytes from anywhere.
        text = decode_conf(text.encode("utf-8", "surrogatepass"), spec.display)
    else:
        text = decode_conf(body, spec.display)
    etag = resp_headers.get("ETag")
    return FetchedText(text, spec.display, str(etag).strip('"') if etag else None)


async def fetch_gitlab(
    spec: SourceSpec,
    *,
    timeout: float = 10.0,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
) -> FetchedText:
    """Read one file through GitLab's raw-file API with a ``PRIVATE-TOKEN`` header."""
    assert spec.kind is Kind.GITLAB
    token = token or token_from_env(Kind.GITLAB)
    headers = {"Accept": "*/*"}
    if token:
        headers["PRIVATE-TOKEN"] = token
    url = URL(gitlab_raw_url(spec), encoded=True)
    status, body, resp_headers = await http_get(url, headers, spec.raw, timeout, session)
    if status != 200:
        raise _status_error(
            status,
            body,
            spec.raw,
            f"--token-file or {GITLAB_TOKEN_ENV}",
            f"no file '{spec.path}' at ref '{spec.ref or 'HEAD'}' in project '{spec.project}'"
            " (or the token may not read that project)",
        )
    _refuse_html(resp_headers, spec.raw)
    text = decode_conf(body, spec.raw)
    version = resp_headers.get("X-Gitlab-Commit-Id") or resp_headers.get("ETag")
    return FetchedText(text, spec.display, str(version).strip('"') if version else None)


__all__ = ["fetch_agent", "fetch_gitlab", "http_get", "read_body", "token_from_env"]
