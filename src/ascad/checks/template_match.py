"""A template golden against one node: the way the template comes out that fits the node best.

A template in wildcard mode (no variables) can come out many ways: each ``{% if %}`` takes one of
its branches (or none, without an ``else``), each loop runs or not, and a loop over namespaces
makes one stanza per namespace. :func:`best_fit` compares the node with the template's default
(first branches, loops once) and then, one conditional or loop at a time, keeps the alternative
that leaves fewer differences (ties keep the earlier choice, so a changed literal inside an
optional block is reported at the template's line, not as the node's extra line). Each namespace a
loop makes takes its own branches. Lines the node has inside a stanza where the template has a line
of placeholders only (``{{ print_opts(ns) }}``, ``<%= k %> <%= v %>``) are wildcard matches.

The search is greedy and bounded (:data:`MAX_CANDIDATES` renderings per comparison): it finds
the best fit for templates whose conditionals are independent, which real ones are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace

from ascad.compare.diff import (
    CHANGED,
    ONLY_LEFT,
    ONLY_RIGHT,
    CompareResult,
    Difference,
    wildcard_regex,
)
from ascad.conf.flatten import join, stanza_segment
from ascad.conf.model import WILDCARD_MANY, WILDCARD_RE, ConfTree, FlatConfig, Stanza, is_wild
from ascad.errors import AscadError
from ascad.sources.template import Candidate, Choice, TemplateNote, TemplateVariants

MAX_CANDIDATES = 400
MAX_PASSES = 3


def _open_regex(prefix: str) -> re.Pattern[str]:
    """A stanza path with wildcards as a regex over the node's paths at and under it."""
    out: list[str] = []
    pos = 0
    for m in WILDCARD_RE.finditer(prefix):
        literal = prefix[pos : m.start()]
        out.append(re.escape(literal))
        depth = prefix[: m.start()].count("[") - prefix[: m.start()].count("]")
        out.append(r"[^\]]+" if depth > 0 else r"[^.\[\]]+(?:\[[^\]]*\])?")
        pos = m.end()
    out.append(re.escape(prefix[pos:]))
    body = "".join(out)
    return re.compile(rf"{body}(?:[.\[]|\Z)" if prefix else "", re.DOTALL)


def concrete_paths(cand: Candidate, node: FlatConfig) -> tuple[ConfTree, FlatConfig]:
    """The template's wildcard paths replaced by the node's paths they fit (a loop's by every
    one), and its stanzas renamed to match, for comparisons that match paths exactly (a conf
    against its running node). A stanza's parameters follow their stanza."""
    template = cand.flat
    if not any(is_wild(p) for p in template.settings):
        return cand.tree, template
    taken = {p for p in template.settings if not is_wild(p)}
    renamed: dict[str, str] = {}  # template stanza path -> the node's
    out = FlatConfig(source=template.source)
    for path, setting in template.settings.items():
        if not is_wild(path):
            out.settings.setdefault(path, setting)
            continue
        moved = _under_renamed(path, renamed)
        if moved is not None and not is_wild(moved):
            taken.add(moved)
            out.settings.setdefault(moved, setting._replace(path=moved))
            continue
        rx = wildcard_regex(path)
        many = WILDCARD_MANY in path
        hits = [p for p in node.settings if p not in taken and rx.match(p)]
        if not hits:
            out.settings.setdefault(path, setting)
            continue
        if setting.stanza and len(hits) == 1:
            renamed[path] = hits[0]
        for hit in hits if many else hits[:1]:
            taken.add(hit)
            out.settings.setdefault(hit, setting._replace(path=hit))
    return _renamed_tree(cand.tree, renamed), out


def _under_renamed(path: str, renamed: dict[str, str]) -> str | None:
    for old, new in renamed.items():
        if path.startswith(old) and path[len(old) : len(old) + 1] in (".", "["):
            return new + path[len(old) :]
    return None


def _renamed_tree(tree: ConfTree, renamed: dict[str, str]) -> ConfTree:
    """A copy of ``tree`` whose wildcard-named stanzas carry the node's names."""
    if not renamed:
        return tree
    copy = deepcopy(tree)

    def walk(stanza: Stanza, old_prefix: str, new_prefix: str) -> None:
        for child in stanza.stanzas():
            old = join(old_prefix, stanza_segment(child))
            target = renamed.get(old)
            head = join(new_prefix, f"{child.kind}[")
            if target is not None and target.startswith(head) and target.endswith("]"):
                child.name = target[len(head) : -1]  # `namespace[test]` -> name `test`
            walk(child, old, join(new_prefix, stanza_segment(child)))

    walk(copy.root, "", "")
    return copy


def settle_open_stanzas(
    result: CompareResult, cand: Candidate, template_left: bool
) -> CompareResult:
    """Differences under a stanza the template fills with unknown lines become wildcard matches."""
    if not cand.open_prefixes:
        return result
    rxs = [_open_regex(p) for p in cand.open_prefixes]
    template_only = ONLY_LEFT if template_left else ONLY_RIGHT
    kept: list[Difference] = []
    for d in result.differences:
        stated = cand.flat.settings.get(d.path)
        literal = stated is not None and not is_wild(stated.canonical)
        if (
            d.kind == template_only
            or (d.kind == CHANGED and literal)
            or not any(rx.match(d.path) for rx in rxs)
        ):
            kept.append(d)
            continue
        result.wildcards.append(d.path)
        node_value = d.right if template_left else d.left
        if node_value is not None:
            result.wildcard_values[d.path] = node_value
    result.differences = kept
    return result


def best_fit(
    variants: TemplateVariants,
    node: FlatConfig,
    compare: Callable[[Candidate], CompareResult],
    *,
    template_left: bool = True,
) -> tuple[Candidate, CompareResult]:
    """The candidate of ``variants`` with the fewest differences from ``node`` and its result."""
    instances = variants.instances_for(node)

    def score(cand: Candidate) -> CompareResult:
        return settle_open_stanzas(compare(cand), cand, template_left)

    try:
        cand = variants.candidate({}, instances)
    except AscadError:  # a namespace per node did not parse: the template's default
        instances = {}
        cand = variants.default
    best = score(cand)
    choice: Choice = {}
    tried = 1
    for _ in range(MAX_PASSES):
        improved = False
        for key, options, _line, _kind in reversed(cand.points):  # inner blocks before outer
            current = choice.get(key, 0)
            for option in range(options):
                if option == current or tried >= MAX_CANDIDATES or not best.differences:
                    continue
                trial = {**choice, key: option}
                tried += 1
                try:
                    other = variants.candidate(trial, instances)
                except AscadError:
                    continue  # this combination leaves the braces unbalanced
                res = score(other)
                if len(res.differences) < len(best.differences):
                    choice, cand, best, current, improved = trial, other, res, option, True
        if not improved:
            break
    return _with_choice_notes(cand), best


def _with_choice_notes(cand: Candidate) -> Candidate:
    """Say, for ``-v``, which conditionals and loops did not take their first way for this node."""
    notes = list(cand.notes)
    for key, options, line, kind in cand.points:
        option = cand.choice.get(key, 0)
        if option == 0:
            continue
        if kind == "for":
            text = "'{% for %}' loop: not run for this node (its lines are not on the node)"
        elif kind == "if" and option == options - 1:
            text = "'{% if %}' block: left out for this node (none of its branches is on the node)"
        else:
            text = f"'{{% if %}}' block: branch {option + 1} is the one on this node"
        notes.append(TemplateNote(line, text))
    notes.sort(key=lambda n: n.line)
    return replace(cand, notes=notes)
