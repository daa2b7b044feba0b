"""``ascad emulator CONF...``: run emulated Aerospike nodes on loopback until SIGINT/SIGTERM.

Each conf file becomes one node (``ascad.lab.emulator.node``) answering the real info protocol on
127.0.0.1; one line per node, ``node-id host:port conf``, is printed once all ports are bound, so
scripts can read where to connect. ``--security USER:PASSWORD_FILE`` turns security on with one
user whose password is the file's first line (never given on the command line);
``--ldap-user USER:PASSWORD_FILE`` (repeatable) adds a user of the emulated LDAP directory, for
``--auth EXTERNAL``; ``--pki-user NAME`` (repeatable) a user with no password, for ``--auth
PKI`` with a client certificate whose CN is NAME (needs ``--tls-ca``). Either turns security on.
``--tls-cert FILE --tls-key FILE`` make every node port speak TLS only (reach it with
``aerospike+tls://``); ``--tls-ca FILE`` also requires a client certificate signed by that CA
(mutual TLS); ``--tls-name NAME`` is the name the nodes announce in ``peers-tls-std``, so
clients that follow the peers (asadm, ``ascad fleet --discover``) check each node's certificate
against it. The files are checked before any port is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys

from ascad.errors import AscadError
from ascad.lab.emulator import cluster as emu_cluster
from ascad.lab.emulator.server import Security, ServerTls, User


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
    parser.add_argument(
        "--ldap-user",
        metavar="USER:PASSWORD_FILE",
        action="append",
        default=[],
        help="an LDAP user for --auth EXTERNAL (repeatable; turns security on)",
    )
    parser.add_argument(
        "--pki-user",
        metavar="NAME",
        action="append",
        default=[],
        help="a user logging in with a client certificate whose CN is NAME (--auth PKI)",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    parser.add_argument(
        "--tls-ca", metavar="FILE", help="require client certificates signed by this CA (mTLS)"
    )
    parser.add_argument(
        "--tls-name",
        metavar="NAME",
        help="the nodes' tls-name, announced in peers-tls-std (the name their certificate carries)",
    )


def _user_and_password(spec: str, option: str) -> tuple[str, str]:
    user, sep, path = spec.partition(":")
    if not sep or not user or not path:
        raise AscadError(f"{option} wants USER:PASSWORD_FILE")
    try:
        with open(path, encoding="utf-8") as f:
            return user, f.readline().strip()
    except OSError as exc:
        raise AscadError(f"cannot read password file: {exc.strerror}", path) from None


def _security(
    spec: str | None, ldap: list[str] | None = None, pki: list[str] | None = None
) -> Security | None:
    if spec is None and not ldap and not pki:
        return None
    users: dict[str, str | User] = {}
    if spec is not None:
        user, password = _user_and_password(spec, "--security")
        users[user] = password
    for name in pki or []:
        users[name] = User(None)
    ldap_users = dict(_user_and_password(item, "--ldap-user") for item in ldap or [])
    return Security(users=users, ldap_users=ldap_users)


def _tls(args: argparse.Namespace) -> ServerTls | None:
    cert, key, ca = args.tls_cert, args.tls_key, args.tls_ca
    if not (cert or key or ca):
        if args.tls_name:
            raise AscadError("--tls-name goes with --tls-cert and --tls-key")
        return None
    if not (cert and key):
        raise AscadError("--tls-cert and --tls-key go together (--tls-ca is optional)")
    tls = ServerTls(cert_file=cert, key_file=key, ca_file=ca, tls_name=args.tls_name)
    try:
        tls.context()  # fail now, with the file named, rather than on the first connection
    except (OSError, ssl.SSLError) as exc:
        raise AscadError(f"cannot load TLS certificate/key/CA: {exc}", cert) from None
    return tls


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.base_port <= 65535 - len(args.confs):
        raise AscadError(f"--base-port {args.base_port} is out of range")
    security = _security(args.security, args.ldap_user, args.pki_user)
    tls = _tls(args)
    if args.pki_user and (tls is None or not tls.ca_file):
        raise AscadError(
            "--pki-user needs --tls-cert, --tls-key and --tls-ca (client certificates)"
        )
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
