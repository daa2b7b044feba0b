"""Read a local file or stdin: the one reader of local bytes (the loader, ``ascad validate``, the
agent's own conf and its ``/v1/config`` all read through here).

A source must be a regular file or a pipe: a directory is refused, and so is anything over
:data:`~ascad.conf.decode.MAX_CONF_BYTES` (refused from its size, before reading, when the
file says it). A pipe (``<(salt-call …)``, a named pipe) is read like a file, to its end; opening a
named pipe waits for a writer, and after :data:`FIFO_OPEN_TIMEOUT` seconds without one it is
refused instead of waiting for ever. Once open, the read waits for the writer as long as it
lives, like cat(1). The bytes are then decoded by :func:`ascad.conf.decode.decode_conf`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from ascad.conf.decode import LIMIT_TEXT, MAX_CONF_BYTES, decode_conf
from ascad.conf.model import ConfTree
from ascad.conf.parser import parse_text
from ascad.errors import SourceError
from ascad.sources.spec import EMPTY_SOURCE, FetchedText, Kind, SourceSpec

# Seconds to wait for a named pipe's writer before giving up (a pipe nobody writes to).
FIFO_OPEN_TIMEOUT = 10.0


def read_conf_bytes(
    path: str | os.PathLike[str],
    fifo_timeout: float = FIFO_OPEN_TIMEOUT,
    where: str | None = None,
    *,
    regular_only: bool = False,
) -> bytes:
    """Read a conf file with the checks every source needs (exists, not a directory, size).

    A pipe (``<(salt-call …)``, a named pipe) is read like a file, to its end. Opening a named
    pipe waits for a writer; after ``fifo_timeout`` seconds without one it is refused instead of
    waiting for ever. Once open, the read waits for the writer as long as it lives, like cat(1).
    """
    p = Path(path)
    name = where or str(path)
    if not name:
        raise SourceError(EMPTY_SOURCE, "''")  # Path('') would be '.'
    try:
        st = p.stat()
    except FileNotFoundError:
        raise SourceError("no such file", name) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", name) from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError("is a directory, not a conf file", name)
    if regular_only and not stat.S_ISREG(st.st_mode):
        # The agent's files: a pipe or device there is a mistake or an attack, and waiting for a
        # writer would hold up every cycle.
        raise SourceError("not a regular file (a pipe or a device); refused", name)
    if st.st_size > MAX_CONF_BYTES:
        raise SourceError(
            f"file is {st.st_size / 1e6:.1f} MB; an aerospike.conf over {LIMIT_TEXT} is refused "
            "(wrong path?)",
            name,
        )
    try:
        if stat.S_ISFIFO(st.st_mode):
            fd = _open_fifo(p, fifo_timeout, name)
        else:
            fd = os.open(p, os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_CONF_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", name) from None
    if len(data) > MAX_CONF_BYTES:
        raise SourceError(f"file grew over {LIMIT_TEXT} while being read", name)
    return data


def _open_fifo(path: Path, timeout: float, name: str) -> int:
    """Open a pipe for reading; a named pipe with no writer after ``timeout`` s is refused."""
    result: list[int | OSError] = []

    def opener() -> None:
        try:
            result.append(os.open(path, os.O_RDONLY))
        except OSError as exc:
            result.append(exc)

    import threading  # (here: only a named pipe needs a thread; start-up of ascad diff)

    thread = threading.Thread(target=opener, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Be the writer ourselves for a moment so that the blocked open returns, then drop it.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(1.0)
        if result and isinstance(result[0], int):
            os.close(result[0])
        raise SourceError(f"a named pipe with no writer after {timeout:g} s; nothing to read", name)
    outcome = result[0]
    if isinstance(outcome, OSError):
        raise outcome
    return outcome


def _read_limited(fh: BinaryIO, where: str) -> bytes:
    data = fh.read(MAX_CONF_BYTES + 1)
    if len(data) > MAX_CONF_BYTES:
        raise SourceError(f"more than {LIMIT_TEXT}: not an aerospike.conf (wrong path?)", where)
    return data


def read_stdin_bytes() -> bytes:
    """Standard input, whole, under the same size limit."""
    return _read_limited(sys.stdin.buffer, "<stdin>")


def read_conf_text(path: str | os.PathLike[str]) -> str:
    """A local conf file's text (read and decoded by the one rule)."""
    return decode_conf(read_conf_bytes(path), str(path))


def parse_file(path: str | os.PathLike[str]) -> ConfTree:
    """Read and parse a conf file (or an asconfig YAML / AerospikeCluster: ascad.conf.yaml_tree);
    errors name FILE (and LINE:COL)."""
    from ascad.conf import yaml_tree

    text = read_conf_text(path)
    if yaml_tree.is_yaml(str(path), text):
        return yaml_tree.parse_yaml(text, str(path))
    return parse_text(text, str(path))


def read_local(spec: SourceSpec, *, regular_only: bool = False) -> FetchedText:
    """Read a ``file`` or ``stdin`` source in this thread (:func:`fetch_local` in one)."""
    if spec.kind is Kind.STDIN:
        return FetchedText(decode_conf(read_stdin_bytes(), "<stdin>"), "<stdin>")
    if spec.kind is not Kind.FILE or spec.path is None:
        raise SourceError("not a local file", spec.display)
    data = read_conf_bytes(spec.path, where=spec.display, regular_only=regular_only)
    return FetchedText(decode_conf(data, spec.display), spec.display)


async def fetch_local(spec: SourceSpec, *, regular_only: bool = False) -> FetchedText:
    """Read a ``file`` or ``stdin`` source (in a thread: file reads block); ``regular_only``
    refuses pipes and devices at once (the agent's conf and golden)."""
    import asyncio

    if spec.kind is Kind.STDIN:
        data = await asyncio.to_thread(read_stdin_bytes)
        return FetchedText(decode_conf(data, "<stdin>"), "<stdin>")
    assert spec.kind is Kind.FILE and spec.path is not None
    data = await asyncio.to_thread(
        functools.partial(read_conf_bytes, spec.path, where=spec.display, regular_only=regular_only)
    )
    return FetchedText(decode_conf(data, spec.display), spec.display)
