"""The agent's settings: ``/etc/ascad/ascad.toml`` (or ``--config``) plus the environment.

Rules, and the reason for each:

- Every setting ``[section] key`` may also come from the environment as
  ``ASCAD_<SECTION>_<KEY>`` (upper case, ``-`` as ``_``), which wins over the file: systemd
  ``Environment=`` lines and containers configure without editing the file. Lists in the
  environment are comma-separated; the ``peers.urls`` table is ``NODEID=URL,NODEID=URL``.
- Everything is validated at start and every bad value gives its own line naming the file (or the
  environment variable) and the key, so one run shows every mistake at once.
- Secrets (the server token, the Aerospike password, the golden token) are never written inline in
  the file: the file names a ``*_file`` (mode 0600 or 0640, readable by the ``ascad`` user) or the
  secret comes from the environment (``ASCAD_SERVER_TOKEN``, ``ASCAD_AEROSPIKE_PASSWORD``,
  ``ASCAD_GOLDEN_TOKEN``). A config file is often world-readable and kept in git; a token in it
  leaks. TLS private keys are files by nature (``*_key`` paths). A secret file or a TLS key that
  other users may read or write is refused (:mod:`ascad.sources.secrets`).
- A settings file that is not UTF-8 TOML, or a value holding a NUL byte or a control character, is
  one line naming the file (and the line, or the key), never the file's content: ``SIGHUP`` logs
  it and keeps the old settings, ``--check-config`` exits 2.
- A server that listens on anything but loopback must have a token: otherwise anyone who can reach
  the port reads the node's conf.
- The ``[compare]`` section (expected per-node differences) belongs to :mod:`ascad.compare.expected`; it
  is kept here as read and handed over untouched.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ascad.errors import AscadError
from ascad.sources.secrets import SecretFileError, check_secret_mode, read_secret_file, shown_path

DEFAULT_CONFIG = "/etc/ascad/ascad.toml"
DEFAULT_PORT = 9145
ROLES = ("master", "slave", "auto")
DISCOVERY = ("aerospike", "static")
LOG_LEVELS = ("debug", "info", "warning", "error")
TRANSPORTS = ("tcp", "udp")
ENV_PREFIX = "ASCAD_"
#: The agent's tables (``[compare]`` belongs to ascad.compare.expected).
SECTIONS = ("agent", "aerospike", "golden", "peers", "server", "riemann")


class SettingsError(AscadError):
    """One or more bad settings; :attr:`problems` holds one line per bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid settings:\n  " + "\n  ".join(problems) if len(problems) > 1 else problems[0]
        )


@dataclass
class AgentSettings:
    """All settings, validated. Durations are seconds; secrets are the secret text itself."""

    # [agent]
    node_name: str = field(default_factory=socket.gethostname)
    role: str = "auto"
    conf: str = "/etc/aerospike/aerospike.conf"
    interval: float = 6 * 3600.0
    jitter: float = 600.0
    cluster: str = ""
    tags: list[str] = field(default_factory=lambda: ["ascad", "aerospike"])
    state_dir: str = "/var/lib/ascad"
    log_level: str = "info"
    nice: int = 10
    ionice: bool = True
    # the node's log, for provenance (issue 14); empty: the conf's logging file sinks
    server_log: list[str] = field(default_factory=list)
    # [aerospike]
    aerospike_address: str = "aerospike://127.0.0.1:3000"
    aerospike_user: str = ""
    aerospike_password: str | None = None
    aerospike_tls_ca: str = ""
    aerospike_tls_cert: str = ""
    aerospike_tls_key: str = ""
    aerospike_timeout: float = 10.0
    aerospike_auth: str = "INTERNAL"
    aerospike_tls_name: str = ""
    aerospike_tls_capath: str = ""
    aerospike_tls_enable: bool = False
    # [golden]
    golden_source: str = ""
    golden_token: str | None = None
    golden_timeout: float = 60.0
    # a salt:// golden: how Salt renders it (ascad.sources.salt)
    golden_salt_call: str = "salt-call"
    golden_salt_config_dir: str = ""
    golden_salt_file_root: str = ""
    golden_salt_pillar_root: str = ""
    # [peers]
    master_urls: list[str] = field(default_factory=list)
    discovery: str = "aerospike"
    static: list[str] = field(default_factory=list)
    url_template: str = "http://{host}:9145"
    urls: dict[str, str] = field(default_factory=dict)
    peers_ca: str = ""
    peers_tls_cert: str = ""
    peers_tls_key: str = ""
    peers_timeout: float = 10.0
    # [server]
    listen: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    token: str | None = None
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    # [riemann]
    riemann_host: str = ""
    riemann_port: int = 5555
    riemann_transport: str = "tcp"
    riemann_tls: bool = False
    riemann_tls_ca: str = ""
    riemann_tls_cert: str = ""
    riemann_tls_key: str = ""
    riemann_ttl_factor: float = 2.5
    riemann_timeout: float = 5.0
    # [compare], for ascad.compare.expected
    compare: dict[str, Any] = field(default_factory=dict)
    # where the settings came from
    source: str = "<defaults>"

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.listen)

    def server_key(self) -> tuple[Any, ...]:
        """What the HTTP server depends on: a reload that changes it restarts the server."""
        return (
            self.listen,
            self.port,
            self.token,
            self.tls_cert,
            self.tls_key,
            self.tls_client_ca,
            self.conf,
        )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


