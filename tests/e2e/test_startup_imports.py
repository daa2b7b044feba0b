"""Each command imports only what it needs: `ascad diff` on two files loads neither aiohttp,
Jinja2, PyYAML, the agent nor the lab (emulator, Riemann sink, demo), and no event loop at all;
PyYAML comes in only when a YAML source is read (start-up figures: bench/startup.py; this test is
not timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import FIXTURES

HEAVY = ("aiohttp", "jinja2", "yaml", "ascad.agent", "ascad.lab", "yarl")

PROBE = """
import json, sys
from ascad.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:  # --help
    rc = exc.code
sys.stdout.flush()
table = sys.modules.get("ascad.knowledge.table")
tables = [n for n in ("_data", "_units") if table and getattr(table, n).cache_info().currsize]
print(json.dumps({"rc": rc, "modules": sorted(sys.modules), "tables": tables}), file=sys.stderr)
"""


def report_of(*argv: str) -> dict[str, Any]:
    """What the probe saw: the exit status, the modules loaded, the knowledge tables read."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    report: dict[str, Any] = json.loads(proc.stderr.strip().splitlines()[-1])
    return report


def loaded_by(*argv: str) -> tuple[int, list[str]]:
    report = report_of(*argv)
    return report["rc"], report["modules"]


def test_diff_of_two_files_reads_only_the_units_of_the_knowledge_table() -> None:
    conf = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
    report = report_of("diff", str(conf), str(conf))
    assert report["rc"] == 0
    assert report["tables"] == ["_units"]  # units.json, not params.json (docs/knowledge.md)


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]


def test_diff_of_two_files_loads_no_heavy_module(tmp_path: Path) -> None:
    conf = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
    rc, modules = loaded_by("diff", str(conf), str(conf))
    assert rc == 0
    assert "ascad.checks.pipeline" in modules  # the probe saw the real run
    assert heavy(modules) == []
    # Two files need no event loop, TLS or node reader (most of the start-up once)
    unneeded = ("asyncio", "ssl", "ascad.runtime", "ascad.compare.drift", "importlib.resources")
    assert [m for m in modules if m.startswith(unneeded)] == []
    # nor the template machinery: only the test "is this a template?" (template_detect)
    assert "ascad.sources.template_detect" in modules
    assert {"ascad.sources.template", "ascad.checks.template_match"} & set(modules) == set()


def test_diff_of_a_file_and_stdin_loads_no_event_loop() -> None:
    conf = FIXTURES / "confs" / "server-8.1-default-systemd.conf"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "diff", str(conf), "-"],
        input=conf.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["rc"] == 0
    assert "asyncio" not in report["modules"] and heavy(report["modules"]) == []


def test_diff_of_a_yaml_golden_loads_pyyaml_and_nothing_else_heavy() -> None:
    yaml_file = FIXTURES / "yaml" / "asconfig-server811.yaml"
    conf = FIXTURES / "yaml" / "asconfig-server811.conf"
    rc, modules = loaded_by("diff", str(yaml_file), str(conf))
    assert rc == 0
    assert "yaml" in modules
    assert [m for m in heavy(modules) if m.split(".")[0] != "yaml"] == []


def test_diff_help_loads_only_the_diff_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "diff", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "usage: ascad diff" in proc.stdout
    commands = [
        m
        for m in json.loads(proc.stderr.strip().splitlines()[-1])["modules"]
        if m.startswith("ascad.commands.")
    ]
    assert commands == ["ascad.commands.common", "ascad.commands.diff"]


def test_python_dash_m_ascad_is_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ascad", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("ascad ")


AGENT_PROBE = """
import asyncio, json, sys
from pathlib import Path

import aiohttp

from tests.helpers import LOOP_TOKEN, serving_agent

DASHBOARD_ONLY = ("jinja2", "markupsafe", "ascad.checks.fleet", "ascad.report.fleet_json")


def loaded() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith(DASHBOARD_ONLY))


async def main() -> dict[str, object]:
    async with serving_agent(Path(sys.argv[1])) as agent, aiohttp.ClientSession() as s:
        auth = {"Authorization": f"Bearer {LOOP_TOKEN}"}
        async with s.get(agent.url + "/v1/config", headers=auth) as r:
            config = r.status
        idle = loaded()
        async with s.get(agent.url + "/ui/", headers=auth) as r:
            page = r.status
        return {"config": config, "idle": idle, "page": page, "after": loaded()}


print(json.dumps(asyncio.run(asyncio.wait_for(main(), 60))))
"""


def test_a_serving_agent_loads_the_dashboard_only_when_a_page_is_asked_for(tmp_path: Path) -> None:
    """Jinja2 and the fleet analysis are the /ui/ page's: an agent whose page nobody opens does
    not hold them (idle RSS, bench/agent.py)."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", AGENT_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["config"] == 200 and report["page"] == 200
    assert report["idle"] == []
    assert "jinja2" in report["after"]  # the fleet analysis too, on a master's page
