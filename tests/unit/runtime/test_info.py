"""The info client against the emulator over real loopback sockets: protocol, pool, faults,
security and TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ascad.errors import AscadError
from ascad.lab.emulator.server import EmulatorCluster, Security, ServerTls, User
from ascad.runtime import admin
from ascad.runtime.address import parse_peers
from ascad.runtime.info import (
    AuthError,
    InfoClient,
    InfoError,
    NotAuthenticated,
    TlsConfig,
    is_error_value,
    match_tls_name,
    parse_reply,
)
from tests.helpers import FIXTURES, DictHandler, run_cluster

TLS = FIXTURES / "tls"


def run(test: Callable[..., Awaitable[None]], *handlers: DictHandler, **kwargs: object) -> None:
    """Run ``test(cluster)`` against a started cluster, bounded, always stopping it; no connection
    may be left open."""
    cluster = run_cluster(test, list(handlers) or [DictHandler()], **kwargs)
    assert all(n.open_connections == 0 for n in cluster.nodes)


def client(cluster: EmulatorCluster, i: int = 0, **kwargs: object) -> InfoClient:
    node = cluster.nodes[i]
    kwargs.setdefault("timeout", 2.0)
    return InfoClient(node.host, node.port, **kwargs)  # type: ignore[arg-type]


# --- protocol ------------------------------------------------------------------------------------


def test_multi_command_in_request_order() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            got = await c.request("cluster-name", "build", "node")
            assert got == {"cluster-name": "c1", "build": "8.1.2.2", "node": "BB9010011AC4202"}
            assert list(got) == ["cluster-name", "build", "node"]
            assert await c.info("cluster-name") == "c1"

    run(t, DictHandler({"cluster-name": "c1"}))


def test_unknown_command_left_out_before_7_1() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            assert await c.request("build", "no-such") == {"build": "7.0.0.5", "no-such": None}
            with pytest.raises(InfoError, match="missing from the reply") as exc:
                await c.info("no-such")
            assert exc.value.where == f"127.0.0.1:{cluster.nodes[0].port} no-such"

    run(t, DictHandler(build="7.0.0.5"))


def test_unknown_command_answered_from_7_1() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            got = await c.request("no-such")
            assert got == {"no-such": "ERROR:4:unrecognized command"}
            with pytest.raises(InfoError, match="unrecognized command") as exc:
                await c.info("no-such")
            assert "no-such" in str(exc.value)

    run(t, DictHandler(build="7.1.0.0"))


ERRORS = [
    "ERROR:4:invalid context",
    "ERROR::bad-id",
    "ERROR:20:namespace not found on node",
    "FAIL:201:index not found",
    "error=role_violation",
    "error",
    "Error:bad",
    "error-no-data-yet-or-back-too-small",
    "fail",
]


@pytest.mark.parametrize("value", ERRORS)
def test_error_spellings_raise(value: str) -> None:
    assert is_error_value(value)

    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            assert (await c.request("cmd"))["cmd"] == value  # request() returns it as-is
            with pytest.raises(InfoError, match="node answered") as exc:
                await c.info("cmd")
            assert exc.value.command == "cmd"

    run(t, DictHandler({"cmd": value}))


@pytest.mark.parametrize(
    "value",
    ["ok", "OK", "", "true", "replication-factor=2", "failed_best_practices=false;cluster_size=3"],
)
def test_non_error_values_pass(value: str) -> None:
    assert not is_error_value(value)

    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            assert await c.info("cmd") == value

    run(t, DictHandler({"cmd": value}))


def test_error_check_reads_only_the_head_as_the_whole_value_would() -> None:
    """is_error_value lower-cases only the first six characters: every value, long or short,
    with any character after the word, gets the answer the whole lower-cased value gives."""
    import re

    whole = re.compile(r"(error|fail)($|[:=\s-])")
    tails = ["", ":", "=", "-", " ", "\n", "\nmore", "x", "_", "ed", "\u2028", "\x85", "İ", "Σ"]
    heads = ["error", "ERROR", "Error", "fail", "FAIL", "fai", "erro", "İerror", "xerror", ""]
    for head in heads:
        for tail in tails:
            for rest in ("", "a=1;" * 2000):
                value = head + tail + rest
                assert is_error_value(value) == bool(whole.match(value.lower())), value[:12]


def test_bad_command_text_refused() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            for bad in ("a\nb", "a\tb", ""):
                with pytest.raises(InfoError, match="TAB"):
                    await c.request(bad)

    run(t)


def test_summary_from_empty_body() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            got = await c.request()
            assert got["build"] == "8.1.2.2"
            assert got["node"] == cluster.nodes[0].node_id

    run(t)


def test_parse_reply_whole_line_errors() -> None:
    assert parse_reply("ERROR:80:not authenticated\n") == ({}, "ERROR:80:not authenticated")
    assert parse_reply("a\t1\nb\t\n") == ({"a": "1", "b": ""}, None)
    assert parse_reply("") == ({}, None)


# --- pool ----------------------------------------------------------------------------------------


def test_connection_reused_sequentially() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            for _ in range(10):
                assert await c.info("build") == "8.1.2.2"
            assert cluster.nodes[0].connections_accepted == 1
            assert c.connections_opened == 1

    run(t)


def test_pool_bounds_concurrent_sockets() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, pool_size=2) as c:
            values = await asyncio.gather(*(c.info(f"k{i}") for i in range(20)))
            assert values == [f"v{i}" for i in range(20)]
            assert 1 <= cluster.nodes[0].connections_accepted <= 2

    run(t, DictHandler({f"k{i}": f"v{i}" for i in range(20)}))


def test_pooled_socket_closed_by_server_is_replaced() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster) as c:
            assert await c.info("build") == "8.1.2.2"
            await node.set_fault(refuse=True)  # drops every open socket
            await node.set_fault()  # listening again on the same port
            assert await c.info("build") == "8.1.2.2"
            assert node.connections_accepted == 2

    run(t)


def test_closed_client_refuses() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        c = client(cluster)
        await c.info("build")
        await c.close()
        with pytest.raises(InfoError, match="client is closed"):
            await c.info("build")

    run(t)


# --- faults --------------------------------------------------------------------------------------


def _fault_test(fault: dict[str, object], match: str, **client_kwargs: object) -> None:
    async def t(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(**fault)  # type: ignore[arg-type]
        async with client(cluster, timeout=0.5, **client_kwargs) as c:
            with pytest.raises(InfoError, match=match) as exc:
                await c.info("build")
            assert str(exc.value).startswith(f"127.0.0.1:{cluster.nodes[0].port}")

    run(t)


def test_fault_delay_over_timeout() -> None:
    _fault_test({"delay": 5.0}, "no reply within 0.5s")


def test_fault_delay_under_timeout_still_answers() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(delay=0.05)
        async with client(cluster) as c:
            assert await c.info("build") == "8.1.2.2"

    run(t)


def test_fault_refuse() -> None:
    _fault_test({"refuse": True}, "connection refused")


def test_fault_hang() -> None:
    _fault_test({"hang": True}, "no reply within")


def test_fault_hang_during_login() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(hang=True)
        async with client(cluster, timeout=0.5, user="admin", password="pw") as c:
            with pytest.raises(InfoError, match=r"timed out after 0\.5s connecting and logging in"):
                await c.info("build")

    run(t, security=Security({"admin": "pw"}))


def test_fault_truncate() -> None:
    _fault_test({"truncate": True}, "connection closed mid-reply")


def test_fault_oversize() -> None:
    _fault_test({"oversize": True}, "over the 4194304-byte limit")


def test_reply_in_tiny_segments_is_read_whole() -> None:
    """The reply, header included, arrives 1 byte per TCP segment: the client keeps reading
    until the announced size is in, and the socket is reused afterwards."""

    async def t(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(split=1)
        async with client(cluster, timeout=10.0) as c:
            assert await c.request("build", "big") == {"build": "8.1.2.2", "big": "x;" * 40}
            assert await c.info("build") == "8.1.2.2"
            assert c.connections_opened == 1

    run(t, DictHandler({"big": "x;" * 40}))


def test_fault_wrong_protocol_version() -> None:
    _fault_test({"wrong_version": True}, r"version 3, type 1\); is this the service port\?")


def test_fault_wrong_message_type() -> None:
    _fault_test({"wrong_type": True}, r"version 2, type 3\)")


def test_wrong_header_socket_is_not_reused() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster) as c:
            await node.set_fault(wrong_type=True)
            with pytest.raises(InfoError):
                await c.info("build")
            await node.set_fault()
            assert await c.info("build") == "8.1.2.2"
            assert c.connections_opened == 2

    run(t)


def test_admin_reply_of_info_type_is_refused() -> None:
    """A raw server answering LOGIN with an info (type 1) message: a clear login error."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(8)
        await reader.readexactly(int.from_bytes(header[2:], "big"))
        writer.write(admin.proto_header(admin.PROTO_TYPE_INFO, 3) + b"ok\n")
        await writer.drain()
        await reader.read()  # until the client closes
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with InfoClient("127.0.0.1", port, user="u", password="p", timeout=2) as c:
                with pytest.raises(InfoError, match=r"login got a message of type 1") as exc:
                    await c.info("build")
                assert str(exc.value).startswith(f"127.0.0.1:{port} login: ")
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_closed_without_reply_hints_at_tls() -> None:
    """A clear-text client on a TLS port: the server drops the socket without a reply byte."""

    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, timeout=2.0) as c:
            with pytest.raises(InfoError, match=r"without replying: is this a TLS port") as exc:
                await c.info("build")
            assert "\n" not in str(exc.value)

    run(t, tls=ServerTls(str(TLS / "server.pem"), str(TLS / "server.key")))


