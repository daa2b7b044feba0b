"""``ascad agent --check-config``: what the agent will need, checked before it runs.

:func:`ascad.agent.settings.load_settings` already refuses bad values, secret files with unsafe
modes and TLS files that do not exist. A file can still pass that and fail the agent at its first
cycle; :func:`preflight` opens what the agent opens, as the user it runs as (the Salt state runs
the check as the ``ascad`` user, before the service may start):

- ``[agent] conf`` exists, is a regular file, decodes and parses (the agent's own reader);
- every TLS file loads: certificates and keys as a pair, CA files holding a certificate;
- the golden source names a conf source, and a local one exists; with ``role = "auto"`` a golden
  is needed at all (any node may become master); a ``salt://`` golden finds ``salt-call`` and
  the ``[golden] salt_*`` directories it names;
- ``[agent] state_dir`` is writable (or can be created) by this user;
- with ``role = "auto"`` the peers' agent URLs use the scheme this agent serves (https when
  ``[server] tls_cert`` is set, else http): every agent of a fleet shares its settings, so a
  mismatch means no slave can reach a master.

Each problem is one line naming the settings file, the key and the file at fault.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import stat
import tempfile
from collections.abc import Callable

from ascad.agent.settings import AgentSettings, setting_label
from ascad.errors import AscadError, printable

#: Records one problem: (the setting's attribute, the message).
_Bad = Callable[[str, str], None]


def preflight(s: AgentSettings) -> list[str]:
    """Every problem the agent would meet, one line each (empty: ready to run)."""
    problems: list[str] = []

    def bad(attr: str, message: str) -> None:
        problems.append(f"{s.source}: {setting_label(attr)}: {printable(message)}")

    _check_conf(s, bad)
    _check_tls(s, bad)
    _check_golden(s, bad)
    _check_state_dir(s, bad)
    _check_schemes(s, bad)
    _check_baseline(s, problems)
    return problems


def _check_baseline(s: AgentSettings, problems: list[str]) -> None:
    """``[compare] baseline`` reads and parses (issue 14)."""
    from ascad.checks.baseline import load_baseline
    from ascad.compare.expected import parse_settings
    from ascad.errors import AscadError

    try:
        baseline = parse_settings({"compare": s.compare}, s.source).baseline
        if baseline:
            load_baseline(baseline)
    except AscadError as exc:
        problems.append(f"{s.source}: [compare] baseline: {printable(str(exc))}")


def _check_conf(s: AgentSettings, bad: _Bad) -> None:
    from ascad.conf.decode import decode_conf
    from ascad.sources.loader import conf_from_text
    from ascad.sources.local import read_conf_bytes

    try:
        conf_from_text(s.conf, decode_conf(read_conf_bytes(s.conf, regular_only=True), s.conf))
    except AscadError as exc:
        bad("conf", str(exc))
    except RecursionError:
        bad("conf", f"{s.conf}: nested too deeply")


def _tls_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _check_tls(s: AgentSettings, bad: _Bad) -> None:
    pairs = (
        ("tls_cert", s.tls_cert, s.tls_key, ssl.PROTOCOL_TLS_SERVER),
        ("peers_tls_cert", s.peers_tls_cert, s.peers_tls_key, ssl.PROTOCOL_TLS_CLIENT),
        ("aerospike_tls_cert", s.aerospike_tls_cert, s.aerospike_tls_key, ssl.PROTOCOL_TLS_CLIENT),
        ("riemann_tls_cert", s.riemann_tls_cert, s.riemann_tls_key, ssl.PROTOCOL_TLS_CLIENT),
    )
    for attr, cert, key, protocol in pairs:
        if not cert or not key or not (os.path.isfile(cert) and os.path.isfile(key)):
            continue  # missing or unpaired: already refused by the settings
        try:
            ssl.SSLContext(protocol).load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            bad(attr, f"{cert} with {key}: cannot load the certificate and key: {_tls_reason(exc)}")
    for attr in ("tls_client_ca", "peers_ca", "aerospike_tls_ca", "riemann_tls_ca"):
        ca = getattr(s, attr)
        if not ca or not os.path.isfile(ca):
            continue
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            bad(attr, f"{ca}: cannot load the CA file: {_tls_reason(exc)}")
            continue
        if not ctx.get_ca_certs():
            bad(attr, f"{ca}: no CA certificate in the file")


def _check_golden(s: AgentSettings, bad: _Bad) -> None:
    from ascad.sources.spec import Kind, parse_source

    if not s.golden_source:
        if s.role == "auto":
            bad(
                "golden_source",
                'with role = "auto" any node may become master and compare with the golden:'
                " set [golden] source",
            )
        return
    try:
        spec = parse_source(s.golden_source)
    except AscadError:
        return  # already refused by the settings
    if spec.kind in (Kind.AEROSPIKE, Kind.STDIN):
        bad("golden_source", f"{spec.display} is not a golden conf (a file, git or GitLab source)")
    elif spec.kind == Kind.FILE and spec.path:
        try:
            st = os.stat(spec.path)
        except OSError as exc:
            bad("golden_source", f"{spec.path}: {exc.strerror or 'cannot read'}")
        else:
            if not stat.S_ISREG(st.st_mode):
                bad("golden_source", f"{spec.path}: not a regular file")
            elif not os.access(spec.path, os.R_OK):
                bad("golden_source", f"{spec.path}: not readable by this user")
    elif spec.kind == Kind.GIT and spec.local and spec.repo:
        repo = spec.repo
        if not os.path.isdir(repo):
            bad("golden_source", f"{repo}: no such directory")
        elif not (
            os.path.exists(os.path.join(repo, ".git"))
            or os.path.isfile(os.path.join(repo, "HEAD"))  # a bare repository
        ):
            bad("golden_source", f"{repo}: not a git repository (no .git)")
    elif spec.kind == Kind.SALT:
        import shutil

        if shutil.which(s.golden_salt_call or "salt-call") is None:
            bad(
                "golden_salt_call",
                f"{s.golden_salt_call or 'salt-call'}: not found (a salt:// golden is rendered by"
                " Salt on this node)",
            )
        for attr in ("golden_salt_config_dir", "golden_salt_file_root", "golden_salt_pillar_root"):
            directory = getattr(s, attr)
            if directory and not os.path.isdir(directory):
                bad(attr, f"{directory}: no such directory")


def _check_state_dir(s: AgentSettings, bad: _Bad) -> None:
    path = s.state_dir
    if not path:
        return
    if os.path.isdir(path):
        try:
            fd, tmp = tempfile.mkstemp(prefix=".check.", suffix=".tmp", dir=path)
        except OSError as exc:
            bad("state_dir", f"{path}: not writable by this user: {exc.strerror or exc}")
            return
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    if os.path.exists(path):
        return  # not a directory: already refused by the settings
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not (os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)):
        bad(
            "state_dir",
            f"{path}: does not exist, and this user cannot create it in {parent} (create it"
            " owned by the agent's user, as the Salt state does)",
        )


def _check_schemes(s: AgentSettings, bad: _Bad) -> None:
    if s.role != "auto":
        return
    want = "https" if s.tls_cert else "http"
    serves = "[server] tls_cert is set" if s.tls_cert else "[server] has no tls_cert"
    urls: list[tuple[str, str]] = []
    if s.discovery == "aerospike":
        urls.append(("url_template", s.url_template))
    else:
        urls.extend(("static", u) for u in s.static)
    urls.extend(("urls", u) for u in s.urls.values())
    for attr, url in urls:
        scheme = url.split("://", 1)[0].lower()
        if scheme in ("http", "https") and scheme != want:
            bad(
                attr,
                f"{url!r} is {scheme}:// but this agent serves {want}:// ({serves}); the agents"
                " share these settings, so no slave would reach a master",
            )
