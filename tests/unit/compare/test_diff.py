"""The diff engine (ascad.compare.diff): stanzas, order, seeds, ignore globs, wildcards and
logging contexts."""

from __future__ import annotations

from ascad.compare.diff import CHANGED, ONLY_LEFT, ONLY_RIGHT, compare, matches_any
from ascad.conf.flatten import flatten
from ascad.conf.model import WILDCARD
from ascad.conf.parser import parse_text


def _flat(text: str, name: str = "x.conf"):
    return flatten(parse_text(text, name))


def test_missing_stanza_is_one_difference() -> None:
    left = _flat(
        "namespace a {\n replication-factor 2\n storage-engine memory\n}\nnamespace b {\n replication-factor 2\n storage-engine memory\n}\n"
    )
    right = _flat("namespace a {\n replication-factor 2\n storage-engine memory\n}\n")
    result = compare(left, right)
    assert [(d.path, d.kind, d.left_line) for d in result.differences] == [
        ("namespace[b]", ONLY_LEFT, 5)
    ]
    assert result.differences[0].stanza


def test_file_order_matters_seed_order_does_not() -> None:
    a = _flat(
        "namespace n {\n storage-engine device {\n  file /a\n  file /b\n }\n}\nnetwork {\n heartbeat {\n  mesh-seed-address-port h1 3002\n  mesh-seed-address-port h2 3002\n }\n}\n"
    )
    b = _flat(
        "namespace n {\n storage-engine device {\n  file /b\n  file /a\n }\n}\nnetwork {\n heartbeat {\n  mesh-seed-address-port h2 3002\n  mesh-seed-address-port h1 3002\n }\n}\n"
    )
    result = compare(a, b)
    assert sorted(d.path for d in result.differences) == [
        "namespace[n].storage-engine.file[0]",
        "namespace[n].storage-engine.file[1]",
    ]


def test_seed_only_on_one_side() -> None:
    a = _flat("network {\n heartbeat {\n  mesh-seed-address-port h1 3002\n }\n}\n")
    b = _flat(
        "network {\n heartbeat {\n  mesh-seed-address-port h1 3002\n  mesh-seed-address-port h3 3002\n }\n}\n"
    )
    result = compare(a, b)
    assert [(d.path, d.kind, d.right_line) for d in result.differences] == [
        ("network.heartbeat.mesh-seed-address-port[h3:3002]", ONLY_RIGHT, 4)
    ]


def test_ignore_globs_treat_brackets_literally() -> None:
    assert matches_any("namespace[test].default-ttl", ["namespace[test].*"])
    assert not matches_any("namespace[t].default-ttl", ["namespace[test].*"])
    assert matches_any("network.heartbeat.mesh-seed-address-port[h:1]", ["*address*"])
    a = _flat("service {\n node-id a1\n proto-fd-max 1\n}\n")
    b = _flat("service {\n node-id b2\n proto-fd-max 2\n}\n")
    result = compare(a, b, ignore=["service.node-id"])
    assert [d.path for d in result.differences] == ["service.proto-fd-max"]
    assert result.ignored == ["service.node-id"]


def test_wildcards_match_anything_and_are_reported() -> None:
    golden = _flat(
        f"service {{\n cluster-name {WILDCARD}\n proto-fd-max 15K\n}}\nnetwork {{\n heartbeat {{\n  mesh-seed-address-port {WILDCARD} 3002\n }}\n}}\n"
    )
    node = _flat(
        "service {\n cluster-name prod\n proto-fd-max 15360\n}\nnetwork {\n heartbeat {\n  mesh-seed-address-port 10.1.1.1 3002\n }\n}\n"
    )
    result = compare(golden, node)
    assert result.differences == []
    assert sorted(result.wildcards) == [
        "network.heartbeat.mesh-seed-address-port[10.1.1.1:3002]",
        "service.cluster-name",
    ]
    changed = _flat(
        "service {\n cluster-name prod\n proto-fd-max 1\n}\nnetwork {\n heartbeat {\n  mesh-seed-address-port 10.1.1.1 3002\n }\n}\n"
    )
    assert [d.path for d in compare(golden, changed).differences] == ["service.proto-fd-max"]


# --- logging: `context any LEVEL` sets every context of its sink -------------------------------

LOG = "logging {{\n    file /var/log/a.log {{\n{lines}    }}\n}}\n"


def _log(*lines: str) -> str:
    return LOG.format(lines="".join(f"        {line}\n" for line in lines))


def test_a_context_equal_to_the_other_sides_any_is_no_difference() -> None:
    plain = _flat(_log("context any info"), "a.conf")
    spelt_out = _flat(_log("context any info", "context misc INFO"), "b.conf")
    assert compare(plain, spelt_out).equal
    assert compare(spelt_out, plain).equal


def test_a_context_that_differs_from_the_other_sides_any_is_changed() -> None:
    plain = _flat(_log("context any info"), "a.conf")
    louder = _flat(_log("context any info", "context misc warning"), "b.conf")
    (d,) = compare(plain, louder).differences
    path = "logging.file[/var/log/a.log].context[misc]"
    assert (d.path, d.kind, d.left, d.right, d.left_line, d.right_line) == (
        path,
        CHANGED,
        "info",
        "warning",
        3,
        4,
    )
    (r,) = compare(louder, plain).differences
    assert (r.kind, r.left, r.right, r.left_line, r.right_line) == (
        CHANGED,
        "warning",
        "info",
        4,
        3,
    )


def test_only_the_any_line_differs_when_specific_contexts_agree() -> None:
    a = _flat(_log("context any warning", "context misc info"), "a.conf")
    b = _flat(_log("context any info", "context misc info"), "b.conf")
    (d,) = compare(a, b).differences
    assert d.path.endswith("context[any]")
    b_short = _flat(_log("context any info"), "b.conf")
    (d,) = compare(a, b_short).differences  # misc is info on both sides
    assert d.path.endswith("context[any]")


def test_a_context_with_no_any_on_the_other_side_is_one_sided() -> None:
    a = _flat(_log("context misc info"), "a.conf")
    b = _flat(_log("context migrate info"), "b.conf")
    kinds = sorted((d.kind, d.path.rsplit(".", 1)[1]) for d in compare(a, b).differences)
    assert kinds == [(ONLY_LEFT, "context[misc]"), (ONLY_RIGHT, "context[migrate]")]
