"""Riemann events, our client, our test sink, and the sink checked with Debian's C client."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ascad.errors import AscadError
from ascad.lab.riemann_sink import RiemannSink
from ascad.report.riemann import (
    DESCRIPTION_BUDGET,
    UDP_MAX_BYTES,
    RiemannClient,
    RiemannError,
    build_event,
    describe_differences,
    encode_msg,
    frame,
)
from ascad.report.riemann_proto import Event, Msg
from tests.helpers import free_port

C_CLIENT = Path("/usr/bin/riemann-client")


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(30):
            return await coro

    return asyncio.run(bounded())


def sample_event(check: str = "golden", **over: Any) -> Any:
    args: dict[str, Any] = {
        "host": "node1.example",
        "check": check,
        "state": "critical",
        "metric": 3,
        "description": "namespace[test].replication-factor: 2 (aerospike.conf:41) != 3 (golden)",
        "ttl": 54000.0,
        "tags": ["ascad", "aerospike", "prod-eu"],
        "attributes": {"cluster": "prod-eu", "role": "master", "master": "node1.example"},
        "time": 1_700_000_000,
    }
    args.update(over)
    return build_event(**args)


async def with_sink(body: Callable[[RiemannSink], Awaitable[Any]], **kw: Any) -> Any:
    sink = RiemannSink(**kw)
    await sink.start()
    try:
        return await body(sink)
    finally:
        await sink.stop()


# ---------------------------------------------------------------- schema


def test_field_numbers_are_riemanns() -> None:
    numbers = {f.name: f.number for f in Event.DESCRIPTOR.fields}
    assert numbers == {
        "time": 1,
        "state": 2,
        "service": 3,
        "host": 4,
        "description": 5,
        "tags": 7,
        "ttl": 8,
        "attributes": 9,
        "time_micros": 10,
        "metric_sint64": 13,
        "metric_d": 14,
        "metric_f": 15,
    }
    assert {f.name: f.number for f in Msg.DESCRIPTOR.fields} == {
        "ok": 2,
        "error": 3,
        "states": 4,
        "query": 5,
        "events": 6,
    }


def test_wire_bytes_match_hand_encoding() -> None:
    # tag = field << 3 | wire type; sint64 is zigzag (-1 -> 1); ttl is a 32-bit float.
    assert Event(host="h").SerializeToString() == b"\x22\x01h"
    assert Event(metric_sint64=-1).SerializeToString() == b"\x68\x01"
    assert Event(ttl=1.0).SerializeToString() == b"\x45" + struct.pack("<f", 1.0)
    assert Event(metric_d=2.5).SerializeToString() == b"\x71" + struct.pack("<d", 2.5)
    assert Msg(ok=True).SerializeToString() == b"\x10\x01"
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"


# ---------------------------------------------------------------- events


def test_build_event_fields() -> None:
    event = sample_event()
    assert event.service == "ascad golden"
    assert event.host == "node1.example"
    assert event.state == "critical"
    assert event.metric_d == 3.0
    assert not event.HasField("metric_sint64") and not event.HasField("metric_f")
    assert event.ttl == 54000.0
    assert event.time == 1_700_000_000
    assert list(event.tags) == ["ascad", "aerospike", "prod-eu"]
    assert {a.key: a.value for a in event.attributes}["role"] == "master"
    decoded = Msg.FromString(encode_msg([event])).events[0]
    assert decoded == event


def test_build_event_without_time_leaves_it_to_riemann() -> None:
    assert not sample_event(time=None).HasField("time")


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"state": "expired"}, "state 'expired'"),
        ({"check": "Peer Check"}, "check name"),
        ({"host": ""}, "host is empty"),
        ({"metric": float("nan")}, "finite"),
        ({"ttl": 0}, "ttl"),
        ({"attributes": {"": "x"}}, "empty key"),
    ],
)
def test_build_event_rejects_bad_input(over: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AscadError, match=fragment):
        sample_event(**over)


def test_describe_differences_keeps_all_when_they_fit() -> None:
    lines = ["a.b: 1 != 2", "c.d: x != y"]
    assert describe_differences(lines, 200) == "a.b: 1 != 2\nc.d: x != y"
    assert describe_differences([], 200) == ""


def test_describe_differences_counts_the_rest() -> None:
    lines = [f"namespace[ns{i}].replication-factor: 2 != 3 (line {i})" for i in range(10_000)]
    text = describe_differences(lines, DESCRIPTION_BUDGET)
    assert len(text.encode()) <= DESCRIPTION_BUDGET
    *kept, last = text.split("\n")
    assert kept == lines[: len(kept)]
    assert last == f"… and {10_000 - len(kept)} more"
    assert len(kept) > 50


def test_describe_differences_cuts_one_huge_line() -> None:
    text = describe_differences(["é" * 5000, "second"], 100)
    assert len(text.encode()) <= 100
    first, last = text.split("\n")
    assert first.endswith("…") and first.startswith("éé")
    assert last == "… and 1 more"


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.text(
            alphabet=st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=80
        )
    ),
    limit=st.integers(min_value=64, max_value=600),
)
def test_describe_differences_never_exceeds_budget(lines: list[str], limit: int) -> None:
    text = describe_differences(lines, limit)
    assert len(text.encode()) <= limit
    if len("\n".join(lines).encode()) <= limit:
        assert text == "\n".join(lines)


def test_lone_surrogates_become_question_marks() -> None:
    # A path read with surrogateescape cannot be sent as a protobuf string as it is.
    text = describe_differences(["file /opt/\udcff.dat: missing"], 100)
    assert text == "file /opt/?.dat: missing"
    event = sample_event(host="node\udc80", description=text)
    assert Msg.FromString(encode_msg([event])).events[0].host == "node?"


def test_ten_thousand_differences_fit_one_udp_datagram() -> None:
    lines = [
        f"service.param-{i}: {'x' * 40} != {'y' * 40} (aerospike.conf:{i})" for i in range(10**4)
    ]
    events = [
        sample_event(check, description=describe_differences(lines, DESCRIPTION_BUDGET))
        for check in ("peer", "golden", "runtime")
    ]
    assert len(encode_msg(events)) < UDP_MAX_BYTES
    assert "… and " in events[0].description


# ---------------------------------------------------------------- our client -> our sink


def test_tcp_client_to_sink() -> None:
    events = [sample_event("peer", state="ok", metric=0), sample_event("golden")]

    async def body(sink: RiemannSink) -> None:
        await RiemannClient("127.0.0.1", sink.port, timeout=5).send(events)
        await RiemannClient("127.0.0.1", sink.port, timeout=5).send([sample_event("runtime")])
        got = await sink.wait_for(3, timeout=5)
        assert [(e["service"], e["state"], e["metric"]) for e in got] == [
            ("ascad peer", "ok", 0.0),
            ("ascad golden", "critical", 3.0),
            ("ascad runtime", "critical", 3.0),
        ]
        assert got[1]["host"] == "node1.example"
        assert got[1]["ttl"] == 54000.0
        assert got[1]["time"] == 1_700_000_000
        assert got[1]["attributes"] == {
            "cluster": "prod-eu",
            "role": "master",
            "master": "node1.example",
        }
        assert got[1]["transport"] == "tcp"
        assert len(sink.messages) == 2
        assert sink.connections == 2

    run(with_sink(body))


def test_empty_send_is_a_liveness_probe() -> None:
    async def body(sink: RiemannSink) -> None:
        await RiemannClient("127.0.0.1", sink.port).send([])
        assert len(sink.messages) == 1 and sink.events == []

    run(with_sink(body))


def test_udp_client_to_sink() -> None:
    async def body(sink: RiemannSink) -> None:
        client = RiemannClient("127.0.0.1", sink.port, transport="udp")
        await client.send([sample_event("peer"), sample_event("runtime", state="warning")])
        got = await sink.wait_for(2, timeout=5)
        assert sorted((e["service"], e["state"], e["transport"]) for e in got) == [
            ("ascad peer", "critical", "udp"),
            ("ascad runtime", "warning", "udp"),
        ]
        # One Msg per datagram.
        assert len(sink.messages) == 2

    run(with_sink(body))


def test_udp_refuses_oversize_event() -> None:
    async def main() -> None:
        client = RiemannClient("127.0.0.1", free_port(), transport="udp")
        with pytest.raises(RiemannError, match="16384"):
            await client.send([sample_event(description="x" * UDP_MAX_BYTES)])

    run(main())


def test_udp_with_tls_is_refused() -> None:
    with pytest.raises(RiemannError, match="no TLS over UDP"):
        RiemannClient("127.0.0.1", 5555, transport="udp", tls=ssl.create_default_context())


def test_fail_mode_raises_with_servers_error() -> None:
    async def body(sink: RiemannSink) -> None:
        sink.fail_mode = True
        sink.fail_error = "index is full"
        with pytest.raises(RiemannError, match="index is full") as info:
            await RiemannClient("127.0.0.1", sink.port).send([sample_event()])
        assert info.value.where == f"127.0.0.1:{sink.port}"
        assert sink.events == [] and sink.rejected == 1

    run(with_sink(body))


def test_sink_down_is_a_riemann_error() -> None:
    port = free_port()

    async def main() -> None:
        with pytest.raises(RiemannError, match="refused") as info:
            await RiemannClient("127.0.0.1", port, timeout=2).send([sample_event()])
        assert str(info.value).startswith(f"127.0.0.1:{port}: ")

    run(main())


async def _silent_server(
    action: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    check: Callable[[int], Awaitable[None]],
) -> None:
    server = await asyncio.start_server(action, "127.0.0.1", 0)
    try:
        await check(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def test_no_reply_times_out() -> None:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client gives up
        writer.close()

    async def check(port: int) -> None:
        with pytest.raises(RiemannError, match=r"no reply over TCP within 0\.3s"):
            await RiemannClient("127.0.0.1", port, timeout=0.3).send([sample_event()])

    run(_silent_server(hold, check))


def test_closed_connection_is_a_riemann_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        writer.close()

    async def check(port: int) -> None:
        with pytest.raises(RiemannError, match="closed before the reply"):
            await RiemannClient("127.0.0.1", port, timeout=5).send([sample_event()])

    run(_silent_server(hang_up, check))


def test_garbage_reply_is_a_riemann_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        writer.write(frame(b"\xff\xff\xff"))
        await writer.drain()
        writer.close()

    async def check(port: int) -> None:
        with pytest.raises(RiemannError, match="not a Riemann Msg"):
            await RiemannClient("127.0.0.1", port, timeout=5).send([sample_event()])

    run(_silent_server(garbage, check))


# ---------------------------------------------------------------- sink details


async def _exchange(port: int, payloads: list[bytes]) -> list[Any]:
    """Send several frames on one connection and read one reply per frame."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for payload in payloads:
            writer.write(frame(payload))
        await writer.drain()
        replies = []
        for _ in payloads:
            (size,) = struct.unpack(">I", await reader.readexactly(4))
            replies.append(Msg.FromString(await reader.readexactly(size)))
        return replies
    finally:
        writer.close()
        await writer.wait_closed()


