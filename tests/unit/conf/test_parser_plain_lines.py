"""The parser's shortcut for plain lines (``key value…`` in a stanza, a lone ``}``) makes exactly
the tree, columns, warnings and errors of the general line reader, on every sample and on lines
built to sit at its edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.conf import parser
from ascad.conf.model import ConfTree
from ascad.errors import ConfSyntaxError
from tests.helpers import FIXTURES

SAMPLES = sorted((FIXTURES / "confs").glob("*.conf"))

EDGES = [
    "service {\n\tproto-fd-max\t15000  \n  }\n",
    "service {\n  cluster-name a b c d e\n}\n",  # more values than the server reads: a warning
    "namespace t {\n  storage-engine memory\n  replication-factor 2 # c\n}\n",  # typed one-liner
    "network {\n heartbeat {\n  mesh-seed-address-port 10.0.0.1 3002\n }\n}\n",
    "service {\n  proto-fd-max 1 }\n}\n",  # '}' after a value
    "service {\n  } x\n}\n",
    "}\n",
    "proto-fd-max 15000\n",  # outside any stanza
    "service {\n  run-as-daemon\n}\n",  # one word: the general reader decides
    "logging {\n file /var/log/a.log {\n  context any info\n }\n}\n",
    "service {\n  proto-fd-max \u00a015000\n}\n",  # a no-break space is refused
    "service {\n  paxos-single-replica-limit 1\x0b\n}\n",
]


def parse_both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def outcome() -> object:
        try:
            tree = parser.parse_text(text, "t.conf")
        except ConfSyntaxError as exc:
            return ("error", str(exc))
        return ("tree", tree.root, tree.warnings)

    fast = outcome()
    with monkeypatch.context() as m:
        m.setattr(parser, "_SHORTCUT", False)
        general = outcome()
    return fast, general


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_parse_the_same_either_way(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general = parse_both(
        path.read_text(encoding="utf-8", errors="surrogateescape"), monkeypatch
    )
    assert fast == general


@pytest.mark.parametrize("text", EDGES)
def test_edge_lines_parse_the_same_either_way(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general = parse_both(text, monkeypatch)
    assert fast == general


def test_the_shortcut_keeps_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    tree: ConfTree = parser.parse_text("service {\n\t  proto-fd-max 15000\n}\n", "t.conf")
    param = tree.root.children[0].children[0]  # type: ignore[union-attr]
    assert (param.line, param.col, param.values) == (2, 4, ("15000",))  # type: ignore[union-attr]


# Stanza openings, which the shortcut reads too: every rule of the general reader at its edge.
OPENINGS = [
    "namespace t {\n  storage-engine device {\n    device /dev/a\n  }\n}\n",
    "namespace t {\n  storage-engine {\n  }\n}\n",  # a typed stanza needs a type
    "namespace t {\n  storage-engine device x {\n  }\n}\n",
    "namespace t {\n  index-type shmem\n  set s1 {\n  }\n}\n",
    "storage-engine device {\n}\n",  # typed at the top level: an unknown stanza with a name
    "namespace {\n}\n",  # a named stanza without its name
    "namespace a b {\n}\n",
    "servic {\n}\n",  # unknown at the top level: refused with a suggestion
    "service {\n  unknown-sub {\n  }\n}\n",  # unknown inside a stanza: kept
    "service {\n  sett s1 {\n  }\n}\n",
    "service x {\n}\n",
    "service {{\n}\n",
    "service { {\n}\n",
    "service\t{  # comment {\n}\n",
    "network {\n  heartbeat {\n}\n",  # never closed
    "service {\n" + "".join(f"s{i} {{\n" for i in range(20)) + "}\n" * 21,  # nested too deep
    "service {\n" + "".join(f"s{i} {{\n" for i in range(15)) + "}\n" * 16,  # just deep enough
]


@pytest.mark.parametrize("text", OPENINGS)
def test_stanza_openings_parse_the_same_either_way(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = parse_both(text, monkeypatch)
    assert fast == general
