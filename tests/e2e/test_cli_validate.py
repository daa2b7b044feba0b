"""`ascad validate` end to end: exit codes, file:line:col, JSON output (against docs/knowledge.md),
the version read from a node, and TLS options."""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path

import pytest

from ascad.cli import main
from tests.helpers import BAD_CONFS, CONF_DIR, FIXTURES, call_with_emulated, run_cli, run_json


def test_cli_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(CONF_DIR / "server-6.4.0.1-mesh.conf"), "--server-version", "6.4"])
    out, err = capsys.readouterr()
    assert rc == 0 and out == ""
    assert "0 error(s), 0 warning(s)" in err


def test_cli_problems_exit_1_with_file_line_col(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(BAD_CONFS / "typo-8.1.conf")
    rc = main(["validate", path, "--server-version", "8.1"])
    out, _ = capsys.readouterr()
    assert rc == 1
    assert out.startswith(f"{path}:33:2: error: unknown parameter 'replication-factr'")
    assert len(out.splitlines()) == 1


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "validate",
            str(BAD_CONFS / "out-of-range-8.1.conf"),
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
    conf = CONF_DIR / "server-8.1-dev.conf"
    assert main(["validate", str(conf), "--server-version", "banana"]) == 2
    assert "not a server version" in capsys.readouterr().err


def test_cli_without_version_uses_newest(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(CONF_DIR / "server-8.1-dev.conf")])
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
                str(CONF_DIR / "server-6.4.0.1-mesh.conf"),
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


def test_validate_cli_exit_codes_and_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = CONF_DIR / "server-8.1-dev.conf"
    assert main(["validate", str(good), "--server-version", "8.1.2.2"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 error(s), 0 warning(s) for server 8.1.2.2" in err
    assert main(["validate", str(good), "--server-version", ""]) == 2
    assert capsys.readouterr().err == (
        "ascad: --server-version is empty (expected e.g. 8.1.2.2 or 7.0)\n"
    )
    assert main(["validate", str(good), "--server-version", "banana"]) == 2
    assert "not a server version: 'banana'" in capsys.readouterr().err
    old = CONF_DIR / "server-4.0.0.1-mesh.conf"
    assert main(["validate", str(old), "--server-version", "4.0.0.1"]) == 0
    assert "older than" not in capsys.readouterr().err  # 4.0 has its own schema now
    main(["validate", str(old), "--server-version", "3.14.1.5"])
    err = capsys.readouterr().err
    assert "server 3.14.1.5 is older than the oldest schema ascad holds (4.0.0)" in err
    assert main(["validate", str(tmp_path / "nope.conf"), "--server-version", "8.1"]) == 2
    assert capsys.readouterr().err == f"ascad: {tmp_path / 'nope.conf'}: no such file\n"


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


def test_validate_newer_server_names_the_schema_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = CONF_DIR / "server-8.1-dev.conf"
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
    conf = str(CONF_DIR / "server-8.1-dev.conf")

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


def test_validate_json_every_field_and_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "v.conf"
    p.write_text(
        "service {\n    proto-fd-maxx 1\n}\nnamespace t {\n    index-type flash {\n"
        "        mount /a /b\n    }\n    storage-engine memory {\n        data-size 4G\n    }\n}\n",
        encoding="utf-8",
    )
    code, doc = run_json(
        ["validate", str(p), "--server-version", "8.1.2.2", "--format", "json"], capsys
    )
    assert code == 1
    assert set(doc) == {
        "schema",
        "file",
        "server_version",
        "param_schema",
        "errors",
        "warnings",
        "problems",
    }
    assert doc["schema"] == "ascad.validate/1"
    assert (doc["file"], doc["server_version"], doc["param_schema"]) == (str(p), "8.1.2.2", "8.1.2")
    assert (doc["errors"], doc["warnings"]) == (1, 1)
    for problem in doc["problems"]:
        assert set(problem) == {"line", "col", "severity", "kind", "message", "path"}
        assert isinstance(problem["line"], int) and isinstance(problem["col"], int)
        assert problem["severity"] in ("error", "warning")
        assert isinstance(problem["kind"], str) and isinstance(problem["message"], str)
        assert isinstance(problem["path"], str)
    assert [(q["line"], q["severity"], q["kind"]) for q in doc["problems"]] == [
        (2, "error", "unknown"),
        (6, "warning", "parser"),
    ]
