"""The agent's HTTP listener on 127.0.0.1 (ascad.agent.listener): its budget from the open-files
limit, the timeouts (a silent client, half a request, idle keep-alive, a stalled TLS handshake),
the cap (the longest-idle connection closed for a new one, a new one refused when all are busy),
malformed Authorization headers (a plain 401, no traceback, no token in any log record), the
redaction filter, and counted repeats (the listener's and the event loop's)."""

from __future__ import annotations

import asyncio
import logging
import resource
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ascad.agent import listener as limits
from ascad.agent.server import ConfigServer
from ascad.agent.settings import load_settings
from tests.helpers import (
    AGENT_CONF,
    FIXTURES,
    LOOP_TOKEN,
    loop_settings,
    run_python,
    subprocess_env,
)

TLS = FIXTURES / "tls"
SLACK = 1.5  # seconds past a timeout within which the agent must have closed the connection


def run(coro: Awaitable[Any], timeout: float = 30) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def tls_settings(tmp: Path) -> Any:
    conf = tmp / "aerospike.conf"
    conf.write_text(AGENT_CONF.read_text())
    return load_settings(
        data={
            "agent": {"conf": str(conf), "state_dir": str(tmp / "state")},
            "server": {
                "listen": "127.0.0.1",
                "port": 0,
                "tls_cert": str(TLS / "server.pem"),
                "tls_key": str(TLS / "server.key"),
            },
        },
        env={},
    )


async def serving(settings: Any, body: Callable[[ConfigServer], Awaitable[None]]) -> None:
    server = ConfigServer(settings, lambda: None)
    await server.start()
    try:
        await body(server)
    finally:
        await server.stop()


async def closed_after(reader: asyncio.StreamReader, t0: float, limit: float) -> float:
    """Seconds from ``t0`` until the agent closed the connection (EOF or reset), reading and
    dropping whatever it sends; ``inf`` if still open after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(limit):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return float("inf")
    except OSError:
        pass
    return loop.time() - t0


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def silent_and_one(server: ConfigServer, first: bytes) -> tuple[float, Conn, Conn]:
    """(the loop's time before both were opened, a silent connection, one that has sent
    ``first``), both to ``server``'s port."""
    assert server.port is not None
    t0 = asyncio.get_running_loop().time()
    silent = await asyncio.open_connection("127.0.0.1", server.port)
    other = await asyncio.open_connection("127.0.0.1", server.port)
    other[1].write(first)
    return t0, silent, other


