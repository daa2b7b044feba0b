"""What users of diff(1), asadm and pt-config-diff expect (issue 17), each through the CLI in a
subprocess as a user runs it: ``-q``, ``-`` before ``+``, output laid out for ``$COLUMNS``,
references that name a file, URL or node, node ids, restart flags in ``fleet``, the
sub-command's own argparse errors, durations with units, exit 2 for an incomplete fleet, help
wording, ``show --format json``, shell completion, the man page, ports compared by default."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.helpers import ROOT, as_node, run_ascad, subprocess_env

BASE = (ROOT / "tests" / "fixtures" / "confs" / "server-8.1-dev.conf").read_text()

A = "network {\n    service {\n        address 127.0.0.1\n        port 3000\n    }\n}\nservice {\n    proto-fd-max 15000\n}\n"
B = A.replace("127.0.0.1", "127.0.0.2").replace("15000", "20000")


def _env(columns: int | None = 80) -> dict[str, str]:
    env = subprocess_env()
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


def _ascad(
    *args: str, columns: int | None = 80, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return run_ascad(*args, env=_env(columns), timeout=timeout)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text(A)
    b.write_text(B)
    return str(a), str(b)


def _fleet(tmp: Path, count: int, *, drift: dict[int, tuple[str, str]] | None = None) -> list[str]:
    """``count`` nodes of one template in a long directory (so names are long tokens)."""
    where = tmp / "a-rather-long-directory-name-for-the-fleet" / "confs"
    where.mkdir(parents=True)
    paths = []
    for n in range(1, count + 1):
        text = as_node(BASE, n, count)
        old, new = (drift or {}).get(n, ("", ""))
        if old:
            assert old in text
            text = text.replace(old, new, 1)
        p = where / f"node{n:02d}-aerospike.conf"
        p.write_text(text)
        paths.append(str(p))
    return paths


# --- diff: -q, order, references --------------------------------------------------------------


def test_brief_reports_only_whether_they_differ(pair: tuple[str, str]) -> None:
    a, b = pair
    for flag in ("-q", "--brief"):
        proc = _ascad("diff", flag, a, b)
        assert (proc.returncode, proc.stdout, proc.stderr) == (1, f"{a} and {b} differ\n", "")
        proc = _ascad("diff", flag, a, a)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_equal_sources_print_no_header_above_nothing(pair: tuple[str, str]) -> None:
    proc = _ascad("diff", pair[0], pair[0])
    assert proc.returncode == 0 and proc.stdout == "no differences\n"


def test_keyed_items_list_minus_before_plus_and_lines_under_the_header(
    pair: tuple[str, str],
) -> None:
    a, b = pair
    proc = _ascad("diff", a, b)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[:2] == [f"--- {a}", f"+++ {b}"]
    minus = lines.index("  - address[127.0.0.1] 127.0.0.1 (line 3)")
    plus = lines.index("  + address[127.0.0.2] 127.0.0.2 (line 3)")
    assert minus < plus  # as diff(1): what only the left has, then what only the right has
    assert "  ~ proto-fd-max: 15000 (line 8) -> 20000 (line 8)" in lines
    # Each file is named once, in the header, not on every finding.
    assert proc.stdout.count(a) == 1 and proc.stdout.count(b) == 1
    # JSON keeps the same order
    doc = json.loads(_ascad("diff", a, b, "--format", "json").stdout)
    kinds = [d["kind"] for d in doc["differences"]]
    assert kinds.index("only_left") < kinds.index("only_right")


# --- fleet: width, node ids, references, restart flags, exit 2 ------------------------------------


def _unbreakable(line: str) -> bool:
    """A line that is one token (after its indent): the only kind allowed past the width."""
    return " " not in line.strip()


def test_fleet_over_16_nodes_fits_80_columns_and_never_splits_a_token(tmp_path: Path) -> None:
    files = _fleet(
        tmp_path,
        18,
        drift={
            3: ("replication-factor 2", "replication-factor 3"),
            9: ("replication-factor 2", "replication-factor 3"),
        },
    )
    golden = tmp_path / "golden.conf"
    golden.write_text(Path(files[0]).read_text())
    proc = _ascad("fleet", *files, "--golden", str(golden), "-v")
    assert proc.returncode == 1, proc.stderr
    long = [line for line in proc.stdout.splitlines() if len(line) > 80]
    assert all(_unbreakable(line) for line in long), long
    # No token was cut: every node's file name appears whole, with its node id.
    for n, path in enumerate(files, 1):
        assert f"{path} (A{n})" in " ".join(proc.stdout.split()), path
    assert "difference matrix (node × node" in proc.stdout
    # The golden's line numbers name the golden's file and a member's, never "golden:" or "g2:".
    flat = " ".join(proc.stdout.split())
    assert f"({golden}:" in flat and f"({files[2]}:" in flat
    assert "(golden:" not in flat and "(g2:" not in flat
    # Wider terminals get longer lines (the width is $COLUMNS).
    wide = _ascad("fleet", *files, "--golden", str(golden), "-v", columns=400)
    assert max(len(x) for x in wide.stdout.splitlines()) > 80


def test_long_fleet_matrix_switches_to_a_compact_form(tmp_path: Path) -> None:
    drift = {n: ("proto-fd-max 1024", f"proto-fd-max {1024 + n}") for n in range(1, 31)}
    files = _fleet(tmp_path, 30, drift=drift)  # 30 groups: no matrix fits 80 columns
    proc = _ascad("fleet", *files)
    assert proc.returncode == 1
    out = proc.stdout
    assert "difference matrix" not in out
    assert "differences between groups (group pairs" in out
    assert "  g1 vs g2: 1 difference" in out
    assert all(len(x) <= 80 or _unbreakable(x) for x in out.splitlines())
    # 20 nodes in 6 groups still fit 80 columns as a node × node matrix, 30 as groups
    few = _fleet(tmp_path / "few", 20, drift={n: drift[n] for n in range(1, 6)})
    few_out = _ascad("fleet", *few).stdout
    assert "difference matrix (node × node" in few_out
    groups = _fleet(tmp_path / "groups", 30, drift={n: drift[n] for n in range(1, 6)})
    assert "difference matrix (group × group" in _ascad("fleet", *groups).stdout


def test_fleet_names_nodes_by_node_id_and_reads_ports_and_restart_flags(tmp_path: Path) -> None:
    # node 2 listens on another fabric port: ports are compared by default (one template).
    files = _fleet(tmp_path, 3, drift={2: ("port 3001", "port 3011")})
    proc = _ascad("fleet", *files, "--server-version", "8.1.2.2")
    assert proc.returncode == 1
    assert "~ network.fabric.port [restart needed]" in proc.stdout
    assert f"{files[1]} (A2)" in " ".join(proc.stdout.split())
    doc = json.loads(_ascad("fleet", *files, "--format", "json").stdout)
    assert [n["node_id"] for n in doc["nodes"]] == ["A1", "A2", "A3"]  # the confs' node-id
    assert doc["parameters"][0]["path"] == "network.fabric.port"
    assert doc["parameters"][0]["restart"] is None  # conf files, no --server-version
    flagged = json.loads(
        _ascad("fleet", *files, "--format", "json", "--server-version", "8.1.2.2").stdout
    )
    assert flagged["parameters"][0]["restart"] is True and flagged["builds"] == ["8.1.2.2"]
    # Nodes that share one host say so: their ports are then per-node.
    same_host = _ascad("fleet", *files, "--per-node", "network.*port")
    assert same_host.returncode == 0 and "all 3 nodes identical" in same_host.stdout


def test_an_unreadable_node_makes_the_fleet_incomplete_exit_2(tmp_path: Path) -> None:
    files = _fleet(tmp_path, 3, drift={3: ("replication-factor 2", "replication-factor 3")})
    missing = str(tmp_path / "gone.conf")
    proc = _ascad("fleet", *files, missing)
    assert proc.returncode == 2
    assert "namespace[test].replication-factor" in proc.stdout  # the drift is still printed
    flat = " ".join(proc.stdout.split())
    assert "; incomplete: 1 unreachable (not compared)" in flat
    doc = json.loads(_ascad("fleet", *files, missing, "--format", "json").stdout)
    assert doc["complete"] is False and doc["unreachable"][0]["name"] == missing


# --- running nodes: node ids, builds, show --format json ---------------------------------------


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    """Three nodes served by ``ascad emulator`` (node 3 with another proto-fd-max): a list of
    (node id, aerospike://host:port)."""
    confs = []
    for n in range(1, 4):
        p = tmp_path / f"n{n}.conf"
        text = as_node(BASE, n, 3)
        if n == 3:
            text = text.replace("proto-fd-max 1024", "proto-fd-max 2048", 1)
        p.write_text(text)
        confs.append(str(p))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ascad.cli", "emulator", *confs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        nodes = []
        for _ in confs:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            node_id, hostport, _conf = line.split(" ", 2)
            nodes.append((node_id, f"aerospike://{hostport}"))
        yield nodes
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_runtime_fleet_names_nodes_by_id_with_restart_flags_from_their_builds(
    emulated: list[tuple[str, str]],
) -> None:
    urls = [u for _, u in emulated]
    proc = _ascad("fleet", *urls)
    assert proc.returncode == 1, proc.stderr
    flat = " ".join(proc.stdout.split())
    for node_id, url in emulated:
        assert f"{url} ({node_id})" in flat
    assert "service.proto-fd-max [dynamic]" in flat  # from the nodes' build: 8.1.2.2
    doc = json.loads(_ascad("fleet", *urls, "--format", "json").stdout)
    assert [n["node_id"] for n in doc["nodes"]] == [i for i, _ in emulated]
    assert doc["builds"] == ["8.1.2.2"] and doc["parameters"][0]["restart"] is False
    # ascad diff names a running side by its address and node id too
    node_id, url = emulated[0]
    proc = _ascad("diff", url, emulated[2][1])
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[:2] == [
        f"--- {url} ({node_id})",
        f"+++ {emulated[2][1]} ({emulated[2][0]})",
    ]


def test_show_format_json_holds_what_the_conf_text_holds(emulated: list[tuple[str, str]]) -> None:
    node_id, url = emulated[2]
    proc = _ascad("show", url, "--format", "json", "--timeout", "5s")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "ascad.show/1"
    assert (doc["node_id"], doc["build"], doc["source"]) == (node_id, "8.1.2.2", url)
    settings = {s["path"]: s for s in doc["settings"]}
    assert settings["service.proto-fd-max"]["canonical"] == "2048"
    text = _ascad("show", url).stdout
    assert "proto-fd-max 2048" in text
    values = [line.split() for line in text.splitlines() if line.strip() and "#" not in line]
    params = [v for v in values if len(v) >= 2 and v[-1] != "{" and v[0] != "}"]
    assert len([s for s in doc["settings"] if not s["stanza"]]) == len(params)


# --- argparse, durations, help --------------------------------------------------------------------


def test_a_misspelt_option_is_named_alone_by_the_sub_command(pair: tuple[str, str]) -> None:
    a, b = pair
    proc = _ascad("diff", "--formt", "json", a, b)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("usage: ascad diff ")
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "ascad diff: error: unrecognized option --formt (did you mean --format?)"
    assert b not in last
    proc = _ascad("fleet", "--json", a)
    assert proc.stderr.strip().splitlines()[-1] == (
        "ascad fleet: error: unrecognized option --json (use --format json)"
    )
    proc = _ascad("diff", a, b, "c.conf")
    assert proc.stderr.strip().splitlines()[-1] == "ascad diff: error: unexpected argument: c.conf"


def test_durations_take_units_everywhere(pair: tuple[str, str]) -> None:
    a, b = pair
    for value in ("10s", "500ms", "1m", "2.5", "1h"):
        assert _ascad("diff", "--timeout", value, a, b).returncode == 1, value
    assert _ascad("fleet", a, b, "--timeout", "10s").returncode == 1
    proc = _ascad("diff", "--timeout", "soon", a, b)
    assert proc.returncode == 2
    assert "argument --timeout: 'soon' is not a duration such as 10s" in proc.stderr
    proc = _ascad("diff", "--timeout", "0s", a, b)
    assert proc.returncode == 2 and "above 0" in proc.stderr
    # One wording of --timeout in every command's help.
    helps = set()
    for command in ("diff", "show", "validate", "fleet"):
        text = " ".join(_ascad(command, "--help", columns=100).stdout.split())
        m = re.search(r"--timeout DURATION (.*?\(default 10s\))", text)
        assert m, command
        helps.add(m.group(1))
    assert len(helps) == 1


def test_help_states_each_commands_exit_status_the_docs_and_format_json() -> None:
    texts = {
        c: _ascad(c, "--help", columns=100).stdout
        for c in ("diff", "show", "validate", "fleet", "check", "agent", "demo", "emulator")
    }
    for command, text in texts.items():
        flat = " ".join(text.split())
        assert "exit status: " in flat, command
        assert "differences or problems found" not in flat, command  # the old shared wording
        docs = re.search(r"docs: (\S+)", flat)
        assert docs, command
        if docs.group(1).startswith("file://"):
            assert Path(unquote(urlparse(docs.group(1).rstrip(";,")).path)).is_file(), docs
    for command in ("diff", "fleet", "check", "show"):
        assert "--format json" in " ".join(texts[command].split()), command
    assert "show" in texts and "1 " not in texts["show"].split("exit status:")[1].split("\n")[0]
    assert "finding drift is the demo's success" in " ".join(texts["demo"].split())
    assert "2 incomplete" in " ".join(texts["fleet"].split())
    top = " ".join(_ascad("--help", columns=100).stdout.split())
    assert "--format json" in top and "man ascad" in top


# --- completion and the man page ------------------------------------------------------------------


def test_bash_completion_completes_commands_options_and_choices() -> None:
    script = _ascad("completion", "bash").stdout

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        code = (
            f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _ascad; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert complete("ascad", "fl") == ["fleet"]
    assert "completion" in complete("ascad", "")
    assert complete("ascad", "diff", "--for") == ["--format"]
    assert complete("ascad", "diff", "--format", "") == ["text", "json", "html"]
    assert complete("ascad", "show", "--format", "") == ["text", "yaml", "json"]
    assert complete("ascad", "completion", "") == ["bash", "zsh", "fish"]
    assert complete("ascad", "diff", "--brie") == ["--brief"]


@pytest.mark.skipif(
    shutil.which("fish") is None, reason="fish is not installed (./dev test installs it)"
)
def test_fish_completion_loads_in_fish() -> None:
    script = _ascad("completion", "fish").stdout

    def complete(line: str) -> list[str]:
        out = subprocess.run(
            ["fish", "--no-config", "-c", f"{script}\ncomplete -C {line!r}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert out.returncode == 0, out.stderr
        return [x.split("\t")[0] for x in out.stdout.splitlines()]

    assert complete("ascad fl") == ["fleet"]
    assert complete("ascad diff --format ") == ["html", "json", "text"]
    assert complete("ascad completion ") == ["bash", "fish", "zsh"]


@pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh is not installed (./dev test installs it)"
)
def test_zsh_completion_loads_in_zsh(tmp_path: Path) -> None:
    script = tmp_path / "_ascad"
    script.write_text(_ascad("completion", "zsh").stdout)
    assert subprocess.run(["zsh", "-n", str(script)], timeout=20).returncode == 0
    # zsh's completion functions stand-ins that print what they are given.
    code = (
        '_describe() { print -rl -- "${(@P)4}" }; _arguments() { print -rl -- "$@" }; '
        f"source {script} >/dev/null 2>&1; "
        'words=(ascad ""); CURRENT=2; _ascad; print -- ---; '
        'words=(ascad diff --format ""); CURRENT=4; _ascad'
    )
    out = subprocess.run(["zsh", "-f", "-c", code], capture_output=True, text=True, timeout=20)
    commands, diff = out.stdout.split("---\n")
    assert "fleet:compare many nodes at once and group them" in commands.splitlines()
    assert "--format[output format]:value:(text json html)" in diff.splitlines()


def test_the_man_page_is_generated_from_the_parser_and_renders() -> None:
    page = ROOT / "docs" / "ascad.1"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'tools'); import gen_man; "
            "sys.stdout.write(gen_man.generate())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == page.read_text(), "docs/ascad.1 is stale: run tools/gen_man.py"
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    env = {**_env(), "MANWIDTH": "80"}
    shown = subprocess.run(
        ["man", "-l", str(page)], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    for option in ("--brief", "--server-version", "--per-node", "--check-config", "--all"):
        assert option in text, option
    assert "EXIT STATUS" in text and "ascad completion" in text


# --- per-node defaults documented --------------------------------------------------------------------


def test_every_default_per_node_glob_is_documented_with_its_reason() -> None:
    from ascad.compare.expected import DEFAULT_PER_NODE, PORTS

    doc = (ROOT / "docs" / "fleet.md").read_text()
    for entry in DEFAULT_PER_NODE:
        assert f"`{entry.glob}`" in doc, entry.glob
        assert entry.reason
    assert "network.*port" not in [e.glob for e in DEFAULT_PER_NODE]
    assert "**Ports are compared**" in doc and PORTS.glob == "network.*port"


@pytest.mark.skipif(os.name != "posix", reason="POSIX")
def test_columns_unset_and_piped_means_80(tmp_path: Path) -> None:
    files = _fleet(tmp_path, 17, drift={5: ("replication-factor 2", "replication-factor 3")})
    proc = _ascad("fleet", *files, columns=None)
    assert all(len(x) <= 80 or _unbreakable(x) for x in proc.stdout.splitlines())


def test_show_format_json_of_a_conf_file(tmp_path: Path) -> None:
    conf = tmp_path / "n1.conf"
    conf.write_text(as_node(BASE, 1, 3))
    proc = _ascad("show", str(conf), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["schema"], doc["source"], doc["node_id"], doc["build"]) == (
        "ascad.show/1",
        str(conf),
        "A1",
        None,
    )
    assert {
        "path": "service.proto-fd-max",
        "value": "1024",
        "canonical": "1024",
        "stanza": False,
    } in doc["settings"]
