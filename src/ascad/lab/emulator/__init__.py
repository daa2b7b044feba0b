"""Emulated Aerospike nodes that speak the real info and admin protocols on loopback ports.

``server.EmulatorCluster`` runs the sockets (protocol, security, TLS, faults); the content of each
answer comes from a handler object with ``answer(command) -> str | None``, such as
``replay.ReplayHandler`` (captured ``*.info`` files served byte for byte).
"""
