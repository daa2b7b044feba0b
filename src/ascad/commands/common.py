"""Options shared by several commands: output format, ignore patterns, tokens, node login."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ascad.errors import AscadError

if TYPE_CHECKING:
    from ascad.checks.pipeline import ConfWarning, VersionWarning
    from ascad.runtime.login import NodeLogin
    from ascad.sources.loader import LoadOptions
    from ascad.sources.salt import SaltOptions


def add_colour_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        "--colour",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour output (auto: on a terminal, unless NO_COLOR is set)",
    )


def add_output_arguments(
    parser: argparse.ArgumentParser, formats: tuple[str, ...] = ("text", "json")
) -> None:
    parser.add_argument("--format", choices=formats, default="text", help="output format")
    add_colour_argument(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list template wildcard matches and defaults stated on one side only",
    )


def add_ignore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ignore",
        metavar="GLOB",
        action="append",
        default=[],
        help="skip paths matching GLOB (repeatable; * and ? only, [ ] are literal)",
    )


def ignore_patterns(args: argparse.Namespace) -> list[str]:
    """The ``--ignore`` globs given, in order."""
    return list(args.ignore or [])


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token", action=_RefuseSecret, use="--token-file FILE, $ASCAD_TOKEN or $GITLAB_TOKEN"
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help="bearer/GitLab token file (else $ASCAD_TOKEN, $GITLAB_TOKEN)",
    )
    parser.add_argument(
        "--var",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="template variable (repeatable)",
    )
    parser.add_argument(
        "--vars-file", metavar="FILE", help="template variables (TOML, JSON or YAML)"
    )
    add_timeout_argument(parser)
    _add_salt_arguments(parser)


def _add_salt_arguments(parser: argparse.ArgumentParser) -> None:
    """How ``salt://`` sources are rendered (docs/sources.md)."""
    salt = parser.add_argument_group("salt:// sources (rendered by salt-call --local)")
    salt.add_argument(
        "--salt-call", metavar="PATH", help="the salt-call command (default: salt-call on PATH)"
    )
    salt.add_argument(
        "--salt-config-dir", metavar="DIR", help="the minion's config directory (default /etc/salt)"
    )
    salt.add_argument("--salt-file-root", metavar="DIR", help="file root instead of the config's")
    salt.add_argument(
        "--salt-pillar-root", metavar="DIR", help="pillar root instead of the config's"
    )
    salt.add_argument(
        "--salt-timeout",
        type=duration,
        metavar="DURATION",
        help="time allowed for salt-call, a duration as for --timeout (default 60s: it loads "
        "every grain first)",
    )


#: The one wording of ``--timeout`` in every command's help.
TIMEOUT_HELP = (
    "time allowed to read each source or node (connect, login, every request): a duration "
    "such as 10s, 1m, 500ms or a number of seconds (default 10s)"
)
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def duration(text: str) -> float:
    """A command-line duration in seconds: ``10``, ``10s``, ``1.5s``, ``500ms``, ``2m``, ``1h``,
    ``1d`` (as the settings file takes them: docs/settings.md). Positive and finite; an
    argparse error naming the value otherwise."""
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 10s, 1m, 500ms or 10 (seconds)"
        )
    seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if not 0 < seconds <= 365 * 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration above 0 and at most 365d")
    return seconds


def add_timeout_argument(parser: argparse.ArgumentParser) -> None:
    """``--timeout DURATION`` (default 10 s), worded the same in every command."""
    parser.add_argument(
        "--timeout", type=duration, default=10.0, metavar="DURATION", help=TIMEOUT_HELP
    )


class _RefuseSecret(argparse.Action):
    """``--password``/``--token`` on the command line: refused without echoing the value (a
    command line is visible to every user in ps and lands in shell history)."""

    def __init__(self, *args: Any, use: str = "", **kwargs: Any) -> None:
        self.use = use
        kwargs.update(nargs="?", help=argparse.SUPPRESS)
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        parser.error(f"{self.option_strings[0]} is never taken on the command line: use {self.use}")


