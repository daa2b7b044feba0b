"""Sources under the conditions an SRE meets: answers in many TCP segments, huge and HTML answers,
redirects that would carry a token elsewhere, git remotes that are down or want a password, an
environment that points git at another repository, and a repository sub-directory given as DIR.

Every server is a real aiohttp server or git on 127.0.0.1; every failure must be one line that
names the source."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from ascad.cli import main
from ascad.conf.decode import MAX_CONF_BYTES as MAX_SOURCE_BYTES
from ascad.errors import SourceError
from ascad.sources import fetch_text, parse_source
from tests.helpers import fetch, free_port, init_repo, served

TOKEN = "glpat-review-token"
# A conf of about 200 kB: far more than one TCP segment or one aiohttp read.
BIG_CONF = "service {\n\tproto-fd-max 15000\n}\n" + "".join(
    f"namespace ns{i} {{\n\treplication-factor 2\n\tstorage-engine memory\n}}\n"
    for i in range(4000)
)


async def serve(app: web.Application, body: Callable[[int], Awaitable[object]]) -> object:
    async with served(app) as port:
        return await asyncio.wait_for(body(port), 60)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text, text
    return text


# --- HTTP --------------------------------------------------------------------------------------


def streaming_app(seen: list[tuple[str, str | None]]) -> web.Application:
    async def chunked(request: web.Request) -> web.StreamResponse:
        """The conf in 4 kB pieces with pauses: the client sees many partial reads."""
        seen.append((request.host, request.headers.get("PRIVATE-TOKEN")))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        data = BIG_CONF.encode()
        for i in range(0, len(data), 4096):
            await resp.write(data[i : i + 4096])
            if i % (64 * 4096) == 0:
                await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        chunk = b"#" * (1024 * 1024 - 1) + b"\n"
        try:
            for _ in range(MAX_SOURCE_BYTES // len(chunk) + 2):
                await resp.write(chunk)
        except ConnectionError:  # the client stopped reading at the limit: expected
            pass
        return resp

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")

    async def error_page(request: web.Request) -> web.Response:
        page = (
            "<html>\n<head><style>p {x}</style></head>\n<body>\n<h1>502</h1>\n<p>Bad\tgateway</p>"
        )
        return web.Response(status=502, text=page, content_type="text/html")

    async def redirect_away(request: web.Request) -> web.Response:
        seen.append((request.host, request.headers.get("PRIVATE-TOKEN")))
        port = request.url.port
        raise web.HTTPFound(
            f"http://localhost:{port}/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw"
        )

    async def redirect_here(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw?ref=main")

    app = web.Application()
    app.router.add_get("/agent/v1/config", chunked)
    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw", chunked)
    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/huge.conf/raw", huge)
    app.router.add_get("/api/v4/projects/away/repository/files/a.conf/raw", redirect_away)
    app.router.add_get("/api/v4/projects/moved/repository/files/a.conf/raw", redirect_here)
    app.router.add_get("/html/v1/config", html)
    app.router.add_get("/bad/v1/config", error_page)
    return app


def test_an_answer_in_many_segments_is_read_whole() -> None:
    """aiohttp's content.read(n) returns after the first buffered segment: a conf longer than
    that was silently cut short (an agent's or GitLab's answer of a 28-namespace conf)."""
    seen: list[tuple[str, str | None]] = []

    async def body(port: int) -> None:
        got = await fetch_text(parse_source(f"http://127.0.0.1:{port}/agent"))
        assert got.text == BIG_CONF
        got = await fetch_text(
            parse_source(f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf@main"), token=TOKEN
        )
        assert got.text == BIG_CONF

    asyncio.run(serve(streaming_app(seen), body))
    assert len(seen) == 2


def test_huge_answer_is_refused_at_the_limit() -> None:
    async def body(port: int) -> None:
        spec = parse_source(f"gitlab+http://127.0.0.1:{port}/ops/salt#huge.conf@main")
        with pytest.raises(SourceError) as err:
            await fetch_text(spec, token=TOKEN, timeout=30)
        assert "larger than 16 MB" in one_line(err.value)
        assert "huge.conf" in str(err.value)

    asyncio.run(serve(streaming_app([]), body))


def test_redirect_to_another_host_never_carries_the_token() -> None:
    """aiohttp drops Authorization on a cross-host redirect but not GitLab's PRIVATE-TOKEN."""
    seen: list[tuple[str, str | None]] = []

    async def body(port: int) -> None:
        away = parse_source(f"gitlab+http://127.0.0.1:{port}/away#a.conf@main")
        with pytest.raises(SourceError) as err:
            await fetch_text(away, token=TOKEN)
        text = one_line(err.value)
        assert "redirected to http://localhost" in text and "not followed" in text
        assert TOKEN not in text
        # A redirect on the same host is followed.
        moved = parse_source(f"gitlab+http://127.0.0.1:{port}/moved#a.conf@main")
        assert (await fetch_text(moved, token=TOKEN)).text == BIG_CONF

    asyncio.run(serve(streaming_app(seen), body))
    assert all(host.startswith("127.0.0.1") for host, _ in seen), seen
    assert [tok for _, tok in seen] == [TOKEN, TOKEN]  # the away request, then the moved one


def test_html_answers_and_error_pages_are_one_clear_line() -> None:
    async def body(port: int) -> None:
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}/html"))
        assert "an HTML page, not a conf" in one_line(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}/bad"))
        text = one_line(err.value)
        assert text.endswith("HTTP 502: 502 Bad gateway"), text
        assert f"127.0.0.1:{port}/bad" in text

    asyncio.run(serve(streaming_app([]), body))


