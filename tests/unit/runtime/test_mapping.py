"""Runtime key/value lists -> conf paths, on the real captures and on the documented special cases."""

from __future__ import annotations

from ascad.compare.drift import drift
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.conf.render import render
from ascad.runtime.mapping import flat_to_tree, runtime_to_flat, split_path
from ascad.runtime.snapshot import RuntimeSnapshot, parse_kv, snapshot_from_answers
from tests.helpers import capture_answers


def snap_81() -> RuntimeSnapshot:
    a = capture_answers(
        "exporter-8.1.2.2", node="BB92C3F62DE4DCE", namespaces="test;employees_flash"
    )
    a["sets/test"] = a["sets"]
    return snapshot_from_answers("127.0.0.1:3000", a)


def conf_flat(text: str):
    return flatten(parse_text(text, "t.conf"))


# --- the 8.1.2.2 capture mapped ------------------------------------------------------------------


def test_8_1_capture_maps_to_conf_paths() -> None:
    flat = runtime_to_flat(snap_81())
    s = flat.settings
    assert s["service.proto-fd-max"].canonical == "15000"
    assert s["service.feature-key-file[0]"].value == "/etc/aerospike/features.conf"
    assert s["namespace[employees_flash].index-type"].value == "flash"
    assert s["namespace[employees_flash].index-type"].stanza
    assert s["namespace[employees_flash].index-type.mount[0]"].value == (
        "/opt/aerospike/data/emp_flash_index"
    )
    assert s["namespace[test].storage-engine"].value == "memory"
    assert s["namespace[test].storage-engine.file[0]"].value == "/opt/aerospike/data/test.dat"
    assert not any("stripe" in p for p in s)  # random per boot: runtime-only
    assert s["namespace[test].set[set2].enable-index"].value == "true"
    dc = "xdr.dc[172.17.0.8:8901]"
    assert s[f"{dc}.node-address-port[172.17.0.8:8901]"].value == "172.17.0.8 8901"
    assert f"{dc}.namespace[test]" in s
    assert not any(p.endswith((".dcs", ".namespaces", ".enabled", "trace-sample")) for p in s)
    log = "logging.file[/var/log/aerospike.log]"
    assert s[f"{log}.context[misc]"].value == "info"
    assert s[f"{log}.context[drv_ssd]"].value == "info"
    assert all(v.line == 0 for v in s.values())


def test_dc_name_with_colon_is_one_segment() -> None:
    assert split_path("xdr.dc[172.17.0.8:8901].namespace[test].ship-bin[a]") == (
        "xdr",
        "dc[172.17.0.8:8901]",
        "namespace[test]",
        "ship-bin[a]",
    )


# --- special cases, each against the conf parser's own flattening --------------------------------


def _snap(**kw) -> RuntimeSnapshot:
    return RuntimeSnapshot(address="h:3000", node_id="A", build=kw.pop("build", "8.1.2.2"), **kw)


def test_shadow_file_folds_into_the_list_element() -> None:
    snap = _snap(
        namespaces={
            "t": parse_kv(
                "storage-engine=device;storage-engine.file[0]=/a.dat;storage-engine.file[0].shadow=/b.dat;"
                "storage-engine.file[1]=/c.dat"
            )
        }
    )
    run = runtime_to_flat(snap).settings
    conf = conf_flat(
        "namespace t {\n storage-engine device {\n  file /a.dat /b.dat\n  file /c.dat\n }\n}\n"
    ).settings
    for path in ("namespace[t].storage-engine.file[0]", "namespace[t].storage-engine.file[1]"):
        assert run[path].canonical == conf[path].canonical
    assert run["namespace[t].storage-engine.file[0]"].value == "/a.dat /b.dat"


def test_tls_index_becomes_the_tls_name_and_seeds_become_sets() -> None:
    snap = _snap(
        network=parse_kv(
            "tls[0].name=t1;tls[0].cert-file=/c.pem;heartbeat.mode=mesh;"
            "heartbeat.mesh-seed-address-port=10.0.0.1:3002;"
            "heartbeat.mesh-seed-address-port=2001:db8::1:3002;service.address=any"
        )
    )
    run = runtime_to_flat(snap).settings
    conf = conf_flat(
        "network {\n tls t1 {\n  cert-file /c.pem\n }\n heartbeat {\n  mode mesh\n"
        "  mesh-seed-address-port 10.0.0.1 3002\n  mesh-seed-address-port 2001:db8::1 3002\n"
        " }\n service {\n  address any\n }\n}\n"
    ).settings
    for path, setting in conf.items():
        assert path in run, path
        assert run[path].canonical == setting.canonical, path


