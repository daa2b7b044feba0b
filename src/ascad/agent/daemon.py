"""The agent process: the HTTP server, a cycle at start and then every interval, Riemann delivery,
signals and a low priority.

Rules, and the reason for each:

- **Priority.** The agent must never compete with Aerospike. At start it raises its niceness to
  ``[agent] nice`` (10 by default) unless it already runs at that niceness or lower priority
  (systemd's ``Nice=10`` makes this a no-op: ``os.nice`` adds, so calling it blindly would give
  19 under the unit), and asks for the idle I/O class with the ``ioprio_set`` system call (Linux, through
  ctypes: ``IOPRIO_WHO_PROCESS``, class 3 = idle, shifted by 13 bits, as ``ionice -c3`` does).
  Where that is not permitted or not Linux, it logs one line and goes on.
- **Open files.** At start the soft ``RLIMIT_NOFILE`` is raised to the hard limit (the unit's
  ``LimitNOFILE``) and logged once; the HTTP listener's connection cap comes from it. The loop's
  exception handler counts repeats (``accept()`` errors: one line per interval with a count).
- **Timing.** One cycle at start, then every ``interval`` plus a random delay of up to
  ``jitter``, so a fleet started together does not hit the golden repository at the same second.
- **Riemann.** After each cycle its events are sent; if Riemann is down the failure is logged,
  the results are kept (served by ``/v1/status``) and the next cycle sends its own, newer events:
  Riemann keeps the latest event per host and service, so old ones would add nothing.
- **Signals.** SIGTERM/SIGINT cancel a running cycle, close the server and exit 0. SIGHUP re-reads
  the settings; a bad new file is logged and the old settings stay in force; a change of listen
  address, port, token, TLS or conf path restarts the HTTP server.
- **State.** The last results are written to ``state_dir/status.json`` atomically and read back at
  start, so ``/v1/status`` has something to say before the first cycle ends.
- **systemd.** ``READY=1`` once the server listens and the first cycle has started (the unit's
  ``Type=notify``), ``RELOADING=1``/``READY=1`` around a SIGHUP, ``STOPPING=1``, and the last
  cycle's states as ``STATUS=`` (:mod:`ascad.agent.notify`); log lines carry syslog priority
  prefixes when stderr is the journal (:mod:`ascad.agent.journal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import random
import secrets
import signal
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

from ascad.agent import journal, notify
from ascad.agent import listener as limits
from ascad.agent.cycle import CycleRunner, failed_cycle, load_status, save_status
from ascad.agent.history import record_cycle
from ascad.agent.server import ConfigServer
from ascad.agent.settings import AgentSettings, SettingsError, origin_line
from ascad.checks.results import OK, CycleResult
from ascad.errors import AscadError
from ascad.report.events import cycle_events
from ascad.report.status import cycle_to_dict

log = logging.getLogger("ascad.agent")

# linux/ioprio.h
IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_IDLE = 3
IOPRIO_CLASS_SHIFT = 13
# asm/unistd.h: the ioprio_set system call's number per architecture
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "i686": 289, "i386": 289, "armv7l": 314}


def lower_priority(nice: int = 10, ionice: bool = True) -> list[str]:
    """Run at niceness ``nice`` at least (never raise the priority) and in the idle I/O class;
    returns notes on what could not be done (each also logged)."""
    notes: list[str] = []
    current = os.nice(0)
    if nice > current:
        try:
            os.nice(nice - current)
        except OSError as exc:
            notes.append(f"cannot lower the CPU priority: {exc.strerror}")
    if ionice:
        notes.extend(_ionice_idle())
    for note in notes:
        log.info("%s", note)
    return notes


def _ionice_idle() -> list[str]:
    nr = _IOPRIO_SET.get(platform.machine())
    if platform.system() != "Linux" or nr is None:
        return [f"no ioprio_set on {platform.system()} {platform.machine()}; I/O priority kept"]
    import ctypes  # here: only the start asks for it (idle memory, docs/agent.md)

    # dlopen(NULL): the process's own symbols, libc's syscall among them (find_library would
    # run ldconfig in a subprocess to name the same libc)
    libc = ctypes.CDLL(None, use_errno=True)
    value = IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT
    if libc.syscall(nr, IOPRIO_WHO_PROCESS, 0, value) != 0:
        err = ctypes.get_errno()
        return [f"cannot set the idle I/O class: {os.strerror(err)}"]
    return []


def riemann_tls_context(s: AgentSettings) -> ssl.SSLContext | None:
    if not s.riemann_tls:
        return None
    ctx = ssl.create_default_context(cafile=s.riemann_tls_ca or None)
    if s.riemann_tls_cert:
        ctx.load_cert_chain(s.riemann_tls_cert, s.riemann_tls_key)
    return ctx


class Agent:
    """One agent: start() (server), run_cycle(), run(stop) for the loop, stop().

    Everything is in the caller's event loop and every address comes from the settings (port 0
    picks a free port: :attr:`url` then holds the real address), so many agents can run in one
    process (tests, ``ascad demo``).
    """

    def __init__(self, settings: AgentSettings, *, serve: bool = True) -> None:
        self.settings = settings
        self.serve = serve
        self.server: ConfigServer | None = None
        self.last: CycleResult | None = None
        self.status_doc: dict[str, Any] | None = load_status(settings.state_dir)
        cluster = (self.status_doc or {}).get("cluster")
        # This process's id in its /v1/config answers: its own URL as a master is recognised.
        self.instance = secrets.token_hex(8)
        self.runner = CycleRunner(
            settings, cluster=cluster if isinstance(cluster, str) else "", instance=self.instance
        )
        # /metrics' last success times survive a restart: they come from the persisted status.
        self.last_success: dict[str, float] = {
            c["check"]: float(c["finished"])
            for c in (self.status_doc or {}).get("checks", [])
            if isinstance(c, dict)
            and c.get("state") in ("ok", "critical")
            and isinstance(c.get("finished"), int | float)
            and c["finished"] > 0
        }
        self.cycles = 0
        self.delivered = 0  # cycles whose events Riemann accepted
        self.delivery_failures = 0  # cycles whose events could not be delivered
        # Per check: runs that could not run; each check the node last ran starts at 0, so the
        # series exists before its first failure (a rate over a missing series is no alert).
        self.check_failures: dict[str, int] = {
            str(c["check"]): 0
            for c in (self.status_doc or {}).get("checks", [])
            if isinstance(c, dict) and isinstance(c.get("check"), str)
        }
        self.riemann_error: str | None = None
        self._wake = asyncio.Event()
        self._retired: list[CycleRunner] = []
        self.watchdog = cycle_deadline(settings)

    @property
    def url(self) -> str | None:
        return self.server.url if self.server else None

    def _new_server(self, settings: AgentSettings) -> ConfigServer:
        return ConfigServer(
            settings,
            lambda: self.status_doc,
            lambda: self.last_success,
            self.counters,
            lambda: self.runner,
            self.instance,
        )

    def counters(self) -> dict[str, Any]:
        """The agent's counters since it started, for /metrics (a mapping: one series per
        check)."""
        return {
            "ascad_cycles_total": self.cycles,
            "ascad_riemann_deliveries_total": self.delivered,
            "ascad_riemann_delivery_failures_total": self.delivery_failures,
            "ascad_check_failures_total": dict(self.check_failures),
        }

    async def start(self) -> None:
        if self.serve and self.server is None:
            server = self._new_server(self.settings)
            await server.start()
            self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await self.runner.close()
        while self._retired:
            await self._retired.pop().close()

    async def guarded_cycle(self) -> CycleResult:
        """The runner's cycle under the watchdog (:meth:`_watched_cycle`), read against the
        history store (``state_dir/history.sqlite``) and, for the daemon, recorded in it
        (``ascad check`` leaves the agent's store as it was)."""
        cycle = await self._watched_cycle()
        return await asyncio.to_thread(
            record_cycle, self.settings.state_dir, cycle, keep=self.serve
        )

    def _persist(self, cycle: CycleResult) -> tuple[CycleResult, dict[str, Any]]:
        """The cycle recorded in the history store, and its status document written to the
        state file: one trip to a worker thread for both (each trip costs CPU, and the state
        file's fsyncs no longer hold up the event loop)."""
        s = self.settings
        cycle = record_cycle(s.state_dir, cycle, keep=self.serve)
        doc = cycle_to_dict(cycle)
        try:
            save_status(s.state_dir, doc)
        except OSError as exc:
            log.error("cannot write the state file in %s: %s", s.state_dir, exc)
        return cycle, doc

    async def _watched_cycle(self) -> CycleResult:
        """The runner's cycle under the watchdog: a cycle that raises (a bug) or does not finish
        within :attr:`watchdog` seconds is a cycle whose checks are all ``warning`` with the
        reason, never the last result kept (a check that stops checking must not stay green)."""
        started, t0 = time.time(), time.monotonic()
        try:
            async with asyncio.timeout(self.watchdog):
                return await self.runner.run()
        except TimeoutError:
            reason = (
                f"the cycle did not finish within {self.watchdog:g} s (watchdog; the node, "
                "golden or peer reads should each have timed out long before)"
            )
            log.error("%s", reason)
        except Exception as exc:
            log.error("cycle failed: %s: %s", exc.__class__.__name__, exc, exc_info=exc)
            reason = f"internal error: {exc.__class__.__name__}: {exc}"
        return failed_cycle(self.runner, reason, started, time.monotonic() - t0)

    async def run_cycle(self) -> CycleResult:
        """One cycle: checks, state file, Riemann. Never raises for a failing check or Riemann."""
        while self._retired:
            await self._retired.pop().close()
        cycle, doc = await asyncio.to_thread(self._persist, await self._watched_cycle())
        self.cycles += 1
        self.last = cycle
        if cycle.fallback:  # the agent's log; `ascad check` prints it in its report instead
            log.warning("master fallback: %s", cycle.fallback)
        for c in cycle.checks:
            n = len(c.differences)
            # Drift and a check that could not run are what `journalctl -p warning` must show.
            log.log(
                logging.INFO if c.state == OK else logging.WARNING,
                "check %s: %s%s",
                c.check,
                c.state,
                f" ({n} difference{'' if n == 1 else 's'})" if c.ran else f": {c.reason}",
            )
            self.check_failures[c.check] = self.check_failures.get(c.check, 0) + (not c.ran)
            if c.ran:
                self.last_success[c.check] = c.finished or time.time()
        # A check this node no longer runs (a master turned slave drops the golden check) has
        # no last success: a stale time would fire an age alert forever.
        running = {c.check for c in cycle.checks}
        for check in [k for k in self.last_success if k not in running]:
            del self.last_success[check]
        self.status_doc = doc
        await self.send_events(cycle)
        return cycle

    async def send_events(self, cycle: CycleResult) -> bool:
        """The agent's delivery: False (and a warning) when Riemann is down; True when sent.
        Without ``[riemann] host`` it is False and silent (events are optional)."""
        if not self.settings.riemann_host:
            return False
        try:
            await self.deliver_events(cycle)
        except AscadError as exc:
            log.warning(
                "%s; this cycle's events are dropped, the next cycle sends its own", exc.message
            )
            return False
        return True

    async def deliver_events(self, cycle: CycleResult) -> None:
        """Send the cycle's events once; AscadError (one line) when there is no Riemann to send
        to or it could not take them (``ascad check --send-events`` turns that into exit 2)."""
        s = self.settings
        if not s.riemann_host:
            self.riemann_error = "no Riemann configured (set [riemann] host or ASCAD_RIEMANN_HOST)"
            raise AscadError(self.riemann_error)
        from ascad.report.riemann import RiemannClient

        try:
            events = build_events(cycle, s)
            client = RiemannClient(
                s.riemann_host,
                s.riemann_port,
                transport=s.riemann_transport,  # type: ignore[arg-type]
                tls=riemann_tls_context(s),
                timeout=s.riemann_timeout,
            )
            await client.send(events)
        except (AscadError, OSError, ssl.SSLError) as exc:
            self.riemann_error = str(exc)
            self.delivery_failures += 1
            raise AscadError(
                f"Riemann at {s.riemann_host}:{s.riemann_port} ({s.riemann_transport}): "
                f"events not delivered: {exc}"
            ) from None
        self.riemann_error = None
        self.delivered += 1

    def next_delay(self) -> float:
        return self.settings.interval + random.uniform(0, self.settings.jitter)

    def wake(self) -> None:
        """Start the next cycle now (tests, the demo)."""
        self._wake.set()

    async def run(
        self,
        stop: asyncio.Event,
        once: bool = False,
        *,
        ready: Callable[[], None] | None = None,
        cycle_done: Callable[[CycleResult], None] | None = None,
    ) -> None:
        """Cycle now and then every interval until ``stop`` is set. ``ready`` is called once the
        server listens and the first cycle has started; ``cycle_done`` after each cycle."""
        await self.start()
        while not stop.is_set():
            cycle_task = asyncio.ensure_future(self.run_cycle())
            if ready is not None:
                await asyncio.sleep(0)  # the cycle has started: its first read is under way
                ready()
                ready = None
            stop_task = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait(
                {cycle_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
            )
            if cycle_task not in done:
                cycle_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cycle_task
                stop_task.cancel()
                break
            stop_task.cancel()
            if cycle_task.exception() is not None:  # a bug, not a failing check: keep looping
                exc = cycle_task.exception()
                log.error("cycle failed: %s: %s", exc.__class__.__name__, exc, exc_info=exc)
            elif cycle_done is not None:
                cycle_done(cycle_task.result())
            if once:
                break
            delay = self.next_delay()
            log.info("next cycle in %.0f s", delay)
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()

    async def reload(self, settings: AgentSettings) -> None:
        """Use new settings; restart the HTTP server if what it depends on changed.

        If the new server cannot start (port taken, bad TLS files), the old one is started again
        on its old address and the old settings stay in force: AscadError says why.
        """
        old = self.settings
        if self.server is not None and old.server_key() != settings.server_key():
            old_server = self.server
            await old_server.stop()
            self.server = None
            new_server = self._new_server(settings)
            try:
                await new_server.start()
            except AscadError:
                await old_server.start(port=old_server.port)
                self.server = old_server
                raise
            self.server = new_server
        elif self.server is not None:
            self.server.settings = settings
        self.settings = settings
        self._retired.append(self.runner)  # closed before the next cycle, not under a running one
        self.runner = CycleRunner(
            settings, cluster=self.runner.last_cluster, instance=self.instance
        )
        self.watchdog = cycle_deadline(settings)
        configure_logging(settings.log_level)
        log.info("settings reloaded from %s", settings.source)


def cycle_deadline(s: AgentSettings) -> float:
    """The watchdog's limit for one cycle: twice what its reads may take (the node, the golden,
    and a few master candidates, each bounded by its own timeout), at least two minutes, at most
    the interval."""
    reads = s.aerospike_timeout + s.golden_timeout + 4 * s.peers_timeout
    return min(max(120.0, 2 * reads), max(s.interval, 1.0))


def build_events(cycle: CycleResult, settings: AgentSettings) -> list[Any]:
    """The cycle's Riemann events with this agent's host, ttl (ttl_factor × interval) and tags."""
    return cycle_events(
        cycle,
        host=settings.node_name,
        ttl=settings.riemann_ttl_factor * settings.interval,
        tags=settings.tags,
    )


def configure_logging(level: str = "info") -> None:
    """Lines on stderr: ``time level name: message``; on the journal (``$JOURNAL_STREAM`` is
    stderr) ``<N>level name: message`` instead, N the syslog priority (:mod:`ascad.agent.journal`)."""
    root = logging.getLogger()
    if not any(getattr(h, "_ascad", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(journal.formatter(sys.stderr))
        handler._ascad = True  # type: ignore[attr-defined]
        handler.addFilter(limits.REDACT)  # no token, no raw header, one line per record
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def cycle_status(cycle: CycleResult) -> None:
    """The last cycle's states as the service's ``STATUS=`` (``systemctl status ascad``)."""
    checks = ", ".join(f"{c.check} {c.state}" for c in cycle.checks)
    notify.status(f"last cycle: role {cycle.role}: {checks}")


def start_limits(loop: asyncio.AbstractEventLoop) -> None:
    """The process's resource limits at start: the soft open-files limit raised to the hard one
    (the HTTP listener's connection cap is derived from it), logged once; the loop's exception
    handler counted (``accept()`` errors once per interval with a count, not once per attempt)."""
    before, after = limits.raise_nofile_limit()
    raised = f" (raised from {before})" if after > before else ""
    log.info("open files limit %d%s", after, raised)
    limits.install_loop_handler(loop)


async def run_daemon(
    load: Callable[[], AgentSettings], *, once: bool = False, priority: bool = True
) -> int:
    """The ``ascad agent`` main loop with signal handling; returns the exit status.

    ``load`` reads the settings (called again on SIGHUP). The first load's errors propagate (the
    agent must not start with bad settings); later ones are logged and ignored.
    """
    settings = load()
    configure_logging(settings.log_level)
    log.info("%s", origin_line(settings))
    if priority:
        lower_priority(settings.nice, settings.ionice)
    loop = asyncio.get_running_loop()
    start_limits(loop)
    agent = Agent(settings)
    stop = asyncio.Event()
    reloads: set[asyncio.Task[None]] = set()

    async def do_reload() -> None:
        notify.reloading()
        try:
            await reload_settings()
        finally:
            notify.ready()

    async def reload_settings() -> None:
        try:
            new = load()
        except SettingsError as exc:
            log.error("reload refused, old settings kept: %s", "; ".join(exc.problems))
            return
        except AscadError as exc:
            log.error("reload refused, old settings kept: %s", exc)
            return
        try:
            await agent.reload(new)
        except AscadError as exc:
            log.error("reload refused, old settings kept: %s", exc)

    def on_hup() -> None:
        task = asyncio.ensure_future(do_reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    def on_stop(name: str) -> None:
        log.info("%s: stopping", name)
        notify.stopping()
        stop.set()

    def on_ready() -> None:
        if notify.ready(f"serving on {agent.url}; first cycle running"):
            log.info("told systemd the agent is ready")

    loop.add_signal_handler(signal.SIGTERM, on_stop, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, on_stop, "SIGINT")
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        await agent.run(stop, once=once, ready=on_ready, cycle_done=cycle_status)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in list(reloads):
            task.cancel()
        await agent.stop()
        log.info("stopped")
    return 0
