"""A damaged git cache heals itself (ascad.sources.git): each kind of damage is made for real in a
cache under $ASCAD_GIT_CACHE (a stale lock left by a killed fetch, a truncated pack, a half-done
init, a broken config), and the next read removes the cache, fetches again, reads the right
text and says so in one log line. A cache that is whole is never removed, and a fresh lock (a
git that may still be running) is left alone."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from ascad.errors import SourceError
from ascad.sources.git import STALE_LOCK_SECONDS, cache_damage
from tests.helpers import CONF_MAIN, CONF_MAIN2, commit_file, fetch, git

LOGGER = "ascad.sources.git"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository serving blobless fetches, main holding CONF_MAIN2 (CONF_MAIN before)."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit_file(work, "aerospike/aerospike.conf", CONF_MAIN, "first")
    commit_file(work, "aerospike/aerospike.conf", CONF_MAIN2, "second")
    bare = tmp_path / "salt.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    return bare


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(root))
    return root


def _spec(remote: Path) -> str:
    return f"git+file://{remote}#aerospike/aerospike.conf@main"


def _the_cache(root: Path) -> Path:
    (one,) = [p for p in root.iterdir() if p.is_dir()]
    return one


def _healed(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def _read_and_expect_heal(remote: Path, caplog: pytest.LogCaptureFixture, reason: str) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert fetch(_spec(remote), timeout=20).text == CONF_MAIN2
    (line,) = _healed(caplog)  # said once
    assert "was damaged" in line and reason in line, line
    assert "removed, fetching again" in line
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):  # whole again: read without a word
        assert fetch(_spec(remote), timeout=20).text == CONF_MAIN2
    assert _healed(caplog) == []


def test_a_stale_shallow_lock_is_healed(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    lock = cache / "shallow.lock"  # what a fetch killed at its deadline leaves behind
    lock.write_text("")
    then = time.time() - STALE_LOCK_SECONDS - 30
    os.utime(lock, (then, then))
    assert cache_damage(cache) is not None
    _read_and_expect_heal(remote, caplog, "a stale lock file shallow.lock")
    assert not lock.exists()


def test_a_fresh_lock_is_left_to_the_git_that_may_hold_it(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    lock = cache / "shallow.lock"
    lock.write_text("")
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(SourceError) as err:
        fetch(_spec(remote), timeout=20)
    assert "another git process holds a lock in the cache" in str(err.value)
    assert lock.exists() and _healed(caplog) == []


def test_a_truncated_pack_is_healed(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    packs = list((cache / "objects" / "pack").glob("*.pack"))
    assert packs
    for pack in packs:  # a disk filled up, or a copy cut short
        pack.chmod(0o644)
        with open(pack, "r+b") as fh:
            fh.truncate(pack.stat().st_size // 2)
    assert cache_damage(cache) is None  # not visible from the file system: git says so
    _read_and_expect_heal(remote, caplog, "git fsck: ")


def test_a_truncated_pack_is_healed_for_a_cached_commit_id(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A commit id already in the cache is read without fetching: the damage is found there."""
    sha = git(remote, "rev-parse", "main")
    spec = f"git+file://{remote}#aerospike/aerospike.conf@{sha}"
    assert fetch(spec).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    for pack in (cache / "objects" / "pack").glob("*.pack"):
        pack.chmod(0o644)
        pack.write_bytes(b"PACK")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert fetch(spec, timeout=20).text == CONF_MAIN2
    assert len(_healed(caplog)) == 1


@pytest.mark.parametrize(
    "keep",
    [("HEAD",), ("HEAD", "config"), ("config", "objects", "refs")],
    ids=["HEAD-only", "no-objects-or-refs", "no-HEAD"],
)
def test_a_half_initialised_cache_is_healed(
    remote: Path,
    cache_root: Path,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    keep: tuple[str, ...],
) -> None:
    """``git init`` killed part way: some of its files exist, others do not."""
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    for entry in cache.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert (cache_damage(cache) or "").startswith("half-initialised")
    _read_and_expect_heal(remote, caplog, "half-initialised")


def test_a_broken_config_is_healed(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    (cache / "config").write_bytes(b"[core\n\x00garbage = = =\n")
    _read_and_expect_heal(remote, caplog, "git fsck: ")


def test_a_broken_cache_is_never_taken_for_the_repository_around_it(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The cache inside a work tree (a dotfiles repository holding ~/.cache): git must not walk
    up from a broken cache and write the remote into the outer repository's config."""
    outer = tmp_path / "home"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    root = outer / ".cache" / "ascad" / "git"
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(root))
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(root)
    # HEAD overwritten: no longer a repository to git, and not visible as damage from the files.
    (cache / "HEAD").write_text("garbage\n")
    assert cache_damage(cache) is None
    _read_and_expect_heal(remote, caplog, "git fsck: ")
    assert "remote.origin.url" not in (outer / ".git" / "config").read_text()


def test_a_whole_cache_is_kept_when_the_remote_fails(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    marker = cache / "objects" / "pack"
    before = sorted(p.name for p in marker.iterdir())
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(SourceError) as err:
        fetch(f"git+file://{remote}#aerospike/aerospike.conf@nosuch", timeout=20)
    assert "no ref 'nosuch' in the remote repository" in str(err.value)
    assert _healed(caplog) == [] and sorted(p.name for p in marker.iterdir()) == before


def test_healing_is_tried_once_and_the_error_says_it_was(
    remote: Path, cache_root: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Damaged cache and the remote gone: one removal, one fetch, and the error says both."""
    assert fetch(_spec(remote)).text == CONF_MAIN2
    cache = _the_cache(cache_root)
    (cache / "HEAD").unlink()
    remote.rename(tmp_path / "gone.git")
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(SourceError) as err:
        fetch(_spec(remote), timeout=20)
    assert "repository not found or not readable" in str(err.value)
    assert "(after removing the damaged git cache: half-initialised: no HEAD)" in str(err.value)
    assert len(_healed(caplog)) == 1