def test_long_requests_are_named_briefly() -> None:
    """An error on a snapshot-sized request names the first commands and how many more."""
    commands = tuple(f"get-config:context=namespace;namespace=ns{i}" for i in range(10))

    async def t(cluster: EmulatorCluster) -> None:
        await cluster.nodes[0].set_fault(hang=True)
        async with client(cluster, timeout=0.3) as c:
            with pytest.raises(InfoError) as exc:
                await c.request(*commands)
        text = str(exc.value)
        assert "get-config:context=namespace;namespace=ns0" in text and "(+9 more)" in text
        assert len(text) < 200

    run(t)


def test_reply_limit_configurable() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, max_reply=16) as c:
            with pytest.raises(InfoError, match="over the 16-byte limit"):
                await c.info("big")

    run(t, DictHandler({"big": "x" * 100}))


def test_node_down() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        port = cluster.nodes[0].port
        await cluster.stop()
        async with InfoClient("127.0.0.1", port, timeout=0.5) as c:
            with pytest.raises(InfoError, match="connection refused"):
                await c.info("build")

    run(t)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        # an HTTP server (an ascad agent's port given as aerospike://) answers the binary request
        (b"HTTP/1.0 400 Bad Request\r\n\r\n", "the reply starts with 'HTTP/'"),
        # some other service
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an Aerospike info/admin message"),
    ],
)
def test_wrong_version_reply(reply: bytes, message: str) -> None:
    """A peer that answers with a non-Aerospike header."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(reply)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with InfoClient("127.0.0.1", port, timeout=1.0) as c:
                with pytest.raises(InfoError, match=message) as exc:
                    await c.info("build")
                if reply.startswith(b"HTTP/"):
                    assert "an HTTP server (an ascad agent?" in exc.value.message
                    assert "info/admin" not in exc.value.message
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_unresolvable_host() -> None:
    async def main() -> None:
        async with InfoClient("no-such-host.invalid", 3000, timeout=2.0) as c:
            with pytest.raises(InfoError, match=r"cannot resolve host|timed out"):
                await c.info("build")

    asyncio.run(main())


# --- security ------------------------------------------------------------------------------------

USERS = Security({"admin": "secret", "old": User("pw", password_expired=True)})


def test_login_right_password() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster, user="admin", password="secret", pool_size=2) as c:
            assert await c.info("build") == "8.1.2.2"
            await asyncio.gather(*(c.info("build") for _ in range(6)))
            # one LOGIN; any second socket used AUTHENTICATE with the session token
            assert node.logins == 1 == c.logins
            assert all(r == 0 for _, r in node.admin_results)
            assert {cmd for cmd, _ in node.admin_results} <= {admin.LOGIN, admin.AUTHENTICATE}

    run(t, security=USERS)


@pytest.mark.parametrize(
    ("user", "password", "result", "message"),
    [
        ("admin", "wrong", 62, "wrong password for user 'admin'"),
        ("nobody", "x", 60, "user 'nobody' does not exist"),
        ("old", "pw", 63, "password of user 'old' has expired"),
    ],
)
def test_login_failures_are_clear(user: str, password: str, result: int, message: str) -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, user=user, password=password) as c:
            with pytest.raises(AuthError, match=message) as exc:
                await c.info("build")
            assert exc.value.result == result
            assert f"result {result}" in str(exc.value)
            assert exc.value.where == f"127.0.0.1:{cluster.nodes[0].port} login"

    run(t, security=USERS)


def test_no_user_on_secured_node() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster) as c:
            with pytest.raises(NotAuthenticated, match="give --user USER with --password-file"):
                await c.info("build")

    run(t, security=USERS)


def test_expired_session_relogs_in() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster, user="admin", password="secret") as c:
            assert await c.info("build") == "8.1.2.2"
            node.expire_sessions()  # the open socket now gets ERROR:80
            assert await c.info("build") == "8.1.2.2"
            assert node.logins == 2

    run(t, security=USERS)


def test_expired_token_on_new_socket_gets_66_then_login() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster, user="admin", password="secret") as c:
            await c.info("build")
            node.expire_sessions()
            await node.set_fault(refuse=True)  # drop the socket: the next one must authenticate
            await node.set_fault()
            assert await c.info("build") == "8.1.2.2"
            assert (admin.AUTHENTICATE, admin.EXPIRED_SESSION) in node.admin_results
            assert node.logins == 2

    run(t, security=USERS)


def test_session_that_expires_at_once_is_reported() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, user="admin", password="secret") as c:
            with pytest.raises(NotAuthenticated, match="session expired at once"):
                await c.info("build")

    run(t, security=Security({"admin": "secret"}, session_ttl=0))


def test_security_not_enabled_carries_on() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with client(cluster, user="admin", password="x", pool_size=2) as c:
            await c.info("build")
            await asyncio.gather(*(c.info("build") for _ in range(4)))
            assert (admin.LOGIN, admin.SECURITY_NOT_ENABLED) in node.admin_results
            assert len(node.admin_results) == 1  # later sockets skip login

    run(t)


def test_user_without_password_refused() -> None:
    with pytest.raises(AscadError, match="without a password"):
        InfoClient("127.0.0.1", 3000, user="admin")


# --- TLS -----------------------------------------------------------------------------------------

SERVER_TLS = ServerTls(str(TLS / "server.pem"), str(TLS / "server.key"), "node1.ascad.test")


@pytest.mark.parametrize("name", ["node1.ascad.test", "NODE1.ascad.test", "a.cluster.ascad.test"])
def test_tls_name_matches(name: str | None) -> None:
    async def t(cluster: EmulatorCluster) -> None:
        tls = TlsConfig(str(TLS / "ca.pem"), tls_name=name)
        async with client(cluster, tls=tls) as c:
            assert await c.info("build") == "8.1.2.2"
            peers = parse_peers(await c.info("peers-tls-std"))
            assert peers.peers == []

    run(t, tls=SERVER_TLS)


@pytest.mark.parametrize(
    "name", ["node2.ascad.test", "b.a.cluster.ascad.test", "cluster.ascad.test"]
)
def test_tls_name_mismatch(name: str) -> None:
    async def t(cluster: EmulatorCluster) -> None:
        tls = TlsConfig(str(TLS / "ca.pem"), tls_name=name)
        async with client(cluster, tls=tls) as c:
            with pytest.raises(InfoError, match="TLS name mismatch") as exc:
                await c.info("build")
            assert "node1.ascad.test" in str(exc.value) and name in str(exc.value)

    run(t, tls=SERVER_TLS)


def test_tls_without_name_checks_the_host_as_written() -> None:
    """No tls-name: the host is the name; a certificate for another name is refused, and the
    message says which --tls-name to pass."""

    async def t(cluster: EmulatorCluster) -> None:
        tls = TlsConfig(str(TLS / "ca.pem"))
        async with client(cluster, tls=tls) as c:
            with pytest.raises(InfoError, match="TLS name mismatch") as exc:
                await c.info("build")
        text = str(exc.value)
        assert "not the host '127.0.0.1' as written" in text
        assert "pass --tls-name node1.ascad.test" in text and "\n" not in text

    run(t, tls=SERVER_TLS)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_by_host_matches_ip_and_dns_sans(host: str) -> None:
    """The loopback certificate carries SAN IP:127.0.0.1 and DNS:localhost: either host as
    written passes with no tls-name."""
    loopback = ServerTls(str(TLS / "loopback.pem"), str(TLS / "loopback.key"))

    async def t(cluster: EmulatorCluster) -> None:
        node = cluster.nodes[0]
        async with InfoClient(host, node.port, tls=TlsConfig(str(TLS / "ca.pem")), timeout=2) as c:
            assert await c.info("build") == "8.1.2.2"
        # an explicit tls-name is checked instead of the host
        wrong = TlsConfig(str(TLS / "ca.pem"), tls_name="node1.ascad.test")
        async with InfoClient(host, node.port, tls=wrong, timeout=2) as c:
            with pytest.raises(InfoError, match=r"not tls-name 'node1\.ascad\.test'"):
                await c.info("build")

    run(t, tls=loopback)


def test_match_tls_name_ip_rules() -> None:
    cert = {"subjectAltName": (("IP Address", "127.0.0.1"), ("IP Address", "0:0:0:0:0:0:0:1"))}
    assert match_tls_name("127.0.0.1", cert)
    assert match_tls_name("::1", cert)
    assert not match_tls_name("127.0.0.2", cert)
    # an IP is never matched against a CN or a DNS name
    assert not match_tls_name("10.0.0.1", {"subject": ((("commonName", "10.0.0.1"),),)})


def test_tls_untrusted_ca() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        tls = TlsConfig(str(TLS / "other-ca.pem"), tls_name="node1.ascad.test")
        async with client(cluster, tls=tls) as c:
            with pytest.raises(InfoError, match="not trusted by the CA file"):
                await c.info("build")

    run(t, tls=SERVER_TLS)


def test_tls_client_certificate() -> None:
    mtls = ServerTls(
        str(TLS / "server.pem"), str(TLS / "server.key"), "node1.ascad.test", str(TLS / "ca.pem")
    )

    async def t(cluster: EmulatorCluster) -> None:
        good = TlsConfig(
            str(TLS / "ca.pem"),
            str(TLS / "client.pem"),
            str(TLS / "client.key"),
            "node1.ascad.test",
        )
        async with client(cluster, tls=good) as c:
            assert await c.info("build") == "8.1.2.2"
        bare = TlsConfig(str(TLS / "ca.pem"), tls_name="node1.ascad.test")
        async with client(cluster, tls=bare, timeout=1.0) as c:
            with pytest.raises(InfoError, match="client certificate"):
                await c.info("build")

    run(t, tls=mtls)


def test_tls_with_login() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        tls = TlsConfig(str(TLS / "ca.pem"), tls_name="node1.ascad.test")
        async with client(cluster, tls=tls, user="admin", password="secret") as c:
            assert await c.info("build") == "8.1.2.2"

    run(t, tls=SERVER_TLS, security=USERS)


def test_tls_missing_ca_file() -> None:
    with pytest.raises(AscadError, match="cannot load CA file") as exc:
        TlsConfig("/nonexistent/ca.pem").context()
    assert exc.value.where == "/nonexistent/ca.pem"


def test_match_tls_name_rules() -> None:
    cert = {"subject": ((("commonName", "cn.example"),),), "subjectAltName": (("DNS", "*.x.io"),)}
    assert match_tls_name("a.x.io", cert)
    assert not match_tls_name("x.io", cert)
    assert not match_tls_name("cn.example", cert)  # SAN present: CN is not used
    assert match_tls_name("cn.example", {"subject": ((("commonName", "cn.example"),),)})


# --- auth modes (--auth INTERNAL | EXTERNAL | EXTERNAL_INSECURE | PKI) ---------------------------

LDAP = Security(
    {"admin": "secret", "ascad-client": User(None, roles=("read",))},
    ldap_users={"alice": "ldap-pw"},
)
MTLS = ServerTls(
    str(TLS / "server.pem"), str(TLS / "server.key"), "node1.ascad.test", str(TLS / "ca.pem")
)
CA_ONLY = TlsConfig(str(TLS / "ca.pem"), tls_name="node1.ascad.test")
WITH_CERT = TlsConfig(
    str(TLS / "ca.pem"), str(TLS / "client.pem"), str(TLS / "client.key"), "node1.ascad.test"
)


def _logins(cluster: EmulatorCluster) -> list[tuple[int, ...]]:
    return [f for cmd, f in cluster.nodes[0].admin_fields if cmd == admin.LOGIN]


def test_auth_internal_sends_user_and_credential_only() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, user="admin", password="secret", auth="INTERNAL") as c:
            assert await c.info("build") == "8.1.2.2"
        assert _logins(cluster) == [(admin.USER, admin.CREDENTIAL)]

    run(t, security=LDAP)


def test_auth_external_over_tls_sends_the_clear_password() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(
            cluster, tls=CA_ONLY, user="alice", password="ldap-pw", auth="EXTERNAL"
        ) as c:
            assert await c.info("build") == "8.1.2.2"
            await asyncio.gather(*(c.info("node") for _ in range(4)))  # more sockets: AUTHENTICATE
        assert _logins(cluster) == [(admin.USER, admin.CREDENTIAL, admin.CLEAR_PASSWORD)]
        assert list(cluster.nodes[0].login_users) == ["alice"]
        async with client(cluster, tls=CA_ONLY, user="alice", password="bad", auth="EXTERNAL") as c:
            with pytest.raises(AuthError, match="wrong password for user 'alice'"):
                await c.info("build")
        # an internal user still logs in with EXTERNAL (the server checks the credential)
        async with client(
            cluster, tls=CA_ONLY, user="admin", password="secret", auth="external"
        ) as c:
            assert await c.info("build") == "8.1.2.2"

    run(t, security=LDAP, tls=SERVER_TLS)


def test_auth_external_without_tls_is_refused_before_connecting() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        with pytest.raises(AscadError, match="EXTERNAL sends the password itself") as exc:
            client(cluster, user="alice", password="ldap-pw", auth="EXTERNAL")
        assert "EXTERNAL_INSECURE" in str(exc.value)
        assert cluster.nodes[0].connections_accepted == 0

    run(t, security=LDAP)


def test_auth_external_insecure_sends_it_without_tls() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, user="alice", password="ldap-pw", auth="EXTERNAL_INSECURE") as c:
            assert await c.info("build") == "8.1.2.2"
        assert _logins(cluster) == [(admin.USER, admin.CREDENTIAL, admin.CLEAR_PASSWORD)]

    run(t, security=LDAP)


def test_auth_internal_for_an_ldap_user_says_to_use_external() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, user="alice", password="ldap-pw") as c:
            with pytest.raises(AuthError, match=r"an LDAP user\? use --auth EXTERNAL") as exc:
                await c.info("build")
            assert exc.value.result == admin.INVALID_USER

    run(t, security=LDAP)


def test_auth_pki_logs_in_with_the_client_certificate() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, tls=WITH_CERT, auth="PKI", pool_size=3) as c:
            assert c.user is None and c.password is None
            assert await c.info("build") == "8.1.2.2"
            await asyncio.gather(*(c.info("node") for _ in range(6)))
            assert c.logins == 1
        node = cluster.nodes[0]
        assert _logins(cluster) == [()]  # no field: the server reads the certificate
        assert list(node.login_users) == ["ascad-client"]
        auths = [f for cmd, f in node.admin_fields if cmd == admin.AUTHENTICATE]
        assert auths and all(f == (admin.SESSION_TOKEN,) for f in auths)
        assert all(r == 0 for _, r in node.admin_results)

    run(t, security=LDAP, tls=MTLS)


def test_auth_pki_certificate_of_an_unknown_user() -> None:
    async def t(cluster: EmulatorCluster) -> None:
        async with client(cluster, tls=WITH_CERT, auth="PKI") as c:
            with pytest.raises(AuthError, match=r"client certificate \(its CN\) does not exist"):
                await c.info("build")

    run(t, security=Security({"admin": "secret"}), tls=MTLS)


def test_auth_pki_needs_tls_and_a_certificate() -> None:
    for tls in (None, CA_ONLY):
        with pytest.raises(AscadError, match="--auth PKI logs in with a TLS client certificate"):
            InfoClient("127.0.0.1", 3000, tls=tls, auth="PKI")
    with pytest.raises(AscadError, match="unknown --auth 'LDAP'"):
        InfoClient("127.0.0.1", 3000, auth="ldap")
