"""Parse a source string into a :class:`SourceSpec`: one syntax for every config source.

Every command names a config the same way (see ``docs/sources.md``):

=============================================================  =============  ======================
source string                                                  kind           display name
=============================================================  =============  ======================
``/etc/aerospike/aerospike.conf``, ``conf/a.conf``             ``file``       the path
``-``                                                          ``stdin``      ``<stdin>``
``aerospike://10.0.0.1:3000``, ``aerospike+tls://h:4333``      ``aerospike``  ``aerospike://h:port``
``http://10.0.0.1:9145``, ``https://node1:9145/prefix``        ``agent``      the URL
``git+file:///srv/salt.git#aerospike/aerospike.conf@main``     ``git``        ``git:main:aerospike/…``
``git+https://gitlab.example/ops/salt.git#PATH@REF``           ``git``        ``git:REF:PATH``
``git+ssh://git@gitlab.example/ops/salt.git#PATH@REF``         ``git``        ``git:REF:PATH``
``/srv/salt#aerospike/aerospike.conf@main`` (directory#…)      ``git``        ``git:main:aerospike/…``
``gitlab+https://gitlab.example/ops/salt#PATH@REF``            ``gitlab``     ``gitlab:REF:PATH``
``https://H/api/v4/projects/ID/repository/files/P/raw?ref=R``  ``gitlab``     ``gitlab:R:P``
``salt://aerospike/files/aerospike.conf.jinja``                ``salt``       ``salt://…`` (as typed)
=============================================================  =============  ======================

Rules, and the fact behind each:

- ``#PATH@REF``: the part after the last ``#`` is the file inside the repository; its last ``@``
  starts the ref (branch, tag or full commit id). ``@REF`` may be left out: the repository's
  ``HEAD`` (git) or default branch (GitLab) is read. Paths in repositories never need ``#``.
- A plain ``DIR#PATH@REF`` is a local git repository only when the whole string is *not* an
  existing file and ``DIR`` *is* an existing directory: a local source must be a regular file, so
  this never shadows a real conf file whose name contains ``#``. Anything else is a local path.
- ``git+file://`` is a URL like any other remote: it is fetched into the cache (as ``git clone
  file://`` goes through git's transport). Use ``DIR#PATH@REF`` to read a local repository in place.
- ``aerospike://`` defaults to port 3000 and ``aerospike+tls://`` to 4333 (the server's
  conventional service and TLS service ports); the query string (``?tls-name=x``) is kept in
  :attr:`SourceSpec.options` for the runtime reader.
- An ``https://`` URL whose path is GitLab's raw-file endpoint
  (``/api/v4/projects/ID/repository/files/PATH/raw``) is GitLab; any other ``http(s)://`` URL is a
  peer ascad agent, read at ``{url}/v1/config``.
- ``salt://PATH[?saltenv=ENV]`` is a file on the Salt file server, rendered by Salt itself
  (``salt-call --local``, :mod:`ascad.sources.salt`) with this node's grains and pillar.
- Passwords in URLs (``https://user:secret@host``) never appear in display names or errors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ascad.errors import SourceError

EMPTY_SOURCE = "empty source: give a path, URL or git/gitlab source"
DEFAULT_PORT = 3000  # Aerospike service port
DEFAULT_TLS_PORT = 4333  # conventional Aerospike TLS service port


class Kind(StrEnum):
    FILE = "file"
    STDIN = "stdin"
    AEROSPIKE = "aerospike"
    AGENT = "agent"
    GIT = "git"
    GITLAB = "gitlab"
    SALT = "salt"


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source string. ``raw`` is what the user typed (with any password hidden).

    Fields used per kind: ``file`` -> ``path``; ``aerospike`` -> ``host``, ``port``, ``tls``,
    ``options``; ``agent`` -> ``url`` (base, no trailing ``/``); ``git`` -> ``repo`` (URL or local
    directory), ``path``, ``ref`` (``None``: HEAD), ``local``; ``gitlab`` -> ``url`` (API base
    ``https://host/api/v4``), ``project`` (path or numeric id), ``path``, ``ref``; ``salt`` ->
    ``path`` (inside the file roots; ``raw`` is the ``salt://`` URL Salt is given).
    """

    kind: Kind
    raw: str
    display: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    tls: bool = False
    url: str | None = None
    repo: str | None = None
    ref: str | None = None
    project: str | None = None
    local: bool = False
    options: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class FetchedText:
    """The text of a source. ``name`` is for reports (``git:main:aerospike/aerospike.conf``);
    ``version`` is an ETag, blob or commit id when the source gives one, else ``None``."""

    text: str
    name: str
    version: str | None = None


