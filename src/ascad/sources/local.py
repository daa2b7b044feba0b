"""Read a local file or stdin.

A source must be a regular file (or a FIFO such as ``<(…)``): a directory is refused, and so is
anything over 50 MB (real aerospike.conf files are kilobytes; a huge file is a wrong path, such as a
log or a device, and reading it whole would stall the run).
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import BinaryIO

from ascad.errors import SourceError
from ascad.sources.spec import MAX_SOURCE_BYTES, FetchedText, Kind, SourceSpec, decode_text


def _read_limited(fh: BinaryIO, where: str) -> bytes:
    data = fh.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(
            f"more than {MAX_SOURCE_BYTES // (1024 * 1024)} MB: not an aerospike.conf (wrong path?)",
            where,
        )
    return data


def read_file_bytes(path: str, where: str | None = None) -> bytes:
    """Read a local file with the checks every source needs: exists, not a directory, size."""
    where = where or path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError("no such file", where) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", where) from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError("is a directory, not a conf file", where)
    if stat.S_ISREG(st.st_mode) and st.st_size > MAX_SOURCE_BYTES:
        raise SourceError(
            f"file is {st.st_size / 1e6:.1f} MB; a source over "
            f"{MAX_SOURCE_BYTES // (1024 * 1024)} MB is refused (wrong path?)",
            where,
        )
    try:
        with open(path, "rb") as fh:
            return _read_limited(fh, where)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", where) from None


async def fetch_local(spec: SourceSpec) -> FetchedText:
    """Read a ``file`` or ``stdin`` source (in a thread: file reads block)."""
    if spec.kind is Kind.STDIN:
        data = await asyncio.to_thread(_read_limited, sys.stdin.buffer, "<stdin>")
        return FetchedText(decode_text(data, "<stdin>"), "<stdin>")
    assert spec.kind is Kind.FILE and spec.path is not None
    data = await asyncio.to_thread(read_file_bytes, spec.path, spec.display)
    return FetchedText(decode_text(data, spec.display), spec.display)
