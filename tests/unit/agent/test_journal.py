"""Log lines for journald (``ascad.agent.journal``): a ``<N>`` syslog priority on every line when
stderr is the stream ``$JOURNAL_STREAM`` names (device and inode), plain time-stamped lines
otherwise; checked on a real file descriptor in a real process."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from ascad.agent import journal
from tests.helpers import subprocess_env

LOGS = """
import logging, sys
from ascad.agent.daemon import configure_logging
configure_logging("debug")
log = logging.getLogger("ascad.agent")
log.debug("d"); log.info("i"); log.warning("w"); log.error("e"); log.critical("c")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("with a traceback")
"""


def test_priorities() -> None:
    levels = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    assert [journal.priority(level) for level in levels] == [7, 6, 4, 3, 3]
    assert journal.priority(5) == 7 and journal.priority(25) == 6  # between the named ones


def test_the_stream_must_be_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "stderr"
    with path.open("w") as stream:
        st = os.fstat(stream.fileno())
        same = f"{st.st_dev}:{st.st_ino}"
        assert journal.stderr_is_journal(stream, {"JOURNAL_STREAM": same})
        assert not journal.stderr_is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:1"})
        for value in ("", "x:y", f"{st.st_dev}", f"{st.st_dev}:{st.st_ino}:0", ":"):
            assert not journal.stderr_is_journal(stream, {"JOURNAL_STREAM": value}), value
        assert not journal.stderr_is_journal(stream, {})
        assert isinstance(
            journal.formatter(stream, {"JOURNAL_STREAM": same}), journal.JournalFormatter
        )
        assert not isinstance(journal.formatter(stream, {}), journal.JournalFormatter)


def test_every_line_of_a_record_gets_the_prefix() -> None:
    try:
        raise RuntimeError("inner")
    except RuntimeError:
        record = logging.LogRecord("ascad.agent", logging.WARNING, __file__, 1, "a\nb", (), None)
        record.exc_info = sys.exc_info()
    lines = journal.JournalFormatter().format(record).split("\n")
    assert lines[0] == "<4>WARNING ascad.agent: a"
    assert lines[1] == "<4>b"
    assert all(line.startswith("<4>") for line in lines) and len(lines) > 3
    assert lines[-1] == "<4>RuntimeError: inner"


def test_the_agent_writes_priorities_on_the_journal_and_plain_lines_elsewhere(
    tmp_path: Path,
) -> None:
    out = tmp_path / "journal"
    with out.open("w") as stderr:
        st = os.fstat(stderr.fileno())
        env = {**subprocess_env(), "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        proc = subprocess.run([sys.executable, "-c", LOGS], env=env, stderr=stderr, timeout=30)
    assert proc.returncode == 0
    lines = out.read_text().splitlines()
    assert lines[:5] == [
        "<7>DEBUG ascad.agent: d",
        "<6>INFO ascad.agent: i",
        "<4>WARNING ascad.agent: w",
        "<3>ERROR ascad.agent: e",
        "<3>CRITICAL ascad.agent: c",
    ]
    assert lines[5] == "<3>ERROR ascad.agent: with a traceback"
    assert all(line.startswith("<3>") for line in lines[5:]) and lines[-1] == "<3>ValueError: boom"

    # the variable inherited by a process whose stderr is another file: no prefix
    other = tmp_path / "file"
    with other.open("w") as stderr:
        subprocess.run([sys.executable, "-c", LOGS], env=env, stderr=stderr, timeout=30)
    first = other.read_text().splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d DEBUG ascad.agent: d", first), first
