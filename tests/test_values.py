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
