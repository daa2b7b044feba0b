"""One reader and decoder for conf bytes: each rule of ascad.conf.decode behaves the same through
every kind of source (a file, stdin, a local git repository, a git remote, GitLab, a peer's
agent), and the agent's own /v1/config applies the same size limit."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from ascad.conf.decode import MAX_CONF_BYTES
from ascad.errors import AscadError
from ascad.sources.loader import LoadedConf, load_conf
from tests.helpers import git, served

GOOD = b"service {\n    proto-fd-max 15000\n}\n"

# rule name -> (bytes, words every refusal says, or None when the bytes are accepted)
RULES: dict[str, tuple[bytes, str | None]] = {
    "byte-order mark refused": (b"\xef\xbb\xbf" + GOOD, "byte-order mark"),
    "NUL byte refused": (GOOD + b"\x00", "NUL byte"),
    "not UTF-8 outside a comment refused": (
        b"service {\n    cluster-name caf\xe9\n}\n",
        "not UTF-8",
    ),
    "not UTF-8 inside a comment accepted": (b"# caf\xe9\n" + GOOD, None),
    "over 4 MiB refused": (GOOD + b"#" * MAX_CONF_BYTES + b"\n", "4 M"),
}

Reader = Callable[[Path, bytes], Awaitable[LoadedConf]]


async def _file(tmp: Path, data: bytes) -> LoadedConf:
    path = tmp / "a.conf"
    path.write_bytes(data)
    return await load_conf(str(path))


async def _stdin(tmp: Path, data: bytes) -> LoadedConf:
    real = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data))
    try:
        return await load_conf("-")
    finally:
        sys.stdin = real


def _repo(tmp: Path, data: bytes) -> Path:
    repo = tmp / "salt"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.conf").write_bytes(data)
    git(repo, "add", "a.conf")
    git(repo, "commit", "-q", "-m", "golden")
    return repo


async def _git_local(tmp: Path, data: bytes) -> LoadedConf:
    return await load_conf(f"{_repo(tmp, data)}#a.conf@main")


async def _git_remote(tmp: Path, data: bytes) -> LoadedConf:
    return await load_conf(f"git+file://{_repo(tmp, data)}#a.conf@main")


def _bytes_app(path: str, data: bytes) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=data, content_type="text/plain")

    app = web.Application()
    app.router.add_get(path, handler)
    return app


async def _gitlab(tmp: Path, data: bytes) -> LoadedConf:
    raw = "/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw"
    async with served(_bytes_app(raw, data)) as port:
        return await load_conf(f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf@main")


async def _agent(tmp: Path, data: bytes) -> LoadedConf:
    async with served(_bytes_app("/v1/config", data)) as port:
        return await load_conf(f"http://127.0.0.1:{port}")


READERS: dict[str, Reader] = {
    "file": _file,
    "stdin": _stdin,
    "git (local repository)": _git_local,
    "git+file:// remote": _git_remote,
    "GitLab": _gitlab,
    "peer agent": _agent,
}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("kind", list(READERS))
def test_each_rule_is_the_same_through_every_source_kind(
    kind: str, rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(tmp_path / "cache"))
    data, refusal = RULES[rule]

    async def read() -> LoadedConf:
        return await asyncio.wait_for(READERS[kind](tmp_path, data), 60)

    if refusal is None:
        conf = asyncio.run(read())
        assert conf.flat.settings["service.proto-fd-max"].value == "15000"
    else:
        with pytest.raises(AscadError) as err:
            asyncio.run(read())
        assert refusal in str(err.value), str(err.value)
        assert "\n" not in str(err.value)


def test_the_cli_refuses_a_bom_from_stdin_as_from_a_file(tmp_path: Path) -> None:
    """`ascad diff bom.conf x` and `… | ascad diff - x` both exit 2 with the same words."""
    good = tmp_path / "good.conf"
    good.write_bytes(GOOD)
    bom = tmp_path / "bom.conf"
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD)
    cmd = [sys.executable, "-m", "ascad", "diff"]
    by_file = subprocess.run([*cmd, str(bom), str(good)], capture_output=True, timeout=60)
    by_stdin = subprocess.run(
        [*cmd, "-", str(good)], input=bom.read_bytes(), capture_output=True, timeout=60
    )
    assert by_file.returncode == by_stdin.returncode == 2
    assert by_file.stderr.decode().replace(str(bom), "<stdin>") == by_stdin.stderr.decode()


def test_the_agents_own_config_is_refused_over_the_limit(tmp_path: Path) -> None:
    """/v1/config reads the conf through the same reader: a file over the limit is not served."""
    from ascad.agent.server import ConfCache

    big = tmp_path / "aerospike.conf"
    with big.open("wb") as fh:
        fh.write(GOOD)
        fh.truncate(MAX_CONF_BYTES + 1)  # sparse
    with pytest.raises(AscadError, match="over 4 MiB is refused"):
        ConfCache(str(big)).get()
    small = tmp_path / "small.conf"
    small.write_bytes(GOOD)
    data, etag = ConfCache(str(small)).get()
    assert data == GOOD and etag.startswith('"')
