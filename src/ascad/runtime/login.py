"""The one way to reach a node: a typed :class:`NodeLogin`, :func:`connect`, :func:`read_node`.

Every command and the agent build their info clients here, so a node is reached by one rule
wherever its address comes from (docs/sources.md, "Logging in to a node"):

- **The address wins.** What an ``aerospike://`` address says itself (its ``user@``, and for
  ``aerospike+tls://`` its ``ca``, ``cert``, ``key`` and ``tls-name`` options) beats the
  ``NodeLogin``, whose values (``-U``, ``--tls-cafile`` …, astools.conf, or the agent's
  ``[aerospike]`` settings) are the defaults for every node: one address can name another user
  than the rest of a fleet. ``tls_enable`` turns a plain ``aerospike://`` address into TLS (on
  its port, or 4333 when it names none).
- The password never comes from an address (it is refused there). A user without a password is
  refused before connecting (but PKI, which logs in with the client certificate); a password
  without a user logs in to nothing, and a node with security on is then named as wanting
  ``--user``.
- ``timeout`` bounds each connect and request, and :func:`read_node` also puts one deadline of
  the same length over the whole read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from ascad.errors import AscadError
from ascad.runtime.address import TLS_PORT, NodeAddress, parse_address
from ascad.runtime.info import InfoClient, InfoError, TlsConfig
from ascad.runtime.snapshot import RuntimeSnapshot, take_snapshot

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class NodeLogin:
    """How to log in to running nodes: the defaults an address may override."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    auth: str = "INTERNAL"
    tls_name: str | None = None
    tls_capath: str | None = None
    tls_enable: bool = False


def resolve(address: NodeAddress | str, login: NodeLogin) -> NodeAddress:
    """The address with the login's TLS files filled in where the address names none (the user
    stays as written, so the address still reads as the user gave it)."""
    addr = address if isinstance(address, NodeAddress) else parse_address(address)
    tls = addr.tls
    port = addr.port
    if tls is None and login.tls_enable:
        tls = TlsConfig(ca_file=None)
        if not addr.port_given:
            port = TLS_PORT
    if tls is not None:
        tls = replace(
            tls,
            ca_file=tls.ca_file or login.tls_ca,
            cert_file=tls.cert_file or login.tls_cert,
            key_file=tls.key_file or login.tls_key,
            tls_name=tls.tls_name or login.tls_name,
            ca_path=tls.ca_path or login.tls_capath,
        )
    return replace(addr, tls=tls, port=port)


def connect(address: NodeAddress | str, login: NodeLogin) -> InfoClient:
    """An info client for one node (sockets open on the first request; use ``async with``).
    AscadError before any connection when a user is known and no password is."""
    addr = resolve(address, login)
    user = addr.user or login.user
    if user and login.password is None and login.auth != "PKI":
        raise AscadError(
            f"user {user!r} needs a password: give -P (prompt), --password-file or set "
            "ASCAD_PASSWORD",
            str(addr),
        )
    return InfoClient(
        addr.host,
        addr.port,
        tls=addr.tls,
        user=user,
        # given without a user too: the client then says that security wants a --user
        password=login.password,
        timeout=login.timeout,
        auth=login.auth,
    )


async def read_node(
    address: NodeAddress | str,
    login: NodeLogin,
    *,
    contexts: frozenset[str] | None = None,
    extra: tuple[str, ...] = (),
) -> RuntimeSnapshot:
    """Snapshot one node, all of it within ``login.timeout``.

    The client bounds each connect and each request by the timeout; a snapshot takes up to three
    requests (and a login), so a slow node could otherwise take several timeouts. The whole read
    gets one deadline, the same number: an InfoError names the node and the request in flight.
    ``extra`` info commands are asked in the snapshot's first request (the agent's ``peers``
    list); their answers are in ``RuntimeSnapshot.extra``.
    """
    client = connect(address, login)
    total = login.timeout
    async with client:
        try:
            async with asyncio.timeout(total):
                return await take_snapshot(client, contexts_needed=contexts, extra=extra)
        except TimeoutError:
            message = (
                f"no reply within {total:g}s (node hung or overloaded)"
                if client.replies == 0
                else f"the node's configuration was not all read within {total:g}s (node slow "
                "or overloaded; raise --timeout)"
            )
            raise InfoError(message, client.host, client.port, client.last_command) from None


async def info(address: NodeAddress | str, login: NodeLogin, command: str) -> str:
    """The value of one info command; InfoError for an error value or no answer."""
    async with connect(address, login) as client:
        return await client.info(command)
