"""`ascad ack` and `--baseline`: acknowledged differences (active, expired, unmatched) in diff
and check; the baseline file keeps its comments byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ascad.lab.emulator.cluster import EmulatorCluster
from ascad.lab.emulator.node import load_node
from tests.helpers import (
    agent_files,
    call_with_emulated,
    info_on_first,
    run_cli,
    write_agent_toml,
)

A = "service {\n    proto-fd-max 15000\n}\nnamespace test {\n    default-ttl 30d\n}\n"
B = "service {\n    proto-fd-max 20000\n}\nnamespace test {\n    default-ttl 1d\n}\n"
TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def confs(tmp: Path) -> tuple[str, str]:
    (tmp / "a.conf").write_text(A)
    (tmp / "b.conf").write_text(B)
    return str(tmp / "a.conf"), str(tmp / "b.conf")


def test_ack_appends_and_keeps_every_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.toml"
    old = (
        '# known differences, reviewed in git\n\n[[ack]]  # the first\npath = "x.*"\nreason = "r"\n'
    )
    baseline.write_text(old)
    rc, out, _ = run_cli(
        [
            "ack",
            "--baseline",
            str(baseline),
            "service.proto-fd-max",
            "--reason",
            "more clients",
            "--until",
            TOMORROW,
            "--owner",
            "alice",
        ],
        capsys,
    )
    assert rc == 0
    assert out.strip() == f"acknowledged service.proto-fd-max until {TOMORROW}: {baseline}:7"
    text = baseline.read_text()
    assert text.startswith(old)
    assert text[len(old) :] == (
        f'\n[[ack]]\npath = "service.proto-fd-max"\nreason = "more clients"\nowner = "alice"\n'
        f"until = {TOMORROW}\n"
    )
    # the same again is refused; a date in the past too; a missing file is created
    rc, _, err = run_cli(
        ["ack", "--baseline", str(baseline), "service.proto-fd-max", "--reason", "again"], capsys
    )
    assert rc == 2 and f"{baseline}:7: service.proto-fd-max is already acknowledged" in err
    rc, _, err = run_cli(
        ["ack", "--baseline", str(baseline), "a.b", "--reason", "r", "--until", YESTERDAY], capsys
    )
    assert rc == 2 and "is in the past" in err
    assert baseline.read_text() == text
    new = tmp_path / "new.toml"
    rc, _, _ = run_cli(
        ["ack", "--baseline", str(new), "a.*", "--reason", 'say "hi"', "--node", "A1"], capsys
    )
    assert rc == 0 and '\nreason = "say \\"hi\\""\n' in new.read_text()
    assert new.read_text().startswith("[[ack]]\n")


def test_a_bad_baseline_is_exit_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = confs(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('# c\n[[ack]]\npath = "x"\n')
    rc, _, err = run_cli(["diff", a, b, "--baseline", str(bad)], capsys)
    assert rc == 2 and f"{bad}:2: [[ack]] x: needs reason" in err
    rc, _, err = run_cli(["ack", "--baseline", str(bad), "y", "--reason", "r"], capsys)
    assert rc == 2 and f"{bad}:2" in err


def test_diff_active_expired_and_unmatched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide: this test reads content, not layout
    a, b = confs(tmp_path)
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        f'[[ack]]\npath = "service.proto-fd-max"\nreason = "more clients"\nuntil = {TOMORROW}\n\n'
        f'[[ack]]\npath = "namespace[*].default-ttl"\nreason = "test"\nuntil = {YESTERDAY}\n\n'
        '[[ack]]\npath = "network.*"\nreason = "stale"\n'
    )
    rc, out, err = run_cli(["diff", a, b, "--baseline", str(baseline), "--format", "json"], capsys)
    doc = json.loads(out)
    fd, ttl = doc["differences"]
    assert fd["acknowledged"] == {
        "path": "service.proto-fd-max",
        "reason": "more clients",
        "source": f"{baseline}:1",
        "until": TOMORROW,
    }
    assert "acknowledged" not in ttl
    assert ttl["note"] == f"acknowledgement expired on {YESTERDAY} ({baseline}:6: test)"
    assert rc == 1  # the expired one counts again
    assert doc["baseline_unmatched"] == [f"{baseline}:11: network.*"]
    assert f"baseline entry matches no difference: {baseline}:11: network.*" in err
    # only the active one: exit 0, and the text says it is acknowledged
    baseline.write_text(f'[[ack]]\npath = "*"\nreason = "all known"\nuntil = {TOMORROW}\n')
    rc, out, _ = run_cli(["diff", a, b, "--baseline", str(baseline)], capsys)
    assert rc == 0
    assert f"acknowledged until {TOMORROW}: all known ({baseline}:1)" in out
    assert "acknowledged (baseline): 2" in out


def test_check_with_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The runtime check is ok when its only difference is acknowledged ([compare] baseline and
    --baseline), critical again when the entry has expired."""
    golden, config = agent_files(tmp_path)
    baseline = tmp_path / "baseline.toml"

    def check(cluster: EmulatorCluster) -> list[tuple[int, str]]:
        write_agent_toml(config, tmp_path, cluster.nodes[0].port, golden)
        with config.open("a") as fh:
            fh.write(f'\n[compare]\nbaseline = "{baseline.name}"\n')
        results = []
        for until in (TOMORROW, YESTERDAY):
            baseline.write_text(
                f'[[ack]]\npath = "service.proto-fd-max"\nreason = "r"\nuntil = {until}\n'
            )
            rc, out, _ = run_cli(["check", "--config", str(config), "--format", "json"], capsys)
            results.append((rc, out))
        return results

    node = load_node(str(tmp_path / "aerospike.conf"), node_id="A1")
    (rc1, out1), (rc2, out2) = call_with_emulated(
        [node], check, setup=info_on_first("set-config:context=service;proto-fd-max=20000", "ok")
    )
    runtime1 = next(c for c in json.loads(out1)["checks"] if c["check"] == "runtime")
    runtime2 = next(c for c in json.loads(out2)["checks"] if c["check"] == "runtime")
    assert runtime1["state"] == "ok" and rc1 == 0
    assert runtime1["differences"][0]["acknowledged"]["reason"] == "r"
    assert runtime2["state"] == "critical" and rc2 == 1


def test_fleet_with_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = confs(tmp_path)
    baseline = tmp_path / "baseline.toml"
    baseline.write_text('[[ack]]\npath = "service.proto-fd-max"\nreason = "b has more clients"\n')
    rc, out, _ = run_cli(["fleet", a, b, "--baseline", str(baseline), "--format", "json"], capsys)
    doc = json.loads(out)
    assert rc == 1  # default-ttl still differs
    params = {p["path"]: p for p in doc["parameters"]}
    assert params["service.proto-fd-max"]["acknowledged"]["reason"] == "b has more clients"
    assert "acknowledged" not in params["namespace[test].default-ttl"]
    baseline.write_text(
        baseline.read_text() + '\n[[ack]]\npath = "namespace[test].default-ttl"\nreason = "r"\n'
    )
    rc, out, _ = run_cli(["fleet", a, b, "--baseline", str(baseline)], capsys)
    assert rc == 0
    assert "(acknowledged: b has more clients)" in out


def test_check_with_a_bad_baseline_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden, config = agent_files(tmp_path)
    write_agent_toml(config, tmp_path, 1, golden)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[ack]]\npath = "x"\nreason = "r"\nuntil = "someday"\n')
    rc, _, err = run_cli(["check", "--config", str(config), "--baseline", str(bad)], capsys)
    assert rc == 2
    assert f"{bad}:1: until must be a date" in err
