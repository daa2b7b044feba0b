"""Every sample conf, loaded into an emulated node of its server version, shows zero drift."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from ascad.cli import main
from ascad.emulator.cluster import load_node, running
from tests.conftest import FIXTURES
from tests.test_validate import sample_versions


def build_of(version: str) -> str:
    """A four-part build for a SOURCES.md version (`8.1` -> `8.1.0.0`, `7.2.0.0-rc1` -> `7.2.0.0`)."""
    parts = re.findall(r"\d+", version.split("-")[0])
    return ".".join([*parts, "0", "0", "0", "0"][:4])


SAMPLES = sample_versions()


@pytest.mark.parametrize(("name", "version"), SAMPLES, ids=[n for n, _ in SAMPLES])
def test_sample_conf_in_emulator_has_zero_drift(
    name: str, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / "confs" / name
    node = load_node(str(path), build=build_of(version))

    async def run() -> int:
        async with running([node]) as cluster:
            port = cluster.nodes[0].port
            return await asyncio.to_thread(
                main, ["diff", "--format", "json", str(path), f"aerospike://127.0.0.1:{port}"]
            )

    rc = asyncio.run(run())
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [], doc["differences"]
    assert rc == 0
