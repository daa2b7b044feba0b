"""Git sources against real things: a git repository made here, a bare clone fetched through
git's file:// transport, remotes that are down or want a password, an environment that points git
at another repository, and a repository sub-directory given as DIR."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from ascad.errors import SourceError
from ascad.sources import FetchedText, fetch_text, parse_source
from tests.helpers import (
    CONF_MAIN,
    CONF_MAIN2,
    CONF_OTHER,
    RELEASE,
    commit_file,
    fetch,
    free_port,
    git,
    init_repo,
    one_line,
    serve_while,
    with_server,
)

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


# --- git: failures, prompts and the environment ---------------------------------------------------


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

    asyncio.run(serve_while(app, body))
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
