"""Credentials for a git remote over HTTP never land in the cache's config, on a git command line
or in an error (ascad.sources.git): ``git+http://user:pw@host/…`` and ``--token-file`` are sent
from the environment only. The remote is real git smart HTTP (``git http-backend`` behind a
loopback aiohttp server that requires basic auth); every git ascad runs goes through a wrapper
on PATH that records its argv."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import stat
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from ascad.errors import SourceError
from ascad.sources import fetch_text, parse_source
from ascad.sources.git import split_credentials
from tests.helpers import CONF_MAIN2, commit_file, git, served

USER, PASSWORD, TOKEN = "alice", "p@ss:w/rd-7Qx", "glpat-cred-test-token"
REAL_GIT = shutil.which("git") or "git"


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


ACCEPTED = {_basic(USER, PASSWORD), _basic("oauth2", TOKEN)}


def _backend_app(root: Path, seen: list[dict[str, str]]) -> web.Application:
    """git smart HTTP: ``git http-backend`` as CGI, behind basic auth."""

    async def cgi(request: web.Request) -> web.StreamResponse:
        seen.append(
            {
                "auth": request.headers.get("Authorization", ""),
                "agent": request.headers.get("User-Agent", ""),
            }
        )
        if request.headers.get("Authorization") not in ACCEPTED:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "REQUEST_METHOD": request.method,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "REMOTE_USER": USER,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        body = await request.read()  # aiohttp has already undone any gzip encoding
        proc = await asyncio.create_subprocess_exec(
            REAL_GIT,
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        out, _ = await asyncio.wait_for(proc.communicate(body), 20)
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        return web.Response(status=status, headers=headers, body=payload)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", cgi)
    return app


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The served repository, the cache ($ASCAD_GIT_CACHE) and a git on PATH logging its argv."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit_file(work, "aerospike/aerospike.conf", CONF_MAIN2, "golden")
    served_root = tmp_path / "srv"
    served_root.mkdir()
    bare = served_root / "salt.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    git(bare, "config", "http.receivepack", "false")

    bindir = tmp_path / "bin"
    bindir.mkdir()
    argv_log = tmp_path / "git-argv.log"
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{REAL_GIT}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    cache = tmp_path / "cache"
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(cache))
    return {"root": served_root, "cache": cache, "argv": argv_log}


def _secrets_forms() -> list[str]:
    forms = [PASSWORD, quote(PASSWORD, safe=""), TOKEN]
    forms += [
        base64.b64encode(f"{u}:{p}".encode()).decode()
        for u, p in (
            (USER, PASSWORD),
            ("oauth2", TOKEN),
        )
    ]
    return forms


def _assert_no_secret_in(cache: Path, argv_log: Path) -> None:
    argv = argv_log.read_text()
    assert "fetch" in argv and "config remote.origin.url" in argv  # the wrapper saw the reads
    blobs = [argv]
    for path in cache.rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes().decode("latin-1"))
    for secret in _secrets_forms():
        for blob in blobs:
            assert secret not in blob
    (repo,) = [p for p in cache.iterdir() if p.is_dir()]
    remote = git(repo, "config", "remote.origin.url")
    assert "@" not in remote and remote.startswith("http://127.0.0.1:")


def test_a_password_in_the_url_goes_by_the_environment_only(world: dict[str, Path]) -> None:
    seen: list[dict[str, str]] = []

    async def main() -> str:
        async with served(_backend_app(world["root"], seen)) as port:
            url = f"git+http://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/salt.git"
            spec = parse_source(f"{url}#aerospike/aerospike.conf@main")
            assert PASSWORD not in spec.raw and PASSWORD not in spec.display
            got = await fetch_text(spec, timeout=20)
            return got.text

    assert asyncio.run(asyncio.wait_for(main(), 60)) == CONF_MAIN2
    assert any(s["auth"] == _basic(USER, PASSWORD) for s in seen)  # it did reach the remote
    _assert_no_secret_in(world["cache"], world["argv"])


def test_a_token_goes_by_the_environment_only_and_own_git_config_entries_stay(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "http.userAgent")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "ascad-test-agent")
    seen: list[dict[str, str]] = []

    async def main() -> str:
        async with served(_backend_app(world["root"], seen)) as port:
            spec = parse_source(f"git+http://127.0.0.1:{port}/salt.git#aerospike/aerospike.conf")
            return (await fetch_text(spec, timeout=20, token=TOKEN)).text

    assert asyncio.run(asyncio.wait_for(main(), 60)) == CONF_MAIN2
    assert any(s["auth"] == _basic("oauth2", TOKEN) for s in seen)
    assert all(s["agent"] == "ascad-test-agent" for s in seen)  # the caller's entry kept
    _assert_no_secret_in(world["cache"], world["argv"])


def test_a_wrong_password_fails_without_showing_it(world: dict[str, Path]) -> None:
    seen: list[dict[str, str]] = []
    wrong = "not-the-pw-93"

    async def main() -> None:
        async with served(_backend_app(world["root"], seen)) as port:
            spec = parse_source(
                f"git+http://{USER}:{wrong}@127.0.0.1:{port}/salt.git#aerospike/aerospike.conf"
            )
            await fetch_text(spec, timeout=20)

    with pytest.raises(SourceError) as err:
        asyncio.run(asyncio.wait_for(main(), 60))
    assert "asked for credentials and none were accepted" in str(err.value)
    assert wrong not in str(err.value) and wrong not in world["argv"].read_text()


def test_an_old_cache_named_with_the_password_is_removed(world: dict[str, Path]) -> None:
    """Caches were once named by the URL with its password and held it in their config."""
    seen: list[dict[str, str]] = []

    async def main() -> str:
        async with served(_backend_app(world["root"], seen)) as port:
            repo = f"http://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/salt.git"
            legacy = world["cache"] / hashlib.sha256(repo.encode()).hexdigest()[:16]
            legacy.mkdir(parents=True)
            (legacy / "config").write_text(f'[remote "origin"]\n\turl = {repo}\n')
            text = (await fetch_text(parse_source(f"git+{repo}#aerospike/aerospike.conf"))).text
            assert not legacy.exists()
            return text

    assert asyncio.run(asyncio.wait_for(main(), 60)) == CONF_MAIN2
    _assert_no_secret_in(world["cache"], world["argv"])


def test_split_credentials() -> None:
    assert split_credentials("https://u:p%40x@h:8443/a.git") == (
        "https://h:8443/a.git",
        ("u", "p@x"),
    )
    assert split_credentials("https://u@h/a.git") == ("https://u@h/a.git", None)  # no secret
    assert split_credentials("ssh://git:pw@h/a.git") == ("ssh://git@h/a.git", None)
    assert split_credentials("file:///srv/a.git") == ("file:///srv/a.git", None)
