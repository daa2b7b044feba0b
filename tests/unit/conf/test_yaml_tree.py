"""asconfig YAML and the operator's AerospikeCluster read into the conf tree: every conf <-> YAML
pair in tests/fixtures/yaml (asconfig's own test cases and the operator's sample CR) gives no
difference, one changed YAML value exactly one at its YAML line, bad YAML a FILE:LINE:COL error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.compare.diff import compare
from ascad.conf.flatten import flatten
from ascad.conf.model import FlatConfig
from ascad.conf.parser import parse_text
from ascad.conf.yaml_tree import is_yaml, parse_yaml
from ascad.errors import ConfSyntaxError
from ascad.sources.loader import conf_from_text
from tests.helpers import FIXTURES

YAML_DIR = FIXTURES / "yaml"
PAIRS = sorted(p.stem for p in YAML_DIR.glob("*.yaml"))


def _flat_yaml(text: str, name: str = "c.yaml") -> FlatConfig:
    return flatten(parse_yaml(text, name))


def _flat_conf(path: Path) -> FlatConfig:
    return flatten(parse_text(path.read_text(encoding="utf-8"), path.name))


def test_there_are_pairs() -> None:
    assert len(PAIRS) >= 12
    assert "operator-dim-nostorage-cr" in PAIRS


@pytest.mark.parametrize("case", PAIRS)
def test_yaml_and_its_conf_have_no_difference(case: str) -> None:
    yaml_path, conf_path = YAML_DIR / f"{case}.yaml", YAML_DIR / f"{case}.conf"
    left = _flat_yaml(yaml_path.read_text(encoding="utf-8"), yaml_path.name)
    right = _flat_conf(conf_path)
    result = compare(left, right)
    assert [(d.path, d.left, d.right) for d in result.differences] == []
    assert len(left) == len(right) > 5


def _change_one_value(text: str) -> tuple[str, int, str]:
    """The text with the first ``replication-factor: N`` (else ``port: N``) set to N+1."""
    lines = text.splitlines(keepends=True)
    for key in ("replication-factor", "port"):
        for i, line in enumerate(lines):
            stripped = line.strip().lstrip("- ")
            if stripped.startswith(f"{key}: ") and stripped.split(": ")[1].strip().isdigit():
                value = int(stripped.split(": ")[1])
                lines[i] = line.replace(f"{key}: {value}", f"{key}: {value + 1}")
                return "".join(lines), i + 1, key
    raise AssertionError("nothing to change")


@pytest.mark.parametrize("case", PAIRS)
def test_one_changed_yaml_value_is_exactly_one_difference_at_its_line(case: str) -> None:
    text, line, key = _change_one_value((YAML_DIR / f"{case}.yaml").read_text(encoding="utf-8"))
    result = compare(_flat_yaml(text), _flat_conf(YAML_DIR / f"{case}.conf"))
    assert len(result.differences) == 1, [(d.path, d.left, d.right) for d in result.differences]
    (diff,) = result.differences
    assert diff.path.endswith(f".{key}") and diff.left_line == line


def test_operator_cr_reads_spec_aerospike_config_only() -> None:
    tree = parse_yaml((YAML_DIR / "operator-dim-nostorage-cr.yaml").read_text(), "cr.yaml")
    flat = flatten(tree)
    assert flat["namespace[test].storage-engine"].value == "memory"
    assert flat["namespace[test].storage-engine.data-size"].canonical == str(1 << 30)
    assert flat["service.feature-key-file[0]"].value == "/etc/aerospike/secret/features.conf"
    assert "security" in flat  # security: {} is an empty stanza
    assert not any(p.startswith(("size", "image", "podSpec", "storage")) for p in flat.settings)
    assert flat["namespace[test].replication-factor"].line == 55  # the YAML line


def test_a_cr_among_other_documents() -> None:
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n"
        "apiVersion: asdb.aerospike.com/v1\nkind: AerospikeCluster\nspec:\n  aerospikeConfig:\n"
        "    service:\n      proto-fd-max: 15000\n"
    )
    flat = _flat_yaml(text)
    assert flat["service.proto-fd-max"].value == "15000"
    assert flat["service.proto-fd-max"].line == 10


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("service:\n  proto-fd-max: [1\n", 3, "not valid YAML"),
        ("service:\n\tproto-fd-max: 1\n", 2, "not valid YAML"),
        ("service:\n  proto-fd-max:\n    - a: 1\n", 3, "'proto-fd-max' is not a list of named"),
        ("namespaces:\n  - replication-factor: 2\n", 2, "each item of 'namespaces' needs a 'name'"),
        ("namespaces:\n  - name: t\n    storage-engine:\n      x: 1\n", 4, "needs a 'type'"),
        ("logging:\n  - any: info\n", 2, "each logging sink needs a 'name'"),
        ("service:\n  user: [[a]]\n", 2, "expected a value here"),
        ("kind: AerospikeCluster\nspec:\n  size: 2\n", 1, "has no spec.aerospikeConfig"),
        ("- a\n- b\n", 1, "expected asconfig YAML"),
        ("# nothing\n", 1, "empty: no stanza found"),
        ("resources:\n  - a.yaml\n", 1, "unknown top-level stanza 'resources'"),
        ("service: 1\n", 1, "'service' must be a mapping of its parameters"),
        ("service:\n  - a\n", 2, "'service' must be a mapping of its parameters"),
        ("namespace:\n  - name: t\n", 1, "unknown top-level stanza 'namespace'"),
        ("kind: AerospikeCluster\nspec:\n  aerospikeConfig: {}\n", 3, "empty: no stanza"),
    ],
)
def test_bad_yaml_is_an_error_naming_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfSyntaxError) as err:
        parse_yaml(text, "cluster.yaml")
    assert err.value.line == line, str(err.value)
    assert str(err.value).startswith(f"cluster.yaml:{line}:")
    assert message in str(err.value)


def test_other_kubernetes_kinds_only_are_refused() -> None:
    with pytest.raises(ConfSyntaxError, match=r"no AerospikeCluster resource.*ConfigMap"):
        parse_yaml("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "cm.yaml")


def test_two_configs_in_one_file_are_refused() -> None:
    text = "service:\n  proto-fd-max: 1\n---\nservice:\n  proto-fd-max: 2\n"
    with pytest.raises(ConfSyntaxError, match="2 configs in one file"):
        parse_yaml(text, "two.yaml")


def test_the_lib_conventions() -> None:
    text = """\
