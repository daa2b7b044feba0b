"""Secret files: token and password files, and the permission rule for them and for TLS keys.

The one reader of a secret file (``--token-file``, ``--password-file``, the agent's ``*_file``
settings), and the one check of a TLS private key's mode. Rules, and the reason for each:

- A file that other users may read or write (``mode & 0o007``, as ssh refuses a private key) is
  refused: a world-readable token is a leaked token, and a world-writable one lets anyone choose
  it. Group-readable (0640, ``root:ascad``) is fine: that is how the deploy writes them.
- The secret is the file's one non-empty line, whitespace stripped. A second non-empty line is
  refused: a token with a newline would be sent as two HTTP header lines, and which line is meant
  cannot be guessed.
- UTF-8 text without control characters, at most 64 KiB.
- Errors are one line naming the file (a path holding a control character or a NUL byte is shown
  escaped), never a word of what the file holds.
"""

from __future__ import annotations

import os
import stat

from ascad.errors import AscadError, printable

#: Permission bits for "other users" (read, write, execute): any of them set refuses the file.
OTHERS_MASK = 0o007
MAX_SECRET_BYTES = 64 * 1024


class SecretFileError(AscadError):
    """A secret file that cannot be used; ``where`` is the file, shown safely."""


def shown_path(path: str) -> str:
    """The path as it may be printed on one line: escaped when it holds a control character."""
    return printable(path)


def _stat(path: str, what: str) -> os.stat_result:
    if "\0" in path:
        raise SecretFileError(f"{what}: the path contains a NUL byte", shown_path(path))
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise SecretFileError(f"cannot read the {what}: no such file", shown_path(path)) from None
    except OSError as exc:
        raise SecretFileError(f"cannot read the {what}: {exc.strerror}", shown_path(path)) from None


def check_secret_mode(
    path: str, what: str = "secret file", st: os.stat_result | None = None
) -> None:
    """Refuse a secret file (or a TLS key) that other users may read or write."""
    st = st or _stat(path, what)
    mode = stat.S_IMODE(st.st_mode)
    if mode & OTHERS_MASK:
        raise SecretFileError(
            f"{what} has mode {mode:04o}: other users may read or write it; "
            "chmod 600 (or 640 for a group) it",
            shown_path(path),
        )


def read_secret_file(path: str, what: str = "secret file") -> str:
    """The secret in a token or password file; :class:`SecretFileError` naming the file."""
    st = _stat(path, what)
    if not stat.S_ISREG(st.st_mode):
        raise SecretFileError(f"{what} is not a regular file", shown_path(path))
    check_secret_mode(path, what, st)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(f"cannot read the {what}: {exc.strerror}", shown_path(path)) from None
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileError(f"{what} is larger than 64 KiB", shown_path(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SecretFileError(f"{what} is not UTF-8 text (line {line})", shown_path(path)) from None
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        raise SecretFileError(f"{what} is empty", shown_path(path))
    if len(lines) > 1:
        raise SecretFileError(
            f"{what} has {len(lines)} non-empty lines (line {lines[0][0]} and line"
            f" {lines[1][0]}): it must hold the secret alone on one line",
            shown_path(path),
        )
    number, secret = lines[0]
    if not secret.isprintable():
        raise SecretFileError(
            f"{what} holds a control character on line {number}", shown_path(path)
        )
    return secret


__all__ = ["SecretFileError", "check_secret_mode", "read_secret_file", "shown_path"]
