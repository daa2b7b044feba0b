"""Aerospike tools' profiles: ``astools.conf`` (TOML), read the way asadm reads it.

Facts (aerospike/aerospike-admin:lib/utils/conf.py ``loadconfig``, ``_loadfile``, ``_flatten``,
and its ``--help`` text for the config file):

- Files, in order, each merged over the previous (a later file wins, key by key):
  ``/etc/aerospike/astools.conf``, ``~/.aerospike/astools.conf``, then ``--config-file FILE``.
  ``--no-config-file`` reads none. A missing default file is skipped.
- A file's ``[include]`` table names a ``file`` and/or a ``directory`` (every file under it,
  sorted); they are merged over the including file.
- Sections: without ``--instance`` the ``[cluster]`` table; with ``--instance NAME`` the
  ``[cluster_NAME]`` table instead (``[cluster]`` is then not read). ``[asadm]`` and other
  tools' tables are theirs and ignored here.
- A cluster table takes ``host``, ``port``, ``services-alternate``, ``user``, ``password``,
  ``auth``, ``tls-enable``, ``tls-name``, ``tls-cafile``, ``tls-capath``, ``tls-certfile``,
  ``tls-keyfile``, ``tls-keyfile-password``, ``tls-cipher-suite``, ``tls-protocols``,
  ``tls-crl-check``, ``tls-crl-check-all``; any other key is refused (asadm's schema has
  ``additionalProperties: false`` there).

ascad's choices (docs/sources.md, "Logging in to a node"): ``host``/``port``/
``services-alternate`` are not used (ascad is told which nodes to read); the TLS settings ascad
cannot honour (``tls-keyfile-password``, ``tls-cipher-suite``, ``tls-protocols``, the CRL checks)
give a warning, not a silent skip; a file holding a ``password`` is refused when other users may
read or write it (the rule of every ascad secret file); a ``--config-file`` that does not exist
and an ``--instance`` no file defines are errors (asadm warns and carries on with defaults).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ascad.errors import AscadError

SYSTEM_FILE = "/etc/aerospike/astools.conf"
USER_FILE = "~/.aerospike/astools.conf"

_USED = {
    "user": str,
    "password": str,
    "auth": str,
    "tls-enable": bool,
    "tls-name": str,
    "tls-cafile": str,
    "tls-capath": str,
    "tls-certfile": str,
    "tls-keyfile": str,
}
_NOT_USED = {"host": str, "port": int, "services-alternate": bool}
_NOT_HONOURED = {
    "tls-keyfile-password": str,
    "tls-cipher-suite": str,
    "tls-protocols": str,
    "tls-crl-check": bool,
    "tls-crl-check-all": bool,
}


@dataclass
class Profile:
    """The merged cluster settings and where they came from."""

    values: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # key -> file it came from
    files: list[str] = field(default_factory=list)  # files read, in order
    warnings: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return self.values.get(key)


def default_files(config_file: str | None = None) -> list[tuple[str, bool]]:
    """(path, required) in reading order: the two default files, then ``--config-file``."""
    files = [(SYSTEM_FILE, False), (os.path.expanduser(USER_FILE), False)]
    if config_file:
        files.append((os.path.expanduser(config_file), True))
    return files


def _load_toml(path: str) -> dict[str, Any]:
    import tomllib  # only when a file is there (start-up: most machines have none)

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise AscadError(f"cannot read astools config: {exc.strerror}", path) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise AscadError("astools config is not UTF-8 text", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise AscadError(f"astools config is not valid TOML: {exc}", path) from None


def _with_includes(path: str, depth: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """The file's tables, then those of its ``[include]`` file and directory (in that order)."""
    if depth > 8:
        raise AscadError("astools config includes nest deeper than 8 (a loop?)", path)
    doc = _load_toml(path)
    out = [(path, doc)]
    include = doc.get("include")
    if include is None:
        return out
    if not isinstance(include, dict) or set(include) - {"file", "directory"}:
        raise AscadError("[include] takes only file and directory", path)
    names: list[str] = []
    if "file" in include:
        names.append(os.path.expanduser(str(include["file"])))
    if "directory" in include:
        top = os.path.expanduser(str(include["directory"]))
        names += sorted(os.path.join(dp, f) for dp, _dn, fn in os.walk(top) for f in fn)
    for name in names:
        out += _with_includes(name, depth + 1)
    return out


def _check_section(path: str, section: str, table: Any, profile: Profile) -> None:
    if not isinstance(table, dict):
        raise AscadError(f"[{section}] must be a table", path)
    for key, value in table.items():
        kind = _USED.get(key) or _NOT_USED.get(key) or _NOT_HONOURED.get(key)
        if kind is None:
            known = ", ".join(sorted({*_USED, *_NOT_USED, *_NOT_HONOURED}))
            raise AscadError(f"[{section}] has an unknown key {key!r} (known: {known})", path)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise AscadError(f"[{section}] {key} must be a {kind.__name__}", path)
        if key in _NOT_HONOURED and value not in (False, ""):
            profile.warnings.append(f"{path}: [{section}] {key} is not used by ascad")
        if key in _USED:
            profile.values[key] = value
            profile.origin[key] = path


def load_profile(
    files: list[tuple[str, bool]],
    instance: str | None = None,
) -> Profile:
    """Merge the cluster section of each file (a later one wins); AscadError naming the file."""
    section = f"cluster_{instance}" if instance else "cluster"
    profile = Profile()
    found_section = False
    for path, required in files:
        if not os.path.exists(path):
            if required:
                raise AscadError("--config-file: no such file", path)
            continue
        for name, doc in _with_includes(path):
            profile.files.append(name)
            if section in doc:
                found_section = True
                _check_section(name, section, doc[section], profile)
    if instance and not found_section:
        where = ", ".join(profile.files) or "no astools.conf was found"
        raise AscadError(f"--instance {instance}: no [{section}] section in {where}")
    if "password" in profile.origin:
        from ascad.sources.secrets import check_secret_mode

        check_secret_mode(profile.origin["password"], "astools config holding a password")
    return profile
