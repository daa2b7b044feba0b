"""ConfTree -> asconfig YAML: read back by the YAML reader it gives the same settings, over every
sample conf; sizes and durations are plain numbers, lists have plural names, as asconfig writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ascad.compare.diff import compare
from ascad.conf.flatten import flatten
from ascad.conf.model import ConfTree, Stanza
from ascad.conf.parser import parse_text
from ascad.conf.render_yaml import render_yaml
from ascad.conf.yaml_tree import parse_yaml
from ascad.errors import AscadError
from tests.helpers import FIXTURES

CONFS = sorted((FIXTURES / "confs").glob("*.conf")) + sorted((FIXTURES / "yaml").glob("*.conf"))


def _tree(path: Path) -> ConfTree:
    return parse_text(path.read_text(encoding="utf-8", errors="replace"), path.name)


def _readable() -> list[Path]:
    out = []
    for path in CONFS:
        try:
            _tree(path)
        except AscadError:
            continue
        out.append(path)
    return out


READABLE = _readable()


def test_most_samples_are_read() -> None:
    assert len(READABLE) >= 40


@pytest.mark.parametrize("path", READABLE, ids=[p.name for p in READABLE])
def test_yaml_of_a_conf_reads_back_as_the_same_settings(path: Path) -> None:
    tree = _tree(path)
    text = render_yaml(tree, ["from " + path.name])
    assert text.startswith(f"# from {path.name}\n")
    back = flatten(parse_yaml(text, "back.yaml"))
    result = compare(flatten(tree), back)
    assert [(d.path, d.left, d.right) for d in result.differences] == []


def test_asconfig_form() -> None:
    conf = """\
service {
    feature-key-file /etc/aerospike/features.conf
    proto-fd-max 15000
}
logging {
    console {
        context any info
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
        mesh-seed-address-port 10.0.0.2 3002
    }
}
namespace test {
    replication-factor 2
    default-ttl 30d
    storage-engine device {
        device /dev/sdb /dev/sdc
        flush-size 2M
    }
    set s1 {
        enable-index true
    }
}
xdr {
    dc dc1 {
        node-address-port 10.1.0.1 3000
        namespace test {
            ship-versions-interval 2M
        }
    }
}
"""
    doc = yaml.safe_load(render_yaml(parse_text(conf, "a.conf")))
    assert doc["service"] == {
        "feature-key-file": "/etc/aerospike/features.conf",
        "proto-fd-max": 15000,
    }
    assert doc["logging"] == [{"name": "console", "any": "info"}]
    assert doc["network"]["service"] == {"port": 3000, "addresses": ["any"]}
    assert doc["network"]["heartbeat"]["mesh-seed-address-ports"] == [
        "10.0.0.1:3002",
        "10.0.0.2:3002",
    ]
    (ns,) = doc["namespaces"]
    assert ns["name"] == "test" and ns["default-ttl"] == 2592000
    assert ns["storage-engine"] == {
        "type": "device",
        "flush-size": 2097152,
        "devices": ["/dev/sdb:/dev/sdc"],
    }
    assert ns["sets"] == [{"name": "s1", "enable-index": True}]
    (dc,) = doc["xdr"]["dcs"]
    assert dc["node-address-ports"] == ["10.1.0.1:3000"]
    assert dc["namespaces"] == [{"name": "test", "ship-versions-interval": 120}]


def test_one_line_typed_stanza_and_empty_config() -> None:
    doc = yaml.safe_load(
        render_yaml(parse_text("namespace t {\n storage-engine memory\n}\n", "a.conf"))
    )
    assert doc == {"namespaces": [{"name": "t", "storage-engine": {"type": "memory"}}]}
    assert render_yaml(ConfTree(Stanza("", None, 0), "e.conf")) == "{}\n"
