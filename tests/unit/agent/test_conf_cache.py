"""The served conf follows the file's content, not its stat signature (ascad.agent.server
ConfCache): an in-place edit of the same size with the mtime put back (``cp -p``) is served at
once, with a new ETag, on /v1/config and /v1/config.json alike."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from ascad.agent.server import ConfCache, ConfigServer
from ascad.agent.settings import load_settings

CONF_A = "service {\n\tproto-fd-max 15000\n}\n"
CONF_B = "service {\n\tproto-fd-max 25000\n}\n"  # same size as CONF_A
assert len(CONF_A) == len(CONF_B)


def _settings(tmp: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        data={
            "agent": {"conf": str(tmp / "aerospike.conf"), "state_dir": str(tmp / "state")},
            "server": {"listen": "127.0.0.1", "port": 0},
        },
        env={},
    )


def _tag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest() + '"'


def _cp_p_same_signature(src_text: str, conf: Path, tmp: Path) -> None:
    """Overwrite ``conf`` in place with ``cp -p`` from a file of the same size whose mtime is the
    conf's: inode, size and mtime all stay what they were."""
    before = conf.stat()
    src = tmp / "edited.conf"
    src.write_text(src_text)
    os.utime(src, ns=(before.st_atime_ns, before.st_mtime_ns))
    subprocess.run(["cp", "-p", str(src), str(conf)], check=True, timeout=10)
    after = conf.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


def _serving_conf_a(
    tmp: Path, body: Callable[[Path, str, aiohttp.ClientSession], Awaitable[None]]
) -> None:
    """``body(conf, url, session)`` while a ConfigServer serves ``tmp/aerospike.conf`` (CONF_A at
    the start) on 127.0.0.1; 30 s at the most."""
    conf = tmp / "aerospike.conf"
    conf.write_text(CONF_A)
    server = ConfigServer(_settings(tmp), lambda: None)

    async def main() -> None:
        await server.start(0)
        try:
            async with aiohttp.ClientSession() as s:
                await body(conf, server.url, s)
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_an_edit_keeping_inode_size_and_mtime_is_served_at_once(tmp_path: Path) -> None:
    async def body(conf: Path, url: str, s: aiohttp.ClientSession) -> None:
        async with s.get(url + "/v1/config") as r:
            assert r.status == 200 and await r.text() == CONF_A
            first = r.headers["ETag"]
        assert first == _tag(CONF_A)
        async with s.get(url + "/v1/config.json") as r:
            assert (await r.json())["sha256"] == first.strip('"')

        _cp_p_same_signature(CONF_B, conf, tmp_path)

        # The old tag no longer matches: the new bytes come back, not a 304.
        async with s.get(url + "/v1/config", headers={"If-None-Match": first}) as r:
            assert r.status == 200 and await r.text() == CONF_B
            assert r.headers["ETag"] == _tag(CONF_B)
        async with s.get(url + "/v1/config.json") as r:
            doc = await r.json()
            assert doc["sha256"] == _tag(CONF_B).strip('"')
            values = {x["path"]: x["value"] for x in doc["settings"]}
            assert values["service.proto-fd-max"] == "25000"
            assert r.headers["ETag"] == _tag(CONF_B)
        # The new tag gives a 304 on both.
        for path in ("/v1/config", "/v1/config.json"):
            async with s.get(url + path, headers={"If-None-Match": _tag(CONF_B)}) as r:
                assert r.status == 304

    _serving_conf_a(tmp_path, body)


def test_a_removed_conf_is_503_and_served_again_once_back(tmp_path: Path) -> None:
    async def body(conf: Path, url: str, s: aiohttp.ClientSession) -> None:
        async with s.get(url + "/v1/config") as r:
            assert r.status == 200
        conf.unlink()
        async with s.get(url + "/v1/config") as r:
            assert r.status == 503  # never the bytes held from before
        conf.write_text(CONF_B)
        async with s.get(url + "/v1/config") as r:
            assert r.status == 200 and await r.text() == CONF_B

    _serving_conf_a(tmp_path, body)


def test_concurrent_requests_share_reads_that_started_after_they_came(tmp_path: Path) -> None:
    """100 requests at once cost a couple of reads, not 100; each one's answer is a read that
    began after it arrived (the first, or the one that follows it)."""
    conf = tmp_path / "aerospike.conf"
    conf.write_text(CONF_A)
    cache = ConfCache(str(conf))

    async def main() -> list[tuple[bytes, str]]:
        return await asyncio.gather(*(cache.fetch() for _ in range(100)))

    answers = asyncio.run(asyncio.wait_for(main(), 30))
    assert {a for a in answers} == {(CONF_A.encode(), _tag(CONF_A))}
    assert 1 <= cache._started <= 3

    # A read after an edit sees the edit, whatever was read before.
    _cp_p_same_signature(CONF_B, conf, tmp_path)
    assert asyncio.run(cache.fetch()) == (CONF_B.encode(), _tag(CONF_B))
    assert cache.get() == (CONF_B.encode(), _tag(CONF_B))


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "aerospike.conf"
    os.mkfifo(fifo)
    cache = ConfCache(str(fifo))

    async def main() -> str:
        try:
            await cache.fetch()
        except Exception as exc:  # SourceError: not a regular file
            return str(exc)
        return "served"

    assert "not a regular file" in asyncio.run(asyncio.wait_for(main(), 10))


def test_a_cancelled_reader_or_waiter_leaves_the_others_their_answer(tmp_path: Path) -> None:
    """The request whose read is in flight may be cancelled (its client gone, a shutdown): the
    ones waiting on that read still get bytes read after they came; a cancelled waiter changes
    nothing for the others."""
    conf = tmp_path / "aerospike.conf"
    conf.write_text(CONF_A)
    cache = ConfCache(str(conf))
    read = cache._read
    reads: list[float] = []

    def slow_read() -> tuple[bytes, str]:
        reads.append(time.monotonic())
        time.sleep(0.2)
        return read()

    cache._read = slow_read  # type: ignore[method-assign]

    async def main() -> None:
        reader = asyncio.ensure_future(cache.fetch())
        await asyncio.sleep(0.05)  # its read is in flight
        waiters = [asyncio.ensure_future(cache.fetch()) for _ in range(3)]
        await asyncio.sleep(0)
        reader.cancel()
        waiters[0].cancel()
        done = await asyncio.gather(*waiters[1:])
        assert done == [(CONF_A.encode(), _tag(CONF_A))] * 2
        assert reader.cancelled() and waiters[0].cancelled()
        # they came while the first read ran: theirs is a second one, begun after they came
        assert len(reads) == 2 and cache._started == 2

    asyncio.run(asyncio.wait_for(main(), 30))
