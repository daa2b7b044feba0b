"""The ascad agent: settings, one cycle of checks, master election, the HTTP config server and
the daemon loop (docs/agent.md).

Everything runs in the caller's event loop with addresses from the settings, so tests and
``ascad demo`` can run several agents in one process::

    settings = load_settings("ascad.toml")      # or load_settings(data={...}, env={})
    agent = Agent(settings)
    await agent.start()                          # HTTP server; agent.url
    cycle = await agent.run_cycle()              # checks + state file + Riemann events
    await agent.stop()
"""

from ascad.agent.cycle import CheckResult, CycleResult, CycleRunner, build_events
from ascad.agent.daemon import Agent, run_daemon
from ascad.agent.settings import AgentSettings, SettingsError, load_settings

__all__ = [
    "Agent",
    "AgentSettings",
    "CheckResult",
    "CycleResult",
    "CycleRunner",
    "SettingsError",
    "build_events",
    "load_settings",
    "run_daemon",
]
