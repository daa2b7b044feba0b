"""Each field template against a running node (our emulator, loaded with the conf the template
renders to): the template takes the way that fits the node's running config, its wildcard
paths stand for the node's own (namespaces, seeds, log files), and a changed value is one
difference at the template's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.lab.emulator.cluster import load_node
from tests.helpers import FIXTURES, cli_against_node

FIELD = FIXTURES / "field-templates"
# chef-vkhatri's rendered conf has an empty `cluster {}` stanza that no running node prints: the
# conf itself differs from its node there (as `ascad diff rendered.conf aerospike://…` says).
TEMPLATES = sorted(
    p for p in FIELD.iterdir() if p.is_file() and p.suffix != ".md" and "chef" not in p.name
)


def run(template: Path, conf: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc, _port = cli_against_node(
        load_node(str(conf), build="6.1.0.4"),
        lambda port: ["diff", str(template), f"aerospike://127.0.0.1:{port}", "--timeout", "5"],
        timeout=60,
    )
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name.split(".")[0])
def test_template_matches_its_running_node(
    template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rendered = FIELD / "rendered" / f"{template.name.split('.')[0]}.rendered.conf"
    rc, out = run(template, rendered, capsys)
    assert rc == 0, out
    assert "no differences" in out


def test_a_changed_running_value_is_one_difference_at_the_template_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide: this test reads content, not layout
    template = FIELD / "ansible-zeppelinen.conf.j2"
    text = (FIELD / "rendered" / "ansible-zeppelinen.rendered.conf").read_text()
    assert text.count("port 3003") == 1
    conf = tmp_path / "node.conf"
    conf.write_text(text.replace("port 3003", "port 3013"))
    rc, out = run(template, conf, capsys)
    assert rc == 1
    assert any(ln.startswith("1 difference (1 changed)") for ln in out.splitlines()), out
    assert "~ port: 3003 (line 80) -> 3013" in out
