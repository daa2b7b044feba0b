"""Aerospike admin (security) messages: LOGIN and AUTHENTICATE, shared by client and emulator.

Facts (aerospike/aerospike-client-c:src/main/aerospike/as_admin.c, aerospike/aerospike-admin:
lib/live_cluster/client/info.py, checked against asadm's unit-test bytes):

- The 8-byte protocol header carries type 2 (security). The C client puts version 2 in it,
  asadm puts 0; the server does not check, so the emulator accepts either.
- Then a 16-byte admin header: scheme 0, result code, command, field count, 12 zero bytes. In a
  reply the result is therefore at absolute offset 9.
- Each field: a 4-byte big-endian length that counts the 1-byte field id plus the data, the id,
  then the data.
- The password is never sent: CREDENTIAL is the 60-byte bcrypt string made with the fixed salt
  ``$2a$10$7EqJtq98hPqEX7fNZaFWoO`` (cost 10).
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
LOGIN = 20

# Field ids.
USER = 0
PASSWORD = 1
CREDENTIAL = 3
CLEAR_PASSWORD = 4
SESSION_TOKEN = 5
SESSION_TTL = 6

# Result codes (as/include/base/security_config.h and the clients' error tables).
OK = 0
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
    fields: dict[int, bytes] = {}
    pos = ADMIN_HEADER_SIZE
    for _ in range(count):
        if pos + 5 > len(body):
            raise AscadError("admin message field header runs past the end")
        (length,) = struct.unpack_from(">I", body, pos)
        if length < 1 or pos + 4 + length > len(body):
            raise AscadError(f"admin message field length {length} runs past the end")
        fields[body[pos + 4]] = bytes(body[pos + 5 : pos + 4 + length])
        pos += 4 + length
    return AdminMessage(result, command, fields)


def login_request(user: str, password: str, *, version: int = PROTO_VERSION) -> bytes:
    """LOGIN (20) for internal auth: USER + CREDENTIAL."""
    return encode_admin(
        LOGIN, [(USER, user.encode("utf-8")), (CREDENTIAL, credential(password))], version=version
    )


def authenticate_request(user: str, token: bytes, *, version: int = PROTO_VERSION) -> bytes:
    """AUTHENTICATE (0) on a new socket: USER + SESSION_TOKEN from an earlier LOGIN."""
    return encode_admin(
        AUTHENTICATE, [(USER, user.encode("utf-8")), (SESSION_TOKEN, token)], version=version
    )


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
