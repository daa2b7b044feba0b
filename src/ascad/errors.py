"""The one error type every stage raises for bad input; the CLI turns it into one line and exit 2.

Text that leaves ascad (errors, reasons, log lines, events, the terminal) can carry what a file,
a node or a client sent: :func:`printable` escapes control characters (an ESC, BEL or CR from a
node's value never reaches a terminal or splits a log line) and :func:`shorten` cuts it with a
marker, so one 20 MB value never becomes a 20 MB reason, log line or event.
"""

from __future__ import annotations

#: The longest message or reason ascad writes (characters); longer ones are cut with a marker.
MESSAGE_LIMIT = 1000


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as an escape (``\\x1b``,
    ``\\n``), so that it stays one line and cannot drive a terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


class AscadError(Exception):
    """A problem the user can fix. ``where`` names the file and line, or the host and command.
    Both are kept to :data:`MESSAGE_LIMIT` characters (a node may answer megabytes)."""

    def __init__(self, message: str, where: str | None = None) -> None:
        message = shorten(message)
        where = shorten(where, MESSAGE_LIMIT // 2) if where else where
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfSyntaxError(AscadError):
    """aerospike.conf text that the server would refuse to read."""

    def __init__(self, source: str, line: int, col: int, message: str) -> None:
        super().__init__(message, f"{source}:{line}:{col}" if line > 0 else source)
        self.source = source
        self.line = line
        self.col = col


class SourceError(AscadError):
    """A config source (file, peer, git, node) that could not be read."""
