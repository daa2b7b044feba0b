"""``ascad emulator CONF...``: run emulated Aerospike nodes on loopback until SIGINT/SIGTERM.

Each conf file becomes one node (``ascad.lab.emulator.node``) answering the real info protocol on
127.0.0.1; one line per node, ``node-id host:port conf``, is printed once all ports are bound, so
scripts can read where to connect. ``--security USER:PASSWORD_FILE`` turns security on with one
user whose password is the file's first line (never given on the command line).
``--tls-cert FILE --tls-key FILE`` make every node port speak TLS only (reach it with
``aerospike+tls://``); ``--tls-ca FILE`` also requires a client certificate signed by that CA
(mutual TLS). The files are checked before any port is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys

from ascad.errors import AscadError
from ascad.lab.emulator import cluster as emu_cluster
from ascad.lab.emulator.server import Security, ServerTls


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("confs", metavar="CONF", nargs="+", help="aerospike.conf, one per node")
    parser.add_argument("--build", default="8.1.2.2", help="server build to emulate (8.1.2.2)")
    parser.add_argument(
        "--base-port", type=int, default=0, help="first service port (default: free ports)"
    )
    parser.add_argument(
        "--security",
        metavar="USER:PASSWORD_FILE",
        help="require login as USER with the password in PASSWORD_FILE",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    parser.add_argument(
        "--tls-ca", metavar="FILE", help="require client certificates signed by this CA (mTLS)"
    )


def _security(spec: str | None) -> Security | None:
    if spec is None:
        return None
    user, sep, path = spec.partition(":")
    if not sep or not user or not path:
        raise AscadError("--security wants USER:PASSWORD_FILE")
    try:
        with open(path, encoding="utf-8") as f:
            password = f.readline().strip()
    except OSError as exc:
        raise AscadError(f"cannot read password file: {exc.strerror}", path) from None
    return Security(users={user: password})


def _tls(args: argparse.Namespace) -> ServerTls | None:
    cert, key, ca = args.tls_cert, args.tls_key, args.tls_ca
    if not (cert or key or ca):
        return None
    if not (cert and key):
        raise AscadError("--tls-cert and --tls-key go together (--tls-ca is optional)")
    tls = ServerTls(cert_file=cert, key_file=key, ca_file=ca)
    try:
        tls.context()  # fail now, with the file named, rather than on the first connection
    except (OSError, ssl.SSLError) as exc:
        raise AscadError(f"cannot load TLS certificate/key/CA: {exc}", cert) from None
    return tls


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.base_port <= 65535 - len(args.confs):
        raise AscadError(f"--base-port {args.base_port} is out of range")
    security = _security(args.security)
    tls = _tls(args)
    nodes = emu_cluster.load_nodes(args.confs, build=args.build, base_port=args.base_port)
    return asyncio.run(_serve(nodes, args.base_port, security, tls))


async def _serve(
    nodes: list,  # type: ignore[type-arg]
    base_port: int,
    security: Security | None,
    tls: ServerTls | None = None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        cluster = await emu_cluster.start(nodes, base_port=base_port, security=security, tls=tls)
    except OSError as exc:
        raise AscadError(f"cannot listen: {exc.strerror or exc}") from None
    try:
        for node in nodes:
            print(f"{node.node_id} {node.host}:{node.port} {node.source}", flush=True)
        await stop.wait()
    finally:
        await cluster.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("emulator stopped", file=sys.stderr)
    return 0
