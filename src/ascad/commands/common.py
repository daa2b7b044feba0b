"""Options shared by several commands: output format, ignore patterns, tokens, node login."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ascad.errors import AscadError

if TYPE_CHECKING:
    from ascad.checks.pipeline import ConfWarning
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
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds allowed to read each source or node (default 10)",
    )
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
        type=float,
        metavar="SECONDS",
        help="seconds allowed for salt-call (default 60: it loads every grain first)",
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


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password", action=_RefuseSecret, use="--password-file FILE or $ASCAD_PASSWORD"
    )
    parser.add_argument("--user", help="Aerospike user (security enabled)")
    parser.add_argument(
        "--password-file", metavar="FILE", help="file holding the password (else $ASCAD_PASSWORD)"
    )
    parser.add_argument("--tls-ca", metavar="FILE", help="CA file for aerospike+tls://")
    parser.add_argument("--tls-cert", metavar="FILE", help="client certificate (mutual TLS)")
    parser.add_argument("--tls-key", metavar="FILE", help="client key (mutual TLS)")


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


def node_login(args: argparse.Namespace) -> NodeLogin:
    """Login and TLS defaults for aerospike:// sources (an address's own ``user@`` and TLS options
    win: :mod:`ascad.runtime.login`). Passwords never come from the command line."""
    from ascad.runtime.login import NodeLogin

    password = None
    if getattr(args, "password_file", None):
        password = read_secret_file(args.password_file, "password file")
    elif os.environ.get("ASCAD_PASSWORD"):
        password = os.environ["ASCAD_PASSWORD"]
    user = getattr(args, "user", None)
    if user and password is None:
        raise AscadError("--user needs a password: give --password-file or set ASCAD_PASSWORD")
    check_key_file(getattr(args, "tls_key", None))
    return NodeLogin(
        user=user or None,
        password=password,
        tls_ca=getattr(args, "tls_ca", None),
        tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None),
        timeout=float(getattr(args, "timeout", 10.0)),
    )


def print_warnings(warnings: Sequence[ConfWarning]) -> None:
    """Parse warnings on stderr, one ``FILE:LINE:COL: warning: message`` line each."""
    for w in warnings:
        print(f"{w.source}:{w.line}:{w.col}: warning: {w.message}", file=sys.stderr)
