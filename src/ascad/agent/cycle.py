"""One agent cycle: the checks, their typed results, and the Riemann events made from them.

Checks (docs/agent.md):

- ``runtime`` on every node: the node's aerospike.conf against its own running config. Per-node
  paths are *not* skipped here: a node's own addresses must match what it runs.
- ``golden`` on the master: its aerospike.conf against the golden source (git, GitLab, file),
  skipping the expected per-node differences (``[compare]``, :mod:`ascad.compare.expected`).
- ``peer`` on each slave: its aerospike.conf against the master's, fetched from the master's
  agent (``GET /v1/config`` with the bearer token; the last ETag is sent as If-None-Match and a
  304 reuses the text already held), skipping the expected per-node differences.

A check that cannot run is ``warning`` with the reason; it never stops the other checks (each
runs in its own guard) nor the loop. ``ok`` means no difference, ``critical`` at least one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from ascad.agent import roles
from ascad.agent.settings import AgentSettings
from ascad.compare.annotate import settle_defaults, with_restart_flags
from ascad.compare.diff import CompareResult, Difference, compare
from ascad.errors import AscadError
from ascad.report import terminal
from ascad.report.jsonout import difference_to_dict
from ascad.sources.http import http_get
from ascad.sources.loader import LoadedConf, LoadOptions, conf_from_text, load_conf
from ascad.sources.spec import decode_text

log = logging.getLogger("ascad.agent")

OK, WARNING, CRITICAL = "ok", "warning", "critical"
STATUS_SCHEMA = "ascad.agent.status/1"
CHECKS = ("runtime", "golden", "peer")
#: Byte budget of one event attribute (cluster, master, role, fallback). With the description's
#: 4096 bytes, three events of at most 4096 + 4 x 512 bytes and their tags fit in one 16 KiB
#: UDP datagram.
ATTRIBUTE_BUDGET = 512
#: Age after which a leftover ``.status.*.tmp`` (a writer killed mid-write) is removed.
STALE_TEMP_SECONDS = 60.0


@dataclass
class CheckResult:
    """The outcome of one check. ``master`` names what a peer/golden check compared with;
    ``fallback`` says which masters were skipped and why."""

    check: str
    state: str
    differences: list[Difference] = field(default_factory=list)
    reason: str | None = None
    duration: float = 0.0
    master: str | None = None
    fallback: str | None = None
    left: str = ""
    right: str = ""
    ignored: int = 0
    finished: float = 0.0
    result: CompareResult | None = None

    @property
    def ran(self) -> bool:
        return self.state != WARNING

    def lines(self) -> list[str]:
        """One line per difference: path, values, and the lines they come from."""
        return [terminal.difference_line(d, self.left, self.right) for d in self.differences]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "state": self.state,
            "differences": [difference_to_dict(d) for d in self.differences],
            "count": len(self.differences),
            "reason": self.reason,
            "duration": round(self.duration, 6),
            "master": self.master,
            "fallback": self.fallback,
            "left": self.left,
            "right": self.right,
            "ignored": self.ignored,
            "finished": self.finished,
        }


@dataclass
class CycleResult:
    """Every check of one cycle. ``role`` is what this node acted as (``master``, ``slave`` or
    ``unknown`` when no master could be settled)."""

    node: str
    node_id: str | None
    role: str
    configured_role: str
    cluster: str
    master: str | None
    started: float
    duration: float
    checks: list[CheckResult]
    fallback: str | None = None

    @property
    def exit_code(self) -> int:
        """0 all ok, 1 drift found, 2 a check could not run (2 wins over 1)."""
        if any(c.state == WARNING for c in self.checks):
            return 2
        if any(c.state == CRITICAL for c in self.checks):
            return 1
        return 0

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": STATUS_SCHEMA,
            "node": self.node,
            "node_id": self.node_id,
            "role": self.role,
            "configured_role": self.configured_role,
            "cluster": self.cluster,
            "master": self.master,
            "fallback": self.fallback,
            "started": self.started,
            "duration": round(self.duration, 6),
            "exit_code": self.exit_code,
            "checks": [c.to_dict() for c in self.checks],
        }


# --- HTTP: peers' configs -------------------------------------------------------------------------


@dataclass
class _Cached:
    etag: str
    text: str


class PeerClient:
    """Fetches peers' configs over one connection pool, remembering each URL's last ETag."""

    def __init__(self, token: str | None, timeout: float, ca_file: str = "") -> None:
        self.token = token
        self.timeout = timeout
        self.ca_file = ca_file
        self._cache: dict[str, _Cached] = {}
        self._session: aiohttp.ClientSession | None = None
        self.not_modified = 0  # 304 answers seen (for tests and logs)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_ctx: ssl.SSLContext | bool = True
            if self.ca_file:
                ssl_ctx = ssl.create_default_context(cafile=self.ca_file)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_ctx, limit=16)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def fetch_config(self, base_url: str) -> tuple[str, str]:
        """(display name, text) of ``{base_url}/v1/config``; AscadError naming the URL.

        Through :func:`ascad.sources.http.http_get`, the sources' reader: one deadline, bodies
        over 50 MB refused, and redirects followed only on the same host and port, so the bearer
        token goes to the configured agent and nowhere else."""
        url = f"{base_url.rstrip('/')}/v1/config"
        headers = self._headers()
        cached = self._cache.get(url)
        if cached:
            headers["If-None-Match"] = cached.etag
        status, body, resp_headers = await http_get(
            URL(url), headers, url, self.timeout, self.session()
        )
        if status == 304 and cached:
            self.not_modified += 1
            return url, cached.text
        if status != 200:
            hint = " (the token was refused)" if status == 401 else ""
            raise AscadError(f"HTTP {status}{hint}", url)
        text = decode_text(body, url)
        etag = resp_headers.get("ETag")
        if etag:
            self._cache[url] = _Cached(etag, text)
        return url, text

    async def status(self, base_url: str) -> dict[str, Any]:
        return await roles.fetch_status(self.session(), base_url, self.token, self.timeout)


# --- the cycle ------------------------------------------------------------------------------------


@dataclass
class LocalNode:
    """What the local Aerospike node says about itself; ``error`` when it could not be read."""

    node_id: str | None = None
    cluster_name: str | None = None
    peers: str | None = None
    error: str | None = None
    build: str | None = None


class CycleRunner:
    """Runs cycles for one settings object; keeps the peer connection pool and ETags between
    cycles. Use :meth:`run` then :meth:`close`."""

    def __init__(self, settings: AgentSettings, *, cluster: str = "") -> None:
        self.settings = settings
        self.peers = PeerClient(settings.token, settings.peers_timeout, settings.peers_ca)
        # The cluster name the node gave last; events keep it while the node is down.
        self.last_cluster = cluster
        # The local node's server build (this cycle's), for defaults and restart flags.
        self.build: str | None = None

    async def close(self) -> None:
        await self.peers.close()

    # -- helpers --

    def node_options(self) -> dict[str, Any]:
        s = self.settings
        return {
            "user": s.aerospike_user or None,
            "password": s.aerospike_password,
            "tls_ca": s.aerospike_tls_ca or None,
            "tls_cert": s.aerospike_tls_cert or None,
            "tls_key": s.aerospike_tls_key or None,
            "timeout": s.aerospike_timeout,
        }

    def compare_settings(self) -> Any:
        from ascad.compare.expected import parse_settings

        return parse_settings({"compare": self.settings.compare}, self.settings.source)

    async def local_node(self) -> LocalNode:
        """The local node's id, cluster name and peers list, in one info request (the client
        the runtime check uses too: same address, login and TLS files)."""
        from ascad.compare.drift import node_client

        s = self.settings
        try:
            client = node_client(s.aerospike_address, self.node_options())
            peers_cmd = "peers-tls-std" if client.tls else "peers-clear-std"
            async with client:
                reply = await client.request("node", "cluster-name", peers_cmd, "build")
        except AscadError as exc:
            return LocalNode(error=str(exc))
        except (OSError, ValueError) as exc:
            return LocalNode(error=f"{s.aerospike_address}: {exc}")
        node_id = reply.get("node")
        if not node_id:
            return LocalNode(error=f"{s.aerospike_address}: the node did not answer 'node'")
        return LocalNode(
            node_id,
            reply.get("cluster-name") or None,
            reply.get(peers_cmd),
            build=reply.get("build") or None,
        )

    async def load_own(self) -> LoadedConf:
        return await load_conf(
            self.settings.conf, LoadOptions(timeout=self.settings.golden_timeout)
        )

    # -- checks --

    async def check_runtime(self) -> CheckResult:
        from ascad.compare.drift import runtime_diff

        s = self.settings
        patterns = self.compare_settings().own_patterns()
        outcome = await runtime_diff(
            s.conf,
            s.aerospike_address,
            LoadOptions(timeout=s.aerospike_timeout),
            self.node_options(),
            patterns,
        )
        return _from_compare("runtime", outcome.result)

    async def check_golden(self, own: LoadedConf) -> CheckResult:
        s = self.settings
        from ascad.sources import fetch_text, parse_source

        # Through the sources layer directly: it knows every source form (DIR#PATH@REF too).
        fetched = await fetch_text(
            parse_source(s.golden_source), timeout=s.golden_timeout, token=s.golden_token
        )
        golden = conf_from_text(fetched.name, fetched.text)
        result = compare(own.flat, golden.flat, self.compare_settings().peer_patterns())
        result = settle_defaults(result, own.flat, golden.flat, self.build)
        out = _from_compare("golden", result)
        out.master = golden.name
        return out

    def check_peer(self, own: LoadedConf, master: roles.Election) -> CheckResult:
        name, text = master.value
        theirs = conf_from_text(name, text)
        result = compare(own.flat, theirs.flat, self.compare_settings().peer_patterns())
        result = settle_defaults(result, own.flat, theirs.flat, self.build)
        out = _from_compare("peer", result)
        out.master = master.master.label if master.master else None
        out.fallback = master.fallback_note
        return out

    async def candidates(
        self, local: LocalNode
    ) -> tuple[list[roles.Candidate], list[roles.Skipped]]:
        s = self.settings
        if s.role == "slave":
            return [roles.Candidate(None, u.rstrip("/")) for u in s.master_urls], []
        if s.discovery == "static":
            return await roles.static_candidates(local.node_id, s.static, self.peers.status)
        if local.error or local.peers is None:
            raise AscadError(f"cannot list the cluster's nodes: {local.error or 'no peers answer'}")
        return roles.peers_candidates(local.node_id, local.peers, s.url_template, s.urls), []

    async def run(self) -> CycleResult:
        """One cycle; never raises for a failing check."""
        s = self.settings
        started_wall, t0 = time.time(), time.monotonic()
        own_task = asyncio.ensure_future(_guard(self.load_own()))
        runtime_task = asyncio.ensure_future(_timed("runtime", self.check_runtime))
        role_checks: list[CheckResult] = []
        try:
            local = await self.local_node()
            self.build = local.build
            own, own_error = await own_task
            t1 = time.monotonic()
            try:
                role, master_label, fallback = await self._role_checks(
                    local, own, own_error, role_checks
                )
            except Exception as exc:  # a bug must not cost the runtime check or stop the loop
                role, master_label, fallback = "unknown", None, None
                name = "golden" if s.role == "master" else "peer"
                role_checks[:] = [_warning(name, _unexpected(exc), time.monotonic() - t1)]
            runtime = await runtime_task
        except BaseException:  # cancelled (SIGTERM): leave no task running behind
            for task in (own_task, runtime_task):
                task.cancel()
            raise
        for c in role_checks:
            # Golden and peer findings say whether applying them needs a restart of this node.
            c.differences = with_restart_flags(c.differences, local.build)
            if c.result is not None:
                c.result.differences = c.differences
        checks = [runtime, *role_checks]
        if fallback:
            log.warning("master fallback: %s", fallback)
        if local.cluster_name:
            self.last_cluster = local.cluster_name
        return CycleResult(
            node=s.node_name,
            node_id=local.node_id,
            role=role,
            configured_role=s.role,
            cluster=s.cluster or local.cluster_name or self.last_cluster,
            master=master_label,
            started=started_wall,
            duration=time.monotonic() - t0,
            checks=checks,
            fallback=fallback,
        )

    async def _role_checks(
        self,
        local: LocalNode,
        own: LoadedConf | None,
        own_error: str | None,
        role_checks: list[CheckResult],
    ) -> tuple[str, str | None, str | None]:
        """The golden or peer check, appended to ``role_checks``; (role, master, fallback)."""
        s = self.settings
        role, master_label, fallback = "unknown", None, None
        if s.role == "master":
            role = "master"
            role_checks.append(await self._golden(own, own_error))
        else:
            t1 = time.monotonic()
            try:
                cands, pre_skipped = await self.candidates(local)
                election = await roles.elect(
                    cands,
                    lambda c: self.peers.fetch_config(c.url or ""),
                    self_first_ok=s.role == "auto",
                )
                election.skipped[:0] = pre_skipped
            except AscadError as exc:
                role_checks.append(_warning("peer", str(exc), time.monotonic() - t1))
            else:
                fallback = election.fallback_note
                if election.master is None:
                    role_checks.append(
                        _warning(
                            "peer",
                            "no master reachable: " + (fallback or "no candidates"),
                            time.monotonic() - t1,
                        )
                    )
                elif election.is_self:
                    role = "master"
                    master_label = election.master.label
                    gold = await self._golden(own, own_error)
                    gold.fallback = fallback
                    role_checks.append(gold)
                else:
                    role = "slave"
                    master_label = election.master.label
                    if own is None:
                        role_checks.append(_warning("peer", str(own_error), time.monotonic() - t1))
                    else:
                        role_checks.append(
                            _run_sync("peer", lambda: self.check_peer(own, election), t1)
                        )
                    role_checks[-1].master = master_label
                    role_checks[-1].fallback = fallback
        return role, master_label, fallback

    async def _golden(self, own: LoadedConf | None, own_error: str | None) -> CheckResult:
        t = time.monotonic()
        if not self.settings.golden_source:
            return _warning("golden", "no golden source configured ([golden] source)", 0.0)
        if own is None:
            return _warning("golden", str(own_error), time.monotonic() - t)
        return await _timed("golden", lambda: self.check_golden(own))


def _from_compare(check: str, result: CompareResult) -> CheckResult:
    return CheckResult(
        check=check,
        state=CRITICAL if result.differences else OK,
        differences=list(result.differences),
        left=result.left,
        right=result.right,
        ignored=len(result.ignored),
        result=result,
    )


def _warning(check: str, reason: str, duration: float) -> CheckResult:
    return CheckResult(check, WARNING, reason=reason, duration=duration, finished=time.time())


async def _guard(coro: Any) -> tuple[Any, str | None]:
    try:
        return await coro, None
    except AscadError as exc:
        return None, str(exc)


def _unexpected(exc: BaseException) -> str:
    log.exception("unexpected error in a check")
    return f"internal error: {exc.__class__.__name__}: {exc}"


async def _timed(check: str, fn: Any) -> CheckResult:
    t = time.monotonic()
    try:
        out: CheckResult = await fn()
    except AscadError as exc:
        return _warning(check, str(exc), time.monotonic() - t)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return _warning(check, _unexpected(exc), time.monotonic() - t)
    out.duration = time.monotonic() - t
    out.finished = time.time()
    return out


def _run_sync(check: str, fn: Any, t: float) -> CheckResult:
    try:
        out: CheckResult = fn()
    except AscadError as exc:
        return _warning(check, str(exc), time.monotonic() - t)
    except Exception as exc:
        return _warning(check, _unexpected(exc), time.monotonic() - t)
    out.duration = time.monotonic() - t
    out.finished = time.time()
    return out


# --- events ---------------------------------------------------------------------------------------


def build_events(cycle: CycleResult, settings: AgentSettings) -> list[Any]:
    """One Riemann event per check (docs/riemann.md): service ``ascad <check>``, metric = the
    number of differences, ttl = ttl_factor × interval, attributes cluster/master/role and, when a
    master was skipped, ``fallback``."""
    from ascad.report.riemann import build_event, describe_differences

    events = []
    for c in cycle.checks:
        if c.state == WARNING:
            lines = [f"could not run: {c.reason}"]
        else:
            lines = c.lines() or [f"no differences ({c.left} vs {c.right})"]
        if c.fallback:  # cut, so that a long list of skipped masters leaves room for the findings
            lines.insert(0, describe_differences([f"master fallback: {c.fallback}"], 1024))
        attributes = {
            "cluster": cycle.cluster or "",
            "master": c.master or cycle.master or "",
            "role": cycle.role,
        }
        if c.fallback:
            attributes["fallback"] = c.fallback
        events.append(
            build_event(
                host=settings.node_name,
                check=c.check,
                state=c.state,
                metric=len(c.differences),
                description=describe_differences(lines),
                ttl=settings.riemann_ttl_factor * settings.interval,
                tags=list(settings.tags),
                # A fallback note grows with the number of skipped masters: each attribute is
                # cut like a description line, so the event stays under the UDP limit.
                attributes={
                    k: describe_differences([v], ATTRIBUTE_BUDGET)
                    for k, v in attributes.items()
                    if v
                },
                time=int(c.finished or cycle.started),
            )
        )
    return events


# --- state ----------------------------------------------------------------------------------------


def save_status(state_dir: str, doc: dict[str, Any]) -> str:
    """Write ``status.json`` atomically: a temporary file in the same directory, fsync, rename.
    A crash leaves the old file or the new one, never half of one."""
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, "status.json")
    fd, tmp = tempfile.mkstemp(prefix=".status.", suffix=".tmp", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(state_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


def load_status(state_dir: str) -> dict[str, Any] | None:
    """The last persisted status, or None when there is none or it cannot be read.

    Temporary files left by a process killed while writing (``kill -9`` between the write and
    the rename) are removed once they are a minute old (a write takes milliseconds, and ``ascad
    check`` may read while the agent writes): the rename never happened, so they hold nothing
    the state needs.
    """
    with contextlib.suppress(OSError):
        for name in os.listdir(state_dir):
            if name.startswith(".status.") and name.endswith(".tmp"):
                tmp = os.path.join(state_dir, name)
                with contextlib.suppress(OSError):
                    if time.time() - os.stat(tmp).st_mtime > STALE_TEMP_SECONDS:
                        os.unlink(tmp)
    try:
        with open(os.path.join(state_dir, "status.json"), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == STATUS_SCHEMA else None
