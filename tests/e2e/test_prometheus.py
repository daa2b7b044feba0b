"""What Prometheus sees: the alert rules checked and unit-tested with Debian's promtool, the
agent's /metrics linted by promtool, and configuration fingerprints from three agents on
loopback (two nodes from one template agree, a hand-edited one does not; comments, order and
units never change a fingerprint)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from ascad.agent.daemon import Agent
from ascad.agent.settings import load_settings
from ascad.lab.demo import NODES, node_vars, template_text
from ascad.lab.emulator import cluster as ec
from ascad.sources.template import render_template
from tests.helpers import ROOT

RULES = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
TOKEN = "prometheus-test-token"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert Path(PROMTOOL).exists(), "promtool is missing: ./dev test installs Debian's prometheus"
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=RULES
    )


def test_the_alert_rules_are_valid() -> None:
    proc = promtool("check", "rules", "ascad-rules.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_every_alert_fires_and_stays_quiet_in_the_rule_tests() -> None:
    proc = promtool("test", "rules", "ascad-rules_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = (RULES / "ascad-rules.yml").read_text()
    tests = (RULES / "ascad-rules_test.yml").read_text()
    names = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert len(names) == 6
    for name in names:  # each alert is expected firing somewhere and silent somewhere
        blocks = tests.split(f"alertname: {name}\n")[1:]
        assert any(b.lstrip().startswith("exp_alerts:\n") for b in blocks), name
        assert any(b.lstrip().startswith("exp_alerts: []") for b in blocks), name


def _confs(tmp: Path) -> dict[str, Path]:
    """node1 and node2 rendered from the demo's template; node3 rendered and then edited by
    hand; node1b is node1 written differently (comments, order, units), not changed."""
    out = {}
    for name, node_id, address in NODES:
        text = render_template(template_text(), node_vars(node_id, address), source="t.j2")
        if name == "node3":
            text = text.replace("proto-fd-max 15000", "proto-fd-max 20000")
        path = tmp / name / "aerospike.conf"
        path.parent.mkdir(parents=True)
        path.write_text(text)
        out[name] = path
    node1 = out["node1"].read_text()
    head, _, tail = node1.partition("namespace test {")
    moved = "namespace test {" + tail + "\n# moved to the top, with other spellings\n" + head
    same = moved.replace("data-size 4G", "data-size 4096M").replace(
        "default-ttl 30d", "default-ttl 2592000"
    )
    out["node1b"] = tmp / "node1b" / "aerospike.conf"
    out["node1b"].parent.mkdir()
    out["node1b"].write_text(same)
    return out


async def _scrape(agent: Agent) -> str:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.get(f"{agent.url}/metrics", headers=headers) as resp:
            assert resp.status == 200
            return await resp.text()


def _agent(tmp: Path, name: str, conf: Path, port: int) -> Agent:
    (tmp / "token").write_text(TOKEN + "\n")
    (tmp / "token").chmod(0o600)
    settings = load_settings(
        data={
            "agent": {
                "node_name": name,
                "role": "master",
                "conf": str(conf),
                "state_dir": str(tmp / name / "state"),
                "cluster": "cakery",
            },
            "aerospike": {"address": f"aerospike://127.0.0.1:{port}", "timeout": 5},
            "golden": {"source": str(conf)},
            "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(tmp / "token")},
        },
        env={},
    )
    return Agent(settings)


def _info(text: str) -> dict[tuple[str, str], str]:
    """(node, source) -> fingerprint, from ascad_config_info, read by prometheus_client."""
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name == "ascad_config_info":
            for s in family.samples:
                assert s.value == 1 and s.labels["cluster"] == "cakery"
                out[(s.labels["node"], s.labels["source"])] = s.labels["fingerprint"]
    return out


def test_fingerprints_from_three_agents_and_promtool_lints_the_metrics(tmp_path: Path) -> None:
    confs = _confs(tmp_path)

    async def run() -> dict[str, str]:
        names = ["node1", "node2", "node3", "node1b"]
        nodes = [
            ec.load_node(str(confs[n]), node_id=f"A{i}", cluster_name="cakery")
            for i, n in enumerate(names, 1)
        ]
        texts = {}
        async with ec.running(nodes) as cluster:
            agents = [
                _agent(tmp_path, n, confs[n], wire.port)
                for n, wire in zip(names, cluster.nodes, strict=True)
            ]
            try:
                for agent in agents:
                    await agent.start()
                    await agent.run_cycle()
                    texts[agent.settings.node_name] = await _scrape(agent)
            finally:
                for agent in agents:
                    await agent.stop()
        return texts

    texts = asyncio.run(asyncio.wait_for(run(), 90))
    info: dict[tuple[str, str], str] = {}
    for text in texts.values():
        info.update(_info(text))
        linted = promtool("check", "metrics", stdin=text)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    conf = {n: info[(n, "conf")] for n in texts}
    run = {n: info[(n, "runtime")] for n in texts}
    assert len(conf["node1"]) == 16
    assert conf["node1"] == conf["node2"] == conf["node1b"] != conf["node3"]
    # Each node runs its own file: the running configs group the same way.
    assert run["node1"] == run["node2"] == run["node1b"] != run["node3"]