_GITLAB_API_RE = re.compile(
    r"^(?P<base>.*?/api/v4)/projects/(?P<project>[^/]+)/repository/files/(?P<path>[^/]+)/raw/?$"
)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def redact_url(url: str) -> str:
    """``https://user:secret@host/x`` -> ``https://user:***@host/x`` (tokens never reach a report)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def parse_source(spec: str) -> SourceSpec:
    """Parse one source string; raises :class:`SourceError` naming it when it cannot be read as one."""
    if not isinstance(spec, str) or not spec.strip():
        shown = repr(spec) if isinstance(spec, str) else "source"
        raise SourceError(EMPTY_SOURCE, shown)
    spec = spec.strip()
    if spec == "-":
        return SourceSpec(Kind.STDIN, "-", "<stdin>")
    lower = spec.lower()
    if lower.startswith(("aerospike://", "aerospike+tls://")):
        return _parse_aerospike(spec)
    if lower.startswith("gitlab+"):
        return _parse_gitlab_short(spec)
    if lower.startswith("git+"):
        return _parse_git_url(spec)
    if lower.startswith(("http://", "https://")):
        return _parse_http(spec)
    if lower.startswith("salt://"):
        return _parse_salt(spec)
    if _SCHEME_RE.match(spec):
        scheme = spec.split("://", 1)[0]
        raise SourceError(
            f"unknown source scheme '{scheme}://' (use a path, aerospike://, http(s)://, git+…://"
            ", gitlab+https:// or salt://; see docs/sources.md)",
            redact_url(spec),
        )
    return _parse_local(spec)


def _split_fragment(fragment: str, source: str) -> tuple[str, str | None]:
    """``aerospike/aerospike.conf@main`` -> (path, ref); the last ``@`` starts the ref."""
    if "@" in fragment:
        path, sep, ref = fragment.rpartition("@")
    else:
        path, sep, ref = fragment, "", ""
    path = _clean_repo_path(unquote(path), source)
    ref = unquote(ref).strip()
    if sep and not ref:
        raise SourceError("empty ref after '@' (give a branch, tag or commit id)", source)
    if ref and (ref.startswith("-") or any(c in ref for c in " \t\n~^:?*[\\") or ".." in ref):
        raise SourceError(f"'{ref}' is not a valid git ref name", source)
    return path, ref or None


def _clean_repo_path(path: str, source: str) -> str:
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    if not parts:
        raise SourceError("no file path after '#': write REPO#path/to/aerospike.conf[@REF]", source)
    if ".." in parts:
        raise SourceError("'..' is not allowed in a path inside a repository", source)
    return "/".join(parts)


def _parse_aerospike(spec: str) -> SourceSpec:
    shown = redact_url(spec)
    try:
        parts = urlsplit(spec)
        host = parts.hostname
        tls = parts.scheme.lower() == "aerospike+tls"
        port = parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
    except ValueError as exc:
        raise SourceError(f"bad aerospike:// address: {exc}", shown) from None
    if not host:
        raise SourceError("no host: write aerospike://HOST:PORT", shown)
    if parts.path not in ("", "/"):
        raise SourceError(f"unexpected path '{parts.path}': write aerospike://HOST:PORT", shown)
    options = tuple(_query_pairs(parts.query))
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    display = f"{parts.scheme.lower()}://{hostport}"
    return SourceSpec(
        Kind.AEROSPIKE, shown, display, host=host, port=port, tls=tls, options=options
    )


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _parse_http(spec: str) -> SourceSpec:
    shown = redact_url(spec)
    try:
        parts = urlsplit(spec)
        host = parts.hostname
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise SourceError(f"bad URL: {exc}", shown) from None
    if not host:
        raise SourceError("no host in URL", shown)
    # The raw path keeps GitLab's %2F-encoded project and file path intact.
    match = _GITLAB_API_RE.match(parts.path)
    if match:
        query = dict(_query_pairs(parts.query))
        base = urlunsplit((parts.scheme, parts.netloc, match["base"], "", ""))
        project = unquote(match["project"])
        path = _clean_repo_path(unquote(match["path"]), shown)
        ref = query.get("ref") or None
        return _gitlab_spec(shown, base, project, path, ref)
    if parts.query or parts.fragment:
        raise SourceError(
            "a peer agent URL takes no query or fragment: write http(s)://HOST:PORT", shown
        )
    base = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))
    return SourceSpec(Kind.AGENT, shown, redact_url(base), url=base, host=host, port=port)


def _parse_git_url(spec: str) -> SourceSpec:
    shown = redact_url(spec)
    url = spec[len("git+") :]
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("file", "http", "https", "ssh", "git"):
        raise SourceError(
            "git sources are git+file://, git+https://, git+http://, git+ssh:// or git+git:// URLs",
            shown,
        )
    if "#" not in url:
        raise SourceError("no file path: write git+URL#path/to/aerospike.conf[@REF]", shown)
    repo, _, fragment = url.rpartition("#")
    path, ref = _split_fragment(fragment, shown)
    if not repo.split("://", 1)[1].strip("/"):
        raise SourceError("no repository in the URL", shown)
    return SourceSpec(
        Kind.GIT, shown, f"git:{ref or 'HEAD'}:{path}", repo=repo, path=path, ref=ref, local=False
    )


def _parse_gitlab_short(spec: str) -> SourceSpec:
    shown = redact_url(spec)
    url = spec[len("gitlab+") :]
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise SourceError(f"bad URL: {exc}", shown) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceError("write gitlab+https://HOST/GROUP/PROJECT#path/to/file[@REF]", shown)
    if not parts.fragment:
        raise SourceError("no file path: write gitlab+https://HOST/GROUP/PROJECT#PATH[@REF]", shown)
    project = unquote(parts.path).strip("/")
    project = project.removesuffix(".git")
    if not project:
        raise SourceError(
            "no project path: write gitlab+https://HOST/GROUP/PROJECT#PATH[@REF]", shown
        )
    path, ref = _split_fragment(parts.fragment, shown)
    base = urlunsplit((parts.scheme.lower(), parts.netloc, "/api/v4", "", ""))
    return _gitlab_spec(shown, base, project, path, ref)


def _gitlab_spec(shown: str, base: str, project: str, path: str, ref: str | None) -> SourceSpec:
    """A GitLab raw-file source, named ``gitlab:REF:PATH`` in reports."""
    return SourceSpec(
        Kind.GITLAB,
        shown,
        f"gitlab:{ref or 'HEAD'}:{path}",
        url=base,
        project=project,
        path=path,
        ref=ref,
    )


def _parse_salt(spec: str) -> SourceSpec:
    """``salt://aerospike/files/aerospike.conf.jinja[?saltenv=prod]``: Salt reads the query."""
    rest = spec[len("salt://") :]
    path, _, query = rest.partition("?")
    if "#" in path:
        raise SourceError("a salt:// source takes no '#': write salt://PATH[?saltenv=ENV]", spec)
    if not unquote(path).strip("/. "):
        raise SourceError("no file path: write salt://PATH (inside the file roots)", spec)
    clean = _clean_repo_path(unquote(path), spec)
    url = f"salt://{clean}" + (f"?{query}" if query else "")
    return SourceSpec(Kind.SALT, url, url, path=clean, options=tuple(_query_pairs(query)))


