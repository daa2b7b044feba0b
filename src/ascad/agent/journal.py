"""Log lines the journal files at the right priority.

Rules, and the reason for each (sd-daemon(3), systemd.exec(5) ``SyslogLevelPrefix=``):

- journald reads a service's stderr line by line and stores each line at the priority of a
  ``<N>`` prefix (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug), else at the
  unit's default, info: without the prefix ``journalctl -p warning -u ascad`` shows nothing.
- The prefix is written only when stderr *is* the journal: ``$JOURNAL_STREAM`` holds the
  ``DEVICE:INODE`` of the stream systemd connected, and it must match ``fstat(2)`` of stderr (a
  child whose stderr was redirected inherits the variable, and a terminal or a file must not
  get ``<6>`` in front of every line).
- On the journal the line carries no time stamp (journald stamps every line itself); every
  line of a record (a traceback's too) gets the prefix, so none of them falls back to info.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

#: syslog priorities (syslog(3)) by Python level, from the most severe down.
PRIORITIES = (
    (logging.ERROR, 3),  # LOG_ERR (CRITICAL too)
    (logging.WARNING, 4),  # LOG_WARNING
    (logging.INFO, 6),  # LOG_INFO
    (logging.NOTSET, 7),  # LOG_DEBUG
)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def priority(levelno: int) -> int:
    """The syslog priority for a Python log level."""
    for level, prio in PRIORITIES:
        if levelno >= level:
            return prio
    return 7


def stderr_is_journal(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` (stderr) is the journal stream named by ``$JOURNAL_STREAM``."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep or not device.isdigit() or not inode.isdigit():
        return False
    stream = sys.stderr if stream is None else stream
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


class JournalFormatter(logging.Formatter):
    """``<N>LEVEL name: message`` on every line of a record."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def formatter(
    stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> logging.Formatter:
    """The journal's formatter when ``stream`` is the journal, else plain time-stamped lines."""
    if stderr_is_journal(stream, env):
        return JournalFormatter()
    return logging.Formatter(PLAIN_FORMAT, DATE_FORMAT)
