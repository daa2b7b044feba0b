"""Config sources against real things: files, a git repository made here, a bare clone fetched
through git's file:// transport, and loopback HTTP servers standing in for GitLab and a peer agent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from ascad.errors import ConfSyntaxError, SourceError
from ascad.sources import (
    FetchedText,
    Kind,
    fetch_text,
    parse_source,
    read_token_file,
)
from ascad.sources.spec import gitlab_raw_url
from tests.helpers import commit_file, fetch, free_port, git, served

CONF_MAIN = "service {\n\tproto-fd-max 15000\n}\n"
CONF_MAIN2 = "service {\n\tproto-fd-max 20000\n}\n"
CONF_OTHER = "service {\n\tproto-fd-max 30000\n}\n"
TEMPLATE = "service {\n\tnode-id {{ grains['id'] }}\n}\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """main: v1 (tag) -> second commit; other: a branch from v1 with another value and a template."""
    root = tmp_path_factory.mktemp("gitsrc")
    work = root / "salt"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    sha_v1 = commit_file(work, "aerospike/aerospike.conf", CONF_MAIN, "first")
    git(work, "tag", "-a", "v1", "-m", "release 1")
    git(work, "checkout", "-q", "-b", "other")
    commit_file(work, "aerospike/aerospike.conf", CONF_OTHER, "other value")
    sha_other = commit_file(work, "aerospike/aerospike.conf.j2", TEMPLATE, "template")
    git(work, "checkout", "-q", "main")
    sha_main = commit_file(work, "aerospike/aerospike.conf", CONF_MAIN2, "second")
    bare = root / "salt.git"
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")  # as GitLab: serve blobless fetches
    return {"work": work, "bare": bare, "v1": sha_v1, "main": sha_main, "other": sha_other}


# --- parse_source ---------------------------------------------------------------------------


def test_parse_local_stdin_and_runtime() -> None:
    s = parse_source("/etc/aerospike/aerospike.conf")
    assert (s.kind, s.path, s.display) == (
        Kind.FILE,
        "/etc/aerospike/aerospike.conf",
        "/etc/aerospike/aerospike.conf",
    )
    assert parse_source("-").kind is Kind.STDIN
    a = parse_source("aerospike://10.0.0.1")
    assert (a.kind, a.host, a.port, a.tls) == (Kind.AEROSPIKE, "10.0.0.1", 3000, False)
    t = parse_source("aerospike+tls://node1:4000?tls-name=clusterA")
    assert (t.host, t.port, t.tls, t.options) == ("node1", 4000, True, (("tls-name", "clusterA"),))
    assert parse_source("aerospike+tls://node1").port == 4333
    v6 = parse_source("aerospike://[::1]:3100")
    assert (v6.host, v6.port, v6.display) == ("::1", 3100, "aerospike://[::1]:3100")


def test_parse_agent_and_gitlab_urls() -> None:
    a = parse_source("http://10.0.0.5:9145/")
    assert (a.kind, a.url, a.host, a.port) == (Kind.AGENT, "http://10.0.0.5:9145", "10.0.0.5", 9145)
    g = parse_source("gitlab+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main")
    assert (g.kind, g.url, g.project, g.path, g.ref) == (
        Kind.GITLAB,
        "https://gitlab.example/api/v4",
        "ops/salt",
        "aerospike/aerospike.conf",
        "main",
    )
    assert g.display == "gitlab:main:aerospike/aerospike.conf"
    assert gitlab_raw_url(g) == (
        "https://gitlab.example/api/v4/projects/ops%2Fsalt/repository/files/"
        "aerospike%2Faerospike.conf/raw?ref=main"
    )
    api = parse_source(
        "https://gitlab.example/api/v4/projects/42/repository/files/aerospike%2Faerospike.conf/raw?ref=v1.2"
    )
    assert (api.kind, api.project, api.path, api.ref) == (
        Kind.GITLAB,
        "42",
        "aerospike/aerospike.conf",
        "v1.2",
    )
    assert gitlab_raw_url(api).endswith(
        "/projects/42/repository/files/aerospike%2Faerospike.conf/raw?ref=v1.2"
    )


def test_parse_git_forms(tmp_path: Path) -> None:
    g = parse_source("git+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main")
    assert (g.kind, g.repo, g.path, g.ref, g.local) == (
        Kind.GIT,
        "https://gitlab.example/ops/salt.git",
        "aerospike/aerospike.conf",
        "main",
        False,
    )
    assert g.display == "git:main:aerospike/aerospike.conf"
    s = parse_source("git+ssh://git@host/ops/salt.git#/a/b.conf")
    assert (s.repo, s.path, s.ref, s.display) == (
        "ssh://git@host/ops/salt.git",
        "a/b.conf",
        None,
        "git:HEAD:a/b.conf",
    )
    # DIR#PATH@REF is git only when DIR is a directory and the whole string is not a file.
    (tmp_path / "repo").mkdir()
    local = parse_source(f"{tmp_path}/repo#x/a.conf@v2")
    assert (local.kind, local.local, local.repo, local.ref) == (
        Kind.GIT,
        True,
        str(tmp_path / "repo"),
        "v2",
    )
    odd = tmp_path / "repo#x"
    odd.write_text(CONF_MAIN)
    assert parse_source(str(odd)).kind is Kind.FILE
    assert parse_source(f"{tmp_path}/nodir#a.conf").kind is Kind.FILE


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("ftp://host/x", "unknown source scheme"),
        ("git+https://host/r.git", "no file path"),
        ("git+https://host/r.git#a.conf@", "empty ref"),
        ("git+https://host/r.git#../etc/passwd", "'..'"),
        ("git+svn://host/r#a", "git+file://"),
        ("git+https://host/r.git#a.conf@bad..ref", "not a valid git ref"),
        ("aerospike://", "no host"),
        ("aerospike://h:99999", "bad aerospike"),
        ("http://h:1/x?y=1", "no query"),
        ("gitlab+https://h/ops/salt", "no file path"),
        ("   ", "empty source"),
    ],
)
def test_parse_errors_name_the_source(spec: str, words: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_source(spec)
    assert words in str(err.value)


def test_password_in_url_is_hidden() -> None:
    s = parse_source("git+https://bob:s3cret@gitlab.example/ops/salt.git#a.conf")
    assert "s3cret" not in s.raw and "s3cret" not in s.display
    assert "bob:***@" in s.raw
    with pytest.raises(SourceError) as err:
        parse_source("ftp://bob:s3cret@host/x")
    assert "s3cret" not in str(err.value)


# --- local files ----------------------------------------------------------------------------


def test_local_file_and_errors(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_bytes(CONF_MAIN.encode())
    got = fetch(str(conf))
    assert got.text == CONF_MAIN and got.name == str(conf)
    # A byte-order mark is refused as the server refuses it (conf/decode.py), from every source.
    conf.write_bytes(b"\xef\xbb\xbf" + CONF_MAIN.encode())
    with pytest.raises(ConfSyntaxError, match="byte-order mark"):
        fetch(str(conf))
    with pytest.raises(SourceError, match="is a directory"):
        fetch(str(tmp_path))
    with pytest.raises(SourceError, match="no such file"):
        fetch(str(tmp_path / "missing.conf"))
    big = tmp_path / "big.conf"
    with big.open("wb") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(SourceError, match="16 MiB is refused"):
        fetch(str(big))
    bad = tmp_path / "latin1.conf"
    bad.write_bytes(b"service {\n\tcluster-name caf\xe9\n}\n")
    with pytest.raises(ConfSyntaxError) as err:
        fetch(str(bad))
    assert "not UTF-8" in str(err.value) and str(err.value).startswith(f"{bad}:2:18: ")


def test_stdin_source() -> None:
    code = (
        "import asyncio; from ascad.sources import fetch_text, parse_source;"
        "print(asyncio.run(fetch_text(parse_source('-'))).text, end='')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=CONF_OTHER,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == CONF_OTHER


def test_runtime_kind_is_refused_here() -> None:
    with pytest.raises(SourceError, match="runtime reader"):
        fetch("aerospike://127.0.0.1:3000")


def test_token_file(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    f.write_text("\n  abc123  \n")
    assert read_token_file(f) == "abc123"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SourceError, match="empty"):
        read_token_file(tmp_path / "empty")
    with pytest.raises(SourceError, match="not found"):
        read_token_file(tmp_path / "nope")


# --- git: a local repository read in place ---------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "text"),
    [("main", CONF_MAIN2), ("other", CONF_OTHER), ("v1", CONF_MAIN), (None, CONF_MAIN2)],
)
def test_git_local_refs(repo: dict[str, object], ref: str | None, text: str) -> None:
    spec = f"{repo['work']}#aerospike/aerospike.conf" + (f"@{ref}" if ref else "")
    got = fetch(spec)
    assert got.text == text
    assert got.name == f"git:{ref or 'HEAD'}:aerospike/aerospike.conf"
    assert got.version is not None and len(got.version) == 40


def test_git_local_commit_ids(repo: dict[str, object]) -> None:
    sha = str(repo["v1"])
    assert fetch(f"{repo['work']}#aerospike/aerospike.conf@{sha}").text == CONF_MAIN
    got = fetch(f"{repo['work']}#aerospike/aerospike.conf@{sha[:10]}")
    assert got.text == CONF_MAIN and got.version == sha
    # the template exists on 'other' only
    assert fetch(f"{repo['work']}#aerospike/aerospike.conf.j2@other").text == TEMPLATE


def test_git_local_errors(repo: dict[str, object], tmp_path: Path) -> None:
    work = repo["work"]
    with pytest.raises(SourceError) as err:
        fetch(f"{work}#aerospike/aerospike.conf@nosuch")
    assert "no ref 'nosuch'" in str(err.value) and str(work) in str(err.value)
    with pytest.raises(SourceError, match=r"no file 'aerospike/aerospike\.conf\.j2' at ref 'main'"):
        fetch(f"{work}#aerospike/aerospike.conf.j2@main")
    with pytest.raises(SourceError, match="is a tree, not a file"):
        fetch(f"{work}#aerospike@main")
    with pytest.raises(SourceError, match="not a git repository"):
        fetch(f"{tmp_path}#a.conf@main")


# --- git: a remote, fetched into the cache ---------------------------------------------------


def test_git_remote_fetch_and_cache(repo: dict[str, object], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"git+file://{repo['bare']}#aerospike/aerospike.conf"
    assert fetch(f"{url}@main", cache_dir=cache).text == CONF_MAIN2
    assert fetch(f"{url}@other", cache_dir=cache).text == CONF_OTHER
    tagged = fetch(f"{url}@v1", cache_dir=cache)
    assert tagged.text == CONF_MAIN and tagged.version == repo["v1"]
    assert fetch(url, cache_dir=cache).text == CONF_MAIN2  # remote HEAD is main
    sha = str(repo["other"])
    assert (
        fetch(f"git+file://{repo['bare']}#aerospike/aerospike.conf.j2@{sha}", cache_dir=cache).text
        == TEMPLATE
    )
    # One cache repository, a partial (blobless) clone of the remote.
    (cached,) = [p for p in cache.iterdir() if p.is_dir()]
    assert git(cached, "config", "remote.origin.promisor") == "true"
    assert git(cached, "config", "remote.origin.partialclonefilter") == "blob:none"


def test_git_remote_errors(repo: dict[str, object], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"git+file://{repo['bare']}"
    with pytest.raises(SourceError) as err:
        fetch(f"{url}#aerospike/aerospike.conf@nosuch", cache_dir=cache)
    assert "no ref 'nosuch' in the remote repository" in str(err.value)
    assert str(repo["bare"]) in str(err.value)
    with pytest.raises(SourceError, match=r"no file 'nope\.conf' at ref 'main'"):
        fetch(f"{url}#nope.conf@main", cache_dir=cache)
    with pytest.raises(SourceError, match="repository not found"):
        fetch(f"git+file://{tmp_path}/absent.git#a.conf@main", cache_dir=cache)


def test_git_commit_in_cache_is_not_fetched_again(repo: dict[str, object], tmp_path: Path) -> None:
    """A commit id never changes: once cached it is read with the remote gone; a branch is not."""
    remote = tmp_path / "copy.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo["bare"]), str(remote))
    cache = tmp_path / "cache"
    sha = str(repo["main"])
    url = f"git+file://{remote}#aerospike/aerospike.conf"
    assert fetch(f"{url}@{sha}", cache_dir=cache).text == CONF_MAIN2
    subprocess.run(["rm", "-rf", str(remote)], check=True)
    assert fetch(f"{url}@{sha}", cache_dir=cache).text == CONF_MAIN2
    with pytest.raises(SourceError, match="repository not found"):
        fetch(f"{url}@main", cache_dir=cache)


def test_git_cache_dir_from_environment(
    repo: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(tmp_path / "envcache"))
    assert fetch(f"git+file://{repo['bare']}#aerospike/aerospike.conf@v1").text == CONF_MAIN
    assert any((tmp_path / "envcache").iterdir())


# --- loopback HTTP servers ------------------------------------------------------------------


RELEASE = web.AppKey("release", asyncio.Event)


async def with_server(app: web.Application, body: Callable[[int], Awaitable[object]]) -> object:
    """``body(port)`` with ``app`` served; a handler waiting on the app's RELEASE is let go first."""
    async with served(app) as port:
        try:
            return await asyncio.wait_for(body(port), 30)
        finally:
            release = app.get(RELEASE)
            if release is not None:
                release.set()