def _parse_local(spec: str) -> SourceSpec:
    path = os.path.expanduser(spec)
    if "#" in spec and not os.path.isfile(path):
        repo, _, fragment = path.rpartition("#")
        if repo and os.path.isdir(repo):
            file_path, ref = _split_fragment(fragment, spec)
            return SourceSpec(
                Kind.GIT,
                spec,
                f"git:{ref or 'HEAD'}:{file_path}",
                repo=str(Path(repo).resolve()),
                path=file_path,
                ref=ref,
                local=True,
            )
    return SourceSpec(Kind.FILE, spec, spec, path=path)


def gitlab_raw_url(spec: SourceSpec) -> str:
    """The raw-file API URL: project path and file path each URL-encoded with ``/`` as ``%2F``,
    as GitLab requires (``/projects/ops%2Fsalt/repository/files/aerospike%2Fa.conf/raw``)."""
    assert spec.kind is Kind.GITLAB and spec.url and spec.project and spec.path
    url = (
        f"{spec.url}/projects/{quote(spec.project, safe='')}"
        f"/repository/files/{quote(spec.path, safe='')}/raw"
    )
    if spec.ref:
        url += f"?ref={quote(spec.ref, safe='')}"
    return url


def decode_json_text(data: bytes, source: str) -> str:
    """A JSON body (an agent's ``/v1/config.json``, GitLab's API) -> text. A UTF-8 BOM is dropped;
    anything else that is not UTF-8 is refused with the line and column of the first bad byte.
    Conf text itself goes through :func:`ascad.conf.decode.decode_conf`, whatever its source."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col}", source
        ) from None
