"""The parser's floor: read a conf file and split it into tokens with one regular expression.

This is the least any conf parser must do (read the bytes, decode them, find every word, brace
and comment); bench/parse_diff.py prints ascad's parse + flatten + diff beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

TOKEN = re.compile(r"#[^\n]*|[^ \t\r\n\f\v]+|\n")


def read_and_tokenise(path: Path) -> int:
    """The number of tokens in ``path`` (comments one token each, newlines counted)."""
    return len(TOKEN.findall(path.read_bytes().decode("utf-8")))
