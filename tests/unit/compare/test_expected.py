"""Expected per-node differences: the default list, the settings file, peer vs own patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.compare.diff import compare
from ascad.compare.expected import (
    DEFAULT_PER_NODE,
    STORAGE_PATHS,
    CompareSettings,
    PathMatcher,
    default_per_node,
    load_settings,
    resolve_settings,
)
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.errors import AscadError

NODE = """
service {
    node-id {node_id}
    pidfile /var/run/aerospike/{name}.pid
    proto-fd-max 15000
}
network {
    service {
        address {ip}
        access-address {ip}
        port 3000
    }
    heartbeat {
        mode mesh
        address {ip}
        port 3002
        mtu {mtu}
        mesh-seed-address-port {seed} 3002
    }
    fabric {
        port 3001
    }
    tls {name} {
        cert-file /etc/ssl/cluster.pem
    }
}
namespace test {
    replication-factor 2
    rack-id {rack}
    storage-engine device {
        file /opt/aerospike/{name}.dat
        filesize 4G
    }
}
"""


def node_flat(name: str, ip: str, seed: str, rack: int, mtu: int = 1500, **extra: str):
    text = NODE
    for key, value in {
        "node_id": f"A{rack}{ip.split('.')[-1]}",
        "name": name,
        "ip": ip,
        "seed": seed,
        "rack": str(rack),
        "mtu": str(mtu),
    }.items():
        text = text.replace("{" + key + "}", value)
    text = text.replace("tls " + name, "tls cluster")  # the TLS stanza is shared
    for old, new in extra.items():
        text = text.replace(old, new)
    return flatten(parse_text(text, name))


def test_every_documented_kind_is_in_the_defaults() -> None:
    globs = default_per_node()
    matcher = PathMatcher(globs)
    for path in (
        "service.node-id",
        "service.pidfile",
        "network.service.address[10.0.0.1]",
        "network.service.access-address[10.0.0.1]",
        "network.service.tls-alternate-access-address[x.example]",
        "network.heartbeat.mesh-seed-address-port[10.0.0.2:3002]",
        "network.heartbeat.tls-mesh-seed-address-port[10.0.0.2:3012]",
        "network.heartbeat.mtu",
        "network.service.tls-name",
        "namespace[test].rack-id",
        "namespace[test].storage-engine.stripe[0]",
    ):
        assert matcher(path), path
    for path in (
        "service.proto-fd-max",
        "network.heartbeat.mode",
        "namespace[test].replication-factor",
        "network.service.port",  # compared: one template, one port (docs/fleet.md)
        "network.fabric.port",
        "network.service.tls-port",
        "namespace[test].storage-engine.file[0]",  # only when asked
        "xdr.dc[DC1].node-address-port[10.0.0.9:3000]",  # the remote DC: same on every node
        "network.tls[cluster].cert-file",
    ):
        assert not matcher(path), path
    # Every entry says why.
    assert all(e.reason for e in DEFAULT_PER_NODE + STORAGE_PATHS)


def test_storage_paths_only_when_asked() -> None:
    plain = PathMatcher(default_per_node())
    paths = PathMatcher(default_per_node(storage_paths=True))
    for path in (
        "namespace[test].storage-engine.file[0]",
        "namespace[test].storage-engine.device[1]",
        "namespace[test].index-type.mount[0]",
    ):
        assert not plain(path)
        assert paths(path)


def test_two_nodes_differ_only_in_per_node_paths() -> None:
    a = node_flat("a", "10.0.0.1", "10.0.0.2", rack=1, mtu=1500)
    b = node_flat("b", "10.0.0.2", "10.0.0.1", rack=2, mtu=9000)
    settings = CompareSettings()
    peer = compare(a, b, settings.peer_patterns())
    # The data file differs: a real finding unless storage paths are per-node.
    assert [d.path for d in peer.differences] == ["namespace[test].storage-engine.file[0]"]
    assert "service.node-id" in peer.ignored
    assert "namespace[test].rack-id" in peer.ignored
    assert "network.heartbeat.mtu" in peer.ignored
    with_paths = resolve_settings(None, per_node_paths=True)
    assert compare(a, b, with_paths.peer_patterns()).equal
    # The same two flats compared as "own" (file vs its own runtime): everything counts.
    own = compare(a, b, settings.own_patterns())
    paths = {d.path for d in own.differences}
    assert {"service.node-id", "namespace[test].rack-id", "network.heartbeat.mtu"} <= paths
    assert not own.ignored


def test_a_real_difference_is_not_hidden() -> None:
    a = node_flat("a", "10.0.0.1", "10.0.0.2", rack=1)
    b = node_flat(
        "a", "10.0.0.2", "10.0.0.1", rack=1, **{"proto-fd-max 15000": "proto-fd-max 9000"}
    )
    result = compare(a, b, CompareSettings().peer_patterns())
    assert [(d.path, d.left, d.right) for d in result.differences] == [
        ("service.proto-fd-max", "15000", "9000")
    ]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ascad.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_settings_file_replaces_and_extends(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '[agent]\nrole = "auto"\n\n[compare]\nignore = ["logging.*"]\n'
        'per_node = ["service.node-id"]\nper_node_extra = ["namespace[*].rack-id"]\n',
    )
    s = load_settings(p)
    assert s.source == str(p)
    assert s.ignore == ["logging.*"]
    assert s.per_node == ["service.node-id", "namespace[*].rack-id"]
    assert s.own_patterns() == ["logging.*"]
    assert s.peer_patterns() == ["logging.*", "service.node-id", "namespace[*].rack-id"]


def test_settings_extra_keeps_defaults_and_paths_flag(tmp_path: Path) -> None:
    p = write(
        tmp_path, '[compare]\nper_node_extra = ["service.cluster-name"]\nper_node_paths = true\n'
    )
    s = load_settings(p)
    assert set(default_per_node(storage_paths=True)) < set(s.per_node)
    assert "service.cluster-name" in s.per_node


def test_no_compare_table_gives_defaults(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[agent]\ninterval = "6h"\n'))
    assert s.per_node == default_per_node()
    assert s.ignore == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[compare]\nignores = []\n", "[compare] ignores"),
        ('[compare]\nignore = "logging.*"\n', "[compare] ignore must be a list"),
        ("[compare]\nper_node = [1, 2]\n", "[compare] per_node must be a list"),
        ('[compare]\nper_node_extra = [""]\n', "[compare] per_node_extra holds an empty glob"),
        ('[compare]\nper_node_paths = "yes"\n', "[compare] per_node_paths must be true or false"),
        ('compare = "x"\n', "compare must be a table"),
        ("[compare\nignore = []\n", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(AscadError) as err:
        load_settings(p)
    assert needle in str(err.value)
    assert err.value.where == str(p)


def test_missing_and_binary_settings_file(tmp_path: Path) -> None:
    with pytest.raises(AscadError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe[compare]")
    with pytest.raises(AscadError, match="not UTF-8"):
        load_settings(bad)


def test_resolve_command_line_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, '[compare]\nignore = ["logging.*"]\n')
    monkeypatch.setenv("ASCAD_SETTINGS", str(p))
    s = resolve_settings(None, ignore=["xdr.*"], per_node_extra=["service.work-directory"])
    assert s.source == str(p)
    assert s.ignore == ["logging.*", "xdr.*"]
    assert "service.work-directory" in s.per_node and "service.node-id" in s.per_node
    none = resolve_settings(str(p), no_per_node=True)
    assert none.per_node == []
    assert none.peer_patterns() == ["logging.*"]


def test_matcher_brackets_are_literal_and_memoised() -> None:
    m = PathMatcher(["namespace[test].*"])
    assert m("namespace[test].replication-factor")
    assert not m("namespace[t].replication-factor")
    assert not m("namespacet.x")
    assert m("namespace[test].replication-factor")  # memoised answer, same result
    assert not PathMatcher([])("service.node-id")


def test_the_matchers_memo_is_bounded_and_its_answers_stay_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PathMatcher, "MAX_MEMO", 8)
    matcher = PathMatcher(["namespace[*].rack-id"])
    paths = [f"namespace[n{i}].{k}" for i in range(6) for k in ("rack-id", "default-ttl")]
    for path in paths:  # more distinct paths than the memo holds: it is emptied, never wrong
        assert matcher(path) == path.endswith("rack-id")
        assert len(matcher._memo) <= 8
    settings = dict.fromkeys(paths[:6])
    want = {p for p in paths[:6] if p.endswith("rack-id")}
    assert matcher.matching(settings.keys()) == want  # a batch that overflows the memo
    assert matcher.matching(dict.fromkeys(paths).keys()) == {  # a batch larger than the memo
        p for p in paths if p.endswith("rack-id")
    }
