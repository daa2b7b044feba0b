"""Hostile and broken input, as an SRE meets it at 3 a.m.: one line ``FILE[:LINE:COL]: …``, exit 2.

Each case runs the real CLI (``ascad diff`` and ``ascad validate``) in-process; a few run the
console script in a subprocess to prove that no traceback escapes and nothing hangs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_bytes, parse_text
from ascad.errors import ConfSyntaxError, SourceError
from ascad.sources.local import parse_file, read_conf_bytes
from tests.helpers import CONFS

GOOD = b"service {\n    proto-fd-max 15000\n}\n"
SSD = next(p for p in CONFS if p.name == "server-8.1-ssd.conf")


def _one_line_error(capsys: pytest.CaptureFixture[str], prefix: str) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ascad: {prefix}"), err
    assert "Traceback" not in err
    return lines[0]


# name -> (bytes, expected start after "FILE", expected text in the message)
BROKEN = {
    "bom": (b"\xef\xbb\xbf" + GOOD, ":1:1: ", "byte-order mark"),
    "nbsp between key and value": (
        b"service {\n    proto-fd-max\xc2\xa015000\n}\n",
        ":2:17: ",
        "U+00A0 (NO-BREAK SPACE)",
    ),
    "terminal escape in a value": (
        b"service {\n    cluster-name a\x1b[31mb\n}\n",
        ":2:19: ",
        "U+001B",
    ),
    "unicode line separator": (
        "service {\n    cluster-name a\u2028b\n}\n".encode(),
        ":2:19: ",
        "U+2028 (LINE SEPARATOR)",
    ),
    "NEL": ("service {\n    cluster-name a\x85b\n}\n".encode(), ":2:19: ", "U+0085"),
    "CR-only line endings": (GOOD.replace(b"\n", b"\r"), ":1:1: ", "CR-only"),
    "latin-1 in a value": (b"service {\n    cluster-name caf\xe9\n}\n", ":2:21: ", "0xe9"),
    "truncated": (SSD.read_bytes()[:500], ":27:1: ", "missing '}'"),
    "random bytes": (bytes(range(256)) * 4, ":1:1: ", "binary data"),
    "misspelt top-level stanza": (b"servce {\n}\n", ":1:1: ", "did you mean 'service'?"),
    "misspelt named stanza": (
        b"namespace t {\n    sett s1 {\n    }\n}\n",
        ":2:5: ",
        "did you mean 'set'?",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize("command", ["diff", "validate"])
def test_broken_file_gives_one_line(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, where, text = BROKEN[case]
    bad = tmp_path / "bad.conf"
    bad.write_bytes(data)
    if command == "diff":
        assert main(["diff", str(SSD), str(bad)]) == 2
        line = _one_line_error(capsys, f"{bad}{where}")
    else:
        # validate reports a syntax error at a line as a problem in the file: exit 1, one line
        assert main(["validate", str(bad), "--server-version", "8.1.2"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 1 and out[0].startswith(f"{bad}{where}error: "), out
        line = out[0]
    assert text in line
    assert line.isprintable()


def test_comment_in_latin_1_is_harmless(tmp_path: Path) -> None:
    """The server drops everything after '#', whatever the bytes: so does ascad."""
    p = tmp_path / "c.conf"
    p.write_bytes(b"# caf\xe9\nservice {\n    proto-fd-max 15000 # d\xe9faut\n}\n")
    flat = flatten(parse_file(p))
    assert flat.settings["service.proto-fd-max"].canonical == "15000"


def test_tabs_crlf_and_unicode_names_parse(capsys: pytest.CaptureFixture[str]) -> None:
    text = SSD.read_text()
    crlf = text.replace("\n", "\r\n")
    tabs = text.replace("    ", "\t")
    base = flatten(parse_text(text, "a"))
    for variant in (crlf, tabs):
        other = flatten(parse_text(variant, "b"))
        assert {p: s.canonical for p, s in other.settings.items()} == {
            p: s.canonical for p, s in base.settings.items()
        }
    uni = flatten(parse_text("namespace tést {\n storage-engine memory\n}\n", "u"))
    assert "namespace[tést].storage-engine" in uni.settings


def test_wildcard_marker_never_shows_in_messages() -> None:
    from ascad.conf.model import WILDCARD

    # (`{{ name }} {` opens a stanza of any kind in a template since issue 13: not an error)
    with pytest.raises(ConfSyntaxError) as info:
        parse_text(f"service {{\n    {WILDCARD}\n}}\n", "t.conf")
    assert "\x00" not in str(info.value) and "{{…}}" in str(info.value)


def test_file_without_read_permission(capsys: pytest.CaptureFixture[str]) -> None:
    """As root, a forked child drops to nobody first (root reads everything)."""
    d = Path(tempfile.mkdtemp(prefix="ascad-perm-"))
    try:
        d.chmod(0o755)
        p = d / "secret.conf"
        p.write_bytes(GOOD)
        p.chmod(0)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 99
            try:
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                code = main(["validate", str(p), "--server-version", "8.1"])
                os.write(w, capsys.readouterr().err.encode())
            finally:
                os._exit(code)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(r, "rb") as fh:
            err = fh.read().decode()
        assert os.waitstatus_to_exitcode(status) == 2
        assert err == f"ascad: {p}: cannot read: Permission denied\n"
    finally:
        for child in d.iterdir():
            child.unlink()
        d.rmdir()


def test_symlink_loop_dev_null_and_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert main(["diff", str(tmp_path / "a"), str(SSD)]) == 2
    assert "Too many levels of symbolic links" in _one_line_error(capsys, f"{tmp_path / 'a'}: ")
    assert main(["diff", "/dev/null", str(SSD)]) == 2
    assert "empty" in _one_line_error(capsys, "/dev/null:1:1: ")
    assert main(["validate", str(tmp_path)]) == 2
    assert "is a directory" in _one_line_error(capsys, f"{tmp_path}: ")


def test_named_pipe_without_writer_is_refused_not_awaited(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"named pipe with no writer after 0\.2 s"):
        read_conf_bytes(fifo, fifo_timeout=0.2)


def test_named_pipe_with_a_late_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(GOOD)

    t = threading.Timer(0.2, writer)
    t.start()
    try:
        assert read_conf_bytes(fifo, fifo_timeout=30) == GOOD
    finally:
        t.join(30)


def test_process_substitution_pipe_is_read() -> None:
    """``ascad diff a.conf <(cat b.conf)``: an anonymous pipe whose writer is already there."""
    r, w = os.pipe()
    os.write(w, GOOD)
    os.close(w)
    try:
        assert read_conf_bytes(f"/proc/self/fd/{r}") == GOOD
    finally:
        os.close(r)


def test_stdin_dash(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ascad.cli", "diff", str(SSD), "-"],
        input=SSD.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "ascad.cli", "diff", str(SSD), "-"],
        input=b"\x00\x01garbage",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and b"Traceback" not in proc.stderr


def test_very_long_line_is_a_warning_not_a_failure() -> None:
    tree = parse_bytes(b"service {\n    cluster-name " + b"x" * 100_000 + b"\n}\n", "l.conf")
    assert [w.line for w in tree.warnings] == [2]


def test_second_storage_engine_warns_in_diff() -> None:
    tree = parse_text(
        "namespace t {\n storage-engine memory\n storage-engine device {\n  file /a\n }\n}\n", "s"
    )
    flatten(tree)
    assert [(w.line, "second 'storage-engine'" in w.message) for w in tree.warnings] == [(3, True)]
    # a repeated index-type of the same type (asconfig-server70.conf) is harmless: no warning
    tree = parse_text("namespace t {\n index-type shmem\n index-type shmem\n}\n", "s")
    flatten(tree)
    assert tree.warnings == []


def test_empty_name_and_stdin_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "", str(SSD)]) == 2
    assert _one_line_error(capsys, "'': empty source: give a path")
    assert main(["validate", "", "--server-version", "8.1"]) == 2
    assert _one_line_error(capsys, "'': empty source: give a path")
    assert main(["diff", "-", "-"]) == 2
    assert "can be only one of LEFT and RIGHT" in _one_line_error(capsys, "'-' (stdin)")
