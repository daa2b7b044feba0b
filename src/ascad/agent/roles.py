"""Who is the master: fixed by the settings, or agreed without a protocol of our own.

The rule for ``role = "auto"`` (docs/agent.md, "Roles"):

- The candidates are the cluster's nodes: the local node plus the peers the local node lists in
  ``peers-clear-std`` (``peers-tls-std`` when the agent reaches Aerospike over TLS), or a static
  list of agent URLs whose node ids are read from each agent's ``/v1/status``.
- They are ordered by Aerospike node id, read as a hexadecimal number (the server prints it as
  hex without leading zeros, so a text sort would be wrong).
- The master is the first candidate that is reachable: the local node when it comes first (then
  this agent compares with the golden), else the first peer whose agent answers ``/v1/config``.
  Every agent applies the same rule to the same peers list, so they agree while they see the same
  nodes; no vote, no lease.
- Each candidate skipped on the way is recorded with its reason, so the result and the Riemann
  event say "master X unreachable, compared with Y".
- An answer counts only when it is an ascad agent's (:func:`config_answer_text`): status 200,
  ``Server: ascad`` when a Server header is sent, ``text/plain`` (or the sources' JSON form) and a
  body that decodes and parses as a conf. Anything else (a login page answering 200, a proxy's
  error, another service on the port) is skipped with what it sent, and the next one is tried.

Failure modes (docs/agent.md): a node whose Aerospike is down drops out of its peers' lists, so
it cannot be chosen (and its own agent cannot list peers: its peer check is a warning). A node
whose Aerospike runs but whose agent is down is skipped by every slave, each saying so; the next
node in order then finds itself first among the reachable ones and takes over the golden check,
and its ``peer`` check is ``warning`` (it could not compare with any master ahead of it: with the
wrong scheme or token in the settings every node but the first would otherwise turn master in
silence, and the fleet would look green with no peer check run).
Two agents that see different reachability (a partition between agents only) may both act as
master for a cycle: the golden check then runs twice, which is harmless.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from ascad.conf.decode import decode_conf
from ascad.conf.parser import parse_text
from ascad.errors import AscadError
from ascad.sources.http import http_get
from ascad.sources.spec import decode_json_text

SERVER_NAME = "ascad"  # the agent's Server header (ascad.agent.server sends it)


class NotAnAgent(AscadError):
    """A candidate that answered, but not as an ascad agent: skipped like an unreachable one, and
    reported with what it sent instead."""


@dataclass
class Candidate:
    """One possible master. ``url`` is its agent's base URL (None for the local node)."""

    node_id: str | None
    url: str | None
    is_self: bool = False
    host: str | None = None

    @property
    def label(self) -> str:
        if self.is_self:
            return f"self ({self.node_id})" if self.node_id else "self"
        return f"{self.node_id} {self.url}" if self.node_id else str(self.url)


@dataclass
class Skipped:
    candidate: Candidate
    reason: str
    # How it failed: "unreachable", "is not an ascad agent" (it answered, but not as an agent:
    # NotAnAgent), "is this agent itself" (ThisAgent)
    what: str = "unreachable"

    @property
    def note(self) -> str:
        return f"{self.candidate.label} {self.what} ({self.reason})"


@dataclass
class Election:
    """The outcome of walking the candidates. ``master`` None: nobody could be reached."""

    master: Candidate | None
    skipped: list[Skipped] = field(default_factory=list)
    value: Any = None  # what the fetch returned for the chosen master (its config)

    @property
    def is_self(self) -> bool:
        return self.master is not None and self.master.is_self

    @property
    def fallback_note(self) -> str | None:
        """``None`` when the first choice answered; else which ones were skipped and why."""
        if not self.skipped:
            return None
        parts = [s.note for s in self.skipped]
        chosen = self.master.label if self.master else "nobody"
        return "; ".join(parts) + f"; compared with {chosen}"


def node_id_key(node_id: str | None) -> tuple[int, int, str]:
    """Sort key for node ids: hex value first; unknown ids last."""
    if not node_id:
        return (1, 0, "")
    try:
        return (0, int(node_id, 16), node_id)
    except ValueError:
        return (0, 1 << 128, node_id)


def order_candidates(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: node_id_key(c.node_id))


def peers_candidates(
    own_id: str | None,
    peers_value: str,
    url_template: str,
    urls: dict[str, str],
) -> list[Candidate]:
    """Candidates from the local node's id and its ``peers-*-std`` answer.

    A peer's agent URL is ``urls[node_id]`` when given, else ``url_template`` with ``{host}``
    (its first endpoint; IPv6 in brackets), ``{port}`` (its Aerospike port) and ``{node_id}``.
    """
    from ascad.runtime.address import parse_peers

    parsed = parse_peers(peers_value)
    out = [Candidate(own_id, None, is_self=True)]
    for peer in parsed.peers:
        if peer.node_id == own_id:
            continue
        host, port = peer.endpoints[0] if peer.endpoints else ("", 0)
        url = urls.get(peer.node_id)
        if url is None:
            if not host:
                url = None
            else:
                shown = f"[{host}]" if ":" in host else host
                url = url_template.format(host=shown, port=port, node_id=peer.node_id)
        out.append(Candidate(peer.node_id, url.rstrip("/") if url else None, host=host or None))
    return order_candidates(out)