def test_sink_many_messages_per_connection_and_bad_frames() -> None:
    async def body(sink: RiemannSink) -> None:
        good = encode_msg([sample_event()])
        replies = await _exchange(sink.port, [good, b"\xff\xff", good])
        assert [r.ok for r in replies] == [True, False, True]
        assert replies[1].error.startswith("parse error")
        # Several connections at once.
        results = await asyncio.gather(*(_exchange(sink.port, [good] * 3) for _ in range(4)))
        assert all(r.ok for rs in results for r in rs)
        assert len(sink.events) == 2 + 12

    run(with_sink(body))


def test_sink_closes_on_oversize_frame_and_keeps_serving() -> None:
    async def body(sink: RiemannSink) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        writer.write(struct.pack(">I", 1000) + b"x" * 1000)
        await writer.drain()
        assert await reader.read() == b""  # closed, no reply
        writer.close()
        await writer.wait_closed()
        assert sink.dropped == 1
        await RiemannClient("127.0.0.1", sink.port).send([sample_event()])
        assert len(sink.events) == 1

    run(with_sink(body, max_frame=500))


def test_wait_for_is_bounded() -> None:
    async def body(sink: RiemannSink) -> None:
        with pytest.raises(RiemannError, match="received 0 of 1 events"):
            await sink.wait_for(1, timeout=0.2)

    run(with_sink(body))


