"""The ascad agent: settings, one cycle of checks, master election, the HTTP config server and
the daemon loop (docs/agent.md).

Everything runs in the caller's event loop with addresses from the settings, so tests and
``ascad demo`` can run several agents in one process::

    from ascad.agent.daemon import Agent
    from ascad.agent.settings import load_settings

    settings = load_settings("ascad.toml")      # or load_settings(data={...}, env={})
    agent = Agent(settings)
    await agent.start()                          # HTTP server; agent.url
    cycle = await agent.run_cycle()              # checks + state file + Riemann events
    await agent.stop()
"""
