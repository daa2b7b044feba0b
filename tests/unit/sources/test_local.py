"""Local sources (ascad.sources.local): files, stdin, token files, size limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.errors import ConfSyntaxError, SourceError
from ascad.sources import read_token_file
from ascad.sources.local import parse_file
from tests.helpers import CONF_MAIN, CONF_OTHER, fetch, run_python


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        parse_file(tmp_path / "nope.conf")
    with pytest.raises(SourceError, match="is a directory"):
        parse_file(tmp_path)


def test_huge_file_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.conf"
    with big.open("wb") as fh:
        fh.write(b"service {\n")
        fh.write(b"  proto-fd-max 1\n" * (50 * 1024 * 1024 // 17))
        fh.write(b"}\n")
    with pytest.raises(SourceError, match="over 4 MiB is refused"):
        parse_file(big)


def test_local_file_and_errors(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_bytes(CONF_MAIN.encode())
    got = fetch(str(conf))
    assert got.text == CONF_MAIN and got.name == str(conf)
    # A byte-order mark is refused as the server refuses it (conf/decode.py), from every source.
    conf.write_bytes(b"\xef\xbb\xbf" + CONF_MAIN.encode())
    with pytest.raises(ConfSyntaxError, match="byte-order mark"):
        fetch(str(conf))
    with pytest.raises(SourceError, match="is a directory"):
        fetch(str(tmp_path))
    with pytest.raises(SourceError, match="no such file"):
        fetch(str(tmp_path / "missing.conf"))
    big = tmp_path / "big.conf"
    with big.open("wb") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(SourceError, match="4 MiB is refused"):
        fetch(str(big))
    bad = tmp_path / "latin1.conf"
    bad.write_bytes(b"service {\n\tcluster-name caf\xe9\n}\n")
    with pytest.raises(ConfSyntaxError) as err:
        fetch(str(bad))
    assert "not UTF-8" in str(err.value) and str(err.value).startswith(f"{bad}:2:18: ")


def test_stdin_source() -> None:
    code = (
        "import asyncio; from ascad.sources import fetch_text, parse_source;"
        "print(asyncio.run(fetch_text(parse_source('-'))).text, end='')"
    )
    out = run_python(code, input=CONF_OTHER, check=True)
    assert out.stdout == CONF_OTHER


def test_token_file(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    f.write_text("\n  abc123  \n")
    assert read_token_file(f) == "abc123"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SourceError, match="empty"):
        read_token_file(tmp_path / "empty")
    with pytest.raises(SourceError, match="not found"):
        read_token_file(tmp_path / "nope")
