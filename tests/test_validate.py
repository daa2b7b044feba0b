"""`ascad validate`: real confs give no false error; bad fixtures give exactly the expected problem."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from pathlib import Path

import pytest

from ascad.checks.validate import Problem, validate_tree
from ascad.cli import main
from ascad.conf.parser import parse_text
from ascad.sources.local import parse_file
from tests.helpers import call_with_emulated, run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFS = FIXTURES / "confs"
BAD = FIXTURES / "validate"

# SOURCES.md gives a range for a few files; the version used for them (docs/knowledge.md).
RANGE_VERSIONS = {"6.x": "6.4", "5.x–6.x": "6.4"}

# Warnings that are right: the file really is wrong for the server (docs/knowledge.md explains).
EXPECTED_WARNINGS = {
    "asconfig-6.4-metadata.conf": [(56, "parser")],
    "asconfig-server64.conf": [(52, "parser")],
    "asconfig-server70.conf": [(61, "parser"), (109, "parser")],
    "real-6.2-xdr-tls-ldap-4ns.conf": [(108, "parser")],
}

# Errors that are right: Aerospike's SSD samples ship with their `device` lines commented out, to
# be filled in; as they are, the server refuses a device namespace without storage.
EXPECTED_ERRORS = {
    "server-8.1-ssd.conf": [(50, "context")],
    "server-6.4.0.1-ssd.conf": [(50, "context")],
}
NO_STORAGE = "'storage-engine device' names no 'device' and no 'file'"


def sample_versions() -> list[tuple[str, str]]:
    rows = []
    for line in (CONFS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\S+\.conf) \| [^|]* \| ([^|]+) \|", line)
        if m:
            version = m.group(2).strip().split(" ")[0]
            rows.append((m.group(1), RANGE_VERSIONS.get(version, version)))
    return rows


def test_every_sample_has_a_version() -> None:
    rows = sample_versions()
    on_disk = {p.name for p in CONFS.glob("*.conf")}
    assert {name for name, _ in rows} == on_disk
    assert len(rows) == len(on_disk) >= 35


@pytest.mark.parametrize(("name", "version"), sample_versions())
def test_sample_conf_has_no_error_for_its_version(name: str, version: str) -> None:
    problems = validate_tree(parse_file(CONFS / name), version)
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
    p = _one(BAD / name, "8.1")
    assert (p.line, p.col, p.severity, p.kind) == place
    for word in words:
        assert word in p.message


def test_obsolete_parameter_for_the_version() -> None:
    p = _one(BAD / "obsolete-memory-size-7.0.conf", "7.0.0.0")
    assert (p.line, p.severity, p.kind, p.path) == (
        34,
        "error",
        "version",
        "namespace[*].memory-size",
    )
    assert "obsolete" in p.message and "6.4.0" in p.message and "7.0.0" in p.message
    # the same file is fine where memory-size still exists... except data-size, new in 7.0
    old = _only(BAD / "obsolete-memory-size-7.0.conf", "6.4.0.1")
    assert [(q.line, q.kind) for q in old] == [(35, "syntax"), (36, "version")]
    assert "first appears in schema 7.0.0" in old[1].message


def test_unparsable_and_wrong_values() -> None:
    problems = _only(BAD / "bad-values-8.1.conf", "8.1")
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
    problems = _only(BAD / "wrong-place-7.0.conf", "7.0")
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


def test_build_between_schemas_accepts_next_schemas_params() -> None:
    # logging syslog {} exists from 6.3; the schemas jump from 6.0 to 6.4.
    conf = "logging {\n  syslog {\n    facility local0\n    context any info\n  }\n}\n"
    assert _text(conf, "6.3.0.6") == []
    (p,) = _text(conf, "6.0.0.1")
    assert (p.line, p.kind) == (2, "version") and "first appears in schema 6.4.0" in p.message


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


# --- the command ---------------------------------------------------------------------------------


def test_cli_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(CONFS / "server-6.4.0.1-mesh.conf"), "--server-version", "6.4"])
    out, err = capsys.readouterr()
    assert rc == 0 and out == ""
    assert "0 error(s), 0 warning(s)" in err


def test_cli_problems_exit_1_with_file_line_col(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(BAD / "typo-8.1.conf")
    rc = main(["validate", path, "--server-version", "8.1"])
    out, _ = capsys.readouterr()
    assert rc == 1
    assert out.startswith(f"{path}:33:2: error: unknown parameter 'replication-factr'")
    assert len(out.splitlines()) == 1


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "validate",
            str(BAD / "out-of-range-8.1.conf"),
            "--server-version",
            "8.1",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert doc["schema"] == "ascad.validate/1" and doc["param_schema"] == "8.1.0"
    assert doc["errors"] == 1 and doc["warnings"] == 0
    assert doc["problems"][0]["line"] == 24 and doc["problems"][0]["kind"] == "range"


def test_cli_syntax_error_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "broken.conf"
    conf.write_text("service {\n  proto-fd-max 100\n", encoding="utf-8")
    rc = main(["validate", str(conf), "--server-version", "8.1"])
    out, _ = capsys.readouterr()
    assert rc == 1 and ": error: missing '}'" in out


def test_cli_cannot_run_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.conf"), "--server-version", "8.1"]) == 2
    assert "no such file" in capsys.readouterr().err
    conf = CONFS / "server-8.1-dev.conf"
    assert main(["validate", str(conf), "--server-version", "banana"]) == 2
    assert "not a server version" in capsys.readouterr().err


def test_cli_without_version_uses_newest(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(CONFS / "server-8.1-dev.conf")])
    err = capsys.readouterr().err
    assert rc == 0 and "newest known" in err


class _InfoServer:
    """A one-command info-protocol responder on 127.0.0.1 (header: version 2, type 1, size)."""

    def __init__(self, build: str) -> None:
        self.build = build
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                header = self._recv(conn, 8)
                size = int.from_bytes(header[2:8], "big")
                body = self._recv(conn, size).decode()
            except (OSError, ConnectionError):
                return
            self.requests.append(body)
            reply = "".join(
                f"{cmd}\t{self.build}\n" for cmd in body.split("\n") if cmd == "build"
            ).encode()
            conn.sendall(struct.pack(">BB", 2, 1) + len(reply).to_bytes(6, "big") + reply)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=10)


def test_cli_reads_version_from_a_node(capsys: pytest.CaptureFixture[str]) -> None:
    server = _InfoServer("7.0.0.5")
    try:
        rc = main(
            [
                "validate",
                str(CONFS / "server-6.4.0.1-mesh.conf"),
                "--server",
                f"aerospike://127.0.0.1:{server.port}",
                "--timeout",
                "5",
            ]
        )
    finally:
        server.close()
    out, err = capsys.readouterr()
    assert server.requests == ["build\n"]
    assert "reports build 7.0.0.5" in err
    assert rc == 1 and "'memory-size' is obsolete in server 7.0.0.5" in out


# --- review: storage-engine count, version notes, exit codes -----------------------------------


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


def test_validate_cli_exit_codes_and_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = CONFS / "server-8.1-dev.conf"
    assert main(["validate", str(good), "--server-version", "8.1.2.2"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 error(s), 0 warning(s) for server 8.1.2.2" in err
    assert main(["validate", str(good), "--server-version", ""]) == 2
    assert capsys.readouterr().err == (
        "ascad: --server-version is empty (expected e.g. 8.1.2.2 or 7.0)\n"
    )
    assert main(["validate", str(good), "--server-version", "banana"]) == 2
    assert "not a server version: 'banana'" in capsys.readouterr().err
    old = CONFS / "server-4.0.0.1-mesh.conf"
    main(["validate", str(old), "--server-version", "4.0.0.1"])
    err = capsys.readouterr().err
    assert "server 4.0.0.1 is older than the oldest schema ascad holds (4.9.0)" in err
    assert main(["validate", str(tmp_path / "nope.conf"), "--server-version", "8.1"]) == 2
    assert capsys.readouterr().err == f"ascad: {tmp_path / 'nope.conf'}: no such file\n"


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


def test_validate_cli_reports_flatten_warnings_and_a_device_without_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "v.conf"
    conf.write_text(
        "service {\n    proto-fd-max 15000\n    proto-fd-max 20000\n    cluster-name a b\n}\n"
        "namespace test {\n    replication-factor 2\n    storage-engine device {\n"
        "        flush-size 128K\n    }\n}\n"
    )
    assert main(["validate", str(conf), "--server-version", "8.1.2.2"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # the duplicate key is found while flattening, the extra token by the parser
    assert lines[0].startswith(f"{conf}:3:5: warning: 'proto-fd-max' also set at line 2")
    assert lines[1].startswith(f"{conf}:4:20: warning: extra value ignored by the server")
    assert lines[2].startswith(
        f"{conf}:8:5: error: 'storage-engine device' names no 'device' and no 'file'"
    )
    assert "1 error(s), 2 warning(s)" in err


@pytest.mark.parametrize("line", ["device /dev/sdb", "file /opt/aerospike/test.dat"])
def test_device_engine_with_a_device_or_a_file_is_fine(line: str) -> None:
    text = (
        "namespace test {\n    replication-factor 2\n    storage-engine device {\n"
        f"        {line}\n    }}\n}}\n"
    )
    assert validate_tree(parse_text(text, "d.conf"), "8.1.2.2") == []


def test_validate_newer_server_names_the_schema_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = CONFS / "server-8.1-dev.conf"
    assert main(["validate", str(conf), "--server-version", "9.9"]) == 0
    err = capsys.readouterr().err
    assert (
        "ascad: server 9.9 is newer than the newest schema ascad holds (8.1.2); it is checked "
        "against that one, and a name that schema does not know is a warning\n"
    ) in err
    assert main(["validate", str(conf), "--server-version", "8.1.2.2"]) == 0
    assert "newer than" not in capsys.readouterr().err


def test_validate_a_node_address_says_to_use_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "aerospike://127.0.0.1:3000"]) == 2
    assert capsys.readouterr().err == (
        "ascad: validate takes a conf file; give the node with --server "
        "aerospike://127.0.0.1:3000 for its version\n"
    )


def test_validate_server_over_tls_takes_the_tls_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ascad.lab.emulator.cluster import load_node
    from ascad.lab.emulator.server import EmulatorCluster, ServerTls

    tls_dir = FIXTURES / "tls"
    conf = str(CONFS / "server-8.1-dev.conf")

    def validate(cluster: EmulatorCluster) -> tuple[int, str, int, str]:
        spec = f"aerospike+tls://127.0.0.1:{cluster.nodes[0].port}?tls-name=node1.ascad.test"
        ok = ["validate", conf, "--server", spec, "--tls-ca", str(tls_dir / "ca.pem")]
        rc, _, err = run_cli(ok, capsys)
        bad = ["validate", conf, "--server", spec, "--tls-ca", str(tls_dir / "other-ca.pem")]
        rc_bad, _, err_bad = run_cli(bad, capsys)
        return rc, err, rc_bad, err_bad

    rc, err, rc_bad, err_bad = call_with_emulated(
        [load_node(conf, build="8.1.2.2")],
        validate,
        tls=ServerTls(str(tls_dir / "server.pem"), str(tls_dir / "server.key")),
    )
    assert rc == 0, err
    assert "reports build 8.1.2.2" in err
    assert rc_bad == 2 and "TLS certificate not trusted by the CA file" in err_bad
