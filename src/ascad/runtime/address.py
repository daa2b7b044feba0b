"""Node addresses (``aerospike://…``) and the endpoint lists the server reports.

Address syntax, chosen for ascad (docs/info-protocol.md):

- ``aerospike://[USER@]HOST[:PORT]``: clear service port, default 3000.
- ``aerospike+tls://[USER@]HOST[:PORT]?tls-name=NAME&ca=CAFILE[&cert=FILE&key=FILE]``: TLS,
  default port 4333 (the usual tls-port). Without ``tls-name`` the certificate must carry the
  host as written.
- IPv6 hosts go in brackets: ``aerospike://[::1]:3000``.
- A password in the address (``user:pw@``) is refused: it would show in ``ps`` and shell history.
- A host made only of digits and dots that is not a full dotted IPv4 address (``aerospike://46529``,
  ``aerospike://10.1``) is refused (:func:`shorthand_ipv4`): the resolver would read it as an IPv4
  address (46529 is 0.0.181.193, 10.1 is 10.0.0.1), which is almost always a port given without its
  host and would connect somewhere unintended.

Server endpoint lists (aerospike/aerospike-server:as/src/base/thr_info.c, asadm's node.py):

- ``service-clear-std`` / ``service-tls-std``: ``addr:port;addr:port`` (IPv6 bracketed).
- ``peers-clear-std`` / ``peers-tls-std`` / ``alumni-*``: ``GEN,DEFAULT_PORT,[PEER,…]`` where a
  peer is ``[NODE_ID,TLS_NAME,[ENDPOINT,…]]`` and an endpoint has ``:port`` only when it differs
  from the default. The node itself is not listed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from ascad.errors import AscadError
from ascad.runtime.info import TlsConfig, endpoint

CLEAR_PORT = 3000
TLS_PORT = 4333
SCHEMES = ("aerospike", "aerospike+tls")


@dataclass(frozen=True)
class NodeAddress:
    """Where to reach one node and how."""

    host: str
    port: int
    user: str | None = None
    tls: TlsConfig | None = None
    # False when the address named no port (the scheme's default was taken), so --tls-enable
    # can move a plain aerospike://HOST to the TLS default port.
    port_given: bool = field(default=True, compare=False)

    def __str__(self) -> str:
        scheme = "aerospike+tls" if self.tls else "aerospike"
        user = f"{self.user}@" if self.user else ""
        return f"{scheme}://{user}{endpoint(self.host, self.port)}"


_NUMERIC_HOST = re.compile(r"[0-9.]+")


def shorthand_ipv4(host: str) -> str | None:
    """Why a host of digits and dots that is not a full dotted IPv4 address is refused, else None.

    The C resolver (inet_aton) reads ``46529`` as 0.0.181.193 and ``10.1`` as 10.0.0.1: given as a
    host, such a number is almost always a port without its host.
    """
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return None  # a full dotted IPv4 address
    try:
        reading = f"the IPv4 address {ipaddress.IPv4Address(socket.inet_aton(host))}"
    except OSError:
        reading = "an IPv4 address"
    hint = f"; for port {host}, give the host too: HOST:{host}" if host.isdigit() else ""
    return f"{host!r} is not a host: it would be read as {reading}{hint}"


def is_node_address(text: str) -> bool:
    """True if the text looks like an ``aerospike://`` or ``aerospike+tls://`` address."""
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