def test_sink_stop_closes_open_connections() -> None:
    async def main() -> None:
        sink = RiemannSink(udp=False)
        await sink.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        writer.write(frame(b""))
        await writer.drain()
        await reader.readexactly(4 + 2)  # the ok reply
        await sink.stop()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    run(main())


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def server_ctx(cert: Path, key: Path, *, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cert)
    return ctx


def test_tls_client_to_sink(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        ctx = ssl.create_default_context(cafile=str(cert))
        await RiemannClient("127.0.0.1", sink.port, tls=ctx).send([sample_event()])
        assert [(e["service"], e["transport"]) for e in sink.events] == [("ascad golden", "tls")]
        untrusted = ssl.create_default_context()  # the system CAs do not know our cert
        with pytest.raises(RiemannError, match="TLS failed"):
            await RiemannClient("127.0.0.1", sink.port, tls=untrusted).send([sample_event()])
        assert len(sink.events) == 1

    run(with_sink(body, tls=server_ctx(cert, key), udp=False))


def test_tls_client_certificate(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        anonymous = ssl.create_default_context(cafile=str(cert))
        with pytest.raises(RiemannError):
            await RiemannClient("127.0.0.1", sink.port, tls=anonymous).send([sample_event()])
        assert sink.events == []
        with_cert = ssl.create_default_context(cafile=str(cert))
        with_cert.load_cert_chain(cert, key)
        await RiemannClient("127.0.0.1", sink.port, tls=with_cert).send([sample_event()])
        assert len(sink.events) == 1

    run(with_sink(body, tls=server_ctx(cert, key, require_client=True), udp=False))


# ---------------------------------------------------------------- Debian's riemann-c-client

needs_c_client = pytest.mark.skipif(
    not C_CLIENT.exists(),
    reason="Debian's riemann-c-client is not installed (/usr/bin/riemann-client); ./dev test installs it",
)


async def c_client(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(C_CLIENT),
        "send",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(15):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


C_EVENT = [
    "-s", "critical", "-S", "ascad c-client", "-h", "node3", "-D", "drift: a != b",
    "-a", "cluster=prod", "-a", "role=slave", "-t", "ascad", "-t", "aerospike", "-L", "60",
]  # fmt: skip


@needs_c_client
def test_c_client_tcp_to_sink() -> None:
    async def body(sink: RiemannSink) -> None:
        rc, out = await c_client(*C_EVENT, "-i", "7", "127.0.0.1", str(sink.port))
        assert rc == 0, out
        (event,) = sink.events
        assert event == {
            "host": "node3",
            "service": "ascad c-client",
            "state": "critical",
            "metric": 7,
            "ttl": 60.0,
            "time": None,
            "description": "drift: a != b",
            "tags": ["ascad", "aerospike"],
            "attributes": {"cluster": "prod", "role": "slave", "x-client": "riemann-c-client"},
            "transport": "tcp",
        }

    run(with_sink(body))


@needs_c_client
def test_c_client_udp_to_sink() -> None:
    async def body(sink: RiemannSink) -> None:
        rc, out = await c_client("-U", *C_EVENT, "-d", "0.5", "127.0.0.1", str(sink.port))
        assert rc == 0, out
        (event,) = await sink.wait_for(1, timeout=5)
        assert (event["host"], event["service"], event["metric"]) == (
            "node3",
            "ascad c-client",
            0.5,
        )
        assert event["transport"] == "udp"
        assert event["attributes"]["role"] == "slave"

    run(with_sink(body))


@needs_c_client
def test_c_client_float_metric() -> None:
    async def body(sink: RiemannSink) -> None:
        rc, out = await c_client("-S", "f", "-f", "1.5", "127.0.0.1", str(sink.port))
        assert rc == 0, out
        assert sink.events[0]["metric"] == 1.5

    run(with_sink(body))


@needs_c_client
def test_c_client_sees_fail_mode() -> None:
    async def body(sink: RiemannSink) -> None:
        sink.fail_mode = True
        sink.fail_error = "sink says no"
        rc, out = await c_client(*C_EVENT, "127.0.0.1", str(sink.port))
        assert rc == 1
        assert "sink says no" in out
        assert sink.events == []

    run(with_sink(body))


@needs_c_client
def test_c_client_tls_to_sink(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        # The C client (GnuTLS) wants a CA file, a certificate and a key for TLS.
        tls_opts = ["-o", f"cafile={cert}", "-o", f"certfile={cert}", "-o", f"keyfile={key}"]
        rc, out = await c_client("-G", *tls_opts, *C_EVENT, "127.0.0.1", str(sink.port))
        assert rc == 0, out
        assert [(e["host"], e["transport"]) for e in sink.events] == [("node3", "tls")]

    run(with_sink(body, tls=server_ctx(cert, key), udp=False))


# ---------------------------------------------------------------- standalone sink


def test_standalone_sink_prints_json_lines() -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ascad.lab.riemann_sink",
            "--port",
            "0",
            "--count",
            "2",
            "--lifetime",
            "20",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None and proc.stdout is not None
            async with asyncio.timeout(20):
                banner = (await proc.stderr.readline()).decode()
                assert banner.startswith("riemann sink listening on 127.0.0.1:"), banner
                port = int(banner.rsplit(":", 1)[1])
                await RiemannClient("127.0.0.1", port).send([sample_event("peer")])
                await RiemannClient("127.0.0.1", port, transport="udp").send([sample_event()])
                lines = [json.loads(await proc.stdout.readline()) for _ in range(2)]
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert sorted((e["service"], e["transport"]) for e in lines) == [
            ("ascad golden", "udp"),
            ("ascad peer", "tcp"),
        ]

    run(main())