def _url_host_problem(url: str) -> str | None:
    """Why an agent URL's host cannot be meant (a bare number such as ``http://9145``), or None."""
    from urllib.parse import urlsplit

    from ascad.runtime.address import shorthand_ipv4

    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        return str(exc)
    return shorthand_ipv4(host) if host else "no host"


def _is_host(text: str) -> bool:
    """An IP address (IPv6 with or without brackets) or a DNS host name."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return bool(_HOST_RE.fullmatch(text)) and len(text) <= 253
    return True


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: Longest duration accepted (365 days). Riemann's ttl is a 32-bit float and an event's ttl is
#: 2.5 x the interval: an absurd interval would make events that never expire (or overflow).
MAX_DURATION = 365 * 86400.0


def parse_duration(value: Any) -> float:
    """``6h``, ``30m``, ``45s``, ``1d`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 6h, 30m or 45s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration such as 6h, 30m or 45s")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(seconds) or seconds > MAX_DURATION:
        raise ValueError(f"{value!r} is not a duration of at most 365d")
    return seconds


# --- the schema: (section, key) -> (attribute, kind) ----------------------------------------------
# kinds: str, int, float, duration, bool, list, table, secret-file (the key names a file whose
# one non-empty line is the secret, ascad.sources.secrets; SECRET_ENV's variables give the secret
# itself).

_SCHEMA: dict[tuple[str, str], tuple[str, str]] = {
    ("agent", "node_name"): ("node_name", "str"),
    ("agent", "role"): ("role", "str"),
    ("agent", "conf"): ("conf", "str"),
    ("agent", "interval"): ("interval", "duration"),
    ("agent", "jitter"): ("jitter", "duration"),
    ("agent", "cluster"): ("cluster", "str"),
    ("agent", "tags"): ("tags", "list"),
    ("agent", "state_dir"): ("state_dir", "str"),
    ("agent", "log_level"): ("log_level", "str"),
    ("agent", "nice"): ("nice", "int"),
    ("agent", "ionice"): ("ionice", "bool"),
    ("agent", "server_log"): ("server_log", "list"),
    ("aerospike", "address"): ("aerospike_address", "str"),
    ("aerospike", "user"): ("aerospike_user", "str"),
    ("aerospike", "password_file"): ("aerospike_password", "secret-file"),
    ("aerospike", "tls_ca"): ("aerospike_tls_ca", "str"),
    ("aerospike", "tls_cert"): ("aerospike_tls_cert", "str"),
    ("aerospike", "tls_key"): ("aerospike_tls_key", "str"),
    ("aerospike", "timeout"): ("aerospike_timeout", "duration"),
    ("aerospike", "auth"): ("aerospike_auth", "str"),
    ("aerospike", "tls_name"): ("aerospike_tls_name", "str"),
    ("aerospike", "tls_capath"): ("aerospike_tls_capath", "str"),
    ("aerospike", "tls_enable"): ("aerospike_tls_enable", "bool"),
    ("golden", "source"): ("golden_source", "str"),
    ("golden", "token_file"): ("golden_token", "secret-file"),
    ("golden", "timeout"): ("golden_timeout", "duration"),
    ("golden", "salt_call"): ("golden_salt_call", "str"),
    ("golden", "salt_config_dir"): ("golden_salt_config_dir", "str"),
    ("golden", "salt_file_root"): ("golden_salt_file_root", "str"),
    ("golden", "salt_pillar_root"): ("golden_salt_pillar_root", "str"),
    ("peers", "master_url"): ("master_urls", "list"),
    ("peers", "discovery"): ("discovery", "str"),
    ("peers", "static"): ("static", "list"),
    ("peers", "url_template"): ("url_template", "str"),
    ("peers", "urls"): ("urls", "table"),
    ("peers", "ca_file"): ("peers_ca", "str"),
    ("peers", "tls_cert"): ("peers_tls_cert", "str"),
    ("peers", "tls_key"): ("peers_tls_key", "str"),
    ("peers", "timeout"): ("peers_timeout", "duration"),
    ("server", "listen"): ("listen", "str"),
    ("server", "port"): ("port", "int"),
    ("server", "token_file"): ("token", "secret-file"),
    ("server", "tls_cert"): ("tls_cert", "str"),
    ("server", "tls_key"): ("tls_key", "str"),
    ("server", "tls_client_ca"): ("tls_client_ca", "str"),
    ("riemann", "host"): ("riemann_host", "str"),
    ("riemann", "port"): ("riemann_port", "int"),
    ("riemann", "transport"): ("riemann_transport", "str"),
    ("riemann", "tls"): ("riemann_tls", "bool"),
    ("riemann", "tls_ca"): ("riemann_tls_ca", "str"),
    ("riemann", "tls_cert"): ("riemann_tls_cert", "str"),
    ("riemann", "tls_key"): ("riemann_tls_key", "str"),
    ("riemann", "ttl_factor"): ("riemann_ttl_factor", "float"),
    ("riemann", "timeout"): ("riemann_timeout", "duration"),
}

#: Secrets given directly in the environment (never inline in the file).
SECRET_ENV = {
    "ASCAD_SERVER_TOKEN": "token",
    "ASCAD_AEROSPIKE_PASSWORD": "aerospike_password",
    "ASCAD_GOLDEN_TOKEN": "golden_token",
}
#: Keys refused in the file because they would hold a secret inline.
_INLINE_SECRETS = {
    ("server", "token"): "token_file",
    ("aerospike", "password"): "password_file",
    ("golden", "token"): "token_file",
}


def env_name(section: str, key: str) -> str:
    """The environment variable for ``[section] key``: ``ASCAD_SECTION_KEY``."""
    return f"{ENV_PREFIX}{section}_{key}".upper().replace("-", "_")


def _printable(text: str) -> str:
    """``text``, refused when it holds a NUL byte or another control character: a path with a NUL
    cannot be opened, and a newline in a name or URL would break a log line or a header."""
    if "\0" in text:
        raise ValueError(f"{text!r} contains a NUL byte")
    if not text.isprintable():
        raise ValueError(f"{text!r} contains a control character")
    return text


def _convert(kind: str, value: Any, from_env: bool) -> Any:
    # Checked once stripped, as values are used: a CRLF environment file's "\r" is whitespace.
    if isinstance(value, str):
        _printable(value.strip())
    elif isinstance(value, list | dict):
        for item in [*value, *(value.values() if isinstance(value, dict) else ())]:
            if isinstance(item, str):
                _printable(item.strip())
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value.strip()
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise ValueError(f"{value!r} is not a whole number")
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if kind == "duration":
        return parse_duration(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{value!r} is not true or false")
    if kind == "list":
        if from_env or isinstance(value, str):
            return [v.strip() for v in str(value).split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v.strip() for v in value]
        raise ValueError("expected a list of strings")
    if kind == "table":
        if from_env:
            out = {}
            for item in str(value).split(","):
                if not item.strip():
                    continue
                if "=" not in item:
                    raise ValueError(f"{item.strip()!r} is not NODEID=URL")
                k, v = item.split("=", 1)
                out[k.strip()] = v.strip()
            return out
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return {str(k): v.strip() for k, v in value.items()}
        raise ValueError("expected a table of strings")
    raise AssertionError(kind)


def _read_secret(path: str, what: str) -> str:
    """The secret in a ``*_file`` (:func:`ascad.sources.secrets.read_secret_file`'s rules)."""
    try:
        return read_secret_file(path, what)
    except SecretFileError as exc:
        raise ValueError(str(exc)) from None


#: Largest settings file read (a settings file is a few KiB; this is not a place for data).
MAX_SETTINGS_BYTES = 1024 * 1024


def read_toml(path: str) -> dict[str, Any]:
    """The parsed file; :class:`SettingsError` naming the file (and the line for bad bytes and
    syntax errors). Never a word of the file's content: the message goes to logs."""
    where = shown_path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        raise SettingsError([f"{where}: file not found"]) from None
    except OSError as exc:
        raise SettingsError([f"{where}: cannot read: {exc.strerror}"]) from None
    except ValueError:  # a NUL byte in the path
        raise SettingsError([f"{where}: the path contains a NUL byte"]) from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise SettingsError([f"{where}: larger than 1 MiB: not a settings file"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SettingsError(
            [
                f"{where}:{line}:{col}: not UTF-8 (byte 0x{raw[exc.start]:02x}): save the file"
                " as UTF-8"
            ]
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{where}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise SettingsError([f"{where}: not valid TOML: nested too deeply"]) from None


def load_settings(
    path: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    data: dict[str, Any] | None = None,
    serving: bool = True,
) -> AgentSettings:
    """Settings from ``path`` (``None``: ``/etc/ascad/ascad.toml`` if it exists) and ``env``.

    ``data`` gives the file's content directly (tests, the demo); ``env`` defaults to
    ``os.environ``. ``serving`` False (``ascad check``) skips the rule that a server on a
    non-loopback address needs a token, since no server runs. Raises :class:`SettingsError`
    listing every bad value.
    """
    env = os.environ if env is None else env
    where_file = path or DEFAULT_CONFIG
    if data is None:
        if path is None and not os.path.exists(DEFAULT_CONFIG):
            data, where_file = {}, "<defaults>"
        else:
            data = read_toml(where_file)
    elif path is None:
        where_file = "<settings>"
    settings = AgentSettings(source=where_file)
    problems: list[str] = []
    # (section, key) -> (value, from_env, where): the file first, the environment over it, so a
    # file value that the environment replaces is never read (a token_file path, say).
    raw: dict[tuple[str, str], tuple[Any, bool, str]] = {}
    refused: set[tuple[str, str]] = set()  # (section, key) whose value was refused

    for section, table in data.items():
        if section == "compare":
            if not isinstance(table, dict):
                problems.append(f"{where_file}: [compare] must be a table")
            else:
                settings.compare = table
            continue
        if section not in SECTIONS:
            problems.append(f"{where_file}: unknown section [{section}]")
            continue
        if not isinstance(table, dict):
            problems.append(f"{where_file}: [{section}] must be a table, not {table!r}")
            continue
        for key, value in table.items():
            if (section, key) in _INLINE_SECRETS:
                refused.add((section, key))
                problems.append(
                    f"{where_file}: [{section}] {key}: secrets are not written in the file; set"
                    f' {_INLINE_SECRETS[(section, key)]} = "/path" or'
                    f" {env_name(section, key)}"
                )
                continue
            if (section, key) not in _SCHEMA:
                problems.append(f"{where_file}: [{section}] {key}: unknown setting")
                continue
            raw[(section, key)] = (value, False, f"{where_file}: [{section}] {key}")

    for section, key in _SCHEMA:
        name = env_name(section, key)
        if name in env:
            raw[(section, key)] = (env[name], True, f"environment {name}")
    problems.extend(_unknown_env(env))
    for (section, key), (value, from_env, where) in raw.items():
        if not _apply(settings, _SCHEMA[(section, key)], value, from_env, where, problems):
            refused.add((section, key))
    for name, attr in SECRET_ENV.items():
        secret = env.get(name, "").strip()
        if secret and not secret.isprintable():  # a newline would split an HTTP header
            refused.add(("server", "token") if attr == "token" else ("environment", name))
            problems.append(f"environment {name}: the secret holds a control character")
        elif secret:
            setattr(settings, attr, secret)

    # A token whose source was refused above is not reported a second time as missing.
    token_failed = ("server", "token") in refused or ("server", "token_file") in refused
    # Nor is a value refused above reported again by a cross-check ("a master needs a source").
    skip = frozenset(_SCHEMA[k][0] for k in refused if k in _SCHEMA)
    problems.extend(validate(settings, serving=serving and not token_failed, skip=skip))
    if problems:
        raise SettingsError(problems)
    return settings


def origin_line(settings: AgentSettings) -> str:
    """Which settings file was read, or that none was and the built-in defaults are used: the
    first thing a user needs when ``ascad check`` reports on the wrong node or role."""
    if settings.source == "<defaults>":
        return (
            f"no settings file (no --config, and {DEFAULT_CONFIG} does not exist): "
            f"built-in defaults and {ENV_PREFIX}* environment variables"
        )
    return f"settings from {settings.source}"


def _unknown_env(env: Mapping[str, str]) -> list[str]:
    """``ASCAD_<SECTION>_<KEY>`` variables of the agent's sections that name no setting: a typo
    such as ``ASCAD_RIEMANN_HOTS`` would otherwise be ignored without a word."""
    known = {env_name(s, k) for s, k in _SCHEMA} | set(SECRET_ENV)
    prefixes = tuple(f"{ENV_PREFIX}{s.upper()}_" for s in SECTIONS)
    return [
        f"environment {name}: unknown setting"
        for name in sorted(env)
        if name.startswith(prefixes) and name not in known
    ]


def _apply(
    settings: AgentSettings,
    spec: tuple[str, str],
    value: Any,
    from_env: bool,
    where: str,
    problems: list[str],
) -> bool:
    """Set one value; False (and a line in ``problems``) when it is refused."""
    attr, kind = spec
    try:
        if kind == "secret-file":
            path = _convert("str", value, from_env)
            what = "password file" if "password" in attr else "token file"
            setattr(settings, attr, _read_secret(path, what) if path else None)
        else:
            setattr(settings, attr, _convert(kind, value, from_env))
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return False
    return True


def _key(attr: str) -> str:
    """``[section] key`` (and its env var) for an attribute, for messages."""
    for (section, key), (a, _) in _SCHEMA.items():
        if a == attr:
            return f"[{section}] {key} ({env_name(section, key)})"
    return attr


def setting_label(attr: str) -> str:
    """``[section] key (ASCAD_SECTION_KEY)`` for an attribute of :class:`AgentSettings`."""
    return _key(attr)


def validate(
    s: AgentSettings, *, serving: bool = True, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Cross-checks on a whole settings object; one message per problem (none for the
    attributes in ``skip``, whose values were already refused)."""
    p: list[str] = []
    where = s.source

    def bad(attr: str, message: str) -> None:
        if attr in skip:
            return
        p.append(f"{where}: {_key(attr)}: {message}")

    if not s.node_name:
        bad("node_name", "must not be empty")
    if s.role not in ROLES:
        bad("role", f"{s.role!r} is not one of {', '.join(ROLES)}")
    if not s.conf:
        bad("conf", "must name the node's aerospike.conf")
    if not s.interval > 0:
        bad("interval", "must be positive")
    if s.jitter < 0:
        bad("jitter", "must not be negative")
    elif s.interval > 0 and s.jitter > s.interval:
        bad("jitter", "must not exceed the interval")
    if os.path.exists(s.state_dir) and not os.path.isdir(s.state_dir):
        bad("state_dir", f"{s.state_dir} exists and is not a directory")
    if s.log_level.lower() not in LOG_LEVELS:
        bad("log_level", f"{s.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    s.log_level = s.log_level.lower()
    if not 0 <= s.nice <= 19:
        bad("nice", "must be between 0 and 19")
    if s.aerospike_address:
        from ascad.runtime.address import parse_address

        try:
            parse_address(s.aerospike_address)
        except AscadError as exc:
            bad("aerospike_address", exc.message)
    s.aerospike_auth = s.aerospike_auth.upper()
    if s.aerospike_auth not in ("INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI"):
        bad("aerospike_auth", "must be INTERNAL, EXTERNAL, EXTERNAL_INSECURE or PKI")
    elif s.aerospike_auth == "PKI" and not s.aerospike_tls_cert:
        bad("aerospike_auth", "PKI logs in with a client certificate: set tls_cert and tls_key")
    if s.aerospike_user and s.aerospike_password is None and s.aerospike_auth != "PKI":
        bad("aerospike_password", "a user is set, so a password is needed (file or environment)")
    if bool(s.aerospike_tls_cert) != bool(s.aerospike_tls_key):
        bad("aerospike_tls_cert", "tls_cert and tls_key go together")
    for attr in ("aerospike_timeout", "golden_timeout", "peers_timeout", "riemann_timeout"):
        if not getattr(s, attr) > 0:
            bad(attr, "must be positive")
    if s.golden_source:
        try:
            from ascad.sources import parse_source

            parse_source(s.golden_source)
        except AscadError as exc:
            bad("golden_source", exc.message)
    if s.role == "master" and not s.golden_source:
        bad("golden_source", "a master compares with the golden: set [golden] source")
    if s.role == "slave" and not s.master_urls:
        bad("master_urls", "a slave needs the master's agent URL")
    for url in s.master_urls + s.static + list(s.urls.values()):
        if not re.match(r"^https?://[^/\s]+", url):
            p.append(f"{where}: [peers]: {url!r} is not an http(s):// agent URL")
        elif (why := _url_host_problem(url)) is not None:
            p.append(f"{where}: [peers]: {url!r}: {why}")
    if s.discovery not in DISCOVERY:
        bad("discovery", f"{s.discovery!r} is not one of {', '.join(DISCOVERY)}")
    if s.role == "auto" and s.discovery == "static" and not s.static:
        bad("static", "discovery = static needs the list of agent URLs")
    if "{host}" not in s.url_template:
        # Without {host} every peer would get the same URL (checked whatever the role: a role
        # changed to auto later must not find a template that cannot work).
        bad("url_template", "must contain {host}")
    else:
        try:
            url = s.url_template.format(host="127.0.0.1", port=3000, node_id="BB9")
        except (KeyError, IndexError, ValueError) as exc:
            detail = f"unknown placeholder {{{exc.args[0]}}}" if isinstance(exc, KeyError) else exc
            bad(
                "url_template",
                f"{s.url_template!r}: {detail} (use {{host}}, {{port}}, {{node_id}})",
            )
        else:
            if not re.match(r"^https?://[^/\s]+", url):
                bad("url_template", f"{s.url_template!r} is not an http(s):// agent URL")
    if not 0 <= s.port < 65536:
        bad("port", "must be between 0 and 65535")
    if not s.listen:
        bad("listen", "must not be empty")
    elif not _is_host(s.listen):
        bad("listen", f"{s.listen!r} is not an IP address or a host name")
    elif serving and not s.loopback_only and not s.token:
        bad(
            "token",
            f"the server listens on {s.listen}, not only loopback: a token is required"
            " (token_file or ASCAD_SERVER_TOKEN)",
        )
    if bool(s.tls_cert) != bool(s.tls_key):
        bad("tls_cert", "tls_cert and tls_key go together")
    if s.tls_client_ca and not s.tls_cert:
        bad("tls_client_ca", "client certificates need the server's own tls_cert and tls_key")
    if bool(s.peers_tls_cert) != bool(s.peers_tls_key):
        bad("peers_tls_cert", "tls_cert and tls_key go together")
    for attr in (
        "aerospike_tls_ca",
        "aerospike_tls_cert",
        "aerospike_tls_key",
        "tls_cert",
        "tls_key",
        "tls_client_ca",
        "peers_ca",
        "peers_tls_cert",
        "peers_tls_key",
        "riemann_tls_ca",
        "riemann_tls_cert",
        "riemann_tls_key",
    ):
        value = getattr(s, attr)
        if value and not os.path.isfile(value):
            bad(attr, f"{value}: no such file")
        elif value and attr.endswith("_key"):
            try:
                check_secret_mode(value, "TLS key")
            except SecretFileError as exc:
                bad(attr, str(exc))
    if s.riemann_transport not in TRANSPORTS:
        bad("riemann_transport", f"{s.riemann_transport!r} is not tcp or udp")
    elif s.riemann_transport == "udp" and s.riemann_tls:
        bad("riemann_tls", "Riemann has no TLS over UDP")
    if not 0 < s.riemann_port < 65536:
        bad("riemann_port", "must be between 1 and 65535")
    if bool(s.riemann_tls_cert) != bool(s.riemann_tls_key):
        bad("riemann_tls_cert", "tls_cert and tls_key go together")
    if not s.riemann_ttl_factor >= 1:
        bad("riemann_ttl_factor", "must be at least 1 (events would expire between cycles)")
    try:
        from ascad.compare.expected import parse_settings

        parse_settings({"compare": s.compare}, where)
    except AscadError as exc:
        p.append(str(exc))
    return p


def describe_schema() -> list[tuple[str, str, str]]:
    """(``[section] key``, env var, kind) for every setting, for docs."""
    return [(f"[{s}] {k}", env_name(s, k), kind) for (s, k), (_, kind) in _SCHEMA.items()]
