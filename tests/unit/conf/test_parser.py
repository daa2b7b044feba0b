"""The conf parser on real files, on every grammar feature, and on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.conf.flatten import flatten
from ascad.conf.model import Param, Stanza
from ascad.conf.parser import parse_bytes, parse_text
from ascad.conf.render import render
from ascad.errors import ConfSyntaxError
from ascad.sources.local import parse_file
from tests.helpers import CONFS


def _tree_shape(node: Stanza | Param) -> tuple:
    if isinstance(node, Param):
        return ("P", node.key, node.values)
    return ("S", node.kind, node.name, node.braces, tuple(_tree_shape(c) for c in node.children))


def test_all_sample_confs_are_present() -> None:
    assert len(CONFS) == 36


@pytest.mark.parametrize("path", CONFS, ids=lambda p: p.name)
def test_every_sample_parses_and_round_trips(path: Path) -> None:
    tree = parse_file(path)
    assert tree.root.children, "a real conf has stanzas"
    again = parse_text(render(tree), "rendered")
    assert _tree_shape(again.root) == _tree_shape(tree.root)
    assert flatten(again).settings.keys() == flatten(parse_file(path)).settings.keys()


GRAMMAR = """\
# comment line
service {   # trailing comment
    proto-fd-max 15K
    run-as-daemon
    feature-key-file /etc/a.conf
    feature-key-file /etc/b.conf
}
logging {
    file /var/log/aerospike.log {
        context any info
        context migrate debug
    }
    console {
        context any warning
    }
}
network {
    service {
        address any
        port 3000
    }
    heartbeat {
        mode mesh
        mesh-seed-address-port 10.0.0.1 3002
        mesh-seed-address-port 10.0.0.2	3002
    }
    tls tls1 {
        cert-file /x.pem
    }
}
namespace test {
    replication-factor 2
    storage-engine device {
        file /opt/a.dat
        device /dev/sdb /dev/sdc
    }
    index-type shmem
    set s1 {
        stop-writes-count 10G
    }
}
namespace mem {
    storage-engine memory
}
xdr {
    dc DC1 {
        node-address-port 10.0.0.9 3000 tls1
        namespace test {
            ship-bin a
            ship-bin b
        }
    }
}
"""


def test_grammar_tree_and_lines() -> None:
    tree = parse_text(GRAMMAR, "g.conf")
    service = tree.root.find("service")
    assert service is not None and service.line == 2
    fd = next(service.params("proto-fd-max"))
    assert (fd.values, fd.line, fd.col) == (("15K",), 3, 5)
    assert next(service.params("run-as-daemon")).values == ("true",)
    ns = tree.root.find("namespace", "test")
    assert ns is not None and ns.end_line == 41
    se = ns.find("storage-engine")
    assert se is not None and se.name == "device" and se.braces
    it = ns.find("index-type")
    assert it is not None and it.name == "shmem" and not it.braces
    mem = tree.root.find("namespace", "mem")
    assert mem is not None
    one_liner = mem.find("storage-engine")
    assert one_liner is not None and one_liner.name == "memory" and not one_liner.braces


def test_flat_paths_follow_docs() -> None:
    flat = flatten(parse_text(GRAMMAR, "g.conf"))
    s = flat.settings
    assert s["service.proto-fd-max"].canonical == "15360"
    assert s["service.feature-key-file[1]"].value == "/etc/b.conf"
    assert s["logging.file[/var/log/aerospike.log].context[migrate]"].canonical == "debug"
    assert s["logging.console.context[any]"].line == 14
    assert s["network.heartbeat.mesh-seed-address-port[10.0.0.2:3002]"].value == "10.0.0.2 3002"
    assert s["network.tls[tls1].cert-file"].value == "/x.pem"
    assert s["namespace[test].storage-engine"].canonical == "device"
    assert s["namespace[test].storage-engine"].stanza
    assert s["namespace[test].storage-engine.device[0]"].value == "/dev/sdb /dev/sdc"
    assert s["namespace[test].set[s1].stop-writes-count"].canonical == str(10 * 2**30)
    assert s["namespace[mem].storage-engine"].canonical == "memory"
    assert s["xdr.dc[DC1].node-address-port[10.0.0.9:3000:tls1]"].line == 47
    assert s["xdr.dc[DC1].namespace[test].ship-bin[b]"].line == 50


def test_extra_tokens_warn_with_line() -> None:
    text = "namespace x {\n  index-type flash {\n    mount /a /b\n  }\n  storage-engine memory\n}\n"
    tree = parse_text(text, "m.conf")
    assert [(w.line, w.col) for w in tree.warnings] == [(3, 14)]
    assert "'/b' is dropped" in tree.warnings[0].message
    flat = flatten(tree)
    assert flat.settings["namespace[x].index-type.mount[0]"].value == "/a"


def test_duplicate_single_key_keeps_last_and_warns() -> None:
    tree = parse_text("service {\n proto-fd-max 1\n proto-fd-max 2\n}\n", "d.conf")
    flat = flatten(tree)
    assert flat.settings["service.proto-fd-max"].canonical == "2"
    assert flat.settings["service.proto-fd-max"].line == 3
    assert any("also set at line 2" in w.message for w in tree.warnings)


def test_long_line_warns() -> None:
    tree = parse_text("service {\n cluster-name " + "x" * 1100 + "\n}\n", "l.conf")
    assert any("1023 bytes" in w.message for w in tree.warnings)


BAD = [
    ("empty", b"", "e.conf:1:1: empty"),
    ("only comments", b"# nothing\n\n", "e.conf:2:1: empty"),
    ("unbalanced close", b"service {\n}\n}\n", "e.conf:3:1: unbalanced '}'"),
    (
        "never closed",
        b"service {\n  proto-fd-max 1\n",
        "e.conf:2:1: missing '}': 'service' opened at line 1",
    ),
    ("namespace no name", b"namespace {\n}\n", "e.conf:1:11: 'namespace' needs a name"),
    ("set no name", b"namespace t {\n set {\n }\n}\n", "e.conf:2:6: 'set' needs a name"),
    ("stray token", b"service extra {\n}\n", "e.conf:1:9: stray token 'extra'"),
    ("stray brace", b"service {\n{\n}\n", "e.conf:2:1: stray '{'"),
    ("no space before brace", b"service{\n}\n", "e.conf:1:1: 'service{': put a space"),
    ("close not alone", b"service {\n proto-fd-max 1 }\n", "e.conf:2:17: '}' must be alone"),
    (
        "param outside stanza",
        b"proto-fd-max 1\n",
        "e.conf:1:1: 'proto-fd-max' is outside any stanza",
    ),
    ("no value", b"service {\n proto-fd-max\n}\n", "e.conf:2:2: 'proto-fd-max' has no value"),
    (
        "typed without type",
        b"namespace t {\n storage-engine {\n }\n}\n",
        "e.conf:2:2: 'storage-engine' needs a type",
    ),
    ("binary", b"service {\n\x00\x01\n}\n", "e.conf:2:1: binary data"),
    ("latin-1", b"service {\n cluster-name caf\xe9\n}\n", "e.conf:2:18: not UTF-8"),
    ("unknown top-level", b"servise {\n}\n", "e.conf:1:1: unknown top-level stanza 'servise'"),
]


@pytest.mark.parametrize(
    ("data", "expected"), [(d, e) for _, d, e in BAD], ids=[n for n, _, _ in BAD]
)
def test_bad_input_names_file_line_col(data: bytes, expected: str) -> None:
    with pytest.raises(ConfSyntaxError) as info:
        parse_bytes(data, "e.conf")
    assert str(info.value).startswith(expected), str(info.value)


# The parser checks the whole text at once for long lines and damaged characters, and line by line
# only when the whole text fails: a file with one long line, or with non-ASCII text in a comment,
# is still read line by line, with the same warnings and errors in the same places.


def test_a_long_line_among_short_ones_warns_at_its_own_line() -> None:
    text = "service {\n proto-fd-max 1\n cluster-name " + "x" * 1100 + "\n work-directory /w\n}\n"
    tree = parse_text(text, "l.conf")
    assert [(w.line, w.col) for w in tree.warnings if "1023 bytes" in w.message] == [(3, 1023)]


def test_a_damaged_character_is_found_beside_a_non_ascii_comment() -> None:
    text = "# café\nservice {\n proto-fd-max 1 # naïve\n cluster-name a\u00a0b\n}\n"
    with pytest.raises(ConfSyntaxError) as exc:
        parse_text(text, "d.conf")
    assert (exc.value.line, exc.value.col) == (4, 16)
    assert "U+00A0" in exc.value.message


def test_non_ascii_and_control_characters_in_comments_only_are_accepted() -> None:
    tree = parse_text("# café \x07 bell\nservice {\n proto-fd-max 1 # ☃\n}\n", "c.conf")
    assert [p.values for p in tree.root.children[0].children] == [("1",)]  # type: ignore[union-attr]
