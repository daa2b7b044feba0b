"""ConfTree -> aerospike.conf text (4-space indent). Parsing the result gives the same tree."""

from __future__ import annotations

from ascad.conf.model import ConfTree, Param, Stanza


def render(tree: ConfTree) -> str:
    """The whole tree as conf text, a blank line after each top-level stanza."""
    lines: list[str] = []
    for child in tree.root.children:
        _render(child, 0, lines)
    return "\n".join(lines) + "\n"


def render_stanza(stanza: Stanza) -> str:
    """One stanza (and its body) as conf text."""
    lines: list[str] = []
    _render(stanza, 0, lines)
    return "\n".join(lines) + "\n"


def _render(node: Stanza | Param, depth: int, lines: list[str]) -> None:
    pad = "    " * depth
    if isinstance(node, Param):
        lines.append(f"{pad}{' '.join((node.key, *node.values))}")
        return
    head = node.kind if node.name is None else f"{node.kind} {node.name}"
    if not node.braces:
        lines.append(f"{pad}{head}")
        return
    lines.append(f"{pad}{head} {{")
    for child in node.children:
        _render(child, depth + 1, lines)
    lines.append(f"{pad}}}")
    if depth == 0:
        lines.append("")
