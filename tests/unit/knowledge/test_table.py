"""The per-version parameter table: generator reproducibility, version mapping and lookups."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from ascad.errors import AscadError
from ascad.knowledge.table import (
    ParamInfo,
    schema_version_for,
    schema_versions,
    table_for,
    unit_kind,
    versions_of,
)
from tests.helpers import ROOT

COMMITTED = ROOT / "src" / "ascad" / "knowledge" / "params.json"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_params", ROOT / "tools" / "gen_params.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_table(tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    assert _generator().main(["--output", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()
    # and units.json beside it, which parsing and flattening read instead of the whole table
    assert (tmp_path / "units.json").read_bytes() == COMMITTED.with_name("units.json").read_bytes()


def test_units_json_is_the_newest_variant_of_every_param() -> None:
    params = json.loads(COMMITTED.read_text(encoding="utf-8"))["params"]
    units = json.loads(COMMITTED.with_name("units.json").read_text(encoding="utf-8"))
    assert units.keys() == params.keys()
    for pattern, variants in params.items():
        newest = variants[-1]
        want = "bool" if newest["type"] == "boolean" else newest.get("unit", "plain")
        assert units[pattern] == want, pattern
    assert unit_kind("namespace[test].default-ttl") == "duration"
    assert unit_kind("namespace[test].storage-engine.write-block-size") == "size"


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen = _generator()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    gen.main(["--output", str(a)])
    gen.main(["--output", str(b)])
    assert a.read_bytes() == b.read_bytes()


def test_singular_names_of_schema_lists() -> None:
    gen = _generator()
    assert gen.singular("mesh-seed-address-ports") == "mesh-seed-address-port"
    assert gen.singular("addresses") == "address"
    assert gen.singular("tls-alternate-access-addresses") == "tls-alternate-access-address"
    assert gen.singular("files") == "file"
    assert gen.singular("report-data-op") == "report-data-op"


@pytest.mark.parametrize(
    ("build", "schema"),
    [
        ("8.1.1.0", "8.1.1"),
        ("8.1.2.2", "8.1.2"),  # the 8.1.1 schema plus what a real 8.1.2.2 node prints
        ("8.2.0.1", "8.1.2"),  # newer than any schema: the newest
        ("8.1", "8.1.0"),
        ("7.2.0.0-rc1", "7.2.0"),
        ("7.0.0.0", "7.0.0"),
        ("6.3.0.6", "6.3.0"),  # every minor release has its schema
        ("6.0.0.1", "6.0.0"),
        ("4.5.1.5", "4.5.1"),  # 4.5 has four (4.5.0 … 4.5.3)
        ("6.4", "6.4.0"),
        ("5.7.0.17", "5.7.0"),
        ("4.0.0.1", "4.0.0"),
        ("3.14.1.1", "4.0.0"),  # older than any schema: the oldest
    ],
)
def test_schema_version_for(build: str, schema: str) -> None:
    assert schema_version_for(build) == schema
    assert table_for(build).version == schema


@pytest.mark.parametrize("bad", ["", "foo", "x.1", "eight"])
def test_bad_version_is_an_ascad_error(bad: str) -> None:
    with pytest.raises(AscadError, match="not a server version"):
        schema_version_for(bad)


def test_durations_and_sizes() -> None:
    t = table_for("8.1.1")
    ttl = t.lookup("namespace[test].default-ttl")
    assert ttl is not None and ttl.unit == "duration" and ttl.type == "integer"
    svi = t.lookup("xdr.dc[DC1].namespace[test].ship-versions-interval")
    assert svi is not None and svi.unit == "duration"
    assert svi.minimum == 1 and svi.maximum == 3600 and svi.default_canonical == "60"
    flush = t.lookup("namespace[test].storage-engine.flush-size")
    assert flush is not None and flush.unit == "size"
    set_ttl = t.lookup("namespace[test].set[s1].default-ttl")
    assert set_ttl is not None and set_ttl.unit == "duration"
    assert t.lookup("security.ldap.polling-period").unit == "duration"  # type: ignore[union-attr]
    # *-ms parameters are plain integers: the K/M/G suffixes apply (1K ms = 1024 ms), not s/m/h/d
    assert t.lookup("service.info-max-ms").unit == "size"  # type: ignore[union-attr]
    assert t.lookup("service.proto-fd-max").unit == "size"  # type: ignore[union-attr]


def test_unit_kind_is_version_independent() -> None:
    assert unit_kind("xdr.dc[DC1].namespace[test].ship-versions-interval") == "duration"
    assert unit_kind("namespace[test].storage-engine.flush-size") == "size"
    assert unit_kind("namespace[test].memory-size") == "size"  # only up to 6.4
    assert unit_kind("service.run-as-daemon") == "bool"
    assert unit_kind("service.cluster-name") == "plain"
    assert unit_kind("network.heartbeat.mode") == "plain"
    assert unit_kind("namespace[x].no-such-thing") == "plain"
    assert unit_kind("service.migrate-fill-delay") == "duration"


def test_storage_engine_types() -> None:
    t7 = table_for("7.0.0")
    se = t7.lookup("namespace[test].storage-engine")
    assert se is not None and se.is_stanza and se.enum == ("device", "memory", "pmem")
    wbs = t7.lookup("namespace[test].storage-engine.write-block-size")
    assert wbs is not None and wbs.engines == ("device",)
    data_size = t7.lookup("namespace[test].storage-engine.data-size")
    assert data_size is not None and data_size.engines == ("memory",)
    files = t7.lookup("namespace[test].storage-engine.file[0]")
    assert files is not None and files.type == "list" and set(files.engines or ()) >= {"device"}
    mounts_budget = t7.lookup("namespace[test].index-type.mounts-budget")
    # pmem's minimum is 1G, flash's 4G: the table keeps the loosest
    assert mounts_budget is not None and mounts_budget.minimum == 1 << 30
    assert mounts_budget.engines == ("flash", "pmem")


def test_plural_lists_use_the_conf_key() -> None:
    t = table_for("8.1.1")
    for path in (
        "network.heartbeat.mesh-seed-address-port[10.0.0.1:3002]",
        "network.service.address[any]",
        "network.service.tls-authenticate-client[any]",
        "namespace[test].storage-engine.device[0]",
        "namespace[test].index-type.mount[0]",
        "service.feature-key-file[0]",
        "xdr.dc[DC1].node-address-port[10.0.0.9:3000]",
        "xdr.dc[DC1].namespace[test].ship-bin[a]",
        "security.ldap.role-query-pattern[(&(x=${un}))]",
        "security.log.report-data-op[test]",
    ):
        info = t.lookup(path)
        assert info is not None, path
        assert info.type == "list", path
        assert info.default_canonical is None
    assert t.get("network.heartbeat.mesh-seed-address-ports") is None  # no schema spelling
    assert t.get("service.feature-key-files") is None


def test_named_stanzas_and_names_with_dots() -> None:
    t = table_for("8.1.1")
    log = t.lookup("logging.file[/var/log/a.log].context[any]")
    assert log is not None and log.type == "enum" and log.keys is not None
    assert "any" in log.keys and log.default_canonical == "CRITICAL"
    assert t.lookup("logging.console.context[misc]") is not None
    tls = t.lookup("network.tls[tls1.example.com].cert-file")
    assert tls is not None and tls.enterprise_only
    ns = t.lookup("namespace[test]")
    assert ns is not None and ns.is_stanza and ns.named
    assert t.lookup("xdr.dc[172.17.0.8:8901]") is not None  # DC names may contain ':'


def test_param_removed_in_70() -> None:
    assert table_for("6.4.0.1").lookup("namespace[test].memory-size") is not None
    assert table_for("7.0.0.0").lookup("namespace[test].memory-size") is None
    assert versions_of("namespace[*].memory-size")[0] == "4.0.0"
    assert versions_of("namespace[*].memory-size")[-1] == "6.4.0"
    info = table_for("6.4").lookup("namespace[test].memory-size")
    assert isinstance(info, ParamInfo) and info.until == "6.4.0" and info.since == "4.0.0"


def test_params_added_in_81() -> None:
    assert table_for("8.0.0").lookup("network.admin.port") is None
    admin = table_for("8.1.0").lookup("network.admin.port")
    assert admin is not None and admin.since == "8.1.0"
    ou = table_for("8.1.0").lookup("network.tls[t].pki-user-append-ou")
    assert ou is not None and ou.since == "8.1.0"
    assert table_for("8.0").lookup("namespace[t].apply-ttl-reductions") is None
    # network info {} is gone from the 8.1 schemas
    assert table_for("8.0").lookup("network.info.port") is not None
    assert table_for("8.1").lookup("network.info.port") is None


def test_log_contexts_per_version() -> None:
    def names(build: str) -> tuple[str, ...]:
        info = table_for(build).lookup("logging.console.context[any]")
        assert info is not None and info.keys is not None
        return info.keys

    assert "masking" in names("8.1.1") and "masking" not in names("8.1.0")
    assert "deprecation" in names("8.1.0") and "deprecation" not in names("8.0.0")
    assert "syslog" not in table_for("6.0").keys_in("logging")
    assert "syslog" in table_for("6.4").keys_in("logging")


def test_default_canonical() -> None:
    t = table_for("8.1.1")
    assert t.lookup("service.advertise-ipv6").default_canonical == "false"  # type: ignore[union-attr]
    assert t.lookup("service.cluster-name").default_canonical == "null"  # type: ignore[union-attr]
    assert t.lookup("service.proto-fd-max").default_canonical == "15000"  # type: ignore[union-attr]
    assert t.lookup("service.auto-pin").default_canonical == "none"  # type: ignore[union-attr]
    mode = t.lookup("network.heartbeat.mode")
    assert mode is not None and mode.default_canonical == "null"  # schema default ""
    assert t.lookup("namespace[x].storage-engine").default_canonical is None  # type: ignore[union-attr]


def test_machine_dependent_defaults() -> None:
    t = table_for("8.1.1")
    for path in (
        "service.service-threads",
        "service.batch-index-threads",
        "service.node-id",
        "network.heartbeat.mtu",
    ):
        info = t.lookup(path)
        assert info is not None and info.machine_dependent, path
        assert info.default_canonical is None, path
    info = t.lookup("service.info-threads")
    assert info is not None and info.machine_dependent is None
    assert info.default_canonical == "16"


def test_dynamic_and_enterprise_flags() -> None:
    t = table_for("8.1.1")
    assert t.lookup("namespace[t].replication-factor").dynamic is False  # type: ignore[union-attr]
    assert t.lookup("namespace[t].default-ttl").dynamic is True  # type: ignore[union-attr]
    assert t.lookup("xdr.dc[d].auth-mode").enterprise_only is True  # type: ignore[union-attr]


def test_supplement_812() -> None:
    assert "8.1.2" in schema_versions()
    assert table_for("8.1.1").lookup("service.cgroup-mem-tracking") is None
    info = table_for("8.1.2.2").lookup("service.cgroup-mem-tracking")
    assert info is not None and info.type == "boolean" and info.default_canonical == "false"
    assert table_for("8.1.2.2").lookup("namespace[t].tomb-raider-unmark-threads") is not None
    # everything else of 8.1.1 is there too
    assert len(table_for("8.1.2")) == len(table_for("8.1.1")) + 2


def test_keys_in_lists_a_context() -> None:
    t = table_for("8.1.1")
    keys = t.keys_in("namespace[*].storage-engine")
    assert "data-size" in keys and "write-block-size" not in keys and keys == sorted(keys)
    top = t.keys_in("")
    assert {"service", "network", "namespace", "logging", "xdr", "security", "mod-lua"} <= set(top)
    assert "set" in t.keys_in("namespace[*]")


def test_table_is_cached() -> None:
    assert table_for("8.1.2.2") is table_for("8.1.2.0")


# --- every schema, and the server parser's facts per version ------------------------------------


def test_every_published_schema_is_in_the_table() -> None:
    files = sorted(p.stem for p in (ROOT / "tools" / "schemas").glob("*.json"))
    assert len(files) == 33
    assert set(files) <= set(schema_versions())
    assert schema_versions()[0] == "4.0.0" and schema_versions()[-1] == "8.1.2"


def test_the_server_facts_cover_every_schema_version() -> None:
    import json

    facts = json.loads((ROOT / "tools" / "server_facts.json").read_text())["versions"]
    files = {p.stem for p in (ROOT / "tools" / "schemas").glob("*.json")}
    assert set(facts) == files
    # each read from the first release tag of its minor version
    assert facts["4.9.0"]["tag"] == "4.9.0.3" and facts["7.2.0"]["tag"] == "7.2.0.1"


def test_deprecated_renamed_value_ignored_and_yes_no_by_version() -> None:
    from ascad.knowledge.table import (
        deprecated_where,
        renamed_to,
        value_ignored_where,
        yes_no_where,
    )

    assert deprecated_where("service.paxos-recovery-policy", "4.9.0") == "cfg.c:2698@4.9.0.3"
    assert deprecated_where("service.paxos-recovery-policy", "5.0.0") is None
    assert deprecated_where("namespace[*].si{}", "4.9.0") is not None
    # one citation per run of versions: the line at the run's last tag
    assert renamed_to("service.client-fd-max", "4.5.0") == ("proto-fd-max", "cfg.c:2409@4.9.0.3")
    assert value_ignored_where("namespace[*].enable-benchmarks-write", "7.1.0") is not None
    assert value_ignored_where("namespace[*].enable-benchmarks-write", "7.2.0") is None
    assert value_ignored_where("namespace[*].storage-engine.enable-benchmarks-storage", "4.0.0")
    assert yes_no_where("7.1.0") is not None and yes_no_where("7.2.0") is None
    assert yes_no_where("8.1.2") is None  # the supplement has its base's facts


def test_a_3x_build_has_no_table_for_defaults_but_a_stand_in_for_validate() -> None:
    from ascad.knowledge.table import is_older_than_table, older_than_table_message, table_or_none

    assert is_older_than_table("3.14.1.1") and not is_older_than_table("4.0.0.1")
    assert table_or_none("3.14.1.1") is None and table_or_none("4.0.0.1") is not None
    assert table_for("3.14.1.1").version == "4.0.0"
    message = older_than_table_message("3.14.1.1")
    assert message is not None and "no default is assumed" in message
    assert older_than_table_message("6.4.0.0") is None
    assert older_than_table_message("banana") is None