def test_agent_json_answer_that_is_not_utf8() -> None:
    async def latin(request: web.Request) -> web.Response:
        return web.Response(
            body='{"text": "caf\xe9"}'.encode("latin-1"), content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/v1/config", latin)

    async def body(port: int) -> None:
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"http://127.0.0.1:{port}"))
        assert "not UTF-8 text: byte 0xe9 at line 1, column 14" in one_line(err.value)

    asyncio.run(serve(app, body))


def test_gitlab_from_the_cli_with_token_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ascad diff gitlab+… FILE`: token from --token-file, else $GITLAB_TOKEN; 401 is exit 2."""
    node = tmp_path / "node.conf"
    node.write_text("service {\n    proto-fd-max 15000\n}\n")
    token_file = tmp_path / "token"
    token_file.write_text(f"\n  {TOKEN}  \n")
    app = web.Application()

    async def raw(request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != TOKEN:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        return web.Response(text="service {\n\tproto-fd-max 15000\n}\n")

    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw", raw)
    results: list[tuple[int, str]] = []

    async def body(port: int) -> None:
        src = f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf@main"

        def run(*extra: str) -> None:
            rc = main(["diff", *extra, src, str(node)])
            captured = capsys.readouterr()
            results.append((rc, captured.out + captured.err))

        # The CLI runs its own event loop: run it in a thread while this loop serves.
        monkeypatch.delenv("GITLAB_TOKEN", raising=False)
        await asyncio.to_thread(run, "--token-file", str(token_file))
        await asyncio.to_thread(run)
        monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
        await asyncio.to_thread(run)

    asyncio.run(serve(app, body))
    (rc1, out1), (rc2, out2), (rc3, out3) = results
    assert rc1 == 0 and "no differences" in out1
    assert rc2 == 2 and "HTTP 401" in out2 and "GITLAB_TOKEN" in out2
    assert len(out2.strip().splitlines()) == 1 and "gitlab+http://127.0.0.1:" in out2
    assert rc3 == 0 and "no differences" in out3


# --- git ---------------------------------------------------------------------------------------


@pytest.fixture
def salt(tmp_path: Path) -> Path:
    conf = "service {\n\tproto-fd-max 15000\n}\n"
    return init_repo(tmp_path / "salt", {"aerospike/aerospike.conf": conf})


def test_git_error_names_what_went_wrong_not_the_trailer(tmp_path: Path) -> None:
    """git ends a failed fetch with "Please make sure …\\nand the repository exists.": the
    message must carry the line that says what happened, not that trailer."""
    with pytest.raises(SourceError) as err:
        fetch(f"git+file://{tmp_path}/absent.git#a.conf@main", cache_dir=tmp_path / "c")
    text = one_line(err.value)
    assert "repository not found" in text and "does not appear to be a git repository" in text
    assert "and the repository exists" not in text


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_ssh_remote_with_no_server_fails_fast_without_prompting(tmp_path: Path) -> None:
    port = free_port()
    spec = f"git+ssh://git@127.0.0.1:{port}/ops/salt.git#aerospike/aerospike.conf@main"
    with pytest.raises(SourceError) as err:
        fetch(spec, cache_dir=tmp_path / "c", timeout=20)
    text = one_line(err.value)
    assert text.startswith(spec) and "cannot reach the remote" in text
    assert "Connection refused" in text


def test_git_never_runs_askpass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIT_TERMINAL_PROMPT=0 still lets git run GIT_ASKPASS/SSH_ASKPASS (a dialog that waits
    forever in a desktop session): ascad turns them off."""
    marker = tmp_path / "askpass-ran"
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho called >> {marker}\necho secret\n")
    askpass.chmod(0o755)
    monkeypatch.setenv("GIT_ASKPASS", str(askpass))
    monkeypatch.setenv("SSH_ASKPASS", str(askpass))

    async def auth(request: web.Request) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="GitLab"'})

    app = web.Application()
    app.router.add_get("/{tail:.*}", auth)

    async def body(port: int) -> None:
        spec = parse_source(f"git+http://127.0.0.1:{port}/ops/salt.git#a.conf@main")
        with pytest.raises(SourceError) as err:
            await fetch_text(spec, timeout=20, cache_dir=tmp_path / "c")
        assert "asked for credentials" in one_line(err.value)

    asyncio.run(serve(app, body))
    assert not marker.exists()


def test_git_dir_in_the_environment_is_not_followed(
    salt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git exports GIT_DIR to hooks: an ascad run from a hook must still read DIR, and the cache
    fetch must not write into the hook's repository."""
    other = tmp_path / "other.git"
    subprocess.run(["git", "init", "-q", "--bare", str(other)], check=True, timeout=30)
    monkeypatch.setenv("GIT_DIR", str(other))
    assert "15000" in fetch(f"{salt}#aerospike/aerospike.conf@main").text
    got = fetch(f"git+file://{salt}#aerospike/aerospike.conf@main", cache_dir=tmp_path / "c")
    assert "15000" in got.text
    refs = subprocess.run(
        ["git", "--git-dir", str(other), "for-each-ref"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert refs.stdout == ""


def test_a_sub_directory_of_a_repository_is_not_taken_for_its_top(salt: Path) -> None:
    """git would accept DIR=repo/aerospike but read PATH from the top: refuse, say what to write."""
    with pytest.raises(SourceError) as err:
        fetch(f"{salt}/aerospike#aerospike.conf@main")
    text = one_line(err.value)
    assert "sub-directory 'aerospike'" in text
    assert f"write {salt}#aerospike/aerospike.conf@main" in text
    # The .git directory itself is a repository's top.
    assert "15000" in fetch(f"{salt}/.git#aerospike/aerospike.conf@main").text
