"""``salt://PATH``: a golden template rendered by Salt itself, with this node's grains and pillar.

Salt is on every node of a Salt-managed fleet; ascad does not need it installed otherwise. The
render is one ``salt-call --local`` run (the command is configurable: ``--salt-call``, the
agent's ``[golden] salt_call``), with Salt's JSON outputter::

    salt-call --local --out=json --log-level=error [--config-dir=D] [--file-root=F]
              [--pillar-root=P] cp.get_template salt://PATH DEST source=salt://PATH

Why ``cp.get_template``: ``file.managed`` with ``template: jinja`` caches the source from the file
server (``cp.cache_file``) and renders that cached file with
``salt.utils.templates.TEMPLATE_REGISTRY['jinja'](sfn, source=…, salt=__salt__,
pillar=__pillar__, grains=__grains__, opts=__opts__, saltenv=…)``; ``cp.get_template`` runs the
same file client call and the same render function on the same cached file, so ``import``,
``from "x/map.jinja" import …``, ``import_yaml``, ``salt['pillar.get']``, ``tpldir`` and the
minion's Jinja options (``jinja_env``, strict undefined) behave exactly as in the state.
``source`` is passed as ``file.managed`` passes it; ``name``/``user``/``group``/``mode`` (the
state's own arguments) are not known here and are left undefined. The alternatives render
differently: ``file.apply_template_on_contents`` renders a string (no template path, so no
``tpldir`` and no relative imports) and returns Salt's error text as if it were the result;
``slsutil.renderer`` goes through the SLS renderer pipeline (a ``#!`` first line picks the
renderer).

Errors: Salt missing (the command not found), a config directory that does not exist, a file
that is not in the file roots, a render error (Salt's own message with the template line it
names, ``Jinja variable 'x' is undefined; line 3``, and the line itself), or a run past the
timeout (the whole process group is killed) are each one :class:`SourceError` naming the source.
The rendered text goes through the one decoder (:func:`ascad.conf.decode.decode_conf`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ascad.conf.decode import LIMIT_TEXT, MAX_CONF_BYTES, decode_conf
from ascad.errors import SourceError, printable
from ascad.sources.spec import FetchedText, SourceSpec

DEFAULT_SALT_CALL = "salt-call"
DEFAULT_SALT_TIMEOUT = 60.0  # salt-call loads every grain module first: seconds on a real node

# The last line of Salt's traceback for a render error, and the template line it marks.
_RENDER_ERROR_RE = re.compile(r"^(?:salt\.exceptions\.)?SaltRenderError: (?P<msg>.+)$", re.M)
_MARKED_LINE_RE = re.compile(r"^(?P<line>.*?)\s*<={5,}\s*$", re.M)
_LINE_RE = re.compile(r";\s*line (\d+)\s*$")
_LOG_RE = re.compile(r"^\[(?P<level>[A-Z]+)\s*\] (?P<msg>.*)$")


@dataclass(frozen=True)
class SaltOptions:
    """How to run Salt: the ``salt-call`` command, the minion's config directory (else Salt's own
    default, ``/etc/salt``), file and pillar roots that replace the config's, and a timeout."""

    salt_call: str = DEFAULT_SALT_CALL
    config_dir: str | None = None
    file_root: str | None = None
    pillar_root: str | None = None
    timeout: float = DEFAULT_SALT_TIMEOUT


def salt_command(url: str, dest: str, options: SaltOptions) -> list[str]:
    """The ``salt-call`` command line that renders ``url`` into ``dest``."""
    cmd = [options.salt_call, "--local", "--out=json", "--log-level=error"]
    if options.config_dir:
        cmd.append(f"--config-dir={options.config_dir}")
    if options.file_root:
        cmd.append(f"--file-root={options.file_root}")
    if options.pillar_root:
        cmd.append(f"--pillar-root={options.pillar_root}")
    return [*cmd, "cp.get_template", url, dest, f"source={url}"]