def test_xdr_lists_are_renamed_and_split() -> None:
    snap = _snap(
        xdr=parse_kv("dcs=DC1;src-id=0"),
        dcs={"DC1": parse_kv("node-address-port=10.0.0.9:3000;namespaces=test")},
        dc_namespaces={
            "DC1": {
                "test": parse_kv(
                    "enabled=true;shipped-bins=a,b;ignored-bins=;ship-versions-interval=120"
                )
            }
        },
    )
    run = runtime_to_flat(snap).settings
    conf = conf_flat(
        "xdr {\n dc DC1 {\n  node-address-port 10.0.0.9 3000\n  namespace test {\n"
        "   ship-bin a\n   ship-bin b\n   ship-versions-interval 2M\n  }\n }\n}\n"
    ).settings
    assert set(conf) <= set(run)
    for path, setting in conf.items():
        assert run[path].canonical == setting.canonical, path
    assert not any("ignore-bin[" in p for p in run)


def test_logging_sinks_console_and_syslog() -> None:
    snap = _snap(
        logs=[("0", "stderr"), ("1", "/dev/log")],
        log_levels={"0": [("misc", "INFO")], "1": [("misc", "WARNING")]},
    )
    run = runtime_to_flat(snap).settings
    assert run["logging.console.context[misc]"].value == "info"
    assert run["logging.syslog.context[misc]"].value == "warning"
    assert run["logging.syslog.path"].value == "/dev/log"


def test_versions_renames_4_x_sets_and_6_4_security() -> None:
    old = _snap(
        build="4.5.1.5",
        sets={"test": {"s": parse_kv("stop-writes-count=5")}},
        namespaces={"test": []},
    )
    assert "namespace[test].set[s].set-stop-writes-count" in runtime_to_flat(old).settings
    new = _snap(
        build="5.7.0.0",
        sets={"test": {"s": parse_kv("stop-writes-count=5")}},
        namespaces={"test": []},
    )
    assert "namespace[test].set[s].stop-writes-count" in runtime_to_flat(new).settings
    sec = _snap(
        build="6.4.0.0",
        security=parse_kv(
            capture_answers("mgmtlib-6.4-excerpts")["get-config:context=security"] or ""
        ),
    )
    run = runtime_to_flat(sec).settings
    assert "security.enable-security" not in run  # obsolete in the 5.7+ conf
    assert run["security.ldap.polling-period"].value == "300"


# --- the reverse: flat -> conf text -> parse -> zero drift -------------------------------------


def test_rendered_runtime_parses_back_to_zero_drift() -> None:
    snap = snap_81()
    tree = flat_to_tree(
        runtime_to_flat(snap), include=lambda s: s.canonical != "null", build=snap.build
    )
    text = render(tree)
    assert "context any info" in text and "storage-engine memory {" in text
    reparsed = parse_text(text, "shown.conf")
    result, _ = drift(reparsed, flatten(reparsed), snap)
    assert result.differences == []


def test_memory_one_liner_before_7_0() -> None:
    snap = _snap(
        build="6.3", namespaces={"t": parse_kv("memory-size=4294967296;storage-engine=memory")}
    )
    text = render(flat_to_tree(runtime_to_flat(snap), build=snap.build))
    assert "    storage-engine memory\n" in text
    assert parse_text(text, "x").root.find("namespace", "t") is not None


def test_single_multi_token_key_is_split_back_into_its_conf_tokens() -> None:
    # secrets-address-port h p [tls] prints h:p[:tls] (multi-token lines are joined with `:`).
    cases = {
        "test_dns_name:4000:127.0.0.1": "test_dns_name 4000 127.0.0.1",
        "vault.local:3005": "vault.local 3005",
        "2001:db8::1:3005:tls1": "2001:db8::1 3005 tls1",
    }
    for printed, line in cases.items():
        snap = _snap(service=parse_kv(f"secrets-address-port={printed};pidfile=null"))
        run = runtime_to_flat(snap).settings
        conf = conf_flat(f"service {{\n secrets-address-port {line}\n}}\n").settings
        path = "service.secrets-address-port"
        assert run[path].value == line
        assert run[path].canonical == conf[path].canonical, printed
    unset = runtime_to_flat(_snap(service=parse_kv("secrets-address-port=null"))).settings
    assert unset["service.secrets-address-port"].value == "null"


def test_string_values_keep_their_spelling_on_both_sides() -> None:
    # Found by tests/property/test_runtime_properties.py: the runtime side read every value by its
    # shape, so `cluster-name=10K` became 10240 and `pidfile=True` became true, while the conf side
    # (with the table's type) kept them: a false `changed`. Facts b: strings are verbatim.
    snap = _snap(
        service=parse_kv("cluster-name=10K;pidfile=True;proto-fd-max=2048;node-id=A22"),
        namespaces={"t": parse_kv("default-ttl=120;storage-engine=memory")},
    )
    run = runtime_to_flat(snap).settings
    assert run["service.cluster-name"].canonical == "10K"
    assert run["service.pidfile"].canonical == "True"
    conf = conf_flat(
        "service {\n cluster-name 10K\n pidfile True\n proto-fd-max 2K\n node-id 0a22\n}\n"
        "namespace t {\n default-ttl 2m\n storage-engine memory\n}\n"
    ).settings
    for path in (
        "service.cluster-name",
        "service.pidfile",
        "service.proto-fd-max",
        "service.node-id",
        "namespace[t].default-ttl",
    ):
        assert run[path].canonical == conf[path].canonical, path
