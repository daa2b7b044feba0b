"""The emulated node answers like the real server: compared key by key with real captures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ascad.lab.emulator.defaults import log_contexts
from ascad.lab.emulator.node import EmulatedNode, load_node
from tests.helpers import CONFS, RUNTIME

FULL_8 = RUNTIME / "full-captures" / "exporter-8.1.2.2-mock_test_data.txt"
FULL_6 = RUNTIME / "full-captures" / "exporter-6.x-pre7x_mock_test_data.txt"
BUILDS = ("6.4.0.1", "7.2.0.1", "8.1.2.2")
EMPTY = "service {\n}\n"


def capture(path: Path) -> tuple[str, str]:
    command, _, value = path.read_text().rstrip("\n").partition("\t")
    return command, value


def full_line(path: Path, prefix: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no {prefix!r} in {path}")


def pairs(value: str) -> list[tuple[str, str]]:
    return [tuple(kv.split("=", 1)) for kv in value.split(";") if kv]  # type: ignore[misc]


def config_part(value: str) -> list[tuple[str, str]]:
    """The config keys of a ``namespace/NS`` reply: hyphenated keys that are not device stats."""
    out = []
    for k, v in pairs(value):
        if "-" not in k or (re.search(r"\]\.[a-z_]+$", k) and not k.endswith(".shadow")):
            continue
        if re.fullmatch(r"storage-engine\.stripe\[\d+\]", k):
            v = "<random>"
        out.append((k, v))
    return out


def every_command(node: EmulatedNode) -> list[str]:
    cmds = [
        "node",
        "build",
        "cluster-name",
        "service-clear-std",
        "peers-clear-std",
        "peers-generation",
        "namespaces",
        "logs",
        "sets",
        "get-config",
        "get-config:context=service",
        "get-config:context=network",
        "get-config:context=security",
        "get-config:context=xdr",
    ]
    cmds += ["release"] if node.v >= (8, 1, 1) else ["version", "edition"]
    cmds += [f"log/{i}" for i in range(len(node.sinks))]
    sel = "namespace" if node.v >= (7, 2) else "id"
    for ns in node.namespaces:
        cmds += [f"namespace/{ns}", f"sets/{ns}", f"get-config:context=namespace;{sel}={ns}"]
        cmds += [f"get-config:context=namespace;id={ns}"]
    for dc in node.dcs:
        cmds.append(f"get-config:context=xdr;dc={dc}")
        cmds += [f"get-config:context=xdr;dc={dc};namespace={ns}" for ns in node.namespaces]
    return cmds


# --- every sample conf, several builds ------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("conf", CONFS, ids=[c.name for c in CONFS])
def test_every_sample_conf_answers_every_command(conf: Path, build: str) -> None:
    node = load_node(str(conf), build=build)
    for command in every_command(node):
        value = node.answer(command)
        assert value is not None, command
        assert not value.lower().startswith(("error", "fail")), (command, value)
        assert "\t" not in value and "\n" not in value
    assert node.answer("namespaces").split(";") == list(node.namespaces)
    assert re.fullmatch(r"[0-9A-F]+", node.answer("node") or "")


def test_samples_cover_the_interesting_shapes() -> None:
    texts = "\n".join(c.read_text() for c in CONFS)
    for shape in ("mesh-seed-address-port", "storage-engine device", "xdr", "security", "tls "):
        assert shape in texts


# --- equal to the 8.1.2.2 capture for a conf written to match it ----------------------------

CONF_8 = """
service {
    cluster-name as80_cluster_1
    pidfile /var/run/aerospike/asd.pid
    feature-key-file /etc/aerospike/features.conf
}
logging {
    file /var/log/aerospike.log {
        context any info
    }
}
network {
    service {
        port 3000
    }
    heartbeat {
        mode mesh
        port 3002
        interval 150
        timeout 10
    }
    fabric {
        port 3001
    }
}
namespace test_only_mem {
    storage-engine memory {
        data-size 2G
    }
}
namespace test {
    set set2 {
        enable-index true
    }
    storage-engine memory {
        file /opt/aerospike/data/test.dat
        filesize 2G
    }
}
namespace bar {
    indexes-memory-budget 1G
    storage-engine device {
        file /opt/aerospike/data/bar.dat
        filesize 2G
    }
}
namespace bar_pmem {
    storage-engine pmem {
        file /opt/aerospike/data/bar_pmem.dat
        filesize 2G
    }
}
namespace employees_flash {
    index-type flash {
        mount /opt/aerospike/data/emp_flash_index
        evict-mounts-pct 10
        mounts-budget 4G
    }
    sindex-type flash {
        mount /opt/aerospike/data/emp_flash_sindex
        mounts-budget 2G
    }
    storage-engine device {
        file /opt/aerospike/data/emp_flash.dat
        filesize 2G
    }
}
xdr {
    dc 172.17.0.8:8901 {
        connector true
        node-address-port 172.17.0.8 8901
        namespace test {
        }
    }
    dc 64_asia_sng_dr_1 {
        node-address-port 172.17.0.7 3000
        namespace test {
        }
    }
}
"""


@pytest.fixture
def node8() -> EmulatedNode:
    return EmulatedNode(CONF_8, source="capture-8.conf", node_id="BB92C3F62DE4DCE")


@pytest.mark.parametrize(
    "name",
    [
        "build.info",
        "cluster-name.info",
        "get-config-service.info",
        "get-config-xdr.info",
        "get-config-xdr__dc-172.17.0.8_8901.info",
        "get-config-xdr__dc-172.17.0.8_8901__namespace-test.info",
        "get-config-xdr__dc-64_asia_sng_dr_1.info",
        "get-config-xdr__dc-64_asia_sng_dr_1__namespace-test.info",
        "logs.info",
    ],
)
def test_equals_8_1_2_2_capture(node8: EmulatedNode, name: str) -> None:
    command, value = capture(RUNTIME / "exporter-8.1.2.2" / name)
    assert node8.answer(command) == value


def test_log_levels_equal_8_1_2_2_capture_but_masking(node8: EmulatedNode) -> None:
    # The 8.1.1 schema (and the facts: "8.1.1 adds masking") list a `masking` context that the
    # exporter's log/0 line lacks: that mock file mixes captures (commented older lines, an
    # `as80_cluster_1` cluster), and its log/0 has 8.1's `deprecation` but not 8.1.1's `masking`,
    # so it is most likely an 8.1.0 log/0. The emulator follows the schema for the version; the
    # capture is compared with `masking` taken out of the node's answer.
    command, value = capture(RUNTIME / "exporter-8.1.2.2" / "log_0.info")
    got = (node8.answer(command) or "").split(";")
    assert "masking:INFO" in got and "masking" not in value
    assert ";".join(item for item in got if item != "masking:INFO") == value


def test_masking_context_from_8_1_1() -> None:
    assert "masking" in log_contexts("8.1.1.0") and "masking" in log_contexts("8.1.2.2")
    assert "masking" not in log_contexts("8.1.0.0")
    conf = "logging {\n  console {\n    context any info\n    context masking debug\n  }\n}\n"
    levels = EmulatedNode(conf, source="m.conf", build="8.1.2.0").answer("log/0") or ""
    assert "masking:DEBUG" in levels.split(";")
    old = EmulatedNode(conf, source="m.conf", build="8.1.0.1").answer("log/0") or ""
    assert "masking" not in old


@pytest.mark.parametrize("ns", ["test_only_mem", "test", "bar", "bar_pmem", "employees_flash"])
def test_namespace_config_equals_8_1_2_2_capture(node8: EmulatedNode, ns: str) -> None:
    expected = config_part(full_line(FULL_8, f"namespace-stats:{ns}:"))
    assert config_part(node8.answer(f"namespace/{ns}") or "") == expected
    # get-config prints the same keys, in the same order, without the statistics.
    got = node8.answer(f"get-config:context=namespace;namespace={ns}") or ""
    assert config_part(got) == expected
    assert [k for k, _ in pairs(got)] == [k for k, _ in expected]


def test_stripes_look_random_and_follow_persistence(node8: EmulatedNode) -> None:
    mem = dict(pairs(node8.answer("get-config:context=namespace;namespace=test_only_mem") or ""))
    stripes = [k for k in mem if k.startswith("storage-engine.stripe[")]
    assert len(stripes) == 8 and "storage-engine.flush-size" not in mem
    assert all(re.fullmatch(r"stripe-\d+\.0x[0-9a-f]+", mem[k]) for k in stripes)
    with_file = dict(pairs(node8.answer("get-config:context=namespace;namespace=test") or ""))
    assert [k for k in with_file if "stripe" in k] == ["storage-engine.stripe[0]"]
    assert with_file["storage-engine.flush-size"] == "1048576"


def test_sets_config_equals_8_1_2_2_capture(node8: EmulatedNode) -> None:
    _, value = capture(RUNTIME / "exporter-8.1.2.2" / "sets.info")
    got = node8.answer("sets/test") or ""
    want = [kv for kv in value.rstrip(";").split(":") if "-" in kv.split("=")[0]]
    assert [kv for kv in got.rstrip(";").split(":") if "-" in kv.split("=")[0]] == want
    assert got.startswith("ns=test:set=set2:objects=") and got.endswith(";")
    assert node8.answer("sets") == got  # only `test` has a set


def test_namespace_reply_is_statistics_then_config(node8: EmulatedNode) -> None:
    keys = [k for k, _ in pairs(node8.answer("namespace/bar") or "")]
    first_config = keys.index("active-rack")
    assert all("-" not in k or "]." in k for k in keys[:first_config])
    assert "storage-engine.file[0].used_bytes" in keys[:first_config]
    assert keys[-1] == "storage-engine.tomb-raider-sleep"


# --- equal to the 6.x capture ---------------------------------------------------------------

CONF_6 = """
service {
    cluster-name 63flash
    pidfile /var/run/aerospike/asd.pid
    feature-key-file /etc/aerospike/features.conf
    service-threads 5
    batch-index-threads 5
}
network {
    service {
        port 3000
    }
    heartbeat {
        mode mesh
        port 3002
    }
    fabric {
        port 3001
    }
    info {
        port 3003
    }
}
namespace test {
    memory-size 4G
    storage-engine memory
}
namespace bar_device {
    memory-size 4G
    storage-engine device {
        file /root/data/bar_device.dat
        filesize 16G
        data-in-memory true
    }
}
namespace ns_test_on_flash {
    memory-size 4G
    high-water-memory-pct 20
    index-type flash {
        mount /root/data/flash_disk_mount
        mount /root/data/flash_mount_drive_2
        mounts-high-water-pct 20
        mounts-size-limit 4G
    }
    storage-engine memory
}
namespace pmkohl_on_device {
    memory-size 4G
    index-type pmem {
        mount /root/data/pmem_pmkohl_mount
        mounts-size-limit 4G
    }
    sindex-type pmem {
        mount /root/data/sindex_pmem_pmkohl
        mounts-size-limit 4G
    }
    storage-engine pmem {
        file /root/data/pmkohl.dat
        filesize 4G
    }
}
xdr {
    dc backup_dc_asdev20 {
        node-address-port asdev20 3000
    }
}
"""


@pytest.fixture
def node6() -> EmulatedNode:
    return EmulatedNode(CONF_6, source="capture-6.conf", build="6.4.0.0", node_id="BB9060011AC4202")


@pytest.mark.parametrize(
    "name",
    [
        "get-config-service.info",
        "get-config-xdr__dc-backup_dc_asdev20.info",
        "get-config-xdr__dc-backup_dc_asdev20__namespace-test.info",
    ],
)
def test_equals_6_x_capture(node6: EmulatedNode, name: str) -> None:
    command, value = capture(RUNTIME / "exporter-6.x" / name)
    assert node6.answer(command) == value.strip()


@pytest.mark.parametrize("ns", ["test", "bar_device", "ns_test_on_flash", "pmkohl_on_device"])
def test_namespace_config_equals_6_x_capture(node6: EmulatedNode, ns: str) -> None:
    expected = config_part(full_line(FULL_6, f"namespace-stats:{ns}:"))
    assert config_part(node6.answer(f"get-config:context=namespace;id={ns}") or "") == expected


def test_mgmtlib_6_4_excerpts_are_subsequences() -> None:
    """The management-lib excerpts were cut short: their keys appear, in order, with the values."""
    conf = CONF_6 + "security {\n}\n"
    node = EmulatedNode(conf, source="x.conf", build="6.4.0.0")
    node.answer("get-config:context=network")
    for name in ("get-config-security.info", "get-config-network.info"):
        command, value = capture(RUNTIME / "mgmtlib-6.4-excerpts" / name)
        got = pairs(node.answer(command) or "")
        want = [p for p in pairs(value) if p[0] != "service.address"]
        positions = [got.index(p) for p in want]
        assert positions == sorted(positions), name


# --- units, logging, peers, versions ---------------------------------------------------------


def test_units_follow_the_parameter_type() -> None:
    conf = """
    service {
        proto-fd-max 15K
    }
    namespace t {
        default-ttl 30d
        storage-engine memory {
            data-size 4G
        }
    }
    xdr {
        dc d {
            namespace t {
                ship-versions-interval 2M
                ship-bin a
                ship-bin b
            }
        }
    }
    """
    node = EmulatedNode(conf, source="u.conf")
    service = dict(pairs(node.answer("get-config:context=service") or ""))
    assert service["proto-fd-max"] == "15360"
    ns = dict(pairs(node.answer("get-config:context=namespace;namespace=t") or ""))
    assert ns["default-ttl"] == "2592000"
    assert ns["storage-engine.data-size"] == "4294967296"
    dcns = dict(pairs(node.answer("get-config:context=xdr;dc=d;namespace=t") or ""))
    assert dcns["ship-versions-interval"] == "120"
    assert dcns["shipped-bins"] == "a,b" and dcns["ignored-bins"] == ""
    other = node.answer("get-config:context=xdr;dc=d") or ""
    assert other.endswith(";namespaces=t") and "node-address-port=;" in other


def test_string_values_are_kept_verbatim() -> None:
    # Found by tests/property/test_runtime_properties.py: the emulator read every token by its
    # shape, so `cluster-name 10K` printed 10240 and `pidfile True` printed true. Facts b: strings
    # are taken verbatim; only integers take K/M/G (durations s/m/h/d) and only booleans are
    # case-insensitive; the parameter's type comes from the table.
    conf = """
    service {
        cluster-name 10K
        pidfile True
        proto-fd-max 2k
        node-id 00a22
    }
    namespace t {
        default-ttl 2M
        storage-engine memory {
            data-size 1G
        }
    }
    """
    node = EmulatedNode(conf, source="s.conf", build="8.1.2.2")
    service = dict(pairs(node.answer("get-config:context=service") or ""))
    assert (service["cluster-name"], service["pidfile"]) == ("10K", "True")
    assert (service["proto-fd-max"], service["node-id"]) == ("2048", "A22")
    ns = dict(pairs(node.answer("get-config:context=namespace;namespace=t") or ""))
    assert ns["default-ttl"] == "120"


def test_network_repeated_and_indexed_keys() -> None:
    conf = """
    network {
        service {
            address 10.0.0.1
            address 10.0.0.2
            port 3000
        }
        heartbeat {
            mode mesh
            port 3002
            mesh-seed-address-port 10.0.0.1 3002
            mesh-seed-address-port 10.0.0.2 3002
            mtu 9000
        }
        fabric {
            port 3001
        }
        tls t1 {
            cert-file /c.pem
        }
    }
    namespace t {
        storage-engine device {
            device /dev/sdb /dev/sdc
            device /dev/sdd
        }
    }
    """
    node = EmulatedNode(conf, source="n.conf")
    net = pairs(node.answer("get-config:context=network") or "")
    assert [v for k, v in net if k == "service.address"] == ["10.0.0.1", "10.0.0.2"]
    seeds = [v for k, v in net if k == "heartbeat.mesh-seed-address-port"]
    assert seeds == ["10.0.0.1:3002", "10.0.0.2:3002"]
    assert ("heartbeat.mtu", "9000") in net
    assert ("tls[0].name", "t1") in net and ("tls[0].cert-file", "/c.pem") in net
    assert not any(k.startswith("info.") for k, _ in net)  # 8.1: info {} is gone
    assert "heartbeat.multicast-ttl" not in dict(net)
    ns = pairs(node.answer("get-config:context=namespace;namespace=t") or "")
    assert ("storage-engine.device[0]", "/dev/sdb") in ns
    assert ("storage-engine.device[0].shadow", "/dev/sdc") in ns
    assert ("storage-engine.device[1]", "/dev/sdd") in ns
    assert not any(k.startswith("storage-engine.stripe") for k, _ in ns)


def test_heartbeat_mtu_is_effective_when_unset(node8: EmulatedNode) -> None:
    net = dict(pairs(node8.answer("get-config:context=network") or ""))
    assert net["heartbeat.mtu"] == "1500"
    assert "service.address" not in net  # printed only when configured (8.x)


def test_logging_any_then_overrides_in_file_order() -> None:
    conf = """
    logging {
        file /var/log/a.log {
            context migrate debug
            context any info
        }
        console {
            context misc warning
        }
        syslog {
            facility local0
        }
        file /var/log/b.log {
            context any info
            context migrate debug
        }
    }
    """
    node = EmulatedNode(conf, source="l.conf")
    assert node.answer("logs") == "0:/var/log/a.log;1:stderr;2:/dev/log;3:/var/log/b.log"
    a = dict(kv.split(":") for kv in (node.answer("log/0") or "").split(";"))
    assert set(a.values()) == {"INFO"}
    console = dict(kv.split(":") for kv in (node.answer("log/1") or "").split(";"))
    assert console["misc"] == "WARNING" and console["xdr"] == "CRITICAL"
    b = dict(kv.split(":") for kv in (node.answer("log/3") or "").split(";"))
    assert b["migrate"] == "DEBUG" and b["hb"] == "INFO"
    assert list(a) == list(log_contexts("8.1.2.2"))
    assert node.answer("log/4") == "ERROR::bad-id"
    assert node.answer("log/x") == "ERROR::bad-id"


def test_peers_shape_matches_asadm_capture() -> None:
    command, value = capture(RUNTIME / "asadm-unit" / "peers-clear-std.info")
    node = EmulatedNode(EMPTY, source="p.conf", service_port=3000)
    assert node.answer(command) == "0,3000,[]"  # a single node: no peer change yet
    node.set_peers(
        [("BB9050011AC4202", "172.17.0.1", 3000), ("BB9070011AC4202", "2001:db8:85a3::8a2e", 6666)],
        generation=10,
    )
    assert node.answer(command) == value
    assert node.answer("peers-generation") == "10"
    node.set_peers([("BB9050011AC4202", "172.17.0.1", 3000)])
    assert node.answer("peers-generation") == "11"


def test_identity_commands_per_version() -> None:
    new = EmulatedNode(EMPTY, source="a.conf", build="8.1.2.2", cluster_name="c1")
    assert new.answer("release") and "version=8.1.2.2" in (new.answer("release") or "")
    # deprecated in 8.1.1 but still served by 8.1.2 (thr_info.c SPECS lists them)
    assert new.answer("version") == "Aerospike Enterprise Edition build 8.1.2.2"
    assert new.answer("edition") == "Aerospike Enterprise Edition"
    assert new.answer("cluster-name") == "c1"
    old = EmulatedNode(EMPTY, source="a.conf", build="8.1.0.0")
    assert old.answer("release") is None
    assert old.answer("version") == "Aerospike Enterprise Edition build 8.1.0.0"
    assert EmulatedNode(EMPTY, source="a.conf").answer("cluster-name") == "null"
    assert EmulatedNode("service {\n node-id a22\n}\n", source="b.conf").answer("node") == "A22"
    assert new.answer("no-such-command") is None


def test_get_config_without_context_and_security() -> None:
    plain = EmulatedNode(EMPTY, source="a.conf")
    assert plain.answer("get-config:context=security") == ""
    whole = plain.answer("get-config") or ""
    assert whole == ";".join(
        [
            plain.answer("get-config:context=service") or "",
            plain.answer("get-config:context=network") or "",
        ]
    )
    secured = EmulatedNode("security {\n ldap {\n polling-period 1h\n }\n}\n", source="s.conf")
    sec = dict(pairs(secured.answer("get-config:context=security") or ""))
    assert sec["ldap.polling-period"] == "3600" and sec["privilege-refresh-period"] == "300"
    assert (secured.answer("get-config") or "").endswith(
        secured.answer("get-config:context=security") or "x"
    )


# --- errors ---------------------------------------------------------------------------------


def test_errors_are_spelled_per_version(node8: EmulatedNode, node6: EmulatedNode) -> None:
    assert node8.answer("get-config:context=bogus") == "ERROR:4:invalid context"
    assert node8.answer("get-config:context=namespace;namespace=nope") == (
        "ERROR:20:namespace not found on node"
    )
    assert node8.answer("get-config:context=namespace;id=test") == node8.answer(
        "get-config:context=namespace;namespace=test"
    )
    assert node8.answer("get-config:context=namespace") == "ERROR:4:missing 'namespace'"
    assert node8.answer("get-config:foo=bar") == "ERROR:4:missing 'context'"
    assert node6.answer("get-config:context=bogus") == "Error::invalid context"
    # before 7.2 only `id=` selects a namespace
    assert node6.answer("get-config:context=namespace;namespace=test") == "Error::invalid id"
    assert node6.answer("get-config:context=namespace;id=nope") == "ERROR::namespace not found"
    assert node8.answer("namespace/nope") == "ERROR:20:namespace not found on node"
    assert node8.answer("get-config:context=xdr;dc=nope").startswith("ERROR:4:")
    assert node8.answer("sets/nope") == ""


# --- set-config and log-set change the running value only ------------------------------------


def test_set_config_changes_only_the_running_value(node8: EmulatedNode) -> None:
    before = pairs(node8.answer("get-config:context=service") or "")
    text_before = node8.tree.source
    assert node8.answer("set-config:context=service;proto-fd-max=20000") == "ok"
    after = pairs(node8.answer("get-config:context=service") or "")
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(("proto-fd-max", "15000"), ("proto-fd-max", "20000"))]
    assert node8.tree.source == text_before
    # a fresh node from the same conf still has the conf value
    fresh = EmulatedNode(CONF_8, source="again.conf")
    assert ("proto-fd-max", "15000") in pairs(fresh.answer("get-config:context=service") or "")


def test_set_config_every_context(node8: EmulatedNode) -> None:
    ok = [
        "set-config:context=network;heartbeat.interval=250",
        "set-config:context=namespace;namespace=test;default-ttl=3600",
        "set-config:context=namespace;id=bar;storage-engine.defrag-lwm-pct=60",
        "set-config:context=namespace;namespace=test;set=set2;stop-writes-count=5",
        "set-config:context=namespace;namespace=test;set=new1;default-ttl=10",
        "set-config:context=xdr;dc=64_asia_sng_dr_1;period-ms=50",
        "set-config:context=xdr;dc=64_asia_sng_dr_1;namespace=test;ship-nsup-deletes=true",
        "set-config:context=xdr;dc=64_asia_sng_dr_1;namespace=bar;action=add",
    ]
    for command in ok:
        assert node8.answer(command) == "ok", command
    net = dict(pairs(node8.answer("get-config:context=network") or ""))
    assert net["heartbeat.interval"] == "250"
    ns = dict(pairs(node8.answer("get-config:context=namespace;namespace=test") or ""))
    assert ns["default-ttl"] == "3600"
    bar = dict(pairs(node8.answer("get-config:context=namespace;namespace=bar") or ""))
    assert bar["storage-engine.defrag-lwm-pct"] == "60"
    sets = node8.answer("sets/test") or ""
    assert ":stop-writes-count=5:" in sets and "set=new1:" in sets and ":default-ttl=10:" in sets
    dc = dict(pairs(node8.answer("get-config:context=xdr;dc=64_asia_sng_dr_1") or ""))
    assert dc["period-ms"] == "50" and dc["namespaces"] == "test,bar"
    dcns = node8.answer("get-config:context=xdr;dc=64_asia_sng_dr_1;namespace=test") or ""
    assert "ship-nsup-deletes=true" in dcns


def test_set_config_errors(node8: EmulatedNode, node6: EmulatedNode) -> None:
    bad = "ERROR:4:invalid set-config parameter"
    assert node8.answer("set-config:context=service;no-such-param=1") == bad
    assert node8.answer("set-config:context=service;proto-fd-max=lots") == bad
    assert node8.answer("set-config:context=service;work-directory=/x") == bad  # static
    assert node8.answer("set-config:context=namespace;namespace=test;replication-factor=x") == bad
    assert node8.answer("set-config:context=namespace;namespace=zz;default-ttl=1") == (
        "ERROR:20:namespace not found on node"
    )
    assert node8.answer("set-config:context=bogus;a=1") == "ERROR:4:invalid context"
    assert node6.answer("set-config:context=service;no-such-param=1") == "error"
    assert node8.answer("set-config:context=security;privilege-refresh-period=60") == bad


def test_log_set_changes_only_one_context(node8: EmulatedNode) -> None:
    before = node8.answer("log/0") or ""
    assert node8.answer("log-set:id=0;migrate=debug") == "ok"
    after = node8.answer("log/0") or ""
    diff = set(after.split(";")) - set(before.split(";"))
    assert diff == {"migrate:DEBUG"}
    assert node8.answer("log-set:id=7;migrate=debug") == "ERROR::bad-id"
    assert node8.answer("log-set:id=0;nonsense=debug") == "ERROR::bad-context"
