"""One agent cycle: the local conf and node read once, and the checks run through the pipeline
(results: ascad.checks.results; their JSON and Riemann forms: ascad.report).

Checks (docs/agent.md):

- ``runtime`` on every node: the node's aerospike.conf against its own running config. Per-node
  paths are *not* skipped here: a node's own addresses must match what it runs.
- ``golden`` on the master: its aerospike.conf against the golden source (git, GitLab, file),
  skipping the expected per-node differences (``[compare]``, :mod:`ascad.compare.expected`).
- ``peer`` on each slave: its aerospike.conf against the master's, fetched from the master's
  agent (``GET /v1/config`` with the bearer token; the last ETag is sent as If-None-Match and a
  304 reuses the text already held), skipping the expected per-node differences.
- With ``role = "auto"``, a node that elects itself after skipping every master candidate ahead of
  it (unreachable, or not an ascad agent) runs the golden check *and* reports its ``peer`` check
  as ``warning``: a slave whose masters are all unreachable says so, it never turns master in
  silence.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ascad.agent import roles
from ascad.agent.settings import AgentSettings
from ascad.checks.fingerprint import conf_fingerprint, running_fingerprint
from ascad.checks.pipeline import Rules, conf_vs_conf, conf_vs_node
from ascad.checks.provenance import STATISTICS, LogPlan, provenance_of
from ascad.checks.results import CRITICAL, OK, WARNING, CheckResult, CycleResult
from ascad.compare.diff import CompareResult
from ascad.compare.expected import CompareSettings, parse_settings
from ascad.errors import AscadError, printable, shorten
from ascad.report.status import STATUS_SCHEMA
from ascad.runtime.login import NodeLogin, read_node, resolve
from ascad.runtime.snapshot import RuntimeSnapshot
from ascad.sources.http import http_get
from ascad.sources.loader import (
    LoadedConf,
    LoadOptions,
    conf_from_text,
    load_conf,
    load_conf_then,
)
from ascad.sources.salt import SaltOptions

log = logging.getLogger("ascad.agent")
T = TypeVar("T")

#: Age after which a leftover ``.status.*.tmp`` (a writer killed mid-write) is removed.
STALE_TEMP_SECONDS = 60.0


# --- HTTP: peers' configs -------------------------------------------------------------------------


@dataclass
class _Cached:
    etag: str
    text: str


class PeerClient:
    """Fetches peers' configs over one connection pool, remembering each URL's last ETag.

    Over https it verifies the peer with ``ca_file`` (else the system's CAs) and, when
    ``cert_file`` and ``key_file`` are given (``[peers] tls_cert``, ``tls_key``), presents that
    client certificate: a master whose ``[server] tls_client_ca`` requires one."""

    def __init__(
        self,
        token: str | None,
        timeout: float,
        ca_file: str = "",
        cert_file: str = "",
        key_file: str = "",
        instance: str | None = None,
    ) -> None:
        self.token = token
        self.instance = instance  # this agent's own Ascad-Instance: an answer with it is itself
        self.timeout = timeout
        self.ca_file = ca_file
        self.cert_file = cert_file
        self.key_file = key_file
        self._cache: dict[str, _Cached] = {}
        self._session: aiohttp.ClientSession | None = None
        self.not_modified = 0  # 304 answers seen (for tests and logs)

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The https context (``True``: aiohttp's default verification); AscadError naming the
        file when the CA or the client certificate cannot be loaded."""
        if not self.ca_file and not self.cert_file:
            return True
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file or None)
            if self.cert_file:
                ctx.load_cert_chain(self.cert_file, self.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            where = self.cert_file or self.ca_file
            raise AscadError(f"cannot load the peers' TLS files: {exc}", where) from None
        return ctx

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.ssl_context(), limit=16)
            )
        return self._session

    def _tls_hint(self, url: str, exc: AscadError) -> AscadError:
        """An https peer that hangs up during or right after the handshake: with mutual TLS that
        is the peer refusing this agent's client certificate, or wanting one. The reader's own
        words ("closed the connection without an HTTP answer: is this an Aerospike service
        port?") would send the operator the wrong way, so say which setting is at stake."""
        low = exc.message.lower()
        hung_up = "closed the connection without an http answer" in low
        alert = "alert" in low and "certificate" in low
        if not url.lower().startswith("https://") or not (hung_up or alert):
            return exc
        if self.cert_file:
            why = (
                f"the peer refused this agent's client certificate {self.cert_file} (is it "
                "signed by the CA of the peer's [server] tls_client_ca?)"
            )
        else:
            why = (
                "the peer requires a client certificate (its [server] tls_client_ca): set"
                " [peers] tls_cert and tls_key"
            )
        said = "it closed the TLS connection without an answer" if hung_up else exc.message
        return AscadError(f"{why}; {said}", exc.where)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def fetch_config(self, base_url: str) -> tuple[str, str]:
        """(display name, text) of ``{base_url}/v1/config``; AscadError naming the URL.

        Through :func:`ascad.sources.http.http_get`, the sources' reader: one deadline, bodies
        over 4 MiB refused, and redirects followed only on the same host and port, so the bearer
        token goes to the configured agent and nowhere else. The answer must be an ascad agent's
        (:func:`ascad.agent.roles.config_answer_text`), else :class:`~ascad.agent.roles.NotAnAgent`
        and the election tries the next candidate."""
        url = f"{base_url.rstrip('/')}/v1/config"
        headers = self._headers()
        cached = self._cache.get(url)
        if cached:
            headers["If-None-Match"] = cached.etag
        try:
            status, body, resp_headers = await http_get(
                URL(url), headers, url, self.timeout, self.session()
            )
        except AscadError as exc:
            raise self._tls_hint(url, exc) from None
        roles.check_not_self(resp_headers, self.instance, url)
        if status == 304 and cached:
            roles.check_server_header(resp_headers, url)
            self.not_modified += 1
            return url, cached.text
        # Only an ascad agent's answer counts: a login page answering 200 is skipped (NotAnAgent).
        text = roles.config_answer_text(status, resp_headers, body, url)
        etag = resp_headers.get("ETag")
        if etag:
            self._cache[url] = _Cached(etag, text)
        return url, text

    async def status(self, base_url: str) -> dict[str, Any]:
        try:
            return await roles.fetch_status(self.session(), base_url, self.token, self.timeout)
        except AscadError as exc:
            raise self._tls_hint(base_url, exc) from None


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

    def __init__(
        self, settings: AgentSettings, *, cluster: str = "", instance: str | None = None
    ) -> None:
        self.settings = settings
        self.peers = PeerClient(
            settings.token,
            settings.peers_timeout,
            settings.peers_ca,
            settings.peers_tls_cert,
            settings.peers_tls_key,
            instance,
        )
        # The cluster name the node gave last; events keep it while the node is down.
        self.last_cluster = cluster
        # The local node's server build (this cycle's), for defaults and restart flags.
        self.build: str | None = None
        # The cluster's nodes as the last cycle listed them (the /ui/ page shows them all).
        self.known: list[roles.Candidate] = []

    async def close(self) -> None:
        await self.peers.close()

    # -- helpers --

    def login(self) -> NodeLogin:
        s = self.settings
        return NodeLogin(
            user=s.aerospike_user or None,
            password=s.aerospike_password,
            tls_ca=s.aerospike_tls_ca or None,
            tls_cert=s.aerospike_tls_cert or None,
            tls_key=s.aerospike_tls_key or None,
            timeout=s.aerospike_timeout,
            auth=s.aerospike_auth,
            tls_name=s.aerospike_tls_name or None,
            tls_capath=s.aerospike_tls_capath or None,
            tls_enable=s.aerospike_tls_enable,
        )

    def compare_settings(self) -> CompareSettings:
        return parse_settings({"compare": self.settings.compare}, self.settings.source)

    async def read_local(self) -> tuple[LocalNode, RuntimeSnapshot | None]:
        """The local node, read once for the whole cycle: its running configuration (for the
        runtime check) and, in the same first request, its peers list (for the roles)."""
        s = self.settings
        login = self.login()
        try:
            address = resolve(s.aerospike_address, login)
            peers_cmd = "peers-tls-std" if address.tls else "peers-clear-std"
            snap = await read_node(address, login, extra=(peers_cmd, STATISTICS))
        except AscadError as exc:
            return LocalNode(error=str(exc)), None
        except (OSError, ValueError) as exc:
            return LocalNode(error=f"{s.aerospike_address}: {exc}"), None
        if not snap.node_id:
            error = f"{s.aerospike_address}: the node did not answer 'node'"
            return LocalNode(error=error, build=snap.build), snap
        local = LocalNode(
            snap.node_id, snap.cluster_name, snap.extra.get(peers_cmd), build=snap.build
        )
        return local, snap

    async def load_own(self) -> LoadedConf:
        return await load_conf(
            self.settings.conf,
            LoadOptions(timeout=self.settings.golden_timeout, regular_only=True),
        )

    # -- checks --

    def check_runtime(self, own: LoadedConf, snap: RuntimeSnapshot) -> CheckResult:
        """This node's conf against its own running config (per-node paths compared too)."""
        rules = Rules(ignore=tuple(self.compare_settings().own_patterns()))
        outcome = conf_vs_node(own, snap, rules, node_name=self.settings.aerospike_address)
        # provenance and origin: the agent runs on the node, so the conf's file sinks are its log
        conf_file = self.settings.conf if os.path.isfile(self.settings.conf) else None
        logs = tuple(self.settings.server_log) or tuple(outcome.conf_logs)
        outcome = provenance_of(outcome, snap, LogPlan(logs, conf_file))
        out = _from_compare("runtime", outcome.result)
        out.version_warnings = outcome.version_warnings
        out.provenance_note = outcome.provenance_note
        return out

    async def check_golden(self, own: LoadedConf) -> CheckResult:
        s = self.settings
        # Through the loader, like the node's own conf: one reader for every source.
        # The comparison runs in the loader's worker-thread trip, right after the parse.
        rules = self.peer_rules()
        golden, outcome = await load_conf_then(
            s.golden_source,
            lambda golden: (golden, conf_vs_conf(own, golden, rules)),
            LoadOptions(
                token=s.golden_token,
                timeout=s.golden_timeout,
                regular_only=True,
                salt=salt_options(s),
            ),
        )
        out = _from_compare("golden", outcome.result)
        out.version_warnings = outcome.version_warnings
        out.master = golden.name
        return out

    def check_peer(self, own: LoadedConf, master: roles.Election) -> CheckResult:
        name, text = master.value
        theirs = conf_from_text(name, text)
        outcome = conf_vs_conf(own, theirs, self.peer_rules())
        out = _from_compare("peer", outcome.result)
        out.version_warnings = outcome.version_warnings
        out.master = master.master.label if master.master else None
        out.fallback = master.fallback_note
        return out

    def peer_rules(self) -> Rules:
        """Golden and peer checks: the expected per-node paths skipped; defaults and restart
        flags by this node's build."""
        return Rules(ignore=tuple(self.compare_settings().peer_patterns()), build=self.build)

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
        own_task = asyncio.ensure_future(_guard(self.load_own))
        role_checks: list[CheckResult] = []
        try:
            local, snap = await self.read_local()
            self.build = local.build
            own, own_error = await own_task
            runtime, fingerprints = await self._runtime(own, own_error, snap, local, t0)
            t1 = time.monotonic()
            try:
                role, master_label, fallback = await self._role_checks(
                    local, own, own_error, role_checks
                )
            except Exception as exc:  # a bug must not cost the runtime check or stop the loop
                role, master_label, fallback = "unknown", None, None
                name = "golden" if s.role == "master" else "peer"
                role_checks[:] = [_warning(name, _unexpected(exc), time.monotonic() - t1)]
        except BaseException:  # cancelled (SIGTERM): leave no task running behind
            own_task.cancel()
            raise
        checks = [runtime, *role_checks]
        if local.cluster_name:
            self.last_cluster = local.cluster_name
        self.acknowledge(checks, local, s.cluster or local.cluster_name or self.last_cluster)
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
            fingerprints=fingerprints,
        )

    def acknowledge(self, checks: list[CheckResult], local: LocalNode, cluster: str) -> None:
        """Mark the differences a baseline acknowledges (``[compare] baseline``); an acknowledged
        difference does not make its check critical. A baseline that cannot be read is logged
        and ignored: every difference then counts (never green by mistake)."""
        from ascad.checks.baseline import acknowledge, load_baseline, unmatched

        path = self.compare_settings().baseline
        if not path:
            return
        try:
            baseline = load_baseline(path)
        except AscadError as exc:
            log.error("baseline ignored: %s", exc)
            return
        used: set[int] = set()
        ids = [self.settings.node_name, local.node_id or ""]
        for c in checks:
            if not c.ran:
                continue
            c.differences = acknowledge(
                c.differences, baseline, identities=ids, group=cluster or None, used=used
            )
            if c.result is not None:
                c.result.differences = list(c.differences)
            c.state = CRITICAL if any(d.acknowledged is None for d in c.differences) else OK
        missing = unmatched(baseline, used, ids, cluster or None)
        for c in checks:
            c.baseline_unmatched = missing
        for entry in missing:
            log.warning("baseline entry matches no difference: %s", entry)

    def _fingerprints(self, own: LoadedConf | None, snap: RuntimeSnapshot | None) -> dict[str, str]:
        """The conf's and the running config's fingerprints (per-node paths left out, as in the
        peer check); a side that could not be read has none."""
        try:
            patterns = self.compare_settings().peer_patterns()
            out: dict[str, str] = {}
            if own is not None:
                out["conf"] = conf_fingerprint(own.flat, patterns)
            if snap is not None:
                out["runtime"] = running_fingerprint(snap, patterns)
            return out
        except Exception as exc:  # the checks still report; the metric is left out
            _unexpected(exc)
            return {}

    async def _runtime(
        self,
        own: LoadedConf | None,
        own_error: str | None,
        snap: RuntimeSnapshot | None,
        local: LocalNode,
        t0: float,
    ) -> tuple[CheckResult, dict[str, str]]:
        """The runtime check, timed from the cycle's start (it includes reading the node), and
        the fingerprints: CPU work, in one trip to a worker thread (each trip costs CPU)."""
        if own is None:
            failed = _warning("runtime", str(own_error), time.monotonic() - t0)
        elif snap is None:
            failed = _warning("runtime", str(local.error), time.monotonic() - t0)
        else:
            failed = None

        def work() -> tuple[CheckResult, dict[str, str]]:
            if failed is not None:
                return failed, self._fingerprints(own, snap)
            assert own is not None and snap is not None
            out = _checked("runtime", lambda: self.check_runtime(own, snap), t0)
            return out, self._fingerprints(own, snap)

        try:
            return await asyncio.to_thread(work)
        except Exception as exc:
            return _warning("runtime", _unexpected(exc), time.monotonic() - t0), {}

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
            if s.discovery == "aerospike" and local.peers is not None:  # for the /ui/ page
                with contextlib.suppress(AscadError):
                    self.known = roles.peers_candidates(
                        local.node_id, local.peers, s.url_template, s.urls
                    )
            role_checks.append(await self._golden(own, own_error))
        else:
            t1 = time.monotonic()
            try:
                cands, pre_skipped = await self.candidates(local)
                self.known = list(cands) + [k.candidate for k in pre_skipped]
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
                    if election.skipped:
                        # Masters ahead of this node were skipped: it takes the golden check
                        # over, and says it could not compare with them (never a quiet master:
                        # a fleet whose agents cannot reach each other is not green).
                        role_checks.append(
                            _warning(
                                "peer",
                                f"no master reachable: {_skipped_notes(election)}; this node"
                                f" ({election.master.node_id}) is the first reachable candidate"
                                " and ran the golden check in their place",
                                time.monotonic() - t1,
                            )
                        )
                        role_checks[-1].master = master_label
                        role_checks[-1].fallback = fallback
                else:
                    role = "slave"
                    master_label = election.master.label
                    if own is None:
                        role_checks.append(_warning("peer", str(own_error), time.monotonic() - t1))
                    else:
                        role_checks.append(
                            await _in_thread("peer", lambda: self.check_peer(own, election), t1)
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


def salt_options(s: AgentSettings) -> SaltOptions:
    """How a ``salt://`` golden is rendered: ``[golden] salt_*``, within ``[golden] timeout``."""
    return SaltOptions(
        salt_call=s.golden_salt_call or "salt-call",
        config_dir=s.golden_salt_config_dir or None,
        file_root=s.golden_salt_file_root or None,
        pillar_root=s.golden_salt_pillar_root or None,
        timeout=s.golden_timeout,
    )


def _skipped_notes(election: roles.Election) -> str:
    return "; ".join(s.note for s in election.skipped)


def _from_compare(check: str, result: CompareResult) -> CheckResult:
    return CheckResult(
        check=check,
        # an acknowledged difference (baseline) is reported but does not make the check critical
        state=CRITICAL if result.findings else OK,
        differences=list(result.differences),
        left=result.left,
        right=result.right,
        ignored=len(result.ignored),
        result=result,
    )


def _warning(check: str, reason: str, duration: float) -> CheckResult:
    """A check that could not run; its reason is one printable line of bounded length (it goes
    to status.json, /v1/status, the logs and the Riemann event)."""
    text = shorten(printable(reason))
    return CheckResult(check, WARNING, reason=text, duration=duration, finished=time.time())


def failed_cycle(runner: CycleRunner, reason: str, started: float, duration: float) -> CycleResult:
    """A cycle that failed as a whole (a bug, or it never finished): every check it should have
    run is a ``warning`` with the reason, so status, metrics and events say so instead of
    keeping the last result."""
    s = runner.settings
    role_check = "golden" if s.role == "master" else "peer"
    return CycleResult(
        node=s.node_name,
        node_id=None,
        role="unknown",
        configured_role=s.role,
        cluster=s.cluster or runner.last_cluster,
        master=None,
        started=started,
        duration=duration,
        checks=[_warning("runtime", reason, duration), _warning(role_check, reason, duration)],
    )


async def _guard(fn: Callable[[], Awaitable[T]]) -> tuple[T | None, str | None]:
    """``fn()``'s result, or None and why it failed (a bug too: never a silent pass). It takes
    the function, not a coroutine, so a task cancelled before it starts leaves nothing unawaited."""
    try:
        return await fn(), None
    except AscadError as exc:
        return None, str(exc)
    except Exception as exc:
        return None, _unexpected(exc)


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


async def _in_thread(check: str, fn: Callable[[], CheckResult], t: float) -> CheckResult:
    """``fn()`` (parsing and comparing: CPU work) in a worker thread, so the event loop keeps
    serving /healthz and /v1/config meanwhile; its errors become a ``warning``."""
    try:
        return await asyncio.to_thread(_checked, check, fn, t)
    except Exception as exc:
        return _warning(check, _unexpected(exc), time.monotonic() - t)


def _checked(check: str, fn: Callable[[], CheckResult], t: float) -> CheckResult:
    """``fn()`` timed from ``t``; its errors become a ``warning`` (:func:`_in_thread`'s body, for
    a trip that does more than the check)."""
    try:
        out = fn()
    except AscadError as exc:
        return _warning(check, str(exc), time.monotonic() - t)
    except Exception as exc:
        return _warning(check, _unexpected(exc), time.monotonic() - t)
    out.duration = time.monotonic() - t
    out.finished = time.time()
    return out


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