async def static_candidates(
    own_id: str | None,
    agent_urls: list[str],
    status_of: Callable[[str], Awaitable[dict[str, Any]]],
) -> tuple[list[Candidate], list[Skipped]]:
    """Candidates from a static list of agent URLs; each one's node id from its ``/v1/status``.

    The local node is added (and its own URL, if listed, recognised by the node id). Agents that
    do not answer cannot be ordered; they come back as :class:`Skipped`.
    """
    urls = [u.rstrip("/") for u in agent_urls]
    answers = await asyncio.gather(*(status_of(u) for u in urls), return_exceptions=True)
    out = [Candidate(own_id, None, is_self=True)]
    skipped: list[Skipped] = []
    for url, answer in zip(urls, answers, strict=True):
        if isinstance(answer, BaseException):
            reason = str(answer) if isinstance(answer, AscadError) else repr(answer)
            skipped.append(Skipped(Candidate(None, url), reason))
            continue
        node_id = answer.get("node_id") if isinstance(answer, dict) else None
        if own_id and node_id == own_id:
            continue
        out.append(Candidate(node_id, url))
    return order_candidates(out), skipped


async def elect(
    candidates: list[Candidate],
    fetch: Callable[[Candidate], Awaitable[Any]],
    *,
    self_first_ok: bool = True,
) -> Election:
    """Walk the ordered candidates; the first one that is the local node or whose ``fetch``
    succeeds is the master. A local node whose id is unknown is never chosen.
    ``fetch`` raises :class:`AscadError` for an unreachable agent, :class:`NotAnAgent` for an
    answer that is not an ascad agent's (:func:`config_answer_text`): both are skipped."""
    skipped: list[Skipped] = []
    for cand in candidates:
        if cand.is_self:
            if cand.node_id and self_first_ok:
                return Election(cand, skipped)
            continue
        if not cand.url:
            skipped.append(Skipped(cand, "no agent URL for it"))
            continue
        try:
            value = await fetch(cand)
        except AscadError as exc:
            skipped.append(Skipped(cand, exc.message, _failure(exc)))
            continue
        return Election(cand, skipped, value)
    return Election(None, skipped)


# Each agent process names itself in its /v1/config answers with a random id (``Agent.instance``):
# a slave whose master URL leads back to itself (one pillar's master_url on every node, the master
# included) would otherwise compare its conf with itself and stay green forever.
INSTANCE_HEADER = "Ascad-Instance"


class ThisAgent(AscadError):
    """The candidate's answer comes from this very agent (its own ``Ascad-Instance``)."""


def check_not_self(headers: Mapping[str, str], instance: str | None, where: str) -> None:
    """:class:`ThisAgent` when the answer carries this agent's own instance id."""
    if instance and headers.get(INSTANCE_HEADER) == instance:
        raise ThisAgent(
            "its answer is this agent's own: set [peers] master_url to the master's agent, or"
            " role = master on the master",
            where,
        )


def _failure(exc: AscadError) -> str:
    if isinstance(exc, ThisAgent):
        return "is this agent itself"
    return "is not an ascad agent" if isinstance(exc, NotAnAgent) else "unreachable"


def check_server_header(headers: Mapping[str, str], where: str) -> None:
    """A ``Server`` header, when sent, must be the agent's: another one names what answered."""
    server = str(headers.get("Server", SERVER_NAME))
    if server.split("/", 1)[0].strip().lower() != SERVER_NAME:
        shown = "".join(c if c.isprintable() else "?" for c in server)[:80]
        raise NotAnAgent(
            f"the answer comes from '{shown}' (Server header), not an ascad agent: the wrong"
            " port, or a proxy that does not pass the agent's Server header through",
            where,
        )


def config_answer_text(status: int, headers: Mapping[str, str], body: bytes, where: str) -> str:
    """The conf text of a candidate's ``/v1/config`` answer, once it is known to be an ascad
    agent's. A non-200 status is :class:`AscadError` (unreachable, as before); a 200 that is not
    ``text/plain`` (or the sources' JSON form ``{"text": …}``), a foreign ``Server`` header, or a
    body that does not decode and parse as a conf is :class:`NotAnAgent` with the reason."""
    if status != 200:
        hint = " (the token was refused)" if status == 401 else ""
        raise AscadError(f"HTTP {status}{hint}", where)
    media = str(headers.get("Content-Type", "")).split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):  # said first: the usual case
        raise NotAnAgent(
            "an HTML page, not a conf (a login page, a proxy or the wrong URL?)", where
        )
    check_server_header(headers, where)
    try:
        if media == "text/plain":
            text = decode_conf(body, where)
        elif media == "application/json":
            try:
                doc = json.loads(decode_json_text(body, where))
                inner = doc["text"]
                if not isinstance(inner, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise NotAnAgent("a JSON answer without a 'text' string", where) from None
            text = decode_conf(inner.encode("utf-8", "surrogatepass"), where)
        else:
            raise NotAnAgent(
                f"Content-Type '{media or 'none'}', not a conf (an agent sends text/plain)", where
            )
        parse_text(text, where)
    except NotAnAgent:
        raise
    except AscadError as exc:
        raise NotAnAgent(f"the answer is not a conf: {exc.message}", exc.where) from None
    return text


async def fetch_status(
    session: aiohttp.ClientSession, url: str, token: str | None, timeout: float
) -> dict[str, Any]:
    """``GET {url}/v1/status`` from a peer agent; AscadError naming the URL on any failure."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    where = f"{url}/v1/status"
    status, body, answer_headers = await http_get(URL(where), headers, where, timeout, session)
    if status != 200:
        raise AscadError(f"HTTP {status}", where)
    check_server_header(answer_headers, where)
    try:
        doc = json.loads(body)
    except ValueError:
        raise AscadError("status is not JSON", where) from None
    if not isinstance(doc, dict):
        raise AscadError("status is not a JSON object", where)
    return doc
