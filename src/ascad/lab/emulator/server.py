"""The emulator's wire side: N nodes in one process, each on its own loopback port.

Each node speaks the info protocol (type 1) and the admin protocol (type 2) like a real server
(facts in docs/info-protocol.md); what it *says* comes from a handler's ``answer(command)``.

- Commands are answered in request order with the command echoed exactly. Text after the last
  LF is dropped, as the server does.
- A command the handler does not know (``None``): from 7.1 the reply is
  ``ERROR:4:unrecognized command``; before 7.1 the command is left out. The version is the
  handler's ``build`` answer (no answer: a current server).
- Cluster discovery commands (``node``, ``service-*-std``, ``peers-*``, ``peers-generation``,
  ``partition-generation``, ``replicas``…) fall back to the live topology when the handler does not
  answer them, so real clients can discover the emulated cluster.
- Security: before LOGIN/AUTHENTICATE every info reply is ``ERROR:80:not authenticated`` alone,
  with no echo; admin results 52, 60, 62, 63, 65, 66 as the server spells them. Logins in every
  auth mode: INTERNAL (USER + CREDENTIAL), EXTERNAL (+ CLEAR_PASSWORD, checked against
  ``Security.ldap_users``, the emulated LDAP directory), PKI (no field: the user is the CN of the
  client certificate, which the TLS port then requires). QUERY_USERS and QUERY_ROLES answer the
  users and roles (predefined ones included) record by record, ending with QUERY_END (50).
- Faults per node: delay, refuse, hang, truncate, oversize, split, wrong_version, wrong_type
  (see :class:`Fault`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from ascad.errors import AscadError
from ascad.runtime import admin
from ascad.runtime.address import Peer, Peers, format_peers, format_service

NOT_AUTHENTICATED = b"ERROR:80:not authenticated\n"
UNRECOGNIZED = "ERROR:4:unrecognized command"
# 7.1.0.0 is the first server that answers unknown commands instead of dropping them.
UNRECOGNIZED_SINCE = (7, 1)
# Commands in the empty-body "summary" reply (those flagged in_summary on the server).
SUMMARY_COMMANDS = ("build", "edition", "node", "version", "cluster-name", "features")
# A real server refuses anything over PROTO_SIZE_MAX; the emulator closes the socket.
PROTO_SIZE_MAX = 128 * 1024 * 1024
PARTITIONS = 4096


class Handler(Protocol):
    """What a node says: the value for a command, or None if it does not know the command."""

    def answer(self, command: str) -> str | None: ...


@dataclass
class User:
    """A user of a secured emulated cluster (``password`` None: a PKI-only user, created with
    ``nopassword`` on a real server)."""

    password: str | None
    password_expired: bool = False
    roles: tuple[str, ...] = ("read-write",)


# The server's predefined roles, each holding the privilege of its name (the 8.1 list; asadm's
# `show roles` lists them on every secured node).
PREDEFINED_ROLES = (
    "data-admin",
    "read",
    "read-write",
    "read-write-udf",
    "sindex-admin",
    "sys-admin",
    "truncate",
    "udf-admin",
    "user-admin",
    "write",
)


@dataclass
class Security:
    """Turn on security: users (name → password or User), the session TTL in seconds, an
    emulated LDAP directory (``ldap_users``: name → password, for ``--auth EXTERNAL``) and
    custom roles (name → privileges spelled ``code[.ns[.set]]``)."""

    users: dict[str, str | User]
    session_ttl: int = 86400
    ldap_users: dict[str, str] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ServerTls:
    """Serve TLS on the node ports. ``ca_file`` makes client certificates mandatory (mTLS)."""

    cert_file: str
    key_file: str
    tls_name: str | None = None
    ca_file: str | None = None

    def context(self) -> ssl.SSLContext:
        """The server-side SSLContext for the node ports."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.ca_file:
            ctx.load_verify_locations(self.ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


@dataclass
class Fault:
    """A node's misbehaviour.

    - ``delay``: seconds to wait before each reply.
    - ``refuse``: the listening socket is closed (connection refused) and open sockets dropped.
    - ``hang``: connections are accepted and read but never answered.
    - ``truncate``: the reply header promises more bytes than are sent, then the socket closes.
    - ``oversize``: the reply header claims a body over the 128 MiB limit; nothing follows.
    - ``split``: the whole reply, header included, is sent ``split`` bytes at a time, each piece
      its own TCP segment (TCP_NODELAY, a short pause between pieces): a client must keep
      reading until the size the header announced has arrived.
    - ``wrong_version`` / ``wrong_type``: the reply header carries protocol version 3 instead of
      2, or type 3 (a data message) instead of 1/2; the body is the normal reply.
    """

    delay: float = 0.0
    refuse: bool = False
    hang: bool = False
    truncate: bool = False
    oversize: bool = False
    split: int = 0
    wrong_version: bool = False
    wrong_type: bool = False


def version_tuple(build: str | None) -> tuple[int, ...]:
    """``8.1.2.2`` → (8, 1, 2, 2); unparsable or missing → a current server (99,)."""
    if not build:
        return (99,)
    parts = []
    for piece in build.strip().split("."):
        digits = piece[: len(piece) - len(piece.lstrip("0123456789"))]
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:  # "0-rc1": the suffix ends the version
            break
    return tuple(parts) or (99,)


@dataclass
class _Session:
    user: str
    expires: float


@dataclass
class _ConnState:
    authenticated: bool
    token: bytes | None = None
    peer_cn: str | None = None  # the client certificate's CN (PKI login)


class EmulatorNode:
    """One emulated node: a listening socket, its connections and its fault setting."""

    def __init__(self, cluster: EmulatorCluster, index: int, handler: Handler, port: int) -> None:
        self.cluster = cluster
        self.index = index
        self.handler = handler
        self.host = cluster.host
        self.port = port
        self.node_id = f"BB9{index + 1:02X}0011AC4202"
        self.fault = Fault()
        self.connections_accepted = 0
        self.logins = 0
        self.admin_results: deque[tuple[int, int]] = deque(maxlen=1000)
        self.login_users: deque[str] = deque(maxlen=1000)
        # (command, field ids in order) of every admin message: what a client really sent
        self.admin_fields: deque[tuple[int, tuple[int, ...]]] = deque(maxlen=1000)
        self.commands: deque[str] = deque(maxlen=10000)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()

    def __repr__(self) -> str:
        return f"EmulatorNode({self.node_id} {self.host}:{self.port})"

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    async def _listen(self) -> None:
        self._closing = asyncio.Event()
        ssl_ctx = self.cluster.tls.context() if self.cluster.tls else None
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=ssl_ctx, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop_connections()

    async def _drop_connections(self) -> None:
        # Connection tasks belong to asyncio's start_server, which must not see them cancelled
        # (3.11 logs an error then); abort the sockets and wake sleepers so each task ends itself.
        self._closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    async def set_fault(
        self,
        *,
        delay: float = 0.0,
        refuse: bool = False,
        hang: bool = False,
        truncate: bool = False,
        oversize: bool = False,
        split: int = 0,
        wrong_version: bool = False,
        wrong_type: bool = False,
    ) -> None:
        """Set this node's fault (all off: behave). ``refuse`` closes and later reopens the port."""
        if split < 0:
            raise ValueError("split is a number of bytes per piece, 0 for off")
        was_refusing = self.fault.refuse
        self.fault = Fault(
            delay, refuse, hang, truncate, oversize, split, wrong_version, wrong_type
        )
        if refuse and not was_refusing:
            await self._close()
        elif was_refusing and not refuse and self.cluster.running:
            await self._listen()

    def expire_sessions(self) -> None:
        """Make every session token of the cluster expired (AUTHENTICATE then gets 66)."""
        for session in self.cluster._sessions.values():
            session.expires = 0.0

    # --- answers ------------------------------------------------------------------------------

    def answer(self, command: str) -> str | None:
        """The handler's answer, else the live topology for discovery commands, else None."""
        value = self.handler.answer(command)
        if value is None:
            value = self.cluster._topology_answer(self, command)
        return value

    def _modern(self) -> bool:
        return version_tuple(self.handler.answer("build")) >= UNRECOGNIZED_SINCE

    def info_reply(self, body: bytes) -> bytes:
        """The body of the reply to an info request body."""
        text = body.decode("utf-8", errors="surrogateescape")
        out: list[str] = []
        if not text:
            for name in SUMMARY_COMMANDS:
                value = self.answer(name)
                if value is not None:
                    out.append(f"{name}\t{value}\n")
            return "".join(out).encode("utf-8", errors="surrogateescape")
        modern: bool | None = None
        for command in text.split("\n")[:-1]:  # text after the last LF is dropped
            if not command:
                continue
            self.commands.append(command)
            value = self.answer(command)
            if value is None:
                if modern is None:
                    modern = self._modern()
                if not modern:
                    continue
                value = UNRECOGNIZED
            out.append(f"{command}\t{value}\n")
        return "".join(out).encode("utf-8", errors="surrogateescape")

    # --- connections --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections_accepted += 1
        state = _ConnState(authenticated=self.cluster.security is None)
        peer = writer.get_extra_info("peercert")
        if peer:
            state.peer_cn = next(
                (v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), None
            )
        try:
            while True:
                try:
                    header = await reader.readexactly(admin.HEADER_SIZE)
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    return
                _version, msg_type, size = admin.parse_proto_header(header)
                if size > PROTO_SIZE_MAX:
                    return
                try:
                    body = await reader.readexactly(size)
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    return
                fault = self.fault
                if fault.hang or fault.delay:
                    # hang: until the node closes; delay: that long (or until the node closes).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._closing.wait(), None if fault.hang else fault.delay
                        )
                    if self._closing.is_set():
                        return
                if msg_type == admin.PROTO_TYPE_INFO:
                    reply_type = admin.PROTO_TYPE_INFO
                    reply_body = self._info(body, state)
                elif msg_type == admin.PROTO_TYPE_SECURITY:
                    reply_type = admin.PROTO_TYPE_SECURITY
                    reply_body = self._admin(body, state)[admin.HEADER_SIZE :]
                else:
                    return  # data messages are not emulated: close like a refusing server
                if fault.oversize:
                    writer.write(admin.proto_header(reply_type, PROTO_SIZE_MAX + 1))
                    await writer.drain()
                    return
                if fault.truncate:
                    writer.write(admin.proto_header(reply_type, len(reply_body) + 100))
                    writer.write(reply_body[: len(reply_body) // 2])
                    await writer.drain()
                    return
                header = admin.proto_header(
                    admin.PROTO_TYPE_DATA if fault.wrong_type else reply_type,
                    len(reply_body),
                    3 if fault.wrong_version else admin.PROTO_VERSION,
                )
                if fault.split:
                    await self._send_in_pieces(writer, header + reply_body, fault.split)
                else:
                    writer.write(header + reply_body)
                    await writer.drain()
        except (ConnectionError, ssl.SSLError):
            return
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _send_in_pieces(self, writer: asyncio.StreamWriter, data: bytes, size: int) -> None:
        """Write ``data`` ``size`` bytes at a time, each piece pushed out on its own."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(data), size):
            writer.write(data[start : start + size])
            await writer.drain()
            await asyncio.sleep(0.001)

    def _info(self, body: bytes, state: _ConnState) -> bytes:
        if self.cluster.security is not None:
            if not state.authenticated:
                return NOT_AUTHENTICATED
            if state.token is not None:
                session = self.cluster._sessions.get(state.token)
                if session is None or session.expires <= time.monotonic():
                    state.authenticated = False
                    return NOT_AUTHENTICATED
        return self.info_reply(body)

    def _admin(self, body: bytes, state: _ConnState) -> bytes:
        """The reply to an admin message; ``admin_results`` records (command, result)."""
        try:
            msg = admin.decode_admin(body)
        except AscadError:
            return admin.result_reply(admin.INVALID_COMMAND)
        self.admin_fields.append((msg.command, tuple(msg.fields)))
        reply = self._admin_reply(msg, state)
        self.admin_results.append((msg.command, reply[admin.HEADER_SIZE + 1]))
        return reply

    def _admin_reply(self, msg: admin.AdminMessage, state: _ConnState) -> bytes:
        security = self.cluster.security
        if security is None:
            return admin.result_reply(admin.SECURITY_NOT_ENABLED)
        user = msg.fields.get(admin.USER, b"").decode("utf-8", errors="replace")
        if msg.command == admin.LOGIN:
            if not msg.fields:  # PKI: the user is the client certificate's
                if state.peer_cn is None:
                    return admin.result_reply(admin.INVALID_CREDENTIAL)
                user = state.peer_cn
                result = admin.OK if user in self.cluster._credentials else admin.INVALID_USER
            elif admin.CLEAR_PASSWORD in msg.fields and user not in self.cluster._credentials:
                clear = msg.fields[admin.CLEAR_PASSWORD].decode("utf-8", errors="replace")
                known = security.ldap_users.get(user)
                if known is None:
                    result = admin.INVALID_USER
                else:
                    result = admin.OK if clear == known else admin.INVALID_PASSWORD
            else:
                result = self.cluster._check_credential(user, msg.fields.get(admin.CREDENTIAL))
            if result != admin.OK:
                return admin.result_reply(result)
            self.logins += 1
            self.login_users.append(user)
            token = os.urandom(32).hex().encode()
            ttl = security.session_ttl
            self.cluster._sessions[token] = _Session(user, time.monotonic() + ttl)
            state.authenticated, state.token = True, token
            return admin.login_reply(token, ttl)
        if msg.command == admin.AUTHENTICATE:
            given = msg.fields.get(admin.SESSION_TOKEN)
            if given is not None:
                token = given
                session = self.cluster._sessions.get(token)
                if session is None or (admin.USER in msg.fields and session.user != user):
                    return admin.result_reply(admin.INVALID_CREDENTIAL)
                if session.expires <= time.monotonic():
                    return admin.result_reply(admin.EXPIRED_SESSION)
                state.authenticated, state.token = True, token
                return admin.result_reply(admin.OK)
            result = self.cluster._check_credential(user, msg.fields.get(admin.CREDENTIAL))
            if result == admin.OK:
                state.authenticated, state.token = True, None
            return admin.result_reply(result)
        if msg.command in (admin.QUERY_USERS, admin.QUERY_ROLES):
            if not state.authenticated:
                return admin.result_reply(admin.NOT_AUTHENTICATED)
            if msg.command == admin.QUERY_USERS:
                return admin.users_reply(self.cluster._users(user or None))
            role = msg.fields.get(admin.ROLE)
            return admin.roles_reply(self.cluster._roles(role.decode() if role else None))
        return admin.result_reply(admin.INVALID_COMMAND)


class EmulatorCluster:
    """N emulated nodes in this process, one handler each, on ``host`` (loopback) ports.

    ``ports`` picks fixed ports (0 = any free one). Use ``async with`` or start()/stop().
    """

    def __init__(
        self,
        handlers: list[Handler],
        *,
        security: Security | None = None,
        tls: ServerTls | None = None,
        host: str = "127.0.0.1",
        ports: list[int] | None = None,
        cluster_name: str | None = None,
    ) -> None:
        if ports is not None and len(ports) != len(handlers):
            raise AscadError("give one port per handler (0 = pick a free one)")
        self.host = host
        self.security = security
        self.tls = tls
        self.cluster_name = cluster_name
        self.running = False
        self.peers_generation = 1
        self.nodes = [
            EmulatorNode(self, i, h, (ports or [0] * len(handlers))[i])
            for i, h in enumerate(handlers)
        ]
        for node in self.nodes:
            node_id = node.handler.answer("node")
            if node_id:
                node.node_id = node_id
        self._sessions: dict[bytes, _Session] = {}
        self._credentials: dict[str, tuple[bytes | None, bool]] = {}

    async def __aenter__(self) -> EmulatorCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open every node's port (bcrypt credentials are computed once here)."""
        if self.security is not None:
            for name, user in self.security.users.items():
                u = user if isinstance(user, User) else User(user)
                cred = admin.credential(u.password) if u.password is not None else None
                self._credentials[name] = (cred, u.password_expired)
        try:
            for node in self.nodes:
                await node._listen()
        except BaseException:
            await self.stop()
            raise
        self.running = True

    async def stop(self) -> None:
        """Close every listening socket and every connection; nothing is left running."""
        self.running = False
        for node in self.nodes:
            await node._close()

    def _check_credential(self, user: str, cred: bytes | None) -> int:
        known = self._credentials.get(user)
        if known is None:
            return admin.INVALID_USER
        expected, expired = known
        if expected is None or cred != expected:
            return admin.INVALID_PASSWORD
        if expired:
            return admin.EXPIRED_PASSWORD
        return admin.OK

    def _users(self, only: str | None) -> list[admin.UserInfo]:
        assert self.security is not None
        out = []
        for name, u in sorted(self.security.users.items()):
            if only is not None and name != only:
                continue
            roles = list(u.roles) if isinstance(u, User) else ["read-write"]
            out.append(admin.UserInfo(name, roles, [0, 0, 0, 0], [0, 0, 0, 0], 0))
        return out

    def _roles(self, only: str | None) -> list[admin.RoleInfo]:
        assert self.security is not None
        table = {r: [r] for r in PREDEFINED_ROLES}
        table.update(self.security.roles)
        return [
            admin.RoleInfo(name, privs, [])
            for name, privs in sorted(table.items())
            if only is None or name == only
        ]

    # --- topology -----------------------------------------------------------------------------

    def _peers(self, node: EmulatorNode, tls: bool) -> str:
        listed = tls == (self.tls is not None)
        peers = [
            Peer(
                other.node_id,
                (self.tls.tls_name if self.tls and tls else None),
                [(other.host, other.port)],
            )
            for other in self.nodes
            if other is not node and listed
        ]
        # service_list.c build_peers: the default port is the literal "3000" in every list;
        # the generation is the node's own (the handler's, when it keeps one)
        own = node.handler.answer("peers-generation")
        generation = int(own) if own and own.isdigit() else self.peers_generation
        return format_peers(Peers(generation, 3000, peers))

    def _topology_answer(self, node: EmulatorNode, command: str) -> str | None:
        """Answers a real server always has, from the emulated cluster's live sockets."""
        clear = self.tls is None
        own = format_service([(node.host, node.port)])
        match command:
            case "node":
                return node.node_id
            case "service-clear-std":
                return own if clear else ""
            case "service-tls-std":
                return "" if clear else own
            case "service-clear-alt" | "service-tls-alt":
                return ""
            case "peers-clear-std" | "alumni-clear-std":
                return self._peers(node, tls=False)
            case "peers-tls-std" | "alumni-tls-std":
                return self._peers(node, tls=True)
            case "peers-clear-alt" | "peers-tls-alt" | "alumni-clear-alt" | "alumni-tls-alt":
                return f"{self.peers_generation},3000,[]"
            case "peers-generation":
                return str(self.peers_generation)
            case "partition-generation":
                return "1"
            case "cluster-name":
                return self.cluster_name
            case "replicas":
                return self._replicas(node)
        if command.startswith("user-agent-set:"):
            # 8.1 servers record the client's user agent (the C client sends it after tending).
            return "ok" if version_tuple(node.handler.answer("build")) >= (8, 1) else None
        return None

    def _replicas(self, node: EmulatorNode) -> str:
        """``replicas``: per namespace ``NS:REGIME,COUNT,BITMAP`` with this node's partitions.

        4096 partitions; bit ``0x80 >> (p % 8)`` of byte ``p // 8`` set when the node owns
        partition p (the C client's reading). The emulator gives partition p to node p % N and
        reports one copy (count 1), enough for clients to build a partition map.
        """
        names = node.handler.answer("namespaces") or ""
        bitmap = bytearray(PARTITIONS // 8)
        for p in range(node.index, PARTITIONS, len(self.nodes)):
            bitmap[p >> 3] |= 0x80 >> (p & 7)
        encoded = base64.b64encode(bytes(bitmap)).decode("ascii")
        return ";".join(f"{ns}:0,1,{encoded}" for ns in names.split(";") if ns)
