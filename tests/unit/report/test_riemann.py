"""Riemann events and our client, against our test sink: TCP, UDP, TLS and every failure."""

from __future__ import annotations

import asyncio
import ssl
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
    describe_differences,
    encode_msg,
    frame,
)
from ascad.report.riemann_proto import Msg
from tests.helpers import free_port, riemann_event, run_bounded, server_ctx, with_sink

# ---------------------------------------------------------------- events


def test_build_event_fields() -> None:
    event = riemann_event()
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
    assert not riemann_event(time=None).HasField("time")


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
        riemann_event(**over)


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
    event = riemann_event(host="node\udc80", description=text)
    assert Msg.FromString(encode_msg([event])).events[0].host == "node?"


def test_ten_thousand_differences_fit_one_udp_datagram() -> None:
    lines = [
        f"service.param-{i}: {'x' * 40} != {'y' * 40} (aerospike.conf:{i})" for i in range(10**4)
    ]
    events = [
        riemann_event(check, description=describe_differences(lines, DESCRIPTION_BUDGET))
        for check in ("peer", "golden", "runtime")
    ]
    assert len(encode_msg(events)) < UDP_MAX_BYTES
    assert "… and " in events[0].description


# ---------------------------------------------------------------- our client -> our sink


def test_tcp_client_to_sink() -> None:
    events = [riemann_event("peer", state="ok", metric=0), riemann_event("golden")]

    async def body(sink: RiemannSink) -> None:
        await RiemannClient("127.0.0.1", sink.port, timeout=5).send(events)
        await RiemannClient("127.0.0.1", sink.port, timeout=5).send([riemann_event("runtime")])
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

    run_bounded(with_sink(body))


def test_empty_send_is_a_liveness_probe() -> None:
    async def body(sink: RiemannSink) -> None:
        await RiemannClient("127.0.0.1", sink.port).send([])
        assert len(sink.messages) == 1 and sink.events == []

    run_bounded(with_sink(body))


def test_udp_client_to_sink() -> None:
    async def body(sink: RiemannSink) -> None:
        client = RiemannClient("127.0.0.1", sink.port, transport="udp")
        await client.send([riemann_event("peer"), riemann_event("runtime", state="warning")])
        got = await sink.wait_for(2, timeout=5)
        assert sorted((e["service"], e["state"], e["transport"]) for e in got) == [
            ("ascad peer", "critical", "udp"),
            ("ascad runtime", "warning", "udp"),
        ]
        # One Msg per datagram.
        assert len(sink.messages) == 2

    run_bounded(with_sink(body))


def test_udp_refuses_oversize_event() -> None:
    async def main() -> None:
        client = RiemannClient("127.0.0.1", free_port(), transport="udp")
        with pytest.raises(RiemannError, match="16384"):
            await client.send([riemann_event(description="x" * UDP_MAX_BYTES)])

    run_bounded(main())


def test_udp_with_tls_is_refused() -> None:
    with pytest.raises(RiemannError, match="no TLS over UDP"):
        RiemannClient("127.0.0.1", 5555, transport="udp", tls=ssl.create_default_context())


def test_fail_mode_raises_with_servers_error() -> None:
    async def body(sink: RiemannSink) -> None:
        sink.fail_mode = True
        sink.fail_error = "index is full"
        with pytest.raises(RiemannError, match="index is full") as info:
            await RiemannClient("127.0.0.1", sink.port).send([riemann_event()])
        assert info.value.where == f"127.0.0.1:{sink.port}"
        assert sink.events == [] and sink.rejected == 1

    run_bounded(with_sink(body))


def test_sink_down_is_a_riemann_error() -> None:
    port = free_port()

    async def main() -> None:
        with pytest.raises(RiemannError, match="refused") as info:
            await RiemannClient("127.0.0.1", port, timeout=2).send([riemann_event()])
        assert str(info.value).startswith(f"127.0.0.1:{port}: ")

    run_bounded(main())


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
            await RiemannClient("127.0.0.1", port, timeout=0.3).send([riemann_event()])

    run_bounded(_silent_server(hold, check))


def test_closed_connection_is_a_riemann_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        writer.close()

    async def check(port: int) -> None:
        with pytest.raises(RiemannError, match="closed before the reply"):
            await RiemannClient("127.0.0.1", port, timeout=5).send([riemann_event()])

    run_bounded(_silent_server(hang_up, check))


def test_garbage_reply_is_a_riemann_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        writer.write(frame(b"\xff\xff\xff"))
        await writer.drain()
        writer.close()

    async def check(port: int) -> None:
        with pytest.raises(RiemannError, match="not a Riemann Msg"):
            await RiemannClient("127.0.0.1", port, timeout=5).send([riemann_event()])

    run_bounded(_silent_server(garbage, check))


def test_tls_client_to_sink(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        ctx = ssl.create_default_context(cafile=str(cert))
        await RiemannClient("127.0.0.1", sink.port, tls=ctx).send([riemann_event()])
        assert [(e["service"], e["transport"]) for e in sink.events] == [("ascad golden", "tls")]
        untrusted = ssl.create_default_context()  # the system CAs do not know our cert
        with pytest.raises(RiemannError, match="TLS failed"):
            await RiemannClient("127.0.0.1", sink.port, tls=untrusted).send([riemann_event()])
        assert len(sink.events) == 1

    run_bounded(with_sink(body, tls=server_ctx(cert, key), udp=False))


def test_tls_client_certificate(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        anonymous = ssl.create_default_context(cafile=str(cert))
        with pytest.raises(RiemannError):
            await RiemannClient("127.0.0.1", sink.port, tls=anonymous).send([riemann_event()])
        assert sink.events == []
        with_cert = ssl.create_default_context(cafile=str(cert))
        with_cert.load_cert_chain(cert, key)
        await RiemannClient("127.0.0.1", sink.port, tls=with_cert).send([riemann_event()])
        assert len(sink.events) == 1

    run_bounded(with_sink(body, tls=server_ctx(cert, key, require_client=True), udp=False))