def parse_address(text: str) -> NodeAddress:
    """Parse an ``aerospike[+tls]://`` address; AscadError naming the address if malformed."""
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise AscadError(f"bad node address: {exc}", text) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AscadError("node address must start with aerospike:// or aerospike+tls://", text)
    if not host:
        raise AscadError("node address has no host", text)
    if (why := shorthand_ipv4(host)) is not None:
        raise AscadError(why, text)
    if parts.password is not None:
        user = parts.username or ""
        shown = text.replace(f"{user}:{parts.password}@", f"{user}:***@", 1)
        raise AscadError(
            "do not put the password in the address; use --password-file or $ASCAD_PASSWORD",
            shown,
        )
    if parts.path not in ("", "/"):
        raise AscadError(f"unexpected path {parts.path!r} in node address", text)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    tls: TlsConfig | None = None
    if scheme == "aerospike+tls":
        unknown = set(query) - {"tls-name", "ca", "cert", "key"}
        if unknown:
            raise AscadError(f"unknown address option(s): {', '.join(sorted(unknown))}", text)
        if bool(query.get("cert")) != bool(query.get("key")):
            raise AscadError("cert and key must be given together", text)
        tls = TlsConfig(
            ca_file=query.get("ca") or None,
            cert_file=query.get("cert") or None,
            key_file=query.get("key") or None,
            tls_name=query.get("tls-name") or None,
        )
    elif query:
        raise AscadError("options (?…) are only for aerospike+tls:// addresses", text)
    port_given = port is not None
    if port is None:
        port = TLS_PORT if tls else CLEAR_PORT
    login_user = unquote(parts.username) if parts.username else None
    return NodeAddress(host=host, port=port, user=login_user, tls=tls, port_given=port_given)


# --- endpoint lists ------------------------------------------------------------------------------


def split_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port``, ``[v6]:port``, or a bare host when ``default_port`` is given."""
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise AscadError(f"unclosed '[' in endpoint {text!r}")
        host, rest = text[1:close], text[close + 1 :]
        if not rest:
            port_text = None
        elif rest.startswith(":"):
            port_text = rest[1:]
        else:
            raise AscadError(f"bad endpoint {text!r}")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None  # a bare name, IPv4 or unbracketed IPv6 address
    if port_text is None:
        if default_port is None:
            raise AscadError(f"endpoint {text!r} has no port")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise AscadError(f"bad port in endpoint {text!r}")
    return host, int(port_text)


def parse_service(value: str) -> list[tuple[str, int]]:
    """``service-clear-std`` and friends: ``addr:port;addr:port`` → [(host, port)]."""
    return [split_host_port(item) for item in value.split(";") if item.strip()]


def format_service(endpoints: list[tuple[str, int]]) -> str:
    """The inverse of :func:`parse_service`."""
    return ";".join(endpoint(h, p) for h, p in endpoints)


@dataclass
class Peer:
    """One entry of a peers list."""

    node_id: str
    tls_name: str | None
    endpoints: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Peers:
    """A parsed ``peers-*-std`` value."""

    generation: int
    default_port: int
    peers: list[Peer] = field(default_factory=list)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise AscadError(f"unbalanced ']' in {text!r}")
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise AscadError(f"unbalanced '[' in {text!r}")
    items.append(text[start:])
    return items


def _unwrap(text: str) -> str:
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise AscadError(f"expected a [list], got {text!r}")
    return text[1:-1]


def parse_peers(value: str) -> Peers:
    """Parse ``peers-clear-std`` / ``peers-tls-std``; AscadError if malformed."""
    top = _split_top(value.strip())
    if len(top) != 3 or not top[0].strip().isdigit() or not top[1].strip().isdigit():
        raise AscadError(f"peers value is not GEN,PORT,[…]: {value!r}")
    generation, default_port = int(top[0]), int(top[1])
    peers: list[Peer] = []
    inner = _unwrap(top[2])
    for item in _split_top(inner) if inner.strip() else []:
        parts = _split_top(_unwrap(item))
        if len(parts) != 3:
            raise AscadError(f"peer entry is not [NODE,TLS-NAME,[…]]: {item!r}")
        node_id, tls_name, eps = parts
        ep_inner = _unwrap(eps)
        endpoints = [
            split_host_port(e, default_port) for e in _split_top(ep_inner) if ep_inner.strip()
        ]
        peers.append(Peer(node_id.strip(), tls_name.strip() or None, endpoints))
    return Peers(generation, default_port, peers)


def format_peers(peers: Peers) -> str:
    """The server's spelling: ports only where they differ from the default, IPv6 bracketed."""
    out = []
    for peer in peers.peers:
        eps = ",".join(
            (f"[{h}]" if ":" in h else h) + ("" if p == peers.default_port else f":{p}")
            for h, p in peer.endpoints
        )
        out.append(f"[{peer.node_id},{peer.tls_name or ''},[{eps}]]")
    return f"{peers.generation},{peers.default_port},[{','.join(out)}]"
