"""Read one file at one ref from a git repository, with the ``git`` command (no library needed).

- A local repository (``DIR#PATH@REF``) is read in place: ``git rev-parse REF^{commit}``, then
  ``git cat-file`` of ``COMMIT:PATH``. Nothing is written to it.
- A URL (``git+https://``, ``git+ssh://``, ``git+file://`` …) is fetched into a cache repository,
  ``$XDG_CACHE_HOME/ascad/git/<sha256(url)[:16]>`` (or ``$ASCAD_GIT_CACHE``/``<hash>``, or the
  ``cache_dir`` argument), with ``git fetch --depth 1 --filter=blob:none``: one commit and its
  trees, and then only the one blob that is read (git's partial clone fetches it on demand). A ref
  that is a full 40-hex commit id already in the cache is not fetched again (commits never change);
  a branch or tag is fetched on every read, since it moves.
- Every git command runs with a deadline (the ``timeout`` covers the whole read), in its own
  process group so a hung ``ssh`` child is killed too, with ``GIT_TERMINAL_PROMPT=0`` and ssh in
  ``BatchMode`` so it never waits for a password, and ``LC_ALL=C`` so its messages can be matched.
- An explicit token for an ``http(s)`` remote is sent as HTTP basic auth ``oauth2:TOKEN`` (what
  GitLab accepts for access tokens over git-over-HTTP) through ``GIT_CONFIG_*`` environment
  variables, so it is not visible in the process list and not stored in the cache. Credentials
  written in the URL (``git+https://user:pw@host/…``) go the same way: the userinfo is cut from
  the remote URL written in the cache's config and from every git command line, and sent as
  ``Authorization: Basic`` from the environment only. The cache is named by the URL without them.
- A damaged cache heals itself, once per read: a half-initialised directory (``HEAD``, ``config``,
  ``objects`` or ``refs`` missing), a lock file older than :data:`STALE_LOCK_SECONDS` (a git killed
  mid-fetch), or a failed read that ``git fsck --connectivity-only`` confirms (a truncated pack, a
  bad ref, a broken config) makes ascad remove the cache and fetch again, and log one warning
  saying why. Cache commands name the repository with ``--git-dir``, never ``-C``: git would
  otherwise walk up from a broken cache into whatever repository holds it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import signal
import time
import weakref
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ascad.conf.decode import check_size, decode_conf
from ascad.errors import SourceError
from ascad.sources.spec import FetchedText, Kind, SourceSpec

CACHE_ENV = "ASCAD_GIT_CACHE"
#: A lock file in the cache older than this is a git process's that died (killed at the deadline,
#: or a crash): every ascad read holds the cache's flock, so no ascad git is still using it.
STALE_LOCK_SECONDS = 60.0
log = logging.getLogger("ascad.sources.git")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
# asyncio locks belong to one event loop: keep them per loop (tests and tools may run several).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where remote repositories are cached: the argument, ``$ASCAD_GIT_CACHE``, else
    ``$XDG_CACHE_HOME/ascad/git`` (``~/.cache/ascad/git``)."""
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "ascad" / "git"


# Variables that point git at another repository or object store. A caller's environment may
# hold them (git exports GIT_DIR to hooks, so an ascad run from a hook inherits it): they would
# make ``-C DIR`` read the wrong repository and make the cache fetch write into the caller's.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without a password, (user, password) or None): ``https://u:p@h/x`` ->
    ``https://h/x`` and ``("u", "p")``. Only a password is a secret: a user alone stays in the URL
    (ssh needs it, and credential helpers look it up); an ssh URL keeps its user and loses only the
    password, which ssh never takes from a URL anyway."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if parts.password is None:
        return url, None
    user = unquote(parts.username or "")
    host = parts.netloc.rsplit("@", 1)[1]
    if parts.scheme.lower() in ("http", "https"):
        return urlunsplit(parts._replace(netloc=host)), (user, unquote(parts.password))
    kept = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=kept)), None


def _git_env(basic: tuple[str, str] | None) -> dict[str, str]:
    """The environment of every git command: never prompts, never reads another repository.

    ``GIT_TERMINAL_PROMPT=0`` alone is not enough: git still runs ``GIT_ASKPASS``,
    ``core.askPass`` or ``SSH_ASKPASS`` for a password (an IDE terminal or a desktop session sets
    them, and a dialog would wait forever). An empty ``GIT_ASKPASS`` turns all three off; ssh
    runs in ``BatchMode``. Credential helpers still work (they do not prompt).
    """
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = ""
    env["SSH_ASKPASS"] = ""
    env.pop("SSH_ASKPASS_REQUIRE", None)
    env["GCM_INTERACTIVE"] = "never"  # Git Credential Manager: fail instead of opening a window
    env["LC_ALL"] = "C"
    if "GIT_SSH" not in env:  # a user's own ssh wrapper wins, as in git itself
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=10")
    if basic:
        # Added after the caller's own GIT_CONFIG_* entries, if any, rather than over them.
        try:
            n = max(int(env.get("GIT_CONFIG_COUNT", "0") or 0), 0)
        except ValueError:
            n = 0
        encoded = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        env["GIT_CONFIG_COUNT"] = str(n + 1)
        env[f"GIT_CONFIG_KEY_{n}"] = "http.extraHeader"
        env[f"GIT_CONFIG_VALUE_{n}"] = f"Authorization: Basic {encoded}"
    return env


