"""Validation (ascad.checks.validate): real confs give no false error; bad fixtures give exactly the
expected problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.checks.validate import Problem, validate_tree
from ascad.conf.parser import parse_text
from ascad.sources.local import parse_file
from tests.helpers import BAD_CONFS, CONF_DIR, EXPECTED_ERRORS, NO_STORAGE, sample_versions

# Warnings that are right: the file really is wrong for the server (docs/knowledge.md explains).
EXPECTED_WARNINGS = {
    "asconfig-6.4-metadata.conf": [(56, "parser")],
    "asconfig-server64.conf": [(52, "parser")],
    "asconfig-server70.conf": [(61, "parser"), (109, "parser")],
    "real-6.2-xdr-tls-ldap-4ns.conf": [(108, "parser")],
}


def test_every_sample_has_a_version() -> None:
    rows = sample_versions()
    on_disk = {p.name for p in CONF_DIR.glob("*.conf")}
    assert {name for name, _ in rows} == on_disk
    assert len(rows) == len(on_disk) >= 35


@pytest.mark.parametrize(("name", "version"), sample_versions())
def test_sample_conf_has_no_error_for_its_version(name: str, version: str) -> None:
    problems = validate_tree(parse_file(CONF_DIR / name), version)
    errors = [p for p in problems if p.severity == "error"]
    assert [(p.line, p.kind) for p in errors] == EXPECTED_ERRORS.get(name, [])
    assert all(p.message.startswith(NO_STORAGE) for p in errors)
    warnings = [p for p in problems if p.severity == "warning"]
    assert [(p.line, p.kind) for p in warnings] == EXPECTED_WARNINGS.get(name, [])


def _only(path: Path, version: str) -> list[Problem]:
    return validate_tree(parse_file(path), version)


def _one(path: Path, version: str) -> Problem:
    problems = _only(path, version)
    assert len(problems) == 1, problems
    return problems[0]


ONE_PROBLEM = {
    "typo-did-you-mean": (
        "typo-8.1.conf",
        (33, 2, "error", "unknown"),
        ["'replication-factr'", "did you mean 'replication-factor'?"],
    ),
    "out-of-range-value": (
        "out-of-range-8.1.conf",
        (24, 3, "error", "range"),
        ["'timeout' 1 is out of range", "3 to 4294967295"],
    ),
    "misplaced-stanza": (
        "misplaced-stanza-8.1.conf",
        (36, 3, "error", "context"),
        ["'set' stanza is not allowed in namespace[*].storage-engine", "belongs in namespace[*]"],
    ),
}


@pytest.mark.parametrize("case", list(ONE_PROBLEM))
def test_one_bad_line_is_one_problem_at_its_place(case: str) -> None:
    name, place, words = ONE_PROBLEM[case]
    p = _one(BAD_CONFS / name, "8.1")
    assert (p.line, p.col, p.severity, p.kind) == place
    for word in words:
        assert word in p.message


def test_obsolete_parameter_for_the_version() -> None:
    p = _one(BAD_CONFS / "obsolete-memory-size-7.0.conf", "7.0.0.0")
    assert (p.line, p.severity, p.kind, p.path) == (
        34,
        "error",
        "version",
        "namespace[*].memory-size",
    )
    assert "obsolete" in p.message and "6.4.0" in p.message and "7.0.0" in p.message
    # the same file is fine where memory-size still exists... except data-size, new in 7.0
    old = _only(BAD_CONFS / "obsolete-memory-size-7.0.conf", "6.4.0.1")
    assert [(q.line, q.kind) for q in old] == [(35, "syntax"), (36, "version")]
    assert "first appears in schema 7.0.0" in old[1].message


def test_unparsable_and_wrong_values() -> None:
    problems = _only(BAD_CONFS / "bad-values-8.1.conf", "8.1")
    assert [(p.line, p.kind) for p in problems] == [
        (20, "enum"),  # mode meshy
        (34, "unit"),  # default-ttl 30x
        (35, "enum"),  # enable-benchmarks-read yes
        (37, "unit"),  # data-size 4GB
    ]
    assert "did you mean 'mesh'?" in problems[0].message
    assert "duration" in problems[1].message

    # flush-size 2M (2 MiB) and ship-versions-interval 2M (2 minutes) are both fine


def test_wrong_places() -> None:
    problems = _only(BAD_CONFS / "wrong-place-7.0.conf", "7.0")
    assert [(p.line, p.kind) for p in problems] == [(5, "context"), (10, "unknown"), (37, "engine")]
    assert "belongs in namespace[*]" in problems[0].message
    assert "did you mean 'migrate'?" in problems[1].message
    assert "'storage-engine memory'" in problems[2].message and "only device" in problems[2].message


def _text(conf: str, version: str) -> list[Problem]:
    return validate_tree(parse_text(conf, "t.conf"), version)


def test_memory_one_liner_before_and_after_70() -> None:
    conf = "namespace t {\n  memory-size 4G\n  storage-engine memory\n}\n"
    assert _text(conf, "6.4.0.1") == []
    kinds = [(p.line, p.kind) for p in _text(conf, "7.0.0.0")]
    assert kinds == [(2, "version"), (3, "syntax")]


def test_every_minor_release_has_its_schema() -> None:
    # logging syslog {} exists from 6.3 (schema 6.3.0); 6.0, 6.1 and 6.2 refuse it.
    conf = "logging {\n  syslog {\n    facility local0\n    context any info\n  }\n}\n"
    assert _text(conf, "6.3.0.6") == []
    (p,) = _text(conf, "6.2.0.1")
    assert (p.line, p.kind) == (2, "version") and "first appears in schema 6.3.0" in p.message


def test_network_info_on_81_is_a_warning() -> None:
    conf = "network {\n  info {\n    port 3003\n  }\n}\n"
    assert _text(conf, "8.0.0.12") == []
    (p,) = _text(conf, "8.1.0.0")
    assert (p.severity, p.line) == ("warning", 2)


def test_unknown_on_newer_build_is_a_warning() -> None:
    conf = "service {\n  brand-new-param 1\n}\n"
    (p,) = _text(conf, "8.1.1.0")
    assert p.severity == "error"
    (p,) = _text(conf, "9.0.0.0")
    assert p.severity == "warning" and "newer than the newest schema" in p.message


def test_value_rules() -> None:
    conf = (
        "service {\n"
        "  proto-fd-max 15K\n"  # a suffix on any integer
        "  migrate-fill-delay 1h\n"  # a duration
        "  advertise-ipv6 True\n"  # booleans in any case
        "}\n"
        "namespace t {\n"
        "  default-ttl -1\n"  # the literal -1
        "  storage-engine device {\n"
        "    file /opt/t.dat /opt/shadow.dat\n"
        "    compression-acceleration 0\n"  # the default, though the schema says min 1
        "    defrag-lwm-pct 100\n"  # max 99
        "  }\n"
        "}\n"
    )
    problems = _text(conf, "8.1.1")
    assert [(p.line, p.kind) for p in problems] == [(11, "range")]


def test_unknown_stanza_and_log_level() -> None:
    conf = (
        "logging {\n  console {\n    context any loud\n  }\n}\n"
        "network {\n  heartbeet {\n    mode mesh\n  }\n}\n"
    )
    problems = _text(conf, "8.1")
    assert [(p.line, p.kind) for p in problems] == [(3, "enum"), (7, "unknown")]
    assert "did you mean 'heartbeat'?" in problems[1].message


# --- storage-engine count and the server version in every error -----------------------------------


def test_second_storage_engine_is_an_error_naming_the_version() -> None:
    tree = parse_text(
        "namespace t {\n    storage-engine memory {\n        data-size 4G\n    }\n"
        "    storage-engine device {\n        file /a.dat\n    }\n}\n",
        "s.conf",
    )
    problems = validate_tree(tree, "8.1.2.2")
    errors = [p for p in problems if p.severity == "error"]
    assert [(p.line, p.kind) for p in errors] == [(5, "context")]
    assert "first at line 2" in errors[0].message and "server 8.1.2.2" in errors[0].message


def test_namespace_without_storage_engine_from_8_1_only() -> None:
    text = "namespace t {\n    replication-factor 2\n}\n"
    (p,) = validate_tree(parse_text(text, "n.conf"), "8.1.0.0")
    assert (p.line, p.severity, p.kind) == (1, "error", "context")
    assert "no 'storage-engine'" in p.message and "8.1.0.0" in p.message
    # 6.1 (real-6.1-xdr-18ns.conf) keeps such a namespace in memory
    assert [
        q for q in validate_tree(parse_text(text, "n.conf"), "6.1.0.3") if q.kind == "context"
    ] == []


def test_every_error_names_the_server_version() -> None:
    text = (
        "service {\n    migrate-fill-delay 1K\n    enable-health-check yes\n}\n"
        "logging {\n    console {\n        context any loud\n    }\n}\n"
        "network {\n    heartbeat {\n        mode meshy\n        interval 1\n    }\n}\n"
        "namespace t {\n    proto-fd-maxx 1\n    proto-fd-max 1\n    heartbeat {\n    }\n"
        "    storage-engine memory {\n        data-size 4GB\n        read-page-cache true\n"
        "    }\n    memory-size 4G\n}\n"
    )
    problems = validate_tree(parse_text(text, "e.conf"), "8.1.2.2")
    kinds = {p.kind for p in problems}
    assert {"unit", "enum", "unknown", "context", "engine", "version", "range"} <= kinds, problems
    for p in problems:
        assert p.severity == "error"
        assert "server 8.1.2.2" in p.message, p
    hint = next(p for p in problems if "proto-fd-maxx" in p.message)
    assert "did you mean 'proto-fd-max' (in service)?" in hint.message


@pytest.mark.parametrize("line", ["device /dev/sdb", "file /opt/aerospike/test.dat"])
def test_device_engine_with_a_device_or_a_file_is_fine(line: str) -> None:
    text = (
        "namespace test {\n    replication-factor 2\n    storage-engine device {\n"
        f"        {line}\n    }}\n}}\n"
    )
    assert validate_tree(parse_text(text, "d.conf"), "8.1.2.2") == []


def test_4x_renamed_names_are_read_as_the_new_one_with_a_warning() -> None:
    # cfg.c 4.x: `case CASE_SERVICE_CLIENT_FD_MAX: cfg_renamed_name_tok(&line, "proto-fd-max");`
    # falls through to proto-fd-max's case; 5.0 no longer knows the old name.
    conf = "service {\n  client-fd-max 15000\n}\n"
    (p,) = _text(conf, "4.9.0.3")
    assert (p.severity, p.kind) == ("warning", "renamed") and "'proto-fd-max'" in p.message
    assert "cfg.c:" in p.message
    (p,) = _text(conf, "5.0.0.3")
    assert (p.severity, p.kind) == ("error", "unknown")
    # the value is checked as the new parameter's
    (p, q) = _text("service {\n  client-fd-max banana\n}\n", "4.9.0.3")
    assert (p.kind, q.kind) == ("renamed", "unit")


def test_4x_deprecated_names_and_stanzas_are_warnings() -> None:
    conf = (
        "service {\n  paxos-recovery-policy auto-reset-master\n}\n"
        "namespace t {\n  memory-size 1G\n  si {\n    foo bar\n  }\n  storage-engine memory\n}\n"
    )
    problems = _text(conf, "4.9.0.3")
    assert [(p.line, p.severity, p.kind) for p in problems] == [
        (2, "warning", "deprecated"),
        (6, "warning", "deprecated"),
    ]
    assert "please remove" in problems[0].message and "@4.9.0.3" in problems[0].message
    assert [p.severity for p in _text(conf, "5.0.0.3")] == ["error", "error"]


def test_3x_build_table_findings_are_warnings_but_syntax_stays_an_error() -> None:
    conf = (
        "network {\n  heartbeat {\n    mesh-port 3002\n  }\n}\n"
        "namespace t {\n  storage-engine device {\n  }\n}\n"
    )
    problems = _text(conf, "3.14.1.5")
    assert [(p.line, p.severity) for p in problems] == [(3, "warning"), (7, "error")]
    assert "older than every schema" in problems[0].message
