"""An asyncio client for Aerospike's info protocol, with login and TLS.

Wire facts (aerospike/aerospike-server:as/include/base/proto.h and thr_info.c; asadm's
lib/live_cluster/client/info.py), summarised in docs/info-protocol.md:

- Every message starts with 8 bytes: version 2, type (1 info, 2 security), 48-bit big-endian
  body size. The reply to an info request is read as the header, then exactly ``size`` bytes.
- A request body is commands each ending in LF; the reply has one ``command TAB value LF`` line
  per command, in request order, with the command echoed exactly.
- Servers before 7.1 leave unknown commands out of the reply; 7.1+ answer
  ``ERROR:4:unrecognized command``. Error values are ``error``/``fail`` (any case), alone or
  followed by ``:``, ``=``, ``-`` or a space (not ``failed_best_practices=…``).
- With security on and no authentication, the whole reply is ``ERROR:80:not authenticated``
  with no echo.
- A socket carries one request at a time and may be reused; the server closes idle ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ascad.conf.decode import MAX_CONF_BYTES
from ascad.errors import AscadError
from ascad.runtime import admin

# The server refuses messages over 128 MiB; this client refuses replies over the one size limit
# of conf text (ascad.conf.decode): a node's configuration is kilobytes.
PROTO_SIZE_MAX = MAX_CONF_BYTES

# Re-login this long before the session token runs out (what asadm and the C client do).
RELOGIN_MARGIN = 60.0

NOT_AUTHENTICATED = "ERROR:80:not authenticated"


class InfoError(AscadError):
    """A node could not answer an info command; ``where`` is ``host:port command``."""

    def __init__(self, message: str, host: str, port: int, command: str | None = None) -> None:
        where = endpoint(host, port) + (f" {command}" if command else "")
        super().__init__(message, where)
        self.host = host
        self.port = port
        self.command = command


class NotAuthenticated(InfoError):
    """The node wants a login (``ERROR:80:not authenticated``) and none worked."""


class AuthError(InfoError):
    """LOGIN or AUTHENTICATE was refused; ``result`` is the admin result code."""

    def __init__(self, message: str, host: str, port: int, result: int) -> None:
        super().__init__(message, host, port, "login")
        self.result = result


def endpoint(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_error_value(value: str) -> bool:
    """True for ``ERROR:…``, ``FAIL:…``, ``error=…`` and plain ``error``/``fail``.

    Not for a value that merely begins with those letters: ``statistics`` begins with
    ``failed_best_practices=false`` (thr_info.c cmd_statistics) and is no error.
    """
    # Only the first six characters can take part in a match ("error" and the one after it):
    # lower-casing only those, not a whole answer (kilobytes for a namespace's config), gives
    # the same answer.
    return _ERROR_VALUE.match(value[:6].lower()) is not None


_ERROR_VALUE = re.compile(r"(error|fail)($|[:=\s-])")  # compiled once: asked of every answer


def encode_request(commands: tuple[str, ...] | list[str]) -> bytes:
    """The whole info request: header plus each command followed by LF (empty body: summary)."""
    body = "".join(f"{c}\n" for c in commands).encode("utf-8")
    return admin.proto_header(admin.PROTO_TYPE_INFO, len(body)) + body


def parse_reply(body: str) -> tuple[dict[str, str], str | None]:
    """Split a reply body into ``{echoed command: value}`` and a whole-reply error line.

    A line without a TAB is not an answer to a command: the server sends such lines alone for
    ``ERROR:80:not authenticated`` and the queue timeout ``ERROR:9:timeout``.
    """
    answers: dict[str, str] = {}
    bare: list[str] = []
    for line in body.split("\n"):
        if not line:
            continue
        name, tab, value = line.partition("\t")
        if tab:
            answers[name] = value
        else:
            bare.append(line)
    whole = bare[0] if bare and not answers else None
    return answers, whole


# --- TLS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsConfig:
    """TLS settings for a node's tls-port.

    ``ca_file`` (and/or ``ca_path``, a directory of hashed CA files) verifies the server chain
    (neither: the system's CAs). ``tls_name`` is the name the node's certificate must carry (SAN
    DNS or, without SAN, CN; wildcards allowed); without it the host as written is checked (an IP
    address against the SAN IP entries). The name is always checked, after the handshake, and
    not sent as SNI (as asadm does).
    """

    ca_file: str | None
    cert_file: str | None = None
    key_file: str | None = None
    tls_name: str | None = None
    ca_path: str | None = None

    def context(self) -> ssl.SSLContext:
        """An SSLContext that verifies the chain but leaves the name check to :func:`match_tls_name`."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        try:
            if self.ca_file or self.ca_path:
                ctx.load_verify_locations(cafile=self.ca_file, capath=self.ca_path)
            else:
                ctx.load_default_certs()
        except (OSError, ssl.SSLError) as exc:
            raise AscadError(f"cannot load CA file: {exc}", self.ca_file or self.ca_path) from None
        if self.cert_file:
            try:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                hint = "" if self.key_file else " (no key file given: is the key in another file?)"
                raise AscadError(
                    f"cannot load client certificate/key: {exc}{hint}", self.cert_file
                ) from None
        return ctx


def _name_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def certificate_names(cert: dict[str, Any]) -> list[str]:
    """The names a peer certificate (``getpeercert()`` dict) carries: SAN DNS (and IP), else CN."""
    sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    ips = [v.strip() for k, v in cert.get("subjectAltName", ()) if k == "IP Address"]
    if sans or ips:
        return sans + ips
    return [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]


def match_tls_name(tls_name: str, cert: dict[str, Any]) -> bool:
    """True if the certificate's SAN DNS names (or its CN when there is no SAN) match; an IP
    address is matched against the SAN IP entries only (RFC 6125, as ssl.match_hostname did)."""
    ip = _ip(tls_name)
    if ip is not None:
        return any(_ip(v) == ip for k, v in cert.get("subjectAltName", ()) if k == "IP Address")
    sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    if sans or any(k == "IP Address" for k, _ in cert.get("subjectAltName", ())):
        return any(_name_matches(n, tls_name) for n in sans)
    return any(_name_matches(n, tls_name) for n in certificate_names(cert))


# --- connections -------------------------------------------------------------------------------


class _Truncated(Exception):
    def __init__(self, got: int, want: int, what: str) -> None:
        super().__init__(f"connection closed mid-{what} ({got} of {want} bytes)")
        self.got = got
        self.what = what


class _Conn:
    """One socket; used by one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.uses = 0

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self, limit: int) -> tuple[int, int, bytes]:
        """(version, type, body). Raises _Truncated on EOF; AscadError on a bad header."""
        try:
            header = await self.reader.readexactly(admin.HEADER_SIZE)
        except asyncio.IncompleteReadError as exc:
            raise _Truncated(len(exc.partial), admin.HEADER_SIZE, "header") from None
        if header.startswith(b"HTTP/"):
            raise AscadError(
                "the reply starts with 'HTTP/': this is an HTTP server (an ascad agent? read it "
                "with http://HOST:PORT), not an Aerospike service port"
            )
        version, msg_type, size = admin.parse_proto_header(header)
        if version != admin.PROTO_VERSION or msg_type not in (
            admin.PROTO_TYPE_INFO,
            admin.PROTO_TYPE_SECURITY,
        ):
            raise AscadError(
                f"reply is not an Aerospike info/admin message (version {version}, type "
                f"{msg_type}); is this the service port?"
            )
        if size > limit:
            raise AscadError(
                f"reply of {size} bytes is over the {limit}-byte limit; refused without reading"
            )
        try:
            body = await self.reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise _Truncated(len(exc.partial), size, "reply") from None
        return version, msg_type, body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):  # a deadline in this task: no task per close
                await self.writer.wait_closed()


def _connect_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is the node up and is this its service port?"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted by the CA file: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"host unreachable: {exc.strerror}"
    if isinstance(exc, ConnectionError):
        return f"connection failed: {exc.strerror or exc.__class__.__name__}"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    return f"cannot connect: {exc}"


class InfoClient:
    """Info requests to one node over a small pool of reused sockets.

    ``user``/``password`` turn on login (LOGIN once, AUTHENTICATE with the session token on each
    new socket, LOGIN again when the token is refused or within 60 s of its TTL). ``auth`` is the
    mode (:data:`ascad.runtime.admin.AUTH_MODES`): EXTERNAL sends the clear password, so it is
    refused without TLS (EXTERNAL_INSECURE allows it); PKI logs in with the TLS client
    certificate and needs no user or password. ``timeout`` bounds the connect (with TLS and
    login) and each request separately.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: TlsConfig | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 5.0,
        pool_size: int = 2,
        max_reply: int = PROTO_SIZE_MAX,
        auth: str = "INTERNAL",
    ) -> None:
        where = endpoint(host, port)
        auth = auth.upper()
        if auth not in admin.AUTH_MODES:
            raise AscadError(f"unknown --auth {auth!r}: one of {', '.join(admin.AUTH_MODES)}")
        if auth == "PKI":
            if tls is None or not tls.cert_file:
                raise AscadError(
                    "--auth PKI logs in with a TLS client certificate: use aerospike+tls:// (or "
                    "--tls-enable) with --tls-certfile and --tls-keyfile",
                    where,
                )
            user, password = None, None  # the server takes the user from the certificate
        elif user is not None and password is None:
            raise AscadError("a user was given without a password", where)
        if auth == "EXTERNAL" and tls is None and user is not None:
            raise AscadError(
                "--auth EXTERNAL sends the password itself to the node (for LDAP), so it needs "
                "TLS: use aerospike+tls:// or --tls-enable (or --auth EXTERNAL_INSECURE to send it "
                "in clear)",
                where,
            )
        self.auth = auth
        self.host = host
        self.port = port
        self.tls = tls
        self.user = user
        self.password = password
        self.timeout = timeout
        self.max_reply = max_reply
        self._ssl = tls.context() if tls else None
        self._idle: list[_Conn] = []
        self._busy: set[_Conn] = set()
        self._slots = asyncio.Semaphore(max(1, pool_size))
        self._token: bytes | None = None
        self._token_expiry: float | None = None
        self._security_off = False
        self._legacy_auth = False
        self._closed = False
        self.connections_opened = 0
        self.logins = 0
        # The commands of the latest request and how many replies came, for an error raised
        # around the client (a deadline over several requests).
        self.last_command: str | None = None
        self.replies = 0

    def __repr__(self) -> str:
        return f"InfoClient({endpoint(self.host, self.port)})"

    async def __aenter__(self) -> InfoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every socket; later requests raise InfoError."""
        self._closed = True
        conns, self._idle = self._idle + list(self._busy), []
        self._busy.clear()
        for conn in conns:
            await conn.close()

    def _err(self, message: str, command: str | None) -> InfoError:
        return InfoError(message, self.host, self.port, command)

    # --- public API ---------------------------------------------------------------------------

    async def info(self, command: str) -> str:
        """The value of one command; InfoError for an error value or a command left unanswered."""
        value = (await self.request(command))[command]
        if value is None:
            raise self._err(
                "command missing from the reply: the node does not know it (servers before 7.1 "
                "leave unknown commands out)",
                command,
            )
        if is_error_value(value):
            raise self._err(f"node answered {value!r}", command)
        return value

    async def request(self, *commands: str) -> dict[str, str | None]:
        """Send the commands in one message; ``{command: value or None if left out}``.

        With no commands, the empty body asks for the server's summary, and every line of the
        reply is returned.
        """
        label = _label(commands)
        self.last_command = label
        for cmd in commands:
            if not cmd or "\t" in cmd or "\n" in cmd or "\r" in cmd:
                raise self._err("an info command cannot be empty or hold TAB/CR/LF", repr(cmd))
        message = encode_request(commands)
        retried_auth = False
        retried_stale = False
        while True:
            async with self._lease(label) as conn:
                reused = conn.uses > 0
                conn.uses += 1
                try:
                    async with asyncio.timeout(self.timeout):  # unlike wait_for, no task each
                        body = await self._exchange(conn, message)
                except _Truncated as exc:
                    conn.uses = -1  # do not return it to the pool
                    if reused and exc.got == 0 and not retried_stale:
                        retried_stale = True  # the server closed an idle pooled socket
                        continue
                    if exc.got == 0 and not reused and exc.what == "header":
                        raise self._err(self._closed_at_once_hint(), None) from None
                    raise self._err(f"{exc} before the node finished replying", label) from None
                except TimeoutError:
                    conn.uses = -1
                    raise self._err(
                        f"no reply within {self.timeout:g}s (node hung or overloaded)", label
                    ) from None
                except (ConnectionError, OSError) as exc:
                    conn.uses = -1
                    if reused and not retried_stale:
                        retried_stale = True
                        continue
                    hint = ""
                    if not reused and self.tls is not None and not self.tls.cert_file:
                        hint = " (does the node require a client certificate? give --tls-cert)"
                    raise self._err(f"connection lost: {exc}{hint}", label) from None
                except AscadError as exc:
                    conn.uses = -1
                    raise self._err(exc.message, label) from None
            self.replies += 1
            answers, whole = parse_reply(body.decode("utf-8", errors="replace"))
            if whole is not None:
                if whole.strip().lower() == NOT_AUTHENTICATED.lower():
                    if self.user is None and self.auth != "PKI":
                        raise NotAuthenticated(
                            "node has security enabled: --user is missing (a password was given)"
                            if self.password is not None
                            else "node has security enabled: give --user USER with "
                            "--password-file FILE or $ASCAD_PASSWORD, or -P to be prompted (or "
                            "--auth PKI with a client certificate)",
                            *self._hp(),
                        )
                    if not retried_auth:
                        retried_auth = True
                        self._token = None  # stale token: log in again on a new socket
                        self._discard_idle()
                        continue
                    raise NotAuthenticated(
                        "still not authenticated right after logging in again: the session "
                        "expired at once (check the node's session-ttl and clock)",
                        *self._hp(),
                    )
                if commands:
                    raise self._err(f"node answered the whole request with {whole!r}", label)
            if not commands:
                return dict(answers)
            result: dict[str, str | None] = {c: answers.get(c) for c in commands}
            if len(commands) == 1 and result[commands[0]] is None and len(answers) == 1:
                # asadm: one command asked, a differently spelled echo; take the value anyway.
                result[commands[0]] = next(iter(answers.values()))
            return result

    def _closed_at_once_hint(self) -> str:
        """The message for a fresh socket closed before any reply byte."""
        if self.tls is None:
            return (
                "the node closed the connection without replying: is this a TLS port (use "
                "aerospike+tls://), not the service port, or a node at its connection limit?"
            )
        if not self.tls.cert_file:
            return (
                "the node closed the TLS connection without replying: does it require a client "
                "certificate (give --tls-cert and --tls-key)?"
            )
        return (
            "the node closed the TLS connection without replying (was the client certificate "
            "refused?)"
        )

    def _hp(self) -> tuple[str, int]:
        return self.host, self.port

    # --- pool ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lease(self, label: str) -> AsyncIterator[_Conn]:
        if self._closed:
            raise self._err("client is closed", label)
        await self._slots.acquire()
        conn: _Conn | None = None
        try:
            conn = self._idle.pop() if self._idle else await self._open(label)
            self._busy.add(conn)
            yield conn
        finally:
            if conn is not None:
                self._busy.discard(conn)
                if conn.uses >= 0 and not self._closed and not conn.reader.at_eof():
                    self._idle.append(conn)
                else:
                    await conn.close()
            self._slots.release()

    def _discard_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.writer.close()

    async def _open(self, label: str) -> _Conn:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._connect()
        except TimeoutError:
            raise self._err(
                f"timed out after {self.timeout:g}s connecting"
                + (" and logging in" if self.user else ""),
                None,
            ) from None
        except AscadError:
            raise
        except (OSError, ssl.SSLError) as exc:
            # A connection-level failure: the node, not a command, is what failed.
            raise self._err(_connect_error(exc), None) from None

    async def _connect(self) -> _Conn:
        if self._ssl is not None:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._ssl, server_hostname=""
            )
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        conn = _Conn(reader, writer)
        self.connections_opened += 1
        try:
            if self.tls is not None:
                self._check_tls_name(writer)
            if self.user is not None or self.auth == "PKI":
                await self._authenticate(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    def _check_tls_name(self, writer: asyncio.StreamWriter) -> None:
        """The node's certificate must carry ``tls-name`` when given, else the host as written."""
        assert self.tls is not None
        name = self.tls.tls_name or self.host
        ssl_obj = writer.get_extra_info("ssl_object")
        cert = ssl_obj.getpeercert() if ssl_obj is not None else None
        if not cert or not match_tls_name(name, cert):
            found = certificate_names(cert or {})
            names = ", ".join(found) or "none"
            what = f"tls-name {name!r}" if self.tls.tls_name else f"the host {name!r} as written"
            hint = (
                f": pass --tls-name {found[0].replace('*', 'NODE')} (or ?tls-name= in the "
                "address) if that is the node you meant"
                if found
                else ""
            )
            raise self._err(
                f"TLS name mismatch: the node's certificate is for {names}, not {what}{hint}",
                "tls",
            )

    # --- security -----------------------------------------------------------------------------

    async def _admin(self, conn: _Conn, message: bytes) -> admin.AdminMessage:
        await conn.send(message)
        try:
            _v, msg_type, body = await conn.read_message(self.max_reply)
        except _Truncated as exc:
            if exc.got == 0 and exc.what == "header":
                raise self._err(self._closed_at_once_hint(), "login") from None
            raise self._err(f"{exc} during login", "login") from None
        if msg_type != admin.PROTO_TYPE_SECURITY:
            raise self._err(f"login got a message of type {msg_type}, not 2 (security)", "login")
        try:
            return admin.decode_admin(body)
        except AscadError as exc:
            raise self._err(exc.message, "login") from None

    def _token_fresh(self) -> bool:
        if self._token is None:
            return False
        return self._token_expiry is None or self._token_expiry - time.monotonic() > RELOGIN_MARGIN

    async def _authenticate(self, conn: _Conn) -> None:
        if self._security_off:
            return
        if self._legacy_auth:
            assert self.user is not None and self.password is not None
            reply = await self._admin(
                conn, admin.authenticate_with_credential(self.user, self.password)
            )
            self._check_result(reply.result)
            return
        if self._token_fresh():
            assert self._token is not None
            reply = await self._admin(conn, admin.authenticate_request(self.user, self._token))
            if reply.result in (admin.OK, admin.SECURITY_NOT_ENABLED):
                return
            if reply.result not in (admin.INVALID_CREDENTIAL, admin.EXPIRED_SESSION):
                self._check_result(reply.result)
            self._token = None  # refused or expired: log in again on this socket
        await self._login(conn)

    async def _login(self, conn: _Conn) -> None:
        self.logins += 1
        request = admin.login_request(self.user, self.password, auth=self.auth)
        reply = await self._admin(conn, request)
        if reply.result == admin.SECURITY_NOT_ENABLED:
            self._security_off = True  # the C client treats this as success without a token
            return
        if reply.result == admin.INVALID_COMMAND and self.auth == "INTERNAL":
            assert self.user is not None and self.password is not None
            # A server from before LOGIN existed: AUTHENTICATE with the credential on each socket.
            self._legacy_auth = True
            reply = await self._admin(
                conn, admin.authenticate_with_credential(self.user, self.password)
            )
            self._check_result(reply.result)
            return
        self._check_result(reply.result)
        token = reply.fields.get(admin.SESSION_TOKEN)
        if not token:
            raise AuthError("login reply carries no session token", *self._hp(), admin.OK)
        ttl = admin.session_ttl(reply.fields)
        self._token = token
        self._token_expiry = time.monotonic() + ttl if ttl else None

    def _check_result(self, result: int) -> None:
        if result in (admin.OK, admin.SECURITY_NOT_ENABLED):
            return
        if self.auth == "PKI":
            who = "the user named by the client certificate"
            hint = {
                admin.INVALID_USER: f"{who} (its CN) does not exist on the node",
                admin.INVALID_CREDENTIAL: "the node did not take the client certificate for PKI",
                admin.INVALID_COMMAND: "this server does not support PKI logins (5.7+ EE)",
            }.get(result, "PKI login refused")
            raise AuthError(f"{hint} ({admin.result_message(result)})", *self._hp(), result)
        unknown = f"user {self.user!r} does not exist on the node"
        if self.auth == "INTERNAL":
            unknown += " (an LDAP user? use --auth EXTERNAL)"
        hint = {
            admin.INVALID_USER: unknown,
            admin.INVALID_PASSWORD: f"wrong password for user {self.user!r}",
            admin.EXPIRED_PASSWORD: f"the password of user {self.user!r} has expired",
            admin.INVALID_CREDENTIAL: "the node refused the credential",
            admin.EXPIRED_SESSION: "the session expired and logging in again did not help",
            admin.SECURITY_NOT_SUPPORTED: "this server does not support security (CE?)",
        }.get(result, "login refused")
        raise AuthError(f"{hint} ({admin.result_message(result)})", *self._hp(), result)

    async def _exchange(self, conn: _Conn, message: bytes) -> bytes:
        await conn.send(message)
        _v, msg_type, body = await conn.read_message(self.max_reply)
        if msg_type != admin.PROTO_TYPE_INFO:
            raise AscadError(f"info request got a reply of type {msg_type}, not 1 (info)")
        return body


def _label(commands: tuple[str, ...]) -> str:
    """The commands as an error names them: all of them when short, else the first ones and how
    many more (a snapshot request holds ten; a one-line error must stay readable)."""
    if not commands:
        return "(summary)"
    text = ",".join(commands)
    if len(text) <= 100:
        return text
    shown: list[str] = []
    for cmd in commands:
        if shown and len(",".join([*shown, cmd])) > 80:
            break
        shown.append(cmd if len(cmd) <= 80 else cmd[:77] + "...")
    rest = len(commands) - len(shown)
    return ",".join(shown) + (f" (+{rest} more)" if rest else "")
