"""Canonical values: the server's unit and spelling rules."""

from __future__ import annotations

import pytest

from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.conf.values import canonical_values, parse_duration, parse_size


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("4G", 4 * 2**30),
        ("4096M", 4 * 2**30),
        ("4294967296", 4 * 2**30),
        ("15k", 15360),
        ("1T", 2**40),
        ("0", 0),
    ],
)
def test_sizes_are_powers_of_1024(token: str, expected: int) -> None:
    assert parse_size(token) == expected


@pytest.mark.parametrize("token", ["4GB", "4GiB", "1.5G", "-4G", "G", "4 G", ""])
def test_not_a_size(token: str) -> None:
    assert parse_size(token) is None


@pytest.mark.parametrize(
    ("token", "expected"),
    [("30d", 2592000), ("720h", 2592000), ("2M", 120), ("300S", 300), ("-1", -1), ("45", 45)],
)
def test_durations(token: str, expected: int) -> None:
    assert parse_duration(token) == expected


def test_same_letter_means_minutes_on_durations_and_mebibytes_elsewhere() -> None:
    assert canonical_values("ship-versions-interval", ("2M",)) == "120"
    assert canonical_values("flush-size", ("2M",)) == "2097152"
    assert canonical_values("default-ttl", ("30d",)) == "2592000"
    assert canonical_values("proto-fd-max", ("15K",)) == "15360"


def test_booleans_node_id_and_plain_strings() -> None:
    assert canonical_values("report-authentication", ("True",)) == "true"
    assert canonical_values("node-id", ("a22",)) == "A22"
    assert canonical_values("node-id", ("00a22",)) == "A22"
    assert canonical_values("cluster-name", ("Prod",)) == "Prod"
    assert canonical_values("mode", ("mesh",)) == "mesh"
    assert (
        canonical_values("stop-writes-count", ("18446744073709551615",)) == "18446744073709551615"
    )
    assert canonical_values("default-read-touch-ttl-pct", ("-1",)) == "-1"


def test_logging_levels_and_context_names_ignore_case() -> None:
    a = flatten(parse_text("logging {\n console {\n  context ANY Info\n }\n}\n"))
    b = flatten(parse_text("logging {\n console {\n  context any INFO\n }\n}\n"))
    assert a.settings["logging.console.context[any]"].canonical == "info"
    assert a.settings.keys() == b.settings.keys()


def test_context_any_overrides_earlier_contexts_in_file_order() -> None:
    tree = parse_text("logging {\n console {\n  context migrate debug\n  context any info\n }\n}\n")
    flat = flatten(tree)
    assert "logging.console.context[migrate]" not in flat.settings
    assert any("overridden by 'context any' at line 4" in w.message for w in tree.warnings)


def test_parameter_type_from_the_table_decides() -> None:
    def canon(stanza: str, line: str) -> str:
        flat = flatten(parse_text(f"{stanza} {{\n {line}\n}}\n"))
        return (
            next(iter(flat.settings.values())).canonical
            if stanza != "service"
            else flat.settings[f"service.{line.split()[0]}"].canonical
        )

    # A string parameter keeps what was written, even when it looks like a size or a boolean.
    assert canon("service", "cluster-name 4G") == "4G"
    assert canon("service", "cluster-name TRUE") == "TRUE"
    # An integer parameter takes the size suffix; a boolean ignores case.
    assert canon("service", "proto-fd-max 4K") == "4096"
    assert canon("service", "enable-health-check TRUE") == "true"
    # A parameter no schema knows is read by the token's shape.
    assert canon("service", "some-future-size 1K") == "1024"


# --- section b of the conf-format facts, line by line, over every parameter of the table -------


def _conf_for(pattern: str, line: str, engine: str | None) -> str:
    """Nested conf text that puts ``line`` at ``pattern``'s context (``namespace[*].set[*].x``)."""
    from ascad.conf.paths import segment_parts, split_path

    segments = split_path(pattern)[:-1]
    opens: list[str] = []
    for seg in segments:
        base, name = segment_parts(seg)
        if name is not None:
            opens.append(f"{base} {'/var/log/a.log' if base == 'file' else 'n1'} {{")
        elif base == "storage-engine":
            opens.append(f"storage-engine {engine or 'device'} {{")
        elif base in ("index-type", "sindex-type"):
            opens.append(f"{base} {engine or 'flash'} {{")
        else:
            opens.append(f"{base} {{")
    return "\n".join([*opens, line, *["}"] * len(opens)]) + "\n"


def _integer_and_bool_params() -> list[tuple[str, str, str, str | None]]:
    from ascad.knowledge.table import schema_versions, table_for

    table = table_for(schema_versions()[-1])
    out = []
    for pattern in table.patterns():
        info = table.get(pattern)
        assert info is not None
        if info.type in ("integer", "boolean") and ".context" not in pattern:
            engine = info.engines[0] if info.engines else None
            out.append((pattern, info.type, info.unit, engine))
    return out