async def http_get(port: int, path: str, headers: bytes = b"") -> tuple[int, bytes, bytes]:
    """(status, raw head, body) of one request on its own connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + headers + b"Connection: close\r\n\r\n"
    )
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


def client_hello() -> bytes:
    out = ssl.MemoryBIO()
    obj = ssl.create_default_context(cafile=str(TLS / "ca.pem")).wrap_bio(
        ssl.MemoryBIO(), out, server_hostname="node1.ascad.test"
    )
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


# -- budget and the open-files limit --------------------------------------------------------------


@pytest.mark.parametrize("nofile", [256, 512, 1024, 4096, 8192, 1 << 20])
@pytest.mark.parametrize("tls", [False, True])
def test_budget_leaves_the_reserve_and_two_accept_bursts(nofile: int, tls: bool) -> None:
    cap, backlog = limits.budget(nofile, tls)
    assert 8 <= cap <= (limits.MAX_TLS_CONNECTIONS if tls else limits.MAX_CONNECTIONS)
    assert 8 <= backlog <= limits.MAX_BACKLOG
    if nofile >= 512:
        assert cap + 2 * backlog + limits.FD_RESERVE <= nofile
    assert limits.budget(8192, False) == (limits.MAX_CONNECTIONS, limits.MAX_BACKLOG)
    assert limits.budget(8192, True)[0] == limits.MAX_TLS_CONNECTIONS


def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 600:
        pytest.skip(f"hard open-files limit {hard}")
    code = (
        "import resource; from ascad.agent.listener import raise_nofile_limit;"
        "print(raise_nofile_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    out = run_python(
        code,
        env=subprocess_env(),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 600)),
    )
    assert out.stdout.strip() == "(300, 600) (600, 600)", out.stderr


# -- timeouts -------------------------------------------------------------------------------------


def test_silent_half_sent_idle_and_stalled_tls_connections_are_closed_in_time(
    tmp_path: Path,
) -> None:
    """Plain and TLS servers at once (the timeouts run concurrently, about 5 s in all)."""
    keep = limits.KEEPALIVE_TIMEOUT
    hello = client_hello()

    async def plain(server: ConfigServer) -> None:
        loop = asyncio.get_running_loop()
        t0, (silent_r, silent_w), (half_r, half_w) = await silent_and_one(
            server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        )

        async def trickle() -> None:  # one more header line every half second, never the end
            for i in range(40):
                await asyncio.sleep(0.5)
                if half_w.is_closing():
                    return
                half_w.write(f"X-Slow-{i}: {i}\r\n".encode())

        trickling = asyncio.ensure_future(trickle())
        kept_r, kept_w = await asyncio.open_connection("127.0.0.1", server.port)
        kept_w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await kept_r.readuntil(b"ok\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Keep-Alive" not in head
        t_kept = loop.time()
        silent, half, kept = await asyncio.gather(
            closed_after(silent_r, t0, keep + 5),
            closed_after(half_r, t0, keep + 5),
            closed_after(kept_r, t_kept, keep + 5),
        )
        trickling.cancel()
        for w in (silent_w, half_w, kept_w):
            w.close()
        for what, after in (("silent", silent), ("half a request", half), ("kept", kept)):
            assert keep - 0.5 <= after <= keep + SLACK, (what, after)
        assert server.listener is not None and server.listener.open == 0

    async def tls(server: ConfigServer) -> None:
        loop = asyncio.get_running_loop()
        t0, (silent_r, silent_w), (stall_r, stall_w) = await silent_and_one(server, hello)
        ctx = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
        done_r, done_w = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=ctx, server_hostname="node1.ascad.test"
        )
        t_done = loop.time()
        silent, stall, done = await asyncio.gather(
            closed_after(silent_r, t0, 15),
            closed_after(stall_r, t0, 15),
            closed_after(done_r, t_done, 15),
        )
        for w in (silent_w, stall_w, done_w):
            w.close()
        hs, keep = limits.HANDSHAKE_TIMEOUT, limits.KEEPALIVE_TIMEOUT
        assert hs - 0.5 <= silent <= hs + SLACK, silent
        assert hs - 0.5 <= stall <= hs + SLACK, stall
        assert keep - 0.5 <= done <= keep + SLACK, done

    (tmp_path / "plain").mkdir()
    (tmp_path / "tls").mkdir()

    async def both() -> None:
        await asyncio.gather(
            serving(loop_settings(tmp_path / "plain", 0), plain),
            serving(tls_settings(tmp_path / "tls"), tls),
        )

    run(both())


# -- the cap --------------------------------------------------------------------------------------


def test_over_the_cap_the_longest_silent_connections_are_closed_and_healthz_answers(
    tmp_path: Path,
) -> None:
    async def body(server: ConfigServer) -> None:
        assert server.port is not None and server.listener is not None
        server.listener.cap = 8
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
        await asyncio.sleep(0.3)
        assert server.listener.open <= 8
        states = await asyncio.gather(*(closed_after(r, t0, 0.5) for r, _ in conns))
        closed = [i for i, after in enumerate(states) if after != float("inf")]
        assert closed == list(range(12)), states
        # the first probe closes one more silent connection to get in; the others find its place
        for _ in range(5):
            status, _, got = await http_get(server.port, "/healthz")
            assert (status, got) == (200, b"ok\n")
        assert (server.listener.evicted, server.listener.refused) == (13, 0)
        for _, w in conns:
            w.close()

    run(serving(loop_settings(tmp_path, 0), body))


def test_when_every_connection_is_busy_a_new_one_is_refused_at_once() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="done")

    async def main() -> None:
        app = web.Application(middlewares=[limits.busy_middleware])
        app.router.add_get("/slow", slow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        assert runner.server is not None
        listener = limits.Listener(runner.server, None, cap=2, backlog=8)
        port = await listener.start("127.0.0.1", 0)
        try:
            busy = []
            for _ in range(2):
                r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                busy.append((r, w))
            await asyncio.sleep(0.3)
            t0 = asyncio.get_running_loop().time()
            r3, w3 = await asyncio.open_connection("127.0.0.1", port)
            assert await closed_after(r3, t0, 2) < 1.0
            assert (listener.refused, listener.evicted, listener.open) == (1, 0, 2)
            release.set()
            for r, w in busy:
                assert (await r.readuntil(b"done")).startswith(b"HTTP/1.1 200")
                w.close()
            w3.close()
        finally:
            listener.close()
            await runner.cleanup()
            listener.abort()

    run(main())


# -- malformed Authorization headers --------------------------------------------------------------

TOKEN = LOOP_TOKEN.encode()
BAD_HEADERS = {
    "not UTF-8": b"Authorization: Bearer \xff\xfe" + TOKEN + b"\r\n",
    "Latin-1": b"Authorization: Bearer caf\xe9\r\n",
    "token + control byte": b"Authorization: Bearer " + TOKEN + b"\x01\r\n",
    "token + DEL": b"Authorization: Bearer " + TOKEN + b"\x7f\r\n",
    "token + NUL": b"Authorization: Bearer " + TOKEN + b"\x00\r\n",
    "escape in the middle": b"Authorization: Bearer "
    + TOKEN[:4]
    + b"\x1b[31m"
    + TOKEN[4:]
    + b"\r\n",
    "CR inside": b"Authorization: Bearer " + TOKEN + b"\rX\r\n",
    "huge": b"Authorization: Bearer " + TOKEN + b"A" * 9000 + b"\r\n",
    "huge token-like": b"Authorization: Bearer " + b"A" * (limits.MAX_FIELD + 1) + b"\r\n",
    "wrong scheme": b"Authorization: Basic " + TOKEN + b"\r\n",
    "tab for space": b"Authorization: Bearer\t" + TOKEN + b"\r\n",
}


def test_bad_authorization_headers_are_a_plain_401_without_traceback_or_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def body(server: ConfigServer) -> None:
        assert server.port is not None
        for name, header in BAD_HEADERS.items():
            status, head, got = await http_get(server.port, "/v1/config", header)
            assert (status, got) == (401, b"401 unauthorized\n"), name
            assert b"\r\nServer: ascad\r\n" in head and b"aiohttp" not in head, name
            assert b'WWW-Authenticate: Bearer realm="ascad"' in head, name
        # the token itself still works
        status, _, got = await http_get(
            server.port, "/v1/config", b"Authorization: Bearer " + TOKEN + b"\r\n"
        )
        assert status == 200 and b"proto-fd-max" in got

    run(serving(loop_settings(tmp_path, 0), body))
    records = caplog.records
    assert not [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    assert LOOP_TOKEN not in caplog.text
    assert all(LOOP_TOKEN not in r.getMessage() for r in records)
    counted = [r.getMessage() for r in records if "malformed" in r.getMessage()]
    assert len(counted) == 2, counted  # the first, and the others' count when the server stops
    assert counted[1].startswith("http: malformed requests refused: 6 more in the last")


def test_a_tokenless_loopback_server_answers_malformed_requests_400(tmp_path: Path) -> None:
    conf = tmp_path / "aerospike.conf"
    conf.write_text(AGENT_CONF.read_text())
    settings = load_settings(
        data={"agent": {"conf": str(conf)}, "server": {"listen": "127.0.0.1", "port": 0}}, env={}
    )

    async def body(server: ConfigServer) -> None:
        assert server.port is not None
        status, _, got = await http_get(server.port, "/healthz", b"X-Bad: a\x01b\r\n")
        assert (status, got) == (400, b"400 bad request\n")

    run(serving(settings, body))


# -- redaction and counted repeats ----------------------------------------------------------------


def test_redaction_removes_tokens_and_headers_and_escapes_control_characters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits.install_redaction("another-secret-for-redaction")
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("aiohttp.server")
    logger.warning("got %r", b"Authorization: Bearer abc.def-ghi\x01")
    logger.warning("header line: Authorization: Basic dXNlcjpwYXNz")
    logger.warning(
        "the token another-secret-for-redaction in a URL ?t=another-secret-for-redaction"
    )
    logger.warning("forged\nline and \x1b[31mcolour and \udcff")
    try:
        raise ValueError("Invalid header value char: b'Authorization: Bearer abc.def-ghi\\x01'")
    except ValueError:
        logger.exception("Error handling request")
    text = caplog.text
    for secret in ("abc.def-ghi", "dXNlcjpwYXNz", "another-secret-for-redaction"):
        assert secret not in text, secret
    messages = [r.getMessage() for r in caplog.records]
    assert "Authorization: <redacted>" in messages[1]
    assert messages[3] == "forged\\nline and \\x1b[31mcolour and \\udcff"
    assert all("\n" not in m and "\x1b" not in m for m in messages)
    assert caplog.records[4].exc_text and "Traceback" in caplog.records[4].exc_text
    assert limits.scrub("Bearer  abc") == "Bearer <redacted>"
    assert limits.scrub("multi\nline", newlines=True) == "multi\nline"


def test_tally_logs_the_first_then_one_count_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    tally = limits.Tally(logging.getLogger("ascad.test.tally"), interval=0.2)
    for _ in range(1000):
        tally.note("something repeated")
    assert [r.getMessage() for r in caplog.records] == [
        "something repeated (repeats are counted every 0 s)"
    ]
    time.sleep(0.25)
    tally.note("something repeated")  # the window ended: its count, and this one is counted
    time.sleep(0.25)
    tally.flush()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert messages[1].startswith("something repeated: 999 more in the last 0.")
    assert messages[2].startswith("something repeated: 1 more in the last 0.")
    assert tally.totals == {"something repeated": 1001}


def test_the_loop_handler_logs_accept_errors_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        limits.install_loop_handler(loop, limits.Tally(logging.getLogger("ascad.agent"), 0.2))
        for _ in range(500):
            loop.call_exception_handler(
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(24, "Too many open files"),
                }
            )
        for _ in range(3):
            loop.call_exception_handler({"message": "a bug", "exception": KeyError("k")})
        await asyncio.sleep(0.35)  # the tally's timer logs the counts

    run(main())
    messages = [r.getMessage() for r in caplog.records]
    accept = [m for m in messages if "accept()" in m]
    assert len(accept) == 2, messages
    assert "[Errno 24] Too many open files" in accept[0]
    assert "499 more in the last" in accept[1]
    bugs = [r for r in caplog.records if "a bug" in r.getMessage()]
    assert len(bugs) == 2 and bugs[0].exc_info is not None  # its traceback once, then a count
    assert "2 more" in bugs[1].getMessage()


def test_a_request_runs_in_its_connections_task() -> None:
    """aiohttp's request loop hands each request's coroutine to its loop's create_task (a task
    per request on Python 3.11); the handler's loop gives that one coroutine back, to be awaited
    in the connection's own task, and makes real tasks of everything else."""
    import inspect

    from aiohttp.web_protocol import RequestHandler

    source = inspect.getsource(RequestHandler.start)
    assert "self._handle_request(" in source and "loop.create_task(coro)" in source
    loop = asyncio.new_event_loop()
    try:
        inline = limits._InlineRequests(loop)
        coro = RequestHandler._handle_request(None, None, None, None)  # type: ignore[arg-type]
        assert inline.create_task(coro) is coro
        coro.close()
        task = inline.create_task(asyncio.sleep(0))
        assert isinstance(task, asyncio.Task)
        loop.run_until_complete(task)
        assert inline.time() == pytest.approx(loop.time(), abs=1)
        given = limits._handler_loop(loop)
        if sys.version_info >= (3, 12):  # aiohttp makes eager tasks itself: the loop as it is
            assert given is loop
        else:
            assert isinstance(given, limits._InlineRequests)
    finally:
        loop.close()