service:
  feature-key-files: [/etc/a.conf, "env-b64:KEY"]
  secrets-address-port: secrets.local:3005:tls1
network:
  heartbeat:
    mode: mesh
    port: 3002
    mesh-seed-address-ports:
      - 10.0.0.1:3002
      - "[2001:db8::1]:3002"
  info:
    port: 0
  service:
    access-address: null
    addresses: [any]
namespaces:
  - name: t
    storage-engine:
      type: device
      devices: [/dev/nvme0n1p1:/dev/sdb1]
      flush-size: 2097152
    index-type: {type: shmem}
    sets:
      - name: s1
        enable-index: true
logging:
  - name: /var/log/aerospike.log
    misc: warning
    any: info
  - name: syslog
    facility: local0
    any: info
xdr:
  dcs:
    - name: dc1
      node-address-ports: [10.1.0.1:3000:tls2]
      namespaces:
        - name: t
          ship-versions-interval: 120
"""
    flat = _flat_yaml(text)
    assert flat["service.feature-key-file[1]"].value == "env-b64:KEY"
    assert flat["service.secrets-address-port"].value == "secrets.local 3005 tls1"
    assert "network.heartbeat.mesh-seed-address-port[10.0.0.1:3002]" in flat
    assert "network.heartbeat.mesh-seed-address-port[2001:db8::1:3002]" in flat
    assert "network.info.port" not in flat  # port 0: the lib writes no line
    assert "network.service.access-address" not in "".join(flat.settings)  # null: no line
    assert flat["namespace[t].storage-engine.device[0]"].value == "/dev/nvme0n1p1 /dev/sdb1"
    assert flat["namespace[t].storage-engine.flush-size"].canonical == str(2 << 20)
    assert flat["namespace[t].index-type"].value == "shmem"
    assert flat["namespace[t].set[s1].enable-index"].value == "true"
    # contexts in sorted order, as the lib writes them: `any` first, then `misc` overrides it
    assert flat["logging.file[/var/log/aerospike.log].context[misc]"].value == "warning"
    assert flat["logging.file[/var/log/aerospike.log].context[any]"].value == "info"
    assert flat["logging.syslog.facility"].value == "local0"
    assert "xdr.dc[dc1].node-address-port[10.1.0.1:3000:tls2]" in flat
    assert flat["xdr.dc[dc1].namespace[t].ship-versions-interval"].canonical == "120"


def test_equal_to_the_conf_with_units() -> None:
    conf = "xdr {\n dc d {\n  namespace t {\n   ship-versions-interval 2M\n  }\n }\n}\n"
    text = "xdr:\n  dcs:\n    - name: d\n      namespaces:\n        - name: t\n"
    text += "          ship-versions-interval: 120\n"
    assert compare(_flat_yaml(text), flatten(parse_text(conf, "a.conf"))).differences == []


def test_is_yaml_by_name_or_first_line() -> None:
    assert is_yaml("cluster.yaml", "")
    assert is_yaml("git:main:k8s/aerocluster.yml", "")
    assert is_yaml("<stdin>", "# a comment\n\nservice:\n  x: 1\n")
    assert is_yaml("<stdin>", "---\napiVersion: v1\n")
    assert not is_yaml("<stdin>", "# x: y\nservice {\n}\n")
    assert not is_yaml("a.conf", "{% set x = 1 %}\nservice {\n}\n")
    assert not is_yaml("a.conf", "")
    assert not is_yaml("<stdin>", "-----BEGIN CERTIFICATE-----\nMIIB\n")  # a PEM is no YAML


def test_the_loader_reads_yaml_with_yaml_line_numbers() -> None:
    loaded = conf_from_text("c.yaml", "service:\n  proto-fd-max: 100\n")
    assert loaded.flat["service.proto-fd-max"].line == 2 and not loaded.template
