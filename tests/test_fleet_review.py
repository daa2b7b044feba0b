"""`ascad fleet` as an SRE runs it: real sample confs rendered per node, duplicates, 0 and 1
sources, a seed that never answers, and the JSON checked against docs/fleet.md's schema."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ascad.checks.fleet import (
    FleetOptions,
    NodeConfig,
    NodeLogin,
    analyse,
    run_fleet,
    source_identity,
)
from ascad.cli import main
from ascad.compare.expected import CompareSettings
from ascad.conf.flatten import flatten
from ascad.conf.parser import parse_text
from ascad.errors import AscadError
from tests.helpers import CONFS, ROOT, run_cli

PATTERNS = CompareSettings().peer_patterns()

_ADDR = re.compile(
    r"^(\s*)(address|access-address|alternate-access-address|tls-address|tls-access-address"
    r"|tls-alternate-access-address|interface-address)\s+\S+(.*)$"
)
_SEED = re.compile(r"^(\s*)(tls-)?mesh-seed-address-port\s+\S+\s+(\S+)(.*)$")


def as_node(text: str, n: int, nodes: int = 3) -> str:
    """The conf as node ``n`` of a cluster rendered from one template would have it: its own
    addresses, node-id and pidfile, and the *other* nodes as mesh seeds."""
    out: list[str] = []
    seeded: set[str] = set()
    for line in text.split("\n"):
        code = line.lstrip()
        if code.startswith("#"):
            out.append(line)
            continue
        if m := _ADDR.match(line):
            out.append(f"{m[1]}{m[2]} 10.1.0.{n}{m[3]}")
        elif m := _SEED.match(line):
            kind = m[2] or ""
            if kind not in seeded:  # one seed line per other node, whatever the sample listed
                seeded.add(kind)
                out += [
                    f"{m[1]}{kind}mesh-seed-address-port 10.1.0.{o} {m[3]}"
                    for o in range(1, nodes + 1)
                    if o != n
                ]
        elif m := re.match(r"^(\s*)node-id\s+\S+(.*)$", line):
            out.append(f"{m[1]}node-id A{n}{m[2]}")
        elif m := re.match(r"^(\s*)pidfile\s+\S+(.*)$", line):
            out.append(f"{m[1]}pidfile /var/run/aerospike/asd-{n}.pid{m[2]}")
        else:
            out.append(line)
            if re.match(r"^service\s*\{", line) and "node-id " not in text:
                out.append(f"\tnode-id A{n}")
    return "\n".join(out)


@pytest.mark.parametrize("path", CONFS, ids=lambda p: p.name)
def test_no_false_alarm_between_nodes_rendered_from_one_conf(path: Path) -> None:
    """Different nodes of one cluster differ in addresses, seeds, node-id and pidfile: with the
    default per-node list they are one group, and a real change still splits them."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    variants = [as_node(text, n) for n in (1, 2, 3)]
    assert variants[0] != variants[1]
    nodes = [NodeConfig(f"n{i}", flatten(parse_text(t, f"n{i}"))) for i, t in enumerate(variants)]
    report = analyse(nodes, PATTERNS)
    assert len(report.groups) == 1, [
        (p.path, [v.value for v in p.values]) for p in report.parameters
    ]
    assert report.parameters == [] and report.clean
    # Without the per-node list the same nodes differ: the list is what made them equal.
    assert len(analyse(nodes, []).groups) == 3


def write_nodes(tmp_path: Path, count: int = 3) -> list[str]:
    base = (ROOT / "tests" / "fixtures" / "confs" / "server-8.1-dev.conf").read_text()
    paths = []
    for n in range(1, count + 1):
        p = tmp_path / f"node{n}.conf"
        p.write_text(as_node(base, n, count))
        paths.append(str(p))
    return paths