GITLAB_TOKEN = "glpat-test-token"
GITLAB_FILES = {
    ("ops%2Fsalt", "aerospike%2Faerospike.conf", "main"): CONF_MAIN,
    ("ops%2Fsalt", "aerospike%2Faerospike.conf", None): CONF_OTHER,
    ("7", "aerospike%2Faerospike.conf", "main"): CONF_MAIN2,
    ("ops%2Fsalt", "bin.conf", "main"): None,
}


def gitlab_app() -> web.Application:
    """GitLab's raw-file endpoint: PRIVATE-TOKEN required, project and path %2F-encoded."""
    prefix = "/api/v4/projects/"

    async def raw(request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != GITLAB_TOKEN:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        path = request.raw_path.split("?", 1)[0]
        parts = path[len(prefix) :].split("/")
        if len(parts) != 5 or parts[1:3] != ["repository", "files"] or parts[4] != "raw":
            return web.json_response({"message": "404 Not Found"}, status=404)
        key = (parts[0], parts[3], request.query.get("ref"))
        if key not in GITLAB_FILES:
            return web.json_response({"message": "404 File Not Found"}, status=404)
        text = GITLAB_FILES[key]
        body = b"\xff\xfe binary" if text is None else text.encode()
        return web.Response(
            body=body,
            content_type="text/plain",
            headers={"X-Gitlab-Commit-Id": "c0ffee" * 6 + "1234"},
        )

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", raw)
    return app


def test_gitlab_raw_file_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)

    async def body(port: int) -> None:
        base = f"gitlab+http://127.0.0.1:{port}/ops/salt"
        got = await fetch_text(
            parse_source(f"{base}#aerospike/aerospike.conf@main"), token=GITLAB_TOKEN
        )
        assert got.text == CONF_MAIN and got.name == "gitlab:main:aerospike/aerospike.conf"
        assert got.version == "c0ffee" * 6 + "1234"
        # no ref: the project's default branch (no ?ref= sent)
        got = await fetch_text(
            parse_source(f"{base}.git#aerospike/aerospike.conf"), token=GITLAB_TOKEN
        )
        assert got.text == CONF_OTHER
        api = f"http://127.0.0.1:{port}/api/v4/projects/7/repository/files/aerospike%2Faerospike.conf/raw?ref=main"
        assert (await fetch_text(parse_source(api), token=GITLAB_TOKEN)).text == CONF_MAIN2
        # token from the environment
        monkeypatch.setenv("GITLAB_TOKEN", GITLAB_TOKEN)
        assert (
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"))
        ).text == CONF_MAIN
        monkeypatch.delenv("GITLAB_TOKEN")
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"))
        assert "HTTP 401" in str(err.value) and "GITLAB_TOKEN" in str(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#aerospike/aerospike.conf@main"), token="wrong")
        assert "HTTP 401" in str(err.value) and "wrong" not in str(err.value)
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(f"{base}#nope.conf@main"), token=GITLAB_TOKEN)
        assert "HTTP 404" in str(err.value) and "no file 'nope.conf' at ref 'main'" in str(
            err.value
        )
        with pytest.raises(ConfSyntaxError, match="not UTF-8"):
            await fetch_text(parse_source(f"{base}#bin.conf@main"), token=GITLAB_TOKEN)

    asyncio.run(with_server(gitlab_app(), body))


