"""Source specs (ascad.sources.spec): files, stdin, agents, GitLab, git, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.errors import SourceError
from ascad.sources import Kind, parse_source
from ascad.sources.spec import gitlab_raw_url
from tests.helpers import CONF_MAIN, fetch


def test_parse_local_stdin_and_runtime() -> None:
    s = parse_source("/etc/aerospike/aerospike.conf")
    assert (s.kind, s.path, s.display) == (
        Kind.FILE,
        "/etc/aerospike/aerospike.conf",
        "/etc/aerospike/aerospike.conf",
    )
    assert parse_source("-").kind is Kind.STDIN
    a = parse_source("aerospike://10.0.0.1")
    assert (a.kind, a.host, a.port, a.tls) == (Kind.AEROSPIKE, "10.0.0.1", 3000, False)
    t = parse_source("aerospike+tls://node1:4000?tls-name=clusterA")
    assert (t.host, t.port, t.tls, t.options) == ("node1", 4000, True, (("tls-name", "clusterA"),))
    assert parse_source("aerospike+tls://node1").port == 4333
    v6 = parse_source("aerospike://[::1]:3100")
    assert (v6.host, v6.port, v6.display) == ("::1", 3100, "aerospike://[::1]:3100")


def test_parse_agent_and_gitlab_urls() -> None:
    a = parse_source("http://10.0.0.5:9145/")
    assert (a.kind, a.url, a.host, a.port) == (Kind.AGENT, "http://10.0.0.5:9145", "10.0.0.5", 9145)
    g = parse_source("gitlab+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main")
    assert (g.kind, g.url, g.project, g.path, g.ref) == (
        Kind.GITLAB,
        "https://gitlab.example/api/v4",
        "ops/salt",
        "aerospike/aerospike.conf",
        "main",
    )
    assert g.display == "gitlab:main:aerospike/aerospike.conf"
    assert gitlab_raw_url(g) == (
        "https://gitlab.example/api/v4/projects/ops%2Fsalt/repository/files/"
        "aerospike%2Faerospike.conf/raw?ref=main"
    )
    api = parse_source(
        "https://gitlab.example/api/v4/projects/42/repository/files/aerospike%2Faerospike.conf/raw?ref=v1.2"
    )
    assert (api.kind, api.project, api.path, api.ref) == (
        Kind.GITLAB,
        "42",
        "aerospike/aerospike.conf",
        "v1.2",
    )
    assert gitlab_raw_url(api).endswith(
        "/projects/42/repository/files/aerospike%2Faerospike.conf/raw?ref=v1.2"
    )


def test_parse_git_forms(tmp_path: Path) -> None:
    g = parse_source("git+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main")
    assert (g.kind, g.repo, g.path, g.ref, g.local) == (
        Kind.GIT,
        "https://gitlab.example/ops/salt.git",
        "aerospike/aerospike.conf",
        "main",
        False,
    )
    assert g.display == "git:main:aerospike/aerospike.conf"
    s = parse_source("git+ssh://git@host/ops/salt.git#/a/b.conf")
    assert (s.repo, s.path, s.ref, s.display) == (
        "ssh://git@host/ops/salt.git",
        "a/b.conf",
        None,
        "git:HEAD:a/b.conf",
    )
    # DIR#PATH@REF is git only when DIR is a directory and the whole string is not a file.
    (tmp_path / "repo").mkdir()
    local = parse_source(f"{tmp_path}/repo#x/a.conf@v2")
    assert (local.kind, local.local, local.repo, local.ref) == (
        Kind.GIT,
        True,
        str(tmp_path / "repo"),
        "v2",
    )
    odd = tmp_path / "repo#x"
    odd.write_text(CONF_MAIN)
    assert parse_source(str(odd)).kind is Kind.FILE
    assert parse_source(f"{tmp_path}/nodir#a.conf").kind is Kind.FILE


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("ftp://host/x", "unknown source scheme"),
        ("git+https://host/r.git", "no file path"),
        ("git+https://host/r.git#a.conf@", "empty ref"),
        ("git+https://host/r.git#../etc/passwd", "'..'"),
        ("git+svn://host/r#a", "git+file://"),
        ("git+https://host/r.git#a.conf@bad..ref", "not a valid git ref"),
        ("aerospike://", "no host"),
        ("aerospike://h:99999", "bad aerospike"),
        ("http://h:1/x?y=1", "no query"),
        ("gitlab+https://h/ops/salt", "no file path"),
        ("   ", "empty source"),
    ],
)
def test_parse_errors_name_the_source(spec: str, words: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_source(spec)
    assert words in str(err.value)


def test_password_in_url_is_hidden() -> None:
    s = parse_source("git+https://bob:s3cret@gitlab.example/ops/salt.git#a.conf")
    assert "s3cret" not in s.raw and "s3cret" not in s.display
    assert "bob:***@" in s.raw
    with pytest.raises(SourceError) as err:
        parse_source("ftp://bob:s3cret@host/x")
    assert "s3cret" not in str(err.value)


def test_runtime_kind_is_refused_here() -> None:
    with pytest.raises(SourceError, match="runtime reader"):
        fetch("aerospike://127.0.0.1:3000")
