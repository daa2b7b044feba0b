"""Conf bytes -> text, by the server's rules, whatever the source (file, stdin, git, GitLab, a
peer's agent, the agent's own ``/v1/config``): every source's bytes go through
:func:`decode_conf`, so the same bytes are accepted or refused the same way everywhere.

- **Size.** Over :data:`MAX_CONF_BYTES` (4 MiB) is refused: real confs are kilobytes (the
  largest sample, 29 namespaces, is 17 KB; 500 generated namespaces are 258 KB); a huge source is
  a wrong path (a log, a device) or a wrong URL. The limit is also what bounds the work: 4 MiB of
  the densest conf (one short parameter per line) parses and flattens in a few seconds and a
  couple of hundred MB; the same limit applies to info replies from a node.
- **A NUL byte** anywhere: binary data, refused.
- **A UTF-8 byte-order mark** is refused with its own message: the server reads it as part of
  the first word and stops (``unknown config parameter``).
- **Bytes that are not UTF-8** are refused outside comments, with their line and column; inside
  a comment (a Latin-1 ``# café``) they are harmless, since the server drops everything after
  ``#`` unread, and become U+FFFD.
"""

from __future__ import annotations

import re

from ascad.errors import ConfSyntaxError

MAX_CONF_BYTES = 4 * 1024 * 1024
LIMIT_TEXT = "4 MiB"  # MAX_CONF_BYTES, as errors say it
# Bytes that were not UTF-8, as decoded with surrogateescape (the parser names them too).
SURROGATE_RE = re.compile("[\udc80-\udcff]")


def check_size(size: int, source: str) -> None:
    """Refuse a source larger than :data:`MAX_CONF_BYTES`."""
    if size > MAX_CONF_BYTES:
        raise ConfSyntaxError(
            source,
            0,
            0,
            f"{size / 1e6:.1f} MB; an aerospike.conf over {LIMIT_TEXT} is refused (wrong path?)",
        )


def decode_conf(data: bytes, source: str) -> str:
    """Bytes -> text by the rules above; ConfSyntaxError naming the source (and line, column)."""
    check_size(len(data), source)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise ConfSyntaxError(source, line, col, "binary data (NUL byte); not an aerospike.conf")
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfSyntaxError(
            source,
            1,
            1,
            "starts with a UTF-8 byte-order mark (BOM): the server reads it as part of the first "
            "word and refuses the file; save it without a BOM",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "surrogateescape")
    offset = 0
    for raw_line in text.split("\n"):
        body = raw_line.split("#", 1)[0]
        bad = SURROGATE_RE.search(body)
        if bad is not None:
            line, col = _position(data, offset + len(body[: bad.start()].encode("utf-8")))
            byte = ord(bad.group()) - 0xDC00
            raise ConfSyntaxError(source, line, col, f"not UTF-8 text (byte 0x{byte:02x})")
        offset += len(raw_line.encode("utf-8", "surrogateescape")) + 1
    return data.decode("utf-8", "replace")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col
