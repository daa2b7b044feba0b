"""lab: stand-ins for the real world that ship with ascad (emulated Aerospike nodes, a Riemann
server, a hostile HTTP client on loopback) and the demo that runs ascad against them. No pipeline
stage imports this package."""
