"""Property tests of the diff engine: equivalent confs never differ; one changed value gives
exactly one difference."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ascad.compare.diff import CHANGED, compare
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text

# --- a small model of a conf, rendered to text in many equivalent ways -------------------------

# (key, kind) pairs; kind picks the value generator and its equivalent spellings.
SERVICE_KEYS = [
    ("proto-fd-max", "size"),
    ("migrate-fill-delay", "duration"),
    ("cluster-name", "word"),
    ("enable-health-check", "bool"),
    ("info-threads", "size"),
]
NAMESPACE_KEYS = [
    ("replication-factor", "size"),
    ("default-ttl", "duration"),
    ("nsup-period", "duration"),
    ("strong-consistency", "bool"),
    ("stop-writes-sys-memory-pct", "size"),
]
ENGINE_KEYS = [
    ("write-block-size", "size"),
    ("flush-size", "size"),
    ("data-size", "size"),
    ("compression", "word"),
]


@dataclass
class P:
    key: str
    kind: str
    number: int = 0
    word: str = ""
    flag: bool = False


@dataclass
class S:
    head: str  # "service", "namespace NAME", "storage-engine device"
    params: list[P] = field(default_factory=list)
    children: list[S] = field(default_factory=list)
    ordered: list[str] = field(default_factory=list)  # `file` lines: order is meaningful


def spellings(p: P) -> list[str]:
    """Every way of writing p's value that the server reads as the same value."""
    if p.kind == "size":
        out = [str(p.number)]
        for suffix, mult in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
            if p.number and p.number % mult == 0:
                out += [f"{p.number // mult}{suffix}", f"{p.number // mult}{suffix.lower()}"]
        return out
    if p.kind == "duration":
        out = [str(p.number), f"{p.number}s"]
        for suffix, mult in (("m", 60), ("h", 3600), ("d", 86400)):
            if p.number and p.number % mult == 0:
                out += [f"{p.number // mult}{suffix}", f"{p.number // mult}{suffix.upper()}"]
        return out
    if p.kind == "bool":
        return ["true", "True", "TRUE"] if p.flag else ["false", "False"]
    return [p.word]


def value_of(p: P) -> str:
    return spellings(p)[0]


numbers = st.sampled_from(
    [0, 1, 2, 3, 60, 1024, 3600, 4096, 86400, 1 << 20, 3 << 20, 1 << 30, 30 * 86400]
)
words = st.sampled_from(["alpha", "beta", "lz4", "zstd", "prod-1"])


@st.composite
def params(draw: st.DrawFn, keys: list[tuple[str, str]]) -> list[P]:
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    return [P(k, kind, draw(numbers), draw(words), draw(st.booleans())) for k, kind in chosen]


@st.composite
def confs(draw: st.DrawFn) -> list[S]:
    top = [S("service", draw(params(SERVICE_KEYS)))]
    names = draw(
        st.lists(
            st.sampled_from(["test", "bar", "ns1", "ns2"]), min_size=1, max_size=3, unique=True
        )
    )
    for name in names:
        engine = S("storage-engine device", draw(params(ENGINE_KEYS)))
        engine.ordered = [f"/opt/{name}-{i}.dat" for i in range(draw(st.integers(0, 3)))]
        top.append(S(f"namespace {name}", draw(params(NAMESPACE_KEYS)), [engine]))
    return top


def render(top: list[S], rnd: random.Random | None = None, *, equivalent: bool = False) -> str:
    """Render the model; with ``equivalent`` shuffle order, indentation, comments and units."""
    lines: list[str] = []

    def pad(depth: int) -> str:
        if rnd is None:
            return "    " * depth
        return rnd.choice(["", " ", "\t", "  "]) * (depth + rnd.randint(0, 2))

    def junk() -> None:
        if rnd is not None and rnd.random() < 0.3:
            lines.append(rnd.choice(["", "   ", "# a comment", "\t# { not a brace }"]))

    def emit(s: S, depth: int) -> None:
        lines.append(
            f"{pad(depth)}{s.head} {{" + (" # opens" if rnd and rnd.random() < 0.2 else "")
        )
        items: list[object] = list(s.params) + list(s.children)
        if rnd is not None:
            rnd.shuffle(items)
        for item in items:
            junk()
            if isinstance(item, S):
                emit(item, depth + 1)
            else:
                p = item
                value = rnd.choice(spellings(p)) if (rnd and equivalent) else value_of(p)
                sep = rnd.choice([" ", "  ", "\t", " \t "]) if rnd else " "
                lines.append(f"{pad(depth + 1)}{p.key}{sep}{value}")
        for path in s.ordered:  # order of `file` lines is kept: it is meaningful
            lines.append(f"{pad(depth + 1)}file {path}")
        lines.append(f"{pad(depth)}}}")

    order = list(top)
    if rnd is not None:
        rnd.shuffle(order)
    for s in order:
        junk()
        emit(s, 0)
    return "\n".join(lines) + "\n"


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(confs(), st.randoms(use_true_random=False))
def test_equivalent_rewrites_never_differ(top: list[S], rnd: random.Random) -> None:
    base = flatten(parse_text(render(top), "a.conf"))
    variant_text = render(top, rnd, equivalent=True)
    variant = flatten(parse_text(variant_text, "b.conf"))
    result = compare(base, variant)
    assert result.differences == [], variant_text


@SETTINGS
@given(confs(), st.randoms(use_true_random=False), st.data())
def test_one_changed_value_is_exactly_one_difference(
    top: list[S], rnd: random.Random, data: st.DataObject
) -> None:
    stanzas = [s for s in top] + [c for s in top for c in s.children]
    target_stanza = data.draw(st.sampled_from(stanzas))
    target = data.draw(st.sampled_from(target_stanza.params))
    before = value_of(target)
    if target.kind in ("size", "duration"):
        target_number = target.number
        target.number = target.number + 7
    elif target.kind == "bool":
        target.flag = not target.flag
    else:
        target.word = target.word + "-x"
    after = value_of(target)
    right_text = render(top, rnd, equivalent=True)
    # restore for the left side
    if target.kind in ("size", "duration"):
        target.number = target_number
    elif target.kind == "bool":
        target.flag = not target.flag
    else:
        target.word = target.word[:-2]
    left_text = render(top)
    result = compare(
        flatten(parse_text(left_text, "l.conf")), flatten(parse_text(right_text, "r.conf"))
    )
    assert len(result.differences) == 1, result.differences
    d = result.differences[0]
    assert d.kind == CHANGED
    assert d.path.endswith("." + target.key)
    left_lines, right_lines = left_text.split("\n"), right_text.split("\n")
    assert left_lines[d.left_line - 1].split()[:2] == [target.key, before]
    assert right_lines[d.right_line - 1].split()[0] == target.key
    assert d.left == before
    assert (
        d.right is not None
        and flatten(parse_text(f"service {{\n {target.key} {d.right}\n}}\n"))
        .settings[f"service.{target.key}"]
        .canonical
        == flatten(parse_text(f"service {{\n {target.key} {after}\n}}\n"))
        .settings[f"service.{target.key}"]
        .canonical
    )
