"""Our Riemann test sink (ascad.lab.riemann_sink), checked with Debian's C client too."""

from __future__ import annotations

import asyncio
import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from ascad.lab.riemann_sink import RiemannSink
from ascad.report.riemann import RiemannClient, RiemannError, encode_msg, frame
from ascad.report.riemann_proto import Msg
from tests.helpers import riemann_event, run_bounded, server_ctx, with_sink

C_CLIENT = Path("/usr/bin/riemann-client")


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
        good = encode_msg([riemann_event()])
        replies = await _exchange(sink.port, [good, b"\xff\xff", good])
        assert [r.ok for r in replies] == [True, False, True]
        assert replies[1].error.startswith("parse error")
        # Several connections at once.
        results = await asyncio.gather(*(_exchange(sink.port, [good] * 3) for _ in range(4)))
        assert all(r.ok for rs in results for r in rs)
        assert len(sink.events) == 2 + 12

    run_bounded(with_sink(body))


def test_sink_closes_on_oversize_frame_and_keeps_serving() -> None:
    async def body(sink: RiemannSink) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        writer.write(struct.pack(">I", 1000) + b"x" * 1000)
        await writer.drain()
        assert await reader.read() == b""  # closed, no reply
        writer.close()
        await writer.wait_closed()
        assert sink.dropped == 1
        await RiemannClient("127.0.0.1", sink.port).send([riemann_event()])
        assert len(sink.events) == 1

    run_bounded(with_sink(body, max_frame=500))


def test_wait_for_is_bounded() -> None:
    async def body(sink: RiemannSink) -> None:
        with pytest.raises(RiemannError, match="received 0 of 1 events"):
            await sink.wait_for(1, timeout=0.2)

    run_bounded(with_sink(body))


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

    run_bounded(main())


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

    run_bounded(with_sink(body))


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

    run_bounded(with_sink(body))


@needs_c_client
def test_c_client_float_metric() -> None:
    async def body(sink: RiemannSink) -> None:
        rc, out = await c_client("-S", "f", "-f", "1.5", "127.0.0.1", str(sink.port))
        assert rc == 0, out
        assert sink.events[0]["metric"] == 1.5

    run_bounded(with_sink(body))


@needs_c_client
def test_c_client_sees_fail_mode() -> None:
    async def body(sink: RiemannSink) -> None:
        sink.fail_mode = True
        sink.fail_error = "sink says no"
        rc, out = await c_client(*C_EVENT, "127.0.0.1", str(sink.port))
        assert rc == 1
        assert "sink says no" in out
        assert sink.events == []

    run_bounded(with_sink(body))


@needs_c_client
def test_c_client_tls_to_sink(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files

    async def body(sink: RiemannSink) -> None:
        # The C client (GnuTLS) wants a CA file, a certificate and a key for TLS.
        tls_opts = ["-o", f"cafile={cert}", "-o", f"certfile={cert}", "-o", f"keyfile={key}"]
        rc, out = await c_client("-G", *tls_opts, *C_EVENT, "127.0.0.1", str(sink.port))
        assert rc == 0, out
        assert [(e["host"], e["transport"]) for e in sink.events] == [("node3", "tls")]

    run_bounded(with_sink(body, tls=server_ctx(cert, key), udp=False))


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
                await RiemannClient("127.0.0.1", port).send([riemann_event("peer")])
                await RiemannClient("127.0.0.1", port, transport="udp").send([riemann_event()])
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

    run_bounded(main())
