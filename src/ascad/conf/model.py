"""The config tree that every stage shares, and its flat form.

A parsed aerospike.conf is a tree of :class:`Stanza` and :class:`Param` nodes, each with the line
and column it came from. The compare stage works on the flat form, :class:`FlatConfig`: one
:class:`Setting` per path (see ``docs/paths.md`` for the path spelling).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(slots=True)
class Param:
    """One ``key value…`` line. ``values`` are the tokens as written (at most 3, like the server)."""

    key: str
    values: tuple[str, ...]
    line: int
    col: int = 1


@dataclass(slots=True)
class Stanza:
    """A ``kind [name] {`` … ``}`` block, or a one-line typed stanza such as ``storage-engine memory``.

    ``name`` is the stanza's id (``namespace test``) or its type (``storage-engine device``);
    ``None`` for plain stanzas (``service``). ``braces`` is False for one-liners.
    """

    kind: str
    name: str | None
    line: int
    col: int = 1
    children: list[Stanza | Param] = field(default_factory=list)
    braces: bool = True
    end_line: int | None = None

    def stanzas(self, kind: str | None = None) -> Iterator[Stanza]:
        for child in self.children:
            if isinstance(child, Stanza) and (kind is None or child.kind == kind):
                yield child

    def params(self, key: str | None = None) -> Iterator[Param]:
        for child in self.children:
            if isinstance(child, Param) and (key is None or child.key == key):
                yield child

    def find(self, kind: str, name: str | None = None) -> Stanza | None:
        for child in self.stanzas(kind):
            if name is None or child.name == name:
                return child
        return None


@dataclass
class Warning_:
    """Something the server would accept but that is probably not what the author meant."""

    line: int
    col: int
    message: str


@dataclass
class ConfTree:
    """A whole parsed file: the root's children are the top-level stanzas."""

    root: Stanza
    source: str
    warnings: list[Warning_] = field(default_factory=list)


# A wildcard value from a template (``{{ … }}``): equal to anything on the other side.
WILDCARD = "\x00wildcard\x00"
# The same inside a ``{% for %}`` body: the line stands for any number of lines, so a path holding
# it pairs with every matching path on the other side (``namespace {{ ns }}`` in a loop).
WILDCARD_MANY = "\x00wildcards\x00"
WILDCARD_RE = re.compile("\x00wildcards?\x00")


def is_wild(text: str) -> bool:
    """True if ``text`` holds either wildcard marker."""
    return "\x00wildcard" in text


def display(text: str) -> str:
    """A value or path for humans and JSON: a wildcard marker is shown as ``{{…}}``."""
    return WILDCARD_RE.sub("{{…}}", text) if "\x00" in text else text


class Setting(NamedTuple):
    """One comparable fact at one path.

    ``value`` is what was written (tokens joined by one space, or the stanza's type), ``canonical``
    the value the server would hold (``4G`` -> ``4294967296``). ``stanza`` marks a path that stands
    for a whole stanza: when it exists on one side only, the compare stage reports the stanza once
    and not each parameter inside it.

    Immutable, like a frozen dataclass, but a named tuple: a fleet makes hundreds of thousands
    (one per path per node), and a tuple is made in a quarter of the time in half the memory.
    """

    path: str
    value: str
    canonical: str
    line: int
    col: int = 1
    stanza: bool = False


@dataclass
class FlatConfig:
    """The flat form of one config: ``settings[path]``, in file order, plus where it came from."""

    source: str
    settings: dict[str, Setting] = field(default_factory=dict)

    def __contains__(self, path: str) -> bool:
        return path in self.settings

    def __getitem__(self, path: str) -> Setting:
        return self.settings[path]

    def __len__(self) -> int:
        return len(self.settings)