def test_zero_one_and_duplicate_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_nodes(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["fleet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "SOURCE" in err
    code, out, _ = run_cli(["fleet", files[0], "--color", "never"], capsys)
    assert code == 0 and "1 node" in out
    # One file under two spellings is one node: counting it twice would fake a majority.
    code, _, err = run_cli(["fleet", "node1.conf", files[1], "./node1.conf"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "./node1.conf and node1.conf" in err
    assert source_identity("node1.conf") == source_identity(files[0])
    assert source_identity("aerospike://LOCALHOST:3000") == source_identity("aerospike://localhost")
    assert source_identity("http://h:9145/") == source_identity("http://H:9145")
    assert source_identity(f"{tmp_path}#a.conf@main") != source_identity(f"{tmp_path}#a.conf@v1")
    # Unreadable sources beside readable ones are findings (exit 1), all unreadable is exit 2.
    code, out, _ = run_cli(["fleet", *files, "missing.conf", "--color", "never"], capsys)
    assert code == 1 and "missing.conf: no such file" in out
    code, _, err = run_cli(["fleet", "missing.conf", "gone.conf"], capsys)
    assert code == 2 and err.count("\n") == 1 and "no node could be read" in err


class SilentSeed:
    """A TCP listener that accepts and never answers: a hung node, or a firewall that eats
    packets after the handshake."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent_seed() -> Iterator[SilentSeed]:
    seed = SilentSeed()
    try:
        yield seed
    finally:
        seed.close()


def test_discover_from_a_seed_that_never_answers(
    silent_seed: SilentSeed, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was a TimeoutError traceback; now one line naming the seed, exit 2."""
    seed = f"aerospike://127.0.0.1:{silent_seed.port}"
    options = FleetOptions(discover=seed, login=NodeLogin(timeout=0.5), timeout=0.5)
    with pytest.raises(AscadError) as err:
        asyncio.run(run_fleet(options))
    assert f"127.0.0.1:{silent_seed.port}" in str(err.value)
    assert "did not answer 'peers-clear-std' within 0.5 s" in str(err.value)
    code, out, err_text = run_cli(["fleet", "--discover", seed, "--timeout", "0.5"], capsys)
    assert code == 2 and out == ""
    assert err_text.count("\n") == 1 and "Traceback" not in err_text


def test_a_silent_node_in_the_list_is_unreachable_not_a_hang(
    silent_seed: SilentSeed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_nodes(tmp_path, 2)
    agent = f"http://127.0.0.1:{silent_seed.port}"
    code, out, _ = run_cli(["fleet", *files, agent, "--timeout", "0.5", "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert (
        doc["unreachable"] == [{"name": agent, "error": doc["unreachable"][0]["error"]}]
        and "0.5" in doc["unreachable"][0]["error"]
    )


# --- JSON against the schema in docs/fleet.md --------------------------------------------------


def documented_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON example of docs/fleet.md (comments and ellipses removed), and the commented
    shape of a non-null ``golden``."""
    doc = (ROOT / "docs" / "fleet.md").read_text()
    block = doc.split("## JSON", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    golden_lines: list[str] = []
    lines: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        if stripped.startswith("//"):
            golden_lines.append(stripped[2:])
            continue
        lines.append(re.sub(r"\s+//\s.*$", "", line))
    text = "\n".join(lines)
    text = re.sub(r",\s*…", "", text)  # [a, …] -> [a]
    text = text.replace('"BB9…"', '"BB9"')
    main_doc = json.loads(text)
    golden_text = " ".join(golden_lines).replace("or:", "").strip()
    golden_text = golden_text.replace("[<ascad.diff/1 difference>]", "[]")
    return main_doc, json.loads(golden_text)


# Fields the docs say may be null (bullets under the JSON example of docs/fleet.md).
NULLABLE = {"node_id", "group", "error", "value", "canonical"}


def check_shape(actual: Any, example: Any, where: str) -> None:
    """``actual`` has exactly the keys of ``example``, with values of the same JSON type; lists
    are checked element by element against the example's first element. A null in the example
    allows a value of any type (documented as "or …")."""
    if example is None or (actual is None and where.rsplit(".", 1)[-1] in NULLABLE):
        return
    if isinstance(example, bool):
        assert isinstance(actual, bool), where
    elif isinstance(example, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), where
    elif isinstance(example, str):
        assert isinstance(actual, str), f"{where}: {actual!r}"
    elif isinstance(example, list):
        assert isinstance(actual, list), where
        if example:
            for i, item in enumerate(actual):
                check_shape(item, example[0], f"{where}[{i}]")
    elif isinstance(example, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(example), f"{where}: {sorted(set(actual) ^ set(example))}"
        for key, value in example.items():
            check_shape(actual[key], value, f"{where}.{key}")


def test_fleet_json_matches_the_documented_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema, golden_schema = documented_schema()
    files = write_nodes(tmp_path, 3)
    drifted = Path(files[2])
    drifted.write_text(
        drifted.read_text().replace("replication-factor 2", "replication-factor 3", 1)
    )
    golden = tmp_path / "golden.conf"
    golden.write_text(Path(files[0]).read_text())
    argv = ["fleet", *files, str(tmp_path / "missing.conf"), "--golden", str(golden)]
    code, out, _ = run_cli([*argv, "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    golden_doc = doc.pop("golden")
    schema.pop("golden")
    check_shape(doc, schema, "$")
    check_shape(golden_doc, golden_schema, "$.golden")
    assert doc["schema"] == "ascad.fleet/1"
    assert doc["summary"] == {
        "nodes": 4,
        "reachable": 3,
        "unreachable": 1,
        "groups": 2,
        "parameters": 1,
        "golden_differences": 1,
    }
    assert [n["group"] for n in doc["nodes"]] == [1, 1, 2, None]
    assert doc["unreachable"][0]["name"].endswith("missing.conf")
    # The node × node matrix is counts[index(a.group)][index(b.group)].
    assert doc["matrix"] == {"by": "group", "groups": [1, 2], "counts": [[0, 1], [1, 0]]}
    (diff,) = [d for g in golden_doc["groups"] for d in g["differences"]]
    assert diff["kind"] == "changed" and diff["left"] == "2" and diff["right"] == "3"
    # A clean run: the same keys, golden null.
    code, out, _ = run_cli(["fleet", *files[:2], "--format", "json"], capsys)
    assert code == 0
    clean = json.loads(out)
    assert clean["clean"] is True and clean["golden"] is None
    check_shape(clean, {**schema, "golden": None}, "$")


def test_a_context_that_repeats_context_any_is_no_difference_between_nodes(tmp_path: Path) -> None:
    """`context any info` + `context misc info` is the same logging as `context any info` alone."""

    plain = "logging {\n    console {\n        context any info\n    }\n}\nnamespace t {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n"
    extra = plain.replace("context any info\n", "context any info\n        context misc info\n")
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text(plain)
    b.write_text(extra)
    assert main(["fleet", str(a), str(b)]) == 0  # one group: the same logging

    b.write_text(extra.replace("context misc info", "context misc debug"))
    assert main(["fleet", str(a), str(b)]) == 1