async def fetch_salt(spec: SourceSpec, options: SaltOptions | None = None) -> FetchedText:
    """Render ``salt://PATH`` with ``salt-call --local``; the text is a plain conf."""
    options = options or SaltOptions()
    where = spec.raw
    if options.timeout <= 0:
        raise SourceError("the Salt timeout must be positive", where)
    for what, directory in (
        ("Salt config directory", options.config_dir),
        ("Salt file root", options.file_root),
        ("Salt pillar root", options.pillar_root),
    ):
        if directory and not os.path.isdir(directory):
            raise SourceError(f"the {what} {directory} is not a directory", where)
    with tempfile.TemporaryDirectory(prefix="ascad-salt-") as tmp:
        dest = os.path.join(tmp, "rendered.conf")
        code, out, err = await _run(salt_command(spec.raw, dest, options), options, where)
        answer = _answer(out)
        if code != 0 or answer is None:
            raise SourceError(_failure(code, out, err, options), where)
        pillar = _pillar_error(err)
        if pillar is not None:
            # cp.get_template renders on with the pillar it could read (map.jinja's defaults);
            # state.apply refuses to run with a pillar error, and so does ascad.
            raise SourceError(
                f"Salt's pillar did not render (a state would not run): {pillar}", where
            )
        if not answer:
            roots = options.file_root or (
                f"the file_roots of {options.config_dir or '/etc/salt'}/minion"
            )
            raise SourceError(
                f"Salt rendered nothing: {spec.path} is not in {roots} (or the render failed"
                " with no message)",
                where,
            )
        try:
            size = os.path.getsize(dest)
            if size > MAX_CONF_BYTES:
                raise SourceError(f"Salt rendered more than {LIMIT_TEXT}", where)
            data = Path(dest).read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read what Salt rendered: {exc.strerror}", where) from None
    return FetchedText(decode_conf(data, f"{spec.display} (rendered by Salt)"), spec.display)


async def _run(cmd: list[str], options: SaltOptions, where: str) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # the timeout kills Salt's children too
        )
    except FileNotFoundError:
        found = shutil.which(options.salt_call)
        hint = "" if found else " (install Salt, or give its path with --salt-call)"
        raise SourceError(
            f"Salt is needed to render salt:// sources: '{options.salt_call}' not found{hint}",
            where,
        ) from None
    except PermissionError:
        raise SourceError(f"'{options.salt_call}' is not executable", where) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), options.timeout)
    except TimeoutError:
        _kill(proc.pid)
        await proc.wait()
        raise SourceError(f"salt-call did not finish within {options.timeout:g} s", where) from None
    except asyncio.CancelledError:
        _kill(proc.pid)  # a cancelled read (the agent stopping) leaves no Salt behind
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _answer(out: str) -> str | None:
    """The ``local`` value of Salt's JSON answer (the rendered file's path, or ``""``)."""
    start = out.find("{")
    if start < 0:
        return None
    try:
        answer = json.loads(out[start:])
    except ValueError:
        return None
    value = answer.get("local") if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None


def _logged(err: str, level: str, start: str = "") -> str | None:
    """The first ``[LEVEL] START…`` line Salt logged, with its continuation lines (up to a
    traceback or the next log line), as one line."""
    lines = err.splitlines()
    for i, line in enumerate(lines):
        match = _LOG_RE.match(line)
        if match is None or match["level"] != level or not match["msg"].startswith(start):
            continue
        parts = [match["msg"].strip()]
        for more in lines[i + 1 : i + 6]:
            if _LOG_RE.match(more) or more.startswith("Traceback"):
                break
            parts.append(more.strip())
        return " ".join(p for p in parts if p)
    return None


def _pillar_error(err: str) -> str | None:
    """Salt's pillar render error (a broken pillar SLS), or None."""
    if _logged(err, "CRITICAL", "Pillar render error") is None:
        return None
    return _logged(err, "CRITICAL", "Rendering SLS") or _logged(err, "CRITICAL", "Pillar")


def _failure(code: int, out: str, err: str, options: SaltOptions) -> str:
    """One line: Salt's render error with the template line it marks, else the first error Salt
    logged (a config file it cannot parse), else its last line."""
    found = _RENDER_ERROR_RE.findall(err)
    if found:
        message = found[-1].strip()
        marked = _MARKED_LINE_RE.findall(err)
        line = _LINE_RE.search(message)
        text = f"Salt could not render it: {message}"
        if marked:
            text += f": '{marked[-1].strip()}'"
        if line is None:
            text += " (Salt named no template line)"
        return printable(text)
    logged = _logged(err, "CRITICAL") or _logged(err, "ERROR")
    lines = [ln.strip() for ln in (err + "\n" + out).splitlines() if ln.strip()]
    tail = logged or (lines[-1] if lines else "no message")
    return printable(f"salt-call failed ({options.salt_call}, exit status {code}): {tail}")
