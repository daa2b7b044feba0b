"""The settings file of an ``ascad agent`` run by a benchmark, written once for bench/agent.py and
bench/hostile.py.

A master node reading its conf and its (emulated) node on 127.0.0.1, a golden file, serving on
127.0.0.1 on a free port with a bearer token from a file; each bench adds its own lines.
"""

from __future__ import annotations

from pathlib import Path


def agent_toml(
    *,
    name: str,
    conf: Path,
    interval: str,
    state_dir: Path,
    node_port: int,
    golden: Path,
    token_file: Path,
    aerospike: str = "",
    server: str = "",
) -> str:
    """The TOML text; ``aerospike`` and ``server`` are extra lines (each ending in a newline) for
    those tables, e.g. ``timeout = 2`` or the TLS certificate and key."""
    return f"""
[agent]
node_name = "{name}"
role = "master"
conf = "{conf}"
interval = "{interval}"
jitter = 0
state_dir = "{state_dir}"
[aerospike]
address = "aerospike://127.0.0.1:{node_port}"
{aerospike}[golden]
source = "{golden}"
[server]
listen = "127.0.0.1"
port = 0
token_file = "{token_file}"
{server}"""
