"""Node addresses and endpoint lists (ascad.runtime.address): addresses, peers and services."""

from __future__ import annotations

import pytest

from ascad.errors import AscadError
from ascad.runtime.address import (
    format_peers,
    format_service,
    is_node_address,
    parse_address,
    parse_peers,
    parse_service,
    shorthand_ipv4,
)
from ascad.runtime.info import TlsConfig
from tests.helpers import RUNTIME


def test_parse_address_forms() -> None:
    a = parse_address("aerospike://10.0.0.1:3100")
    assert (a.host, a.port, a.user, a.tls) == ("10.0.0.1", 3100, None, None)
    assert parse_address("aerospike://admin@db1").port == 3000
    assert parse_address("aerospike://admin@db1").user == "admin"
    v6 = parse_address("aerospike://[::1]:3000")
    assert (v6.host, v6.port) == ("::1", 3000)
    assert str(v6) == "aerospike://[::1]:3000"
    t = parse_address("aerospike+tls://u@h?tls-name=node1&ca=/etc/ca.pem")
    assert t.port == 4333
    assert t.tls == TlsConfig("/etc/ca.pem", None, None, "node1")
    assert is_node_address("aerospike+tls://h") and not is_node_address("conf/aerospike.conf")


def test_numeric_hosts_that_are_addresses_or_names_are_taken() -> None:
    assert parse_address("aerospike://127.0.0.1").host == "127.0.0.1"
    assert parse_address("aerospike://[::1]:3100").host == "::1"
    assert parse_address("aerospike://3node:3000").host == "3node"
    assert shorthand_ipv4("127.0.0.1") is None and shorthand_ipv4("node-1") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://h:3000", "must start with aerospike"),
        ("aerospike://u:pw@h", "do not put the password"),
        ("aerospike://h:99999", "bad node address"),
        ("aerospike://:3000", "no host"),
        # A port given without its host would be read as an IPv4 address (0.0.181.193).
        (
            "aerospike://46529",
            "'46529' is not a host: it would be read as the IPv4 address 0.0.181.193; for port 46529",
        ),
        ("aerospike://10.1:3000", "'10.1' is not a host: .* address 10.0.0.1$"),
        ("aerospike://1.2.3.4.5", "'1.2.3.4.5' is not a host: it would be read as an IPv4"),
        ("aerospike://h?ca=x", "only for aerospike\\+tls"),
        ("aerospike+tls://h?bogus=1", "unknown address option"),
        ("aerospike+tls://h?cert=a", "cert and key must be given together"),
        ("aerospike://h/path", "unexpected path"),
    ],
)
def test_parse_address_errors(text: str, message: str) -> None:
    with pytest.raises(AscadError, match=message) as exc:
        parse_address(text)
    # the address as given, except that a password in it is never repeated
    assert exc.value.where == text.replace("u:pw@", "u:***@")


def _capture_value(name: str) -> str:
    return (RUNTIME / "asadm-unit" / name).read_text().rstrip("\n").split("\t", 1)[1]


def test_parse_peers_fixtures() -> None:
    clear = _capture_value("peers-clear-std.info")
    peers = parse_peers(clear)
    assert peers.default_port == 3000
    assert [p.node_id for p in peers.peers] == ["BB9050011AC4202", "BB9070011AC4202"]
    assert peers.peers[0].endpoints == [("172.17.0.1", 3000)]
    assert peers.peers[1].endpoints == [("2001:db8:85a3::8a2e", 6666)]
    assert format_peers(peers) == clear
    tls = parse_peers(_capture_value("peers-tls-std.info"))
    assert tls.default_port == 4333 and tls.peers[0].tls_name == "peers"
    assert format_peers(tls) == _capture_value("peers-tls-std.info")
    assert parse_peers("3,3000,[]").peers == []


@pytest.mark.parametrize("bad", ["", "1,3000", "x,3000,[]", "1,3000,[[a,b]]", "1,3000,[[a,,[h]]"])
def test_parse_peers_errors(bad: str) -> None:
    with pytest.raises(AscadError):
        parse_peers(bad)


def test_parse_service_fixture() -> None:
    value = _capture_value("service-clear-std.info")
    endpoints = parse_service(value)
    assert endpoints[0] == ("1.1.1.1", 3000)
    assert format_service(endpoints) == value
    assert parse_service("[::1]:3000;10.0.0.1:3001") == [("::1", 3000), ("10.0.0.1", 3001)]
    with pytest.raises(AscadError, match="no port"):
        parse_service("10.0.0.1")
