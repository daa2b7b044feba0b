"""``salt://PATH``: the source's syntax, the salt-call command line, and the errors that need no
Salt (a missing command, a missing config directory). Salt itself renders, fails and hangs in
tests/e2e/test_salt_golden.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.errors import SourceError
from ascad.sources import Kind, fetch_text, parse_source
from ascad.sources.salt import SaltOptions, salt_command


def test_parse_salt_sources() -> None:
    spec = parse_source("salt://aerospike/files/aerospike.conf.jinja")
    assert spec.kind is Kind.SALT
    assert spec.path == "aerospike/files/aerospike.conf.jinja"
    assert spec.display == spec.raw == "salt://aerospike/files/aerospike.conf.jinja"
    env = parse_source("salt:///aerospike//aerospike.conf?saltenv=prod")
    assert env.raw == "salt://aerospike/aerospike.conf?saltenv=prod"
    assert env.options == (("saltenv", "prod"),)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("salt://", "no file path"),
        ("salt:///", "no file path"),
        ("salt://a/../b.conf", "'..' is not allowed"),
        ("salt://a#b", "takes no '#'"),
    ],
)
def test_bad_salt_sources(spec: str, words: str) -> None:
    with pytest.raises(SourceError, match=words):
        parse_source(spec)


def test_the_command_line_is_cp_get_template_with_the_json_outputter() -> None:
    cmd = salt_command(
        "salt://a/b.conf.jinja",
        "/tmp/x/rendered.conf",
        SaltOptions(salt_call="/opt/salt/bin/salt-call", config_dir="/etc/salt-a", file_root="/f"),
    )
    assert cmd == [
        "/opt/salt/bin/salt-call",
        "--local",
        "--out=json",
        "--log-level=error",
        "--config-dir=/etc/salt-a",
        "--file-root=/f",
        "cp.get_template",
        "salt://a/b.conf.jinja",
        "/tmp/x/rendered.conf",
        "source=salt://a/b.conf.jinja",
    ]


def _fetch(spec: str, options: SaltOptions) -> None:
    asyncio.run(fetch_text(parse_source(spec), salt=options))


def test_salt_not_installed_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        _fetch("salt://a.conf", SaltOptions(salt_call=str(tmp_path / "no-salt-call")))
    assert str(err.value) == (
        f"salt://a.conf: Salt is needed to render salt:// sources: '{tmp_path / 'no-salt-call'}'"
        " not found (install Salt, or give its path with --salt-call)"
    )


def test_a_config_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"Salt config directory .* is not a directory"):
        _fetch("salt://a.conf", SaltOptions(config_dir=str(tmp_path / "nope")))


def test_cli_flags_reach_the_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "diff",
            "salt://a.conf",
            "salt://b.conf",
            "--salt-call",
            str(tmp_path / "missing"),
        ]
    )
    assert code == 2
    assert "not found (install Salt" in capsys.readouterr().err
    # a duration, as --timeout takes (issue 17): 0 is refused by the parser, naming the option
    with pytest.raises(SystemExit) as refused:
        main(["diff", "salt://a.conf", "salt://b.conf", "--salt-timeout", "0"])
    assert refused.value.code == 2
    assert "--salt-timeout: '0': give a duration above 0" in capsys.readouterr().err