class _PasswordPrompt(argparse.Action):
    """``-P``/``--password`` alone: prompt for the password (Aerospike's tools' ``-P``). A value
    (``-Psecret``, ``--password secret``) is refused without echoing it: a command line is visible
    to every user in ps and lands in shell history."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(nargs="?", const=True, default=False)
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if values is not True and values != "":  # "": the -P that password_flags rewrote
            parser.error(
                f"{option_string} takes no value on the command line (it would show in ps and "
                "shell history): give -P alone to be prompted, --password-file FILE or "
                "$ASCAD_PASSWORD"
            )
        setattr(namespace, self.dest, True)


def password_flags(words: list[str]) -> list[str]:
    """``-P``/``--password`` followed by a source (an existing path, ``-``, an address or URL, or
    another option) is the prompt flag, not a value: rewritten ``--password=`` so that
    ``ascad show -U admin -P aerospike://…`` works as with Aerospike's tools. Followed by any
    other word, the word is left to be refused as a password on the command line."""
    out: list[str] = []
    for i, word in enumerate(words):
        if word == "--":
            return out + words[i:]
        if word in ("-P", "--password") and i + 1 < len(words):
            after = words[i + 1]
            if (
                after.startswith("-")
                or "://" in after  # a node address, a URL
                or "#" in after
                or os.path.exists(after)
            ):
                out.append("--password=")
                continue
        out.append(word)
    return out


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """Login and TLS options for running nodes, spelled as Aerospike's tools spell them (the
    older ``--tls-ca``/``--tls-cert``/``--tls-key`` stay as aliases)."""
    group = parser.add_argument_group(
        "node login (as Aerospike's tools; also read from astools.conf, see docs/sources.md)"
    )
    group.add_argument("-U", "--user", help="Aerospike user (security enabled)")
    group.add_argument(
        "-P",
        "--password",
        dest="password_prompt",
        action=_PasswordPrompt,
        help="prompt for the password on the terminal (no value is taken on the command line)",
    )
    group.add_argument(
        "--password-file", metavar="FILE", help="file holding the password (else $ASCAD_PASSWORD)"
    )
    group.add_argument(
        "--auth",
        type=str.upper,
        choices=("INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI"),
        help="login mode: INTERNAL (default), EXTERNAL (LDAP: sends the password, needs TLS), "
        "EXTERNAL_INSECURE (LDAP without TLS), PKI (the TLS client certificate names the user)",
    )
    group.add_argument(
        "--tls-enable",
        action="store_true",
        default=None,
        help="use TLS for aerospike:// addresses too (port 4333 when none is given)",
    )
    group.add_argument(
        "-t",
        "--tls-name",
        metavar="NAME",
        help="name the nodes' certificates carry (default: the host)",
    )
    group.add_argument("--tls-cafile", "--tls-ca", dest="tls_ca", metavar="FILE", help="CA file")
    group.add_argument("--tls-capath", metavar="DIR", help="directory of CA certificates")
    group.add_argument(
        "--tls-certfile", "--tls-cert", dest="tls_cert", metavar="FILE", help="client certificate"
    )
    group.add_argument(
        "--tls-keyfile", "--tls-key", dest="tls_key", metavar="FILE", help="client key"
    )
    group.add_argument(
        "--config-file", metavar="FILE", help="astools.conf read after the default ones"
    )
    group.add_argument("--instance", metavar="NAME", help="read [cluster_NAME] of astools.conf")
    group.add_argument("--no-config-file", action="store_true", help="read no astools.conf")


def read_secret_file(path: str, what: str) -> str:
    """A token or password file's one line; AscadError naming the file (one line, never the
    file's content). Refused, as for the agent's ``*_file`` settings: a file other users may read
    or write, a second non-empty line, a control character (:mod:`ascad.sources.secrets`)."""
    from ascad.sources.secrets import read_secret_file as read_one

    return read_one(path, what)


def check_key_file(path: str | None) -> None:
    """A TLS private key given on the command line: refused when other users may read or write
    it (a missing file is left to the TLS loader, which says so)."""
    if path and os.path.isfile(path):
        from ascad.sources.secrets import check_secret_mode

        check_secret_mode(path, "TLS key")


def load_options(args: argparse.Namespace) -> LoadOptions:
    """Token, template variables and timeout for reading conf sources."""
    from ascad.sources.loader import LoadOptions

    token: str | None
    if getattr(args, "token_file", None):
        token = read_secret_file(args.token_file, "token file")
    else:
        # No file: each source kind takes its own environment token when it is read ($ASCAD_TOKEN
        # for agents, $GITLAB_TOKEN for GitLab; a git remote never takes one: docs/sources.md).
        token = None
        for name in ("ASCAD_TOKEN", "GITLAB_TOKEN"):
            value = os.environ.get(name, "").strip()
            if value and not value.isprintable():  # a newline would split the HTTP header
                raise AscadError(f"${name} holds a control character: give the token alone")
    variables = None
    if getattr(args, "var", None) or getattr(args, "vars_file", None):
        from ascad.sources.template import load_vars_file, parse_vars

        variables = {}
        if args.vars_file:
            variables.update(load_vars_file(args.vars_file))
        _deep_update(variables, parse_vars(args.var))
    return LoadOptions(
        token=token,
        variables=variables,
        timeout=getattr(args, "timeout", 10.0),
        salt=salt_options(args),
    )


def salt_options(args: argparse.Namespace) -> SaltOptions | None:
    """``--salt-*`` as :class:`~ascad.sources.salt.SaltOptions` (None: Salt's own defaults)."""
    names = ("salt_call", "salt_config_dir", "salt_file_root", "salt_pillar_root", "salt_timeout")
    if not any(getattr(args, name, None) is not None for name in names):
        return None
    from ascad.sources.salt import DEFAULT_SALT_TIMEOUT, SaltOptions

    timeout = args.salt_timeout if args.salt_timeout is not None else DEFAULT_SALT_TIMEOUT
    if timeout <= 0:
        raise AscadError("--salt-timeout must be positive")
    return SaltOptions(
        salt_call=args.salt_call or "salt-call",
        config_dir=args.salt_config_dir,
        file_root=args.salt_file_root,
        pillar_root=args.salt_pillar_root,
        timeout=timeout,
    )


def _deep_update(into: dict[str, Any], new: dict[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_update(into[k], v)
        else:
            into[k] = v


def _reads_nodes(args: argparse.Namespace) -> bool:
    """True when some argument is an ``aerospike://`` address (the command will read a node)."""
    from ascad.runtime.address import is_node_address

    for value in vars(args).values():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and is_node_address(v) for v in items):
            return True
    return False


def _profile(args: argparse.Namespace) -> Any:
    """astools.conf's cluster settings for this run (None: none read)."""
    from ascad.runtime import astools

    if getattr(args, "no_config_file", False):
        if getattr(args, "config_file", None) or getattr(args, "instance", None):
            raise AscadError("--no-config-file cannot go with --config-file or --instance")
        return None
    files = astools.default_files(getattr(args, "config_file", None))
    profile = astools.load_profile(files, getattr(args, "instance", None))
    for warning in profile.warnings:
        print(f"ascad: warning: {warning}", file=sys.stderr)
    return profile


def prompt_password(user: str | None) -> str:
    """``-P``: read the password from the terminal without echo; refused when stdin is not one."""
    import getpass

    if not sys.stdin.isatty():
        raise AscadError(
            "-P prompts for the password on a terminal, but stdin is not a terminal: give "
            "--password-file FILE or set $ASCAD_PASSWORD"
        )
    try:
        return getpass.getpass(f"Password for {user}: " if user else "Password: ")
    except (EOFError, KeyboardInterrupt):
        raise AscadError("-P: no password entered") from None


def node_login(args: argparse.Namespace) -> NodeLogin:
    """Login and TLS defaults for aerospike:// sources, by one precedence (docs/sources.md):
    the address's own options, then the command line, then $ASCAD_PASSWORD, then astools.conf
    ([cluster], or [cluster_NAME] with --instance), then the defaults. Passwords never come from
    the command line; astools.conf is read only when some argument is a node address."""
    from ascad.runtime.login import NodeLogin

    profile = _profile(args) if _reads_nodes(args) else None

    def pick(attr: str, key: str) -> Any:
        value = getattr(args, attr, None)
        if value is None and profile is not None:
            value = profile.get(key)
        return value

    user = pick("user", "user") or None
    auth = (pick("auth", "auth") or "INTERNAL").upper()
    if auth not in ("INTERNAL", "EXTERNAL", "EXTERNAL_INSECURE", "PKI"):
        origin = profile.origin.get("auth") if profile is not None else None
        raise AscadError(
            f"auth {auth!r} is not INTERNAL, EXTERNAL, EXTERNAL_INSECURE or PKI", origin
        )
    password = None
    if getattr(args, "password_prompt", False) and getattr(args, "password_file", None):
        raise AscadError("give either -P (prompt) or --password-file, not both")
    if getattr(args, "password_file", None):
        password = read_secret_file(args.password_file, "password file")
    elif getattr(args, "password_prompt", False):
        password = prompt_password(user) if _reads_nodes(args) else None
    elif os.environ.get("ASCAD_PASSWORD"):
        password = os.environ["ASCAD_PASSWORD"]
    elif profile is not None and profile.get("password") is not None:
        password = profile.get("password")
    prompted_later = getattr(args, "password_prompt", False) and not _reads_nodes(args)
    if user and password is None and auth != "PKI" and not prompted_later:
        raise AscadError(
            "--user needs a password: give -P (prompt), --password-file or set ASCAD_PASSWORD"
        )
    tls_key = pick("tls_key", "tls-keyfile")
    check_key_file(tls_key)
    return NodeLogin(
        user=user,
        password=password,
        tls_ca=pick("tls_ca", "tls-cafile") or None,
        tls_cert=pick("tls_cert", "tls-certfile") or None,
        tls_key=tls_key or None,
        timeout=float(getattr(args, "timeout", 10.0)),
        auth=auth,
        tls_name=pick("tls_name", "tls-name") or None,
        tls_capath=pick("tls_capath", "tls-capath") or None,
        tls_enable=bool(pick("tls_enable", "tls-enable")),
    )


# The node options and the agent's [aerospike] settings they stand for (ascad check).
_SETTINGS_OF_OPTIONS = (
    ("user", "user", "aerospike_user"),
    ("auth", "auth", "aerospike_auth"),
    ("tls_ca", "tls-cafile", "aerospike_tls_ca"),
    ("tls_capath", "tls-capath", "aerospike_tls_capath"),
    ("tls_cert", "tls-certfile", "aerospike_tls_cert"),
    ("tls_key", "tls-keyfile", "aerospike_tls_key"),
    ("tls_name", "tls-name", "aerospike_tls_name"),
    ("tls_enable", "tls-enable", "aerospike_tls_enable"),
)


def apply_node_options(settings: Any, args: argparse.Namespace) -> None:
    """``ascad check``: the node options given on the command line (and the astools.conf
    section named by --config-file/--instance) over the settings' ``[aerospike]`` table. Without
    --config-file or --instance no astools.conf is read: the settings are the agent's profile."""
    profile = None
    if getattr(args, "config_file", None) or getattr(args, "instance", None):
        profile = _profile(args)
    for attr, key, setting in _SETTINGS_OF_OPTIONS:
        value = getattr(args, attr, None)
        if value is None and profile is not None:
            value = profile.get(key)
        if value is not None:
            setattr(settings, setting, value.upper() if attr == "auth" else value)
    if getattr(args, "password_prompt", False) and getattr(args, "password_file", None):
        raise AscadError("give either -P (prompt) or --password-file, not both")
    if getattr(args, "password_file", None):
        settings.aerospike_password = read_secret_file(args.password_file, "password file")
    elif getattr(args, "password_prompt", False):
        settings.aerospike_password = prompt_password(settings.aerospike_user or None)
    elif profile is not None and profile.get("password") is not None:
        settings.aerospike_password = profile.get("password")
    check_key_file(settings.aerospike_tls_key or None)


def checked_server_version(value: str | None) -> str | None:
    """``--server-version`` of diff and fleet, checked as validate checks it: an empty or
    unreadable one is an error (a typo would silently drop every restart flag and default);
    a build of a newer minor release than the newest schema gets a warning on stderr."""
    if value is None:
        return None
    build = value.strip()
    if not build:
        raise AscadError("--server-version is empty: give a build such as 8.1.2.2")
    from ascad.knowledge.table import newest_if_newer

    try:
        newest = newest_if_newer(build)
    except AscadError as exc:  # not a version at all
        raise AscadError(f"--server-version: {exc.message}") from None
    if newest is not None:
        print(
            f"ascad: warning: server {build} is newer than the newest schema ascad holds"
            f" ({newest}); its defaults and restart flags are taken from that one",
            file=sys.stderr,
        )
    return build


def print_version_warnings(warnings: Sequence[VersionWarning]) -> None:
    """Warnings about the server version a comparison was judged by, on stderr."""
    for w in warnings:
        print(f"ascad: warning: {w.message}", file=sys.stderr)


def print_warnings(warnings: Sequence[ConfWarning]) -> None:
    """Parse warnings on stderr, one ``FILE:LINE:COL: warning: message`` line each."""
    for w in warnings:
        print(f"{w.source}:{w.line}:{w.col}: warning: {w.message}", file=sys.stderr)


def add_baseline_argument(parser: argparse.ArgumentParser) -> None:
    """``--baseline FILE`` (issue 14): acknowledged differences (docs/provenance.md)."""
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="a baseline of acknowledged differences (TOML, `ascad ack`): they are reported as "
        "acknowledged and do not count for the exit status; default: [compare] baseline",
    )


def warn_unmatched_baseline(entries: Sequence[str]) -> None:
    for entry in entries:
        print(f"ascad: baseline entry matches no difference: {entry}", file=sys.stderr)


def write_file_atomically(path: str, data: bytes, mode: int, prefix: str) -> None:
    """``data`` into ``path`` with permissions ``mode``: written to a temporary file beside it,
    synced, then renamed over it, so a reader (or a crash) sees the old file or the new one,
    never half of one. The temporary file is removed on any failure."""
    import contextlib
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    except OSError as exc:
        raise AscadError(f"cannot write: {exc.strerror or exc}", path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
