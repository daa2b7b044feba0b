"""Config sources, named the same way everywhere (syntax: :mod:`ascad.sources.spec`, docs/sources.md).

``parse_source(text)`` turns a source string into a :class:`SourceSpec`; ``await fetch_text(spec)``
reads it as text for every kind except ``aerospike://`` (a running node has no file: the runtime
reader builds its config from the info protocol, so that kind is refused here); a ``salt://`` file
is rendered by Salt itself (:mod:`ascad.sources.salt`). Every source's
bytes are decoded by the one rule of :mod:`ascad.conf.decode` (size, NUL, BOM, UTF-8). Every
failure is an :class:`~ascad.errors.AscadError` naming the source. The git and HTTP readers (and
aiohttp) are imported only when such a source is read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ascad.errors import SourceError

if TYPE_CHECKING:
    import aiohttp

    from ascad.sources.salt import SaltOptions
    from ascad.sources.spec import FetchedText, Kind, SourceSpec, parse_source, redact_url

# The names of ascad.sources.spec are imported at their first use: a fleet of running nodes
# imports ascad.sources.loader, and so this package, without reading any source (start-up).
_SPEC_NAMES = frozenset({"FetchedText", "Kind", "SourceSpec", "parse_source", "redact_url"})


def __getattr__(name: str) -> Any:
    if name in _SPEC_NAMES:
        from ascad.sources import spec

        value = getattr(spec, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def fetch_text(
    spec: SourceSpec,
    *,
    timeout: float = 10.0,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    regular_only: bool = False,
    salt: SaltOptions | None = None,
) -> FetchedText:
    """Read a source's text within ``timeout`` seconds.

    ``token`` is the agent's bearer token or GitLab's access token (else ``ASCAD_TOKEN`` /
    ``GITLAB_TOKEN`` from the environment); for a ``git+https`` remote it is sent as basic auth
    ``oauth2:TOKEN``. ``session`` lets many HTTP reads share one connection pool; ``cache_dir``
    overrides where remote git repositories are cached. ``regular_only`` refuses a local path
    that is a pipe or a device without opening it (the agent's files). ``salt`` says how to run
    Salt for a ``salt://`` source (its own timeout: ``salt-call`` loads every grain first).
    """
    from ascad.sources.spec import Kind

    if timeout <= 0:
        raise SourceError("timeout must be positive", spec.raw)
    if spec.kind in (Kind.FILE, Kind.STDIN):
        from ascad.sources.local import fetch_local

        return await fetch_local(spec, regular_only=regular_only)
    if spec.kind is Kind.AGENT:
        from ascad.sources.http import fetch_agent

        return await fetch_agent(spec, timeout=timeout, token=token, session=session)
    if spec.kind is Kind.GITLAB:
        from ascad.sources.http import fetch_gitlab

        return await fetch_gitlab(spec, timeout=timeout, token=token, session=session)
    if spec.kind is Kind.GIT:
        from ascad.sources.git import fetch_git

        return await fetch_git(spec, timeout=timeout, token=token, cache_dir=cache_dir)
    if spec.kind is Kind.SALT:
        from ascad.sources.salt import fetch_salt

        return await fetch_salt(spec, salt)
    if spec.kind is Kind.AEROSPIKE:
        raise SourceError(
            "a running node has no config file to fetch: read it with the runtime reader",
            spec.display,
        )
    raise SourceError(f"unknown source kind {spec.kind}", spec.raw)


def read_token_file(path: str | os.PathLike[str]) -> str:
    """A token from a file (``--token-file``): the first non-empty line, whitespace stripped."""
    where = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(64 * 1024)
    except FileNotFoundError:
        raise SourceError("token file not found", where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the token file: {exc}", where) from None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise SourceError("token file is empty", where)


__all__ = [
    "FetchedText",
    "Kind",
    "SourceSpec",
    "fetch_text",
    "parse_source",
    "read_token_file",
    "redact_url",
]