@pytest.mark.parametrize(("pattern", "kind", "unit", "engine"), _integer_and_bool_params())
def test_every_integer_takes_its_unit_and_every_boolean_ignores_case(
    pattern: str, kind: str, unit: str, engine: str | None
) -> None:
    key = pattern.rsplit(".", 1)[-1]
    if kind == "boolean":
        flat = flatten(parse_text(_conf_for(pattern, f"{key} TRUE", engine)))
        assert flat.settings[_concrete(pattern)].canonical == "true"
        return
    flat = flatten(parse_text(_conf_for(pattern, f"{key} 2M", engine)))
    expected = "120" if unit == "duration" else str(2 * 2**20)  # minutes vs MiB
    assert flat.settings[_concrete(pattern)].canonical == expected
    flat = flatten(parse_text(_conf_for(pattern, f"{key} 3k", engine)))
    expected = "3k" if unit == "duration" else "3072"  # no K on a duration: kept as written
    assert flat.settings[_concrete(pattern)].canonical == expected


def _concrete(pattern: str) -> str:
    return pattern.replace("file[*]", "file[/var/log/a.log]").replace("[*]", "[n1]")


def test_duration_list_is_the_servers_cfg_seconds_list() -> None:
    """The 14 cfg_seconds parameters of cfg.c (8.1), each a duration wherever it appears."""
    from ascad.conf.values import DURATION_KEYS
    from ascad.knowledge.table import schema_versions, table_for

    table = table_for(schema_versions()[-1])
    durations = {
        p.rsplit(".", 1)[-1]
        for p in table.patterns()
        if table.get(p).unit == "duration"  # type: ignore[union-attr]
    }
    assert durations == DURATION_KEYS
    assert len(DURATION_KEYS) == 14


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("node-id a22", "node-id A22"),
        ("node-id 0a22", "node-id a22"),
        ("node-id 0xA22", "node-id a22"),
        ("proto-fd-max 15K", "proto-fd-max 15360"),
        ("proto-fd-max 015360", "proto-fd-max 15360"),
        ("migrate-fill-delay 1h", "migrate-fill-delay 3600"),
        ("migrate-fill-delay 60M", "migrate-fill-delay 1H"),
        ("enable-health-check True", "enable-health-check TRUE"),
    ],
)
def test_equivalent_service_values(a: str, b: str) -> None:
    _same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # cfg_bool() takes yes/no up to 7.1 (refused from 7.2: ascad validate says so)
        ("enable-health-check yes", "enable-health-check true"),
        ("enable-health-check No", "enable-health-check false"),
    ],
)
def test_yes_no_booleans_read_as_true_false(a: str, b: str) -> None:
    _same(a, b)


def test_a_string_yes_stays_yes() -> None:
    flat = flatten(parse_text("service {\n cluster-name yes\n}\n"))
    assert flat.settings["service.cluster-name"].canonical == "yes"


def test_valueless_benchmark_flag_is_true() -> None:
    text = "namespace t {\n enable-benchmarks-write\n enable-benchmarks-read true\n}\n"
    flat = flatten(parse_text(text))
    assert flat.settings["namespace[t].enable-benchmarks-write"].canonical == "true"
    assert flat.settings["namespace[t].enable-benchmarks-read"].canonical == "true"


def _same(a: str, b: str) -> None:
    fa = flatten(parse_text(f"service {{\n {a}\n}}\n"))
    fb = flatten(parse_text(f"service {{\n {b}\n}}\n"))
    key = a.split()[0]
    assert fa.settings[f"service.{key}"].canonical == fb.settings[f"service.{key}"].canonical


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("cluster-name Prod", "cluster-name prod"),  # strings are case-sensitive
        ("proto-fd-max 1KB", "proto-fd-max 1024"),  # no KB
        ("migrate-fill-delay 1K", "migrate-fill-delay 1024"),  # no K on a duration
    ],
)
def test_values_that_are_not_equivalent(a: str, b: str) -> None:
    fa = flatten(parse_text(f"service {{\n {a}\n}}\n"))
    fb = flatten(parse_text(f"service {{\n {b}\n}}\n"))
    key = a.split()[0]
    assert fa.settings[f"service.{key}"].canonical != fb.settings[f"service.{key}"].canonical


def test_negative_and_u64_max() -> None:
    text = (
        "namespace t {{\n default-read-touch-ttl-pct {0}\n set s {{\n  stop-writes-count {1}\n"
        " }}\n storage-engine memory\n}}\n"
    )
    a = flatten(parse_text(text.format("-1", "18446744073709551615")))
    b = flatten(parse_text(text.format("-01", "18446744073709551615")))
    for path in (
        "namespace[t].default-read-touch-ttl-pct",
        "namespace[t].set[s].stop-writes-count",
    ):
        assert a.settings[path].canonical == b.settings[path].canonical
    assert a.settings["namespace[t].default-read-touch-ttl-pct"].canonical == "-1"
    assert a.settings["namespace[t].set[s].stop-writes-count"].canonical == str(2**64 - 1)
    ttl = flatten(parse_text("namespace t {\n default-ttl -1\n storage-engine memory\n}\n"))
    assert ttl.settings["namespace[t].default-ttl"].canonical == "-1"