class _Git:
    """Runs git commands for one read, all within one deadline."""

    def __init__(self, where: str, timeout: float, basic: tuple[str, str] | None = None) -> None:
        self.where = where
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.env = _git_env(basic)

    async def run(self, *args: str) -> tuple[int, bytes, str]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SourceError(f"git took longer than {self.timeout:g} s", self.where)
        try:
            proc = await asyncio.create_subprocess_exec(
                "git",
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.env,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise SourceError(
                "the 'git' command is not installed (needed for git sources)", self.where
            ) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), remaining)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            rest = args[2:] if args[:1] == ("-C",) else args
            rest = rest[1:] if rest[:1] and rest[0].startswith("--git-dir=") else rest
            cmd = rest[0] if rest else "git"
            raise SourceError(
                f"git {cmd} took longer than {self.timeout:g} s", self.where
            ) from None
        finally:
            if proc.returncode is None:  # cancelled: never leave a git process behind
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode is not None
        return proc.returncode, out, err.decode("utf-8", "replace")


# git's generic trailer after a failed fetch: it follows the line that says what went wrong.
_GENERIC = (
    "fatal: could not read from remote repository",
    "please make sure you have the correct access rights",
    "and the repository exists",
)


def _last_line(err: str) -> str:
    """The one line of git's stderr that says what went wrong (the first line that is not a
    warning, a hint or git's generic "could not read from remote repository" trailer)."""
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    useful = [
        ln
        for ln in lines
        if not ln.lower().startswith(("warning:", "hint:")) and not ln.lower().startswith(_GENERIC)
    ]
    if useful:
        return useful[0]
    return lines[0] if lines else "git failed"


async def _check_local_top(git: _Git, repo: str, path: str, ref: str | None) -> None:
    """``DIR`` in ``DIR#PATH`` must be a repository's top (or a bare repository): git would also
    accept a sub-directory, but then read PATH from the top, not from DIR — a file other than the
    one the user named, or a confusing "no file"."""
    rc, out, err = await git.run("-C", repo, "rev-parse", "--show-prefix")
    if rc != 0:
        raise SourceError(f"not a git repository: {_last_line(err)}", git.where)
    prefix = out.decode("utf-8", "replace").strip()
    if prefix:
        rc, top, _ = await git.run("-C", repo, "rev-parse", "--show-toplevel")
        root = top.decode("utf-8", "replace").strip() if rc == 0 else "its top"
        raise SourceError(
            f"'{repo}' is the sub-directory '{prefix.rstrip('/')}' of the git repository "
            f"{root}: write {root}#{prefix}{path}" + (f"@{ref}" if ref else ""),
            git.where,
        )


