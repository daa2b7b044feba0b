"""deploy/ascad.toml.example works as shipped: with only its addresses, paths and secrets changed
(``ASCAD_*`` environment variables, the file itself untouched), a master and a slave on loopback
run every check they should, the slave's peer check included; the pillar example agrees with it;
and a slave that cannot reach its master by the configured scheme says so as ``warning``, never by
quietly turning master."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import pytest

from tests.helpers import AGENT_CONF, ROOT, Lines, free_port, init_repo, subprocess_env
from tests.notify_socket import NotifySocket

EXAMPLE = ROOT / "deploy" / "ascad.toml.example"
PILLAR = ROOT / "deploy" / "salt" / "pillar.example.sls"
TOKEN = "example-fleet-token-5e1b"
ASCAD = (sys.executable, "-m", "ascad.cli")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_the_pillar_example_agrees_with_the_settings_example() -> None:
    yaml = pytest.importorskip("yaml")
    example = tomllib.loads(EXAMPLE.read_text())
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    rendered = env.from_string(PILLAR.read_text()).render(grains={"id": "aero-1: the first"})
    pillar = yaml.safe_load(rendered)["ascad"]
    settings = pillar["settings"]
    assert settings["agent"]["node_name"] == "aero-1: the first"  # quoted whatever the id
    for section, table in settings.items():
        for key, value in table.items():
            if (section, key) == ("agent", "node_name"):
                continue  # commented out in the example: the hostname
            assert section in example and key in example[section], (section, key)
            assert value == example[section][key], (section, key, value, example[section][key])
    # the scheme agrees with the server: http without [server] tls_cert, in both
    assert example["peers"]["url_template"].startswith("http://")
    assert "tls_cert" not in example["server"] and "tls_cert" not in settings["server"]
    assert (
        str(pillar["version"])
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )


def emulator(*confs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ASCAD, "emulator", *map(str, confs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )


@contextmanager
def agent(env: dict[str, str]) -> Iterator[Lines]:
    """``ascad agent --config deploy/ascad.toml.example`` with ``env`` over this environment."""
    proc = subprocess.Popen(
        [*ASCAD, "agent", "--config", str(EXAMPLE)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**subprocess_env(), **env},
    )
    try:
        yield Lines(proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=15)


def get(url: str, path: str) -> Any:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_the_example_runs_a_master_and_a_slave(tmp_path: Path) -> None:
    base = AGENT_CONF.read_text()
    repo = init_repo(tmp_path / "golden", {"aerospike/aerospike.conf": base})
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    confs = []
    for name in ("node1", "node2"):
        (tmp_path / name).mkdir()
        confs.append(tmp_path / name / "aerospike.conf")
        confs[-1].write_text(base)
    emu = emulator(*confs)
    try:
        assert emu.stdout is not None
        nodes = [emu.stdout.readline().split() for _ in confs]  # node-id host:port conf
        nodes.sort(key=lambda n: int(n[0], 16))  # the lowest id is the master
        ports = [free_port(), free_port()]
        urls = ",".join(f"{n[0]}=http://127.0.0.1:{p}" for n, p in zip(nodes, ports, strict=True))

        def env_of(i: int) -> dict[str, str]:
            """Only addresses, paths and secrets: the example's own values for the rest."""
            conf = next(c for c in confs if str(c) == nodes[i][2])
            return {
                "ASCAD_AGENT_NODE_NAME": f"aero-{i + 1}",
                "ASCAD_AGENT_CONF": str(conf),
                "ASCAD_AGENT_STATE_DIR": str(tmp_path / f"state{i + 1}"),
                "ASCAD_AEROSPIKE_ADDRESS": f"aerospike://{nodes[i][1]}",
                "ASCAD_GOLDEN_SOURCE": f"{repo}#aerospike/aerospike.conf@main",
                "ASCAD_SERVER_LISTEN": "127.0.0.1",
                "ASCAD_SERVER_PORT": str(ports[i]),
                "ASCAD_SERVER_TOKEN_FILE": str(token),
                "ASCAD_PEERS_URLS": urls,  # both agents on one loopback: a port each
            }

        for i in (0, 1):
            proc = subprocess.run(
                [*ASCAD, "agent", "--check-config", "--config", str(EXAMPLE)],
                capture_output=True,
                text=True,
                timeout=60,
                env={**subprocess_env(), **env_of(i)},
            )
            assert proc.returncode == 0, proc.stderr
            assert "settings are valid (role auto)" in proc.stdout

        # systemd's way: each agent is up once it says READY=1 (the master first, so that the
        # slave's first cycle finds it)
        with (
            NotifySocket(tmp_path / "notify1") as ns1,
            NotifySocket() as ns2,
            agent({**env_of(0), **ns1.env}) as master_log,
        ):
            ns1.wait_for("READY=1")
            with agent({**env_of(1), **ns2.env}) as slave_log:
                ns2.wait_for("READY=1")
                master_log.wait_for("check golden: ok")
                slave_log.wait_for("check peer: ok")
                ns2.wait_for("STATUS=last cycle: role slave: runtime ok, peer ok")
                master = get(f"http://127.0.0.1:{ports[0]}", "/v1/status")
                slave = get(f"http://127.0.0.1:{ports[1]}", "/v1/status")
                # ascad check on the slave: the same settings, one cycle, exit 0
                proc = subprocess.run(
                    [*ASCAD, "check", "--config", str(EXAMPLE)],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    env={**subprocess_env(), **env_of(1)},
                )
        assert (master["role"], master["node_id"]) == ("master", nodes[0][0])
        assert {c["check"]: c["state"] for c in master["checks"]} == {
            "runtime": "ok",
            "golden": "ok",
        }
        assert (slave["role"], slave["node_id"]) == ("slave", nodes[1][0])
        assert {c["check"]: c["state"] for c in slave["checks"]} == {"runtime": "ok", "peer": "ok"}
        assert slave["master"].startswith(f"{nodes[0][0]} http://127.0.0.1:{ports[0]}")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "role slave" in proc.stdout and "== peer: OK" in proc.stdout

        # -- TLS asked of the peers while the servers serve plain http: --check-config refuses
        # it, and a slave's cycle says it could not reach the master (warning, exit 2)
        https = {**env_of(1), "ASCAD_PEERS_URL_TEMPLATE": "https://{host}:9145"}
        proc = subprocess.run(
            [*ASCAD, "agent", "--check-config", "--config", str(EXAMPLE)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**subprocess_env(), **https},
        )
        assert proc.returncode == 2
        assert (
            f"{EXAMPLE}: [peers] url_template (ASCAD_PEERS_URL_TEMPLATE): 'https://{{host}}:9145'"
            " is https:// but this agent serves http://"
        ) in proc.stderr
        with agent(env_of(0)) as master_log:
            master_log.wait_for("check golden: ok")
            urls_https = urls.replace("http://", "https://")
            proc = subprocess.run(
                [*ASCAD, "check", "--config", str(EXAMPLE)],
                capture_output=True,
                text=True,
                timeout=60,
                env={**subprocess_env(), **env_of(1), "ASCAD_PEERS_URLS": urls_https},
            )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "== peer: WARNING (could not run)" in proc.stdout
        assert f"no master reachable: {nodes[0][0]} https://127.0.0.1:{ports[0]} unreachable" in (
            proc.stdout
        )
        assert "== golden: OK" in proc.stdout  # it took the golden check over, and said so
        # the fallback is said once, not once on stdout and again in a log line on stderr
        assert (proc.stdout + proc.stderr).count("master fallback") == 1, proc.stderr
    finally:
        emu.terminate()
        emu.wait(timeout=10)


def test_each_environment_variable_is_on_its_own_settings_line() -> None:
    """Every setting line (commented or not) ends with the variable that sets it, and no other
    line names one as if it were its variable (before: `host = ""  # ASCAD_RIEMANN_PORT`)."""
    import re

    from ascad.agent.settings import _SCHEMA

    section = None
    seen = 0
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        if m := re.fullmatch(r"\[([a-z]+)\]", line):
            section = m.group(1)
            continue
        tail = re.search(r"\s(?:#\s+)?(ASCAD_[A-Z_]+)$", line)
        setting = re.match(
            r"^(?:# )?([a-z_]+) = (?!\"[a-z]+\":)", line
        )  # not `# role = "slave": …`
        if section is None or section == "compare":
            assert tail is None, f"{number}: {line}"
            continue
        if setting:
            assert tail, f"line {number} has no variable: {line}"
            key = setting.group(1)
            assert (section, key) in _SCHEMA, f"{number}: [{section}] {key}"
            assert tail.group(1) == f"ASCAD_{section.upper()}_{key.upper()}", f"{number}: {line}"
            seen += 1
        else:
            assert tail is None, f"line {number} names a variable that is not its own: {line}"
    assert seen >= 40
