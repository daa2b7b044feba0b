"""Fuzz the readers of what others send ascad: the conf parser (deep and wide input), the info
protocol reply reader and the Riemann reply reader. Each gives a result or one clear AscadError:
never another exception, never a hang (every example is bounded in time)."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.errors import AscadError, ConfSyntaxError
from ascad.report.riemann import RiemannClient, build_event
from ascad.report.riemann_proto import Msg
from ascad.runtime.admin import PROTO_TYPE_INFO, PROTO_VERSION, proto_header
from ascad.runtime.info import InfoClient

EXAMPLE_SECONDS = 5.0
BOUNDED = settings(
    max_examples=60,
    deadline=None,  # bounded below per example, with a margin for a loaded CI machine
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

LINES = st.sampled_from(
    [
        "service {",
        "namespace n {",
        "logging {",
        "file /x {",
        "context any info",
        "context misc warning",
        "storage-engine device {",
        "xdr {",
        "dc d {",
        "}",
        "proto-fd-max 1",
        "# c",
        "",
    ]
)


@BOUNDED
@given(st.lists(LINES, max_size=3000), st.integers(0, 2000))
def test_deep_and_wide_conf_text_parses_or_fails_in_one_line(lines: list[str], opens: int) -> None:
    text = "service {\n" * opens + "\n".join(lines) + "\n"
    t0 = time.monotonic()
    try:
        flatten(parse_text(text, "f.conf"))
    except ConfSyntaxError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("f.conf")
    assert time.monotonic() - t0 < EXAMPLE_SECONDS


@asynccontextmanager
async def replying(data: bytes) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that reads a request and answers ``data``, then closes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(65536)
            writer.write(data)
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


INFO_BODIES = st.one_of(
    st.binary(max_size=2000),
    st.lists(
        st.tuples(st.sampled_from(["build", "node", "x"]), st.text(max_size=50)), max_size=5
    ).map(lambda kv: "".join(f"{k}\t{v}\n" for k, v in kv).encode("utf-8", "surrogatepass")),
)


@BOUNDED
@given(
    INFO_BODIES,
    st.sampled_from(["exact", "short", "long", "raw", "huge"]),
    st.integers(0, 3),
)
def test_any_info_reply_is_an_answer_or_one_error(body: bytes, framing: str, version: int) -> None:
    size = {"exact": len(body), "short": len(body) + 7, "long": max(0, len(body) - 3)}.get(
        framing, 2**40
    )
    header = proto_header(PROTO_TYPE_INFO, size, version=PROTO_VERSION if version < 2 else version)
    data = body if framing == "raw" else header + body

    async def ask() -> None:
        async with replying(data) as port:
            client = InfoClient("127.0.0.1", port, timeout=2.0)
            async with client:
                try:
                    got = await client.request("build", "node")
                except AscadError as exc:
                    assert "\n" not in str(exc)
                else:
                    assert set(got) == {"build", "node"}

    asyncio.run(asyncio.wait_for(ask(), EXAMPLE_SECONDS))


RIEMANN_BODIES = st.one_of(
    st.binary(max_size=500),
    st.builds(lambda ok, err: Msg(ok=ok, error=err).SerializeToString(), st.booleans(), st.text()),
)


@BOUNDED
@given(RIEMANN_BODIES, st.sampled_from(["exact", "short", "huge", "raw"]))
def test_any_riemann_reply_is_accepted_or_one_error(body: bytes, framing: str) -> None:
    size = {"exact": len(body), "short": len(body) + 5}.get(framing, 2**31)
    data = body if framing == "raw" else struct.pack(">I", size) + body
    event = build_event(
        host="n1",
        check="runtime",
        state="ok",
        metric=0,
        description="x",
        ttl=60,
        tags=[],
        attributes={},
    )

    async def send() -> None:
        async with replying(data) as port:
            client = RiemannClient("127.0.0.1", port, transport="tcp", timeout=2.0)
            try:
                await client.send([event])
            except AscadError as exc:
                assert "\n" not in str(exc)

    asyncio.run(asyncio.wait_for(send(), EXAMPLE_SECONDS))
