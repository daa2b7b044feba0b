"""The one error type every stage raises for bad input; the CLI turns it into one line and exit 2."""

from __future__ import annotations


class AscadError(Exception):
    """A problem the user can fix. ``where`` names the file and line, or the host and command."""

    def __init__(self, message: str, where: str | None = None) -> None:
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