AGENT_TOKEN = "agent-secret"


def agent_app() -> web.Application:
    app = web.Application()
    app[RELEASE] = asyncio.Event()

    def authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {AGENT_TOKEN}"

    async def config(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="bearer token required")
        return web.Response(text=CONF_OTHER, headers={"ETag": '"v7"'})

    async def config_json(request: web.Request) -> web.Response:
        return web.json_response({"text": CONF_MAIN, "source": "/etc/aerospike/aerospike.conf"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.wait_for(request.app[RELEASE].wait(), 10)
        return web.Response(text=CONF_MAIN)

    app.router.add_get("/v1/config", config)
    app.router.add_get("/json/v1/config", config_json)
    app.router.add_get("/slow/v1/config", slow)
    return app


def test_peer_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASCAD_TOKEN", raising=False)

    async def body(port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        got = await fetch_text(parse_source(base), token=AGENT_TOKEN)
        assert (got.text, got.name, got.version) == (CONF_OTHER, base, "v7")
        monkeypatch.setenv("ASCAD_TOKEN", AGENT_TOKEN)
        assert (await fetch_text(parse_source(base + "/"))).text == CONF_OTHER
        monkeypatch.delenv("ASCAD_TOKEN")
        with pytest.raises(SourceError) as err:
            await fetch_text(parse_source(base))
        assert (
            "HTTP 401" in str(err.value)
            and "ASCAD_TOKEN" in str(err.value)
            and base in str(err.value)
        )
        assert (await fetch_text(parse_source(base + "/json"))).text == CONF_MAIN
        with pytest.raises(SourceError, match="HTTP 404"):
            await fetch_text(parse_source(base + "/elsewhere"))
        with pytest.raises(SourceError, match=r"no complete answer within 0.3 s"):
            await fetch_text(parse_source(base + "/slow"), timeout=0.3)

    asyncio.run(with_server(agent_app(), body))


def test_refused_connection() -> None:
    port = free_port()
    with pytest.raises(SourceError) as err:
        fetch(f"http://127.0.0.1:{port}", timeout=5)
    assert "cannot connect" in str(err.value) and f"127.0.0.1:{port}" in str(err.value)
    with pytest.raises(SourceError, match="cannot connect"):
        fetch(f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf", timeout=5)


def test_git_over_http_never_prompts_and_times_out(tmp_path: Path) -> None:
    """A git remote asking for a password fails at once (no prompt); a silent one hits the timeout."""
    app = web.Application()
    app[RELEASE] = asyncio.Event()

    async def auth(request: web.Request) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="GitLab"'})

    async def hang(request: web.Request) -> web.Response:
        await asyncio.wait_for(request.app[RELEASE].wait(), 10)
        return web.Response(status=404)

    app.router.add_get("/auth/{tail:.*}", auth)
    app.router.add_get("/hang/{tail:.*}", hang)

    async def body(port: int) -> None:
        cache = tmp_path / "cache"
        base = f"git+http://127.0.0.1:{port}"
        with pytest.raises(SourceError, match="asked for credentials"):
            await fetch_text(
                parse_source(f"{base}/auth/ops/salt.git#a.conf@main"), timeout=20, cache_dir=cache
            )
        with pytest.raises(SourceError, match=r"took longer than 0\.5 s"):
            await fetch_text(
                parse_source(f"{base}/hang/ops/salt.git#a.conf@main"), timeout=0.5, cache_dir=cache
            )

    asyncio.run(with_server(app, body))


def test_json_answer_without_text_is_refused() -> None:
    app = web.Application()

    async def bad(request: web.Request) -> web.Response:
        return web.json_response({"config": 1})

    app.router.add_get("/v1/config", bad)

    async def body(port: int) -> None:
        with pytest.raises(SourceError, match="without a 'text' string"):
            await fetch_text(parse_source(f"http://127.0.0.1:{port}"))

    asyncio.run(with_server(app, body))


def test_git_remote_concurrent_reads_share_one_cache(
    repo: dict[str, object], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    url = f"git+file://{repo['bare']}#aerospike/aerospike.conf"

    async def body() -> list[FetchedText]:
        specs = [parse_source(f"{url}@{ref}") for ref in ("main", "other", "v1", "main")]
        return await asyncio.gather(*(fetch_text(s, cache_dir=cache) for s in specs))

    got = asyncio.run(body())
    assert [g.text for g in got] == [CONF_MAIN2, CONF_OTHER, CONF_MAIN, CONF_MAIN2]
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1
    with pytest.raises(SourceError, match="full 40-hex commit id"):
        fetch(f"{url}@{str(repo['v1'])[:10]}", cache_dir=cache)
