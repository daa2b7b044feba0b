"""Aerospike admin (security) messages: LOGIN, AUTHENTICATE, QUERY_USERS and QUERY_ROLES, shared
by client and emulator.

Facts (aerospike/aerospike-client-c:src/main/aerospike/as_admin.c, aerospike/aerospike-admin:
lib/live_cluster/client/info.py, checked against asadm's unit-test bytes):

- The 8-byte protocol header carries type 2 (security). The C client puts version 2 in it,
  asadm puts 0; the server does not check, so the emulator accepts either.
- Then a 16-byte admin header: scheme 0, result code, command, field count, 12 zero bytes. In a
  reply the result is therefore at absolute offset 9.
- Each field: a 4-byte big-endian length that counts the 1-byte field id plus the data, the id,
  then the data.
- INTERNAL login never sends the password: CREDENTIAL is the 60-byte bcrypt string made with the
  fixed salt ``$2a$10$7EqJtq98hPqEX7fNZaFWoO`` (cost 10).
- The LOGIN fields depend on the auth mode (asadm's ``login``, the C client's ``as_cluster_login``):
  INTERNAL sends USER + CREDENTIAL; EXTERNAL and EXTERNAL_INSECURE (LDAP) add CLEAR_PASSWORD, the
  password itself, which the server passes to the LDAP server (so it must only travel over TLS
  unless the user says EXTERNAL_INSECURE); PKI sends no field at all: the server takes the user
  from the client certificate of the TLS connection. AUTHENTICATE on a later socket sends USER +
  SESSION_TOKEN, PKI the SESSION_TOKEN alone.
- QUERY_USERS (9) and QUERY_ROLES (16) are answered with one admin record per user or role (a
  16-byte admin header with result 0, then its fields), possibly over several proto messages, and
  end with a record whose result is QUERY_END (50). Fields: USER, ROLES (a count byte, then a
  length byte and the name per role), READ_INFO/WRITE_INFO (a count byte, then u32 each),
  CONNECTIONS (u32); ROLE, PRIVILEGES (a count byte, then per privilege its code and, for a
  scoped one, a length-prefixed namespace and set), WHITELIST (comma-joined), READ_QUOTA and
  WRITE_QUOTA (u32) (aerospike/aerospike-client-c:src/main/aerospike/as_admin.c
  as_parse_users/as_parse_roles; asadm lib/live_cluster/client/info.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ascad.errors import AscadError

PROTO_VERSION = 2
PROTO_TYPE_INFO = 1
PROTO_TYPE_SECURITY = 2
PROTO_TYPE_DATA = 3  # record operations: never sent by ascad
HEADER_SIZE = 8
ADMIN_HEADER_SIZE = 16

# Admin commands.
AUTHENTICATE = 0
QUERY_USERS = 9
QUERY_ROLES = 16
LOGIN = 20

# Auth modes, spelled as Aerospike's tools take them (--auth).
AUTH_MODES = ("INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI")

# Field ids.
USER = 0
PASSWORD = 1
CREDENTIAL = 3
CLEAR_PASSWORD = 4
SESSION_TOKEN = 5
SESSION_TTL = 6
AUTH_MODE = 7
ROLES = 10
ROLE = 11
PRIVILEGES = 12
WHITELIST = 13
READ_QUOTA = 14
WRITE_QUOTA = 15
READ_INFO = 16
WRITE_INFO = 17
CONNECTIONS = 18

# Privilege codes (as_admin.c as_privilege_code); codes below 10 are global only (no scope).
PRIVILEGE_CODES = {
    "user-admin": 0,
    "sys-admin": 1,
    "data-admin": 2,
    "udf-admin": 3,
    "sindex-admin": 4,
    "read": 10,
    "read-write": 11,
    "read-write-udf": 12,
    "write": 13,
    "truncate": 14,
    "masking-admin": 15,
    "read-masked": 16,
    "write-masked": 17,
}
GLOBAL_PRIVILEGE_BELOW = 10

# Result codes (as/include/base/security_config.h and the clients' error tables).
OK = 0
QUERY_END = 50
SECURITY_NOT_SUPPORTED = 51
SECURITY_NOT_ENABLED = 52
INVALID_COMMAND = 54
INVALID_USER = 60
INVALID_PASSWORD = 62
EXPIRED_PASSWORD = 63
INVALID_CREDENTIAL = 65
EXPIRED_SESSION = 66
NOT_AUTHENTICATED = 80
ROLE_VIOLATION = 81
LDAP_NOT_ENABLED = 91
LDAP_AUTH_FAILED = 93

RESULT_MESSAGES = {
    OK: "ok",
    SECURITY_NOT_SUPPORTED: "security not supported by this server",
    SECURITY_NOT_ENABLED: "security not enabled on this server",
    INVALID_COMMAND: "invalid admin command",
    INVALID_USER: "unknown user",
    INVALID_PASSWORD: "wrong password",
    EXPIRED_PASSWORD: "password expired; set a new one with asadm",
    INVALID_CREDENTIAL: "session token not accepted",
    EXPIRED_SESSION: "session expired",
    NOT_AUTHENTICATED: "not authenticated",
    ROLE_VIOLATION: "role violation: the user lacks the privilege",
    LDAP_NOT_ENABLED: "LDAP not set up on this server",
    LDAP_AUTH_FAILED: "the LDAP server did not accept the user",
}

# The server's fixed bcrypt salt for the credential (cost 10).
CREDENTIAL_SALT = b"$2a$10$7EqJtq98hPqEX7fNZaFWoO"


def result_message(code: int) -> str:
    """A human spelling of an admin result code, with the number."""
    return f"{RESULT_MESSAGES.get(code, 'admin error')} (result {code})"


def credential(password: str) -> bytes:
    """The CREDENTIAL field: bcrypt(password, fixed salt), 60 ASCII bytes."""
    import bcrypt  # only for a login (a node with security on)

    return bcrypt.hashpw(password.encode("utf-8"), CREDENTIAL_SALT)


def proto_header(msg_type: int, size: int, version: int = PROTO_VERSION) -> bytes:
    """The 8-byte header: version, type, 48-bit big-endian body size."""
    return struct.pack(">Q", (version << 56) | (msg_type << 48) | size)


def parse_proto_header(header: bytes) -> tuple[int, int, int]:
    """(version, type, size) from 8 header bytes."""
    (word,) = struct.unpack(">Q", header)
    return word >> 56, (word >> 48) & 0xFF, word & 0xFFFF_FFFF_FFFF


def encode_admin(
    command: int,
    fields: list[tuple[int, bytes]],
    *,
    result: int = 0,
    version: int = PROTO_VERSION,
) -> bytes:
    """A whole admin message: proto header, admin header, then the fields in order."""
    body = bytearray(struct.pack(">BBBB12x", 0, result, command, len(fields)))
    for field_id, data in fields:
        body += struct.pack(">IB", len(data) + 1, field_id) + data
    return proto_header(PROTO_TYPE_SECURITY, len(body), version) + bytes(body)


@dataclass
class AdminMessage:
    """A decoded admin message body (without the 8-byte proto header)."""

    result: int
    command: int
    fields: dict[int, bytes]


def decode_admin(body: bytes) -> AdminMessage:
    """Decode an admin body (16-byte admin header plus fields); raise AscadError if malformed."""
    if len(body) < ADMIN_HEADER_SIZE:
        raise AscadError(f"admin message too short ({len(body)} bytes)")
    _scheme, result, command, count = struct.unpack_from(">BBBB", body, 0)
    fields, _ = _decode_fields(body, ADMIN_HEADER_SIZE, count, "admin message")
    return AdminMessage(result, command, fields)


def _decode_fields(body: bytes, pos: int, count: int, what: str) -> tuple[dict[int, bytes], int]:
    """``count`` admin fields (length, id, value) from ``pos``: the fields by id, and the position
    after them; AscadError naming ``what`` when one runs past the end of ``body``."""
    fields: dict[int, bytes] = {}
    for _ in range(count):
        if pos + 5 > len(body):
            raise AscadError(f"{what} field header runs past the end")
        (length,) = struct.unpack_from(">I", body, pos)
        if length < 1 or pos + 4 + length > len(body):
            raise AscadError(f"{what} field length {length} runs past the end")
        fields[body[pos + 4]] = bytes(body[pos + 5 : pos + 4 + length])
        pos += 4 + length
    return fields, pos


def login_request(
    user: str | None,
    password: str | None,
    *,
    auth: str = "INTERNAL",
    version: int = PROTO_VERSION,
) -> bytes:
    """LOGIN (20): INTERNAL USER + CREDENTIAL; EXTERNAL(_INSECURE) also CLEAR_PASSWORD; PKI none."""
    if auth == "PKI":
        return encode_admin(LOGIN, [], version=version)
    if user is None or password is None:
        raise AscadError(f"--auth {auth} needs a user and a password")
    fields = [(USER, user.encode("utf-8")), (CREDENTIAL, credential(password))]
    if auth in ("EXTERNAL", "EXTERNAL_INSECURE"):
        fields.append((CLEAR_PASSWORD, password.encode("utf-8")))
    elif auth != "INTERNAL":
        raise AscadError(f"unknown auth mode {auth!r} (one of {', '.join(AUTH_MODES)})")
    return encode_admin(LOGIN, fields, version=version)


def authenticate_request(user: str | None, token: bytes, *, version: int = PROTO_VERSION) -> bytes:
    """AUTHENTICATE (0) on a new socket: USER + SESSION_TOKEN from an earlier LOGIN (PKI, where
    the client knows no user name: SESSION_TOKEN alone)."""
    fields = [] if user is None else [(USER, user.encode("utf-8"))]
    return encode_admin(AUTHENTICATE, [*fields, (SESSION_TOKEN, token)], version=version)


def authenticate_with_credential(user: str, password: str) -> bytes:
    """AUTHENTICATE with USER + CREDENTIAL: the fallback for very old servers (LOGIN gives 54)."""
    return encode_admin(
        AUTHENTICATE, [(USER, user.encode("utf-8")), (CREDENTIAL, credential(password))]
    )


def login_reply(token: bytes, ttl: int) -> bytes:
    """The server's LOGIN success: SESSION_TOKEN and SESSION_TTL (u32 seconds).

    The server leaves the command byte of its replies at 0 (asadm's fixture: ``00 00 00 01``).
    """
    return encode_admin(0, [(SESSION_TOKEN, token), (SESSION_TTL, struct.pack(">I", ttl))])


def result_reply(result: int) -> bytes:
    """A field-less admin reply carrying only a result code (command byte 0, like the server)."""
    return encode_admin(0, [], result=result)


def session_ttl(fields: dict[int, bytes]) -> int | None:
    """The SESSION_TTL field as seconds, or None if absent or malformed."""
    data = fields.get(SESSION_TTL)
    if data is None or len(data) != 4:
        return None
    return int(struct.unpack(">I", data)[0])


# --- QUERY_USERS / QUERY_ROLES -------------------------------------------------------------------


@dataclass
class UserInfo:
    """One user as QUERY_USERS reports it."""

    name: str
    roles: list[str]
    read_info: list[int] | None = None
    write_info: list[int] | None = None
    connections: int | None = None


@dataclass
class RoleInfo:
    """One role as QUERY_ROLES reports it; privileges spelled ``code[.ns[.set]]``."""

    name: str
    privileges: list[str]
    whitelist: list[str]
    read_quota: int = 0
    write_quota: int = 0


def query_request(command: int, name: str | None = None) -> bytes:
    """QUERY_USERS (all, or one USER) or QUERY_ROLES (all, or one ROLE)."""
    field_id = USER if command == QUERY_USERS else ROLE
    fields = [] if name is None else [(field_id, name.encode("utf-8"))]
    return encode_admin(command, fields)


def _record(result: int, fields: list[tuple[int, bytes]]) -> bytes:
    body = bytearray(struct.pack(">BBBB12x", 0, result, 0, len(fields)))
    for field_id, data in fields:
        body += struct.pack(">IB", len(data) + 1, field_id) + data
    return bytes(body)


def _names(names: list[str]) -> bytes:
    out = bytearray([len(names)])
    for n in names:
        raw = n.encode("utf-8")
        out += bytes([len(raw)]) + raw
    return bytes(out)


def _u32s(values: list[int]) -> bytes:
    return bytes([len(values)]) + b"".join(struct.pack(">I", v) for v in values)


def encode_privileges(privileges: list[str]) -> bytes:
    """The PRIVILEGES field: a count, then per privilege its code and, when scoped, ns and set."""
    out = bytearray([len(privileges)])
    for text in privileges:
        code_name, _, scope = text.partition(".")
        ns, _, set_name = scope.partition(".")
        code = PRIVILEGE_CODES.get(code_name.lower().replace("_", "-"))
        if code is None:
            raise AscadError(f"unknown privilege {code_name!r}")
        out.append(code)
        if code >= GLOBAL_PRIVILEGE_BELOW:
            for part in (ns, set_name):
                raw = part.encode("utf-8")
                out += bytes([len(raw)]) + raw
    return bytes(out)


def users_reply(users: list[UserInfo]) -> bytes:
    """The whole QUERY_USERS answer: one message with a record per user, then QUERY_END."""
    body = bytearray()
    for u in users:
        fields = [(USER, u.name.encode("utf-8")), (ROLES, _names(u.roles))]
        if u.read_info is not None:
            fields.append((READ_INFO, _u32s(u.read_info)))
        if u.write_info is not None:
            fields.append((WRITE_INFO, _u32s(u.write_info)))
        if u.connections is not None:
            fields.append((CONNECTIONS, struct.pack(">I", u.connections)))
        body += _record(OK, fields)
    body += _record(QUERY_END, [])
    return proto_header(PROTO_TYPE_SECURITY, len(body)) + bytes(body)


def roles_reply(roles: list[RoleInfo]) -> bytes:
    """The whole QUERY_ROLES answer: one message with a record per role, then QUERY_END."""
    body = bytearray()
    for r in roles:
        fields = [(ROLE, r.name.encode("utf-8")), (PRIVILEGES, encode_privileges(r.privileges))]
        fields.append((WHITELIST, ",".join(r.whitelist).encode("utf-8")))
        fields.append((READ_QUOTA, struct.pack(">I", r.read_quota)))
        fields.append((WRITE_QUOTA, struct.pack(">I", r.write_quota)))
        body += _record(OK, fields)
    body += _record(QUERY_END, [])
    return proto_header(PROTO_TYPE_SECURITY, len(body)) + bytes(body)


def decode_records(body: bytes) -> list[AdminMessage]:
    """The admin records of one query answer message, in order (the last may be QUERY_END)."""
    out: list[AdminMessage] = []
    pos = 0
    while pos < len(body):
        if pos + ADMIN_HEADER_SIZE > len(body):
            raise AscadError("admin record header runs past the end")
        _scheme, result, command, count = struct.unpack_from(">BBBB", body, pos)
        fields, pos = _decode_fields(body, pos + ADMIN_HEADER_SIZE, count, "admin record")
        out.append(AdminMessage(result, command, fields))
    return out
