"""Runtime snapshots (ascad.runtime.snapshot): the info answers' key/value lists, on real
captures."""

from __future__ import annotations

from ascad.compare.drift import drift
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.runtime.snapshot import (
    config_only,
    namespace_command,
    parse_kv,
    parse_levels,
    parse_logs,
    parse_sets,
    snapshot_from_answers,
    split_combined,
)
from tests.helpers import capture_answers


def test_parse_kv_keeps_repeated_keys_in_order() -> None:
    kv = parse_kv(
        "heartbeat.mode=mesh;heartbeat.mesh-seed-address-port=a:1;"
        "heartbeat.mesh-seed-address-port=b:2;;x="
    )
    assert kv == [
        ("heartbeat.mode", "mesh"),
        ("heartbeat.mesh-seed-address-port", "a:1"),
        ("heartbeat.mesh-seed-address-port", "b:2"),
        ("x", ""),
    ]


def test_parse_sets_logs_levels_on_captures() -> None:
    jdbc = capture_answers("jdbc-4.5.1.5")
    sets = parse_sets(jdbc["sets/test"] or "")
    assert list(sets) == ["people", "instruments", "subject_selection", "guitars", "keyboards"]
    assert sets["people"] == [
        ("stop-writes-count", "0"),
        ("set-enable-xdr", "use-default"),
        ("disable-eviction", "false"),
    ]
    assert parse_logs("0:/var/log/a.log;1:stderr") == [("0", "/var/log/a.log"), ("1", "stderr")]
    levels = parse_levels(capture_answers("asadm-unit")["log/0"] or "")
    assert levels == [
        ("misc", "INFO"),
        ("alloc", "WARNING"),
        ("arenax", "INFO"),
        ("hardware", "WARNING"),
    ]


def test_namespace_stats_are_dropped_from_namespace_answer() -> None:
    value = capture_answers("exporter-8.1.2.2")["namespace/employees_flash"] or ""
    kv = config_only(parse_kv(value))
    keys = [k for k, _ in kv]
    assert "objects" not in keys and "storage-engine.file[0].age" not in keys
    assert "index-type.mount[0].age" not in keys
    assert ("storage-engine.file[0]", "/opt/aerospike/data/emp_flash.dat") in kv
    assert ("replication-factor", "2") in kv
    assert all("_" not in k for k in keys)


def test_namespace_selector_by_version() -> None:
    assert namespace_command("t", "7.2.0.1") == "get-config:context=namespace;namespace=t"
    assert namespace_command("t", "6.4.0.0") == "get-config:context=namespace;id=t"


def test_combined_get_config_of_4_5_is_split() -> None:
    service, network, security = split_combined(
        parse_kv(capture_answers("jdbc-4.5.1.5")["get-config"])
    )
    assert ("proto-fd-max", "15000") in service
    assert ("heartbeat.multicast-group", "239.1.99.222") in network
    assert ("info.port", "3003") in network
    assert ("enable-security", "false") in security and ("ldap.polling-period", "300") in security


def test_a_dc_namespace_whose_query_fails_is_unreadable_not_fatal() -> None:
    answers = {
        "node": "BB9000000000001",
        "build": "6.2.0.2",
        "namespaces": "ns3",
        "get-config:context=xdr": "dcs=dc1;src-id=1;trace-sample=0",
        "get-config:context=xdr;dc=dc1": "node-address-port=10.0.0.9:3000;namespaces=ns1,ns3",
        "get-config:context=xdr;dc=dc1;namespace=ns1": "ERROR:20:namespace not found on node",
        "get-config:context=xdr;dc=dc1;namespace=ns3": "enabled=true;forward=false",
    }
    snap = snapshot_from_answers("127.0.0.1:3000", answers)
    dc_unreadable = {p: c for p, c in snap.unreadable.items() if p.startswith("xdr")}
    assert dc_unreadable == {
        "xdr.dc[dc1].namespace[ns1]": "get-config:context=xdr;dc=dc1;namespace=ns1"
    }
    assert list(snap.dc_namespaces["dc1"]) == ["ns3"]
    text = (
        "xdr {\n src-id 1\n dc dc1 {\n  node-address-port 10.0.0.9 3000\n"
        "  namespace ns1 {\n   forward true\n  }\n  namespace ns3 {\n  }\n }\n}\n"
    )
    tree = parse_text(text, "t.conf")
    result, unchecked = drift(tree, flatten(tree), snap)
    assert result.differences == []
    reasons = {u.path: u.reason for u in unchecked}
    assert "namespace=ns1" in reasons["xdr.dc[dc1].namespace[ns1]"]
    assert "xdr.dc[dc1].namespace[ns1].forward" not in reasons  # the stanza stands for its body


def test_answers_with_and_without_blanks_read_the_same() -> None:
    # parse_kv and parse_levels skip stripping when an answer has no blank at all; an answer
    # with blanks (an old server's ``a = 1``, a trailing newline) gives the same pairs.
    plain = "a=1;b=2;;c=;d"
    for spaced in ("a = 1; b=2 ;  ;c= ;d\n", " a=1;b=2\t;;c=;d ", "a=1;b=2;;c=;d\xa0"):
        assert parse_kv(spaced) == parse_kv(plain) == [("a", "1"), ("b", "2"), ("c", ""), ("d", "")]
    assert parse_kv("") == parse_kv(" ") == []
    levels = [("misc", "INFO"), ("alloc", "WARNING")]
    assert parse_levels("misc:INFO;alloc:WARNING;") == levels
    assert parse_levels(" misc : INFO ; alloc:WARNING\n") == levels
    assert parse_levels("") == parse_levels(";") == []