async def _read_blob(
    git: _Git,
    gitdir: str,
    rev: str,
    path: str,
    shown_rev: str | None = None,
    *,
    bare: bool = False,
) -> tuple[bytes, str]:
    """(bytes, commit id) of PATH at REV in the repository at GITDIR (``shown_rev`` for messages;
    ``bare``: GITDIR is the cache, named with ``--git-dir`` so git never looks above it)."""
    shown = shown_rev or rev
    at = (f"--git-dir={gitdir}",) if bare else ("-C", gitdir)
    rc, out, _ = await git.run(*at, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if rc != 0:
        rc2, _, err2 = await git.run(*at, "rev-parse", "--git-dir")
        if rc2 != 0:
            raise SourceError(f"not a git repository: {_last_line(err2)}", git.where)
        raise SourceError(
            f"no ref '{shown}' in the repository (branch, tag or commit id)", git.where
        )
    commit = out.decode().strip()
    obj = f"{commit}:{path}"
    rc, out, _ = await git.run(*at, "cat-file", "-t", obj)
    if rc != 0:
        raise SourceError(f"no file '{path}' at ref '{shown}' (commit {commit[:12]})", git.where)
    kind = out.decode().strip()
    if kind != "blob":
        raise SourceError(f"'{path}' at ref '{shown}' is a {kind}, not a file", git.where)
    rc, out, _ = await git.run(*at, "cat-file", "-s", obj)
    if rc == 0:
        check_size(int(out.decode().strip() or 0), git.where)
    rc, out, err = await git.run(*at, "cat-file", "blob", obj)
    if rc != 0:
        raise SourceError(f"cannot read '{path}' at '{shown}': {_last_line(err)}", git.where)
    return out, commit


def _fetch_error(err: str, ref: str) -> str:
    low = err.lower()
    if "unable to create" in low and ".lock" in low and "exists" in low:
        return (
            f"another git process holds a lock in the cache ({_last_line(err)}); a lock older"
            f" than {STALE_LOCK_SECONDS:g} s is taken as left by a dead git and the cache rebuilt"
        )
    if "couldn't find remote ref" in low or "not our ref" in low or "no such ref" in low:
        hint = ""
        if re.fullmatch(r"[0-9a-f]{4,39}", ref):
            hint = " (a remote is fetched by name or by the full 40-hex commit id)"
        return f"no ref '{ref}' in the remote repository{hint}"
    if "host key verification failed" in low:
        return (
            "the remote's ssh host key is not in known_hosts (add it with ssh-keyscan, or ssh to"
            " it once); ascad never answers ssh's question"
        )
    if (
        "could not resolve host" in low
        or "connection refused" in low
        or "timed out" in low
        or "no route to host" in low
        or "failed to connect" in low
        or "network is unreachable" in low
    ):
        return f"cannot reach the remote: {_last_line(err)}"
    if (
        "could not read username" in low
        or "authentication failed" in low
        or "permission denied" in low
        or "terminal prompts disabled" in low
    ):
        return f"the remote asked for credentials and none were accepted ({_last_line(err)})"
    if "does not appear to be a git repository" in low or "not found" in low:
        return f"repository not found or not readable ({_last_line(err)})"
    return f"git fetch failed: {_last_line(err)}"


@contextlib.asynccontextmanager
async def _cache_lock(path: Path, git: _Git):  # type: ignore[no-untyped-def]
    """One reader per cache repository: an asyncio lock in-process, ``flock`` across processes."""
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    lock = per_loop.setdefault(str(path), asyncio.Lock())
    async with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > git.deadline:
                        raise SourceError(
                            f"git cache {path} is locked by another ascad process", git.where
                        ) from None
                    await asyncio.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the flock


async def fetch_git(
    spec: SourceSpec,
    *,
    timeout: float = 10.0,
    token: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> FetchedText:
    """Read ``spec.path`` at ``spec.ref`` (``HEAD`` when ``None``) from a local or remote repository."""
    assert spec.kind is Kind.GIT and spec.repo and spec.path
    rev = spec.ref or "HEAD"
    if spec.local:
        git = _Git(spec.raw, timeout)
        await _check_local_top(git, spec.repo, spec.path, spec.ref)
        data, commit = await _read_blob(git, spec.repo, rev, spec.path)
        return FetchedText(decode_conf(data, spec.raw), spec.display, commit)
    # The password in the URL, or else the token (http(s) only: never sent to an ssh host), goes
    # in the environment; the URL git sees, writes and shows in ps has no secret.
    url, basic = split_credentials(spec.repo)
    if basic is None and token and url.lower().startswith(("http://", "https://")):
        basic = (unquote(urlsplit(url).username or "") or "oauth2", token)
    git = _Git(spec.raw, timeout, basic)
    root = cache_root(cache_dir)
    repo_dir = root / _cache_name(url)
    if url != spec.repo:
        await _drop_legacy_cache(git, root / _cache_name(spec.repo))
    async with _cache_lock(repo_dir, git):
        data, commit = await _read_cached(git, repo_dir, url, rev, spec.path)
    return FetchedText(decode_conf(data, spec.raw), spec.display, commit)


def _cache_name(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


async def _drop_legacy_cache(git: _Git, legacy: Path) -> None:
    """A cache named by the URL *with* its password (older versions of ascad named it so and
    wrote that URL into its config): removed, so the password does not stay on disk."""
    if legacy.exists():
        async with _cache_lock(legacy, git):
            _remove(legacy)
            log.warning(
                "%s: removed an old git cache %s that held the URL's password", git.where, legacy
            )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _lock_files(repo_dir: Path) -> list[Path]:
    """The lock files git leaves when it dies mid-write: the repository's own (``shallow.lock``,
    ``config.lock``, ``packed-refs.lock``, ``HEAD.lock``…), the refs', ``objects/info``'s."""
    found = list(repo_dir.glob("*.lock")) + list((repo_dir / "objects" / "info").glob("*.lock"))
    refs = repo_dir / "refs"
    if refs.is_dir():
        found.extend(refs.rglob("*.lock"))
    return found


def cache_damage(repo_dir: Path, now: float | None = None) -> str | None:
    """Why the cache directory cannot be used as it is, seen from the file system (None: it looks
    whole, or does not exist yet)."""
    if not repo_dir.exists() and not repo_dir.is_symlink():
        return None
    if not repo_dir.is_dir() or repo_dir.is_symlink():
        return "it is not a directory"
    try:
        names = set(os.listdir(repo_dir))
    except OSError as exc:
        return f"it cannot be listed: {exc.strerror}"
    if not names:
        return None  # an empty directory: git init fills it
    missing = [n for n in ("HEAD", "config", "objects", "refs") if n not in names]
    if missing:
        return f"half-initialised: no {', '.join(missing)}"
    now = time.time() if now is None else now
    for lock in _lock_files(repo_dir):
        try:
            age = now - lock.stat().st_mtime
        except OSError:
            continue
        if age > STALE_LOCK_SECONDS:
            return f"a stale lock file {lock.relative_to(repo_dir)}, {age:.0f} s old"
    return None


async def _fsck_failure(git: _Git, gitdir: str) -> str | None:
    """After a failed read: what ``git fsck --connectivity-only`` finds wrong (a truncated pack, a
    ref to a missing object, a broken config), or None when the cache is whole and the failure
    was the remote's or the ref's. Missing blobs are not damage: the cache is a partial clone."""
    try:
        rc, _, err = await git.run(
            f"--git-dir={gitdir}", "fsck", "--connectivity-only", "--no-dangling", "--no-progress"
        )
    except SourceError:  # the deadline: no time left to look
        return None
    if rc == 0:
        return None
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    problems = [
        ln for ln in lines if ln.lower().startswith(("error", "fatal", "broken", "missing"))
    ]
    return f"git fsck: {(problems or lines or ['failed'])[0]}"


async def _read_cached(
    git: _Git, repo_dir: Path, url: str, rev: str, path: str
) -> tuple[bytes, str]:
    """The read through the cache, healing a damaged cache once: removed and fetched again."""
    reason = cache_damage(repo_dir)
    if reason is None:
        try:
            return await _fetch_and_read(git, repo_dir, url, rev, path)
        except SourceError:
            if not repo_dir.is_dir():
                raise
            reason = await _fsck_failure(git, str(repo_dir))
            if reason is None:
                raise
    log.warning(
        "%s: the git cache %s was damaged (%s): removed, fetching again",
        git.where,
        repo_dir,
        reason,
    )
    try:
        _remove(repo_dir)
    except OSError as exc:
        raise SourceError(
            f"the git cache {repo_dir} is damaged ({reason}) and cannot be removed:"
            f" {exc.strerror}; remove it by hand",
            git.where,
        ) from None
    try:
        return await _fetch_and_read(git, repo_dir, url, rev, path)
    except SourceError as exc:
        raise SourceError(
            f"{exc.message} (after removing the damaged git cache: {reason})", exc.where
        ) from None


async def _fetch_and_read(
    git: _Git, repo_dir: Path, url: str, rev: str, path: str
) -> tuple[bytes, str]:
    gitdir = str(repo_dir)
    at = f"--git-dir={gitdir}"
    if not (repo_dir / "HEAD").exists():
        rc, _, err = await git.run("init", "--quiet", "--bare", gitdir)
        if rc != 0:
            raise SourceError(
                f"cannot create the git cache at {gitdir}: {_last_line(err)}", git.where
            )
    # Set on every read: the directory name is a hash of the URL, and a copied cache must still
    # fetch from this one. Never with a password in it (fetch_git took it out).
    rc, _, err = await git.run(at, "config", "remote.origin.url", url)
    if rc != 0:
        raise SourceError(f"cannot configure the git cache: {_last_line(err)}", git.where)
    if _FULL_SHA.match(rev):
        rc, _, _ = await git.run(at, "cat-file", "-e", f"{rev}^{{commit}}")
        if rc == 0:
            return await _read_blob(git, gitdir, rev, path, bare=True)
    local_ref = f"refs/ascad/{hashlib.sha256(rev.encode()).hexdigest()[:16]}"
    rc, _, err = await git.run(
        at,
        "fetch",
        "--quiet",
        "--depth=1",
        "--filter=blob:none",
        "--no-tags",
        "--no-write-fetch-head",
        "origin",
        f"+{rev}:{local_ref}",
    )
    if rc != 0:
        raise SourceError(_fetch_error(err, rev), git.where)
    return await _read_blob(git, gitdir, local_ref, path, rev, bare=True)
