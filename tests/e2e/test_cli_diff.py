"""`ascad diff` end to end: exit codes, text and JSON output, ignore, and bad input; running
nodes; GitLab tokens; Salt/Jinja golden templates in a real git repository."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from ascad.cli import main
from ascad.lab.emulator.node import load_node
from tests.helpers import (
    CONF_81,
    CONFS,
    FIXTURES,
    GITLAB_PAT,
    SALT_GOLDEN,
    cli_against_node,
    free_port,
    info_on_first,
    init_repo,
    line_of,
    node_url,
    serve_while,
)

A = "service {\n    proto-fd-max 15K\n    cluster-name prod\n}\nnamespace test {\n    replication-factor 2\n    default-ttl 30d\n    storage-engine memory {\n        data-size 4G\n    }\n}\n"
B = "# same, other spellings\nnamespace test {\n  storage-engine memory {\n    data-size 4096M\n  }\n  default-ttl 2592000\n  replication-factor 2\n}\nservice {\n  cluster-name prod\n  proto-fd-max 15360\n}\n"
C = A.replace("replication-factor 2", "replication-factor 3").replace("cluster-name prod\n", "")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, text in {"a": A, "b": B, "c": C}.items():
        p = tmp_path / f"{name}.conf"
        p.write_text(text)
        out[name] = str(p)
    return out


@pytest.mark.parametrize("path", CONFS, ids=lambda p: p.name)
def test_each_sample_equals_itself(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(path), str(path)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_equivalent_files_exit_0(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", files["a"], files["b"]]) == 0


def test_text_report(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", files["a"], files["c"]]) == 1
    out = capsys.readouterr().out
    assert "\033[" not in out  # not a terminal: plain
    assert "~ replication-factor: 2 (line 6) -> 3 (line 5)" in out
    assert out.startswith(f"--- {files['a']}\n+++ {files['c']}\n")
    assert "- cluster-name prod (line 3)" in out
    assert out.rstrip().endswith("2 differences (1 changed, 1 only left)")


def test_json_report(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--format", "json", files["a"], files["c"]]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "ascad.diff/1"
    assert doc["equal"] is False
    assert [
        (d["path"], d["kind"], d["left"], d["right"], d["left_line"], d["right_line"])
        for d in doc["differences"]
    ] == [
        ("service.cluster-name", "only_left", "prod", None, 3, None),
        ("namespace[test].replication-factor", "changed", "2", "3", 6, 5),
    ]


def test_ignore(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "diff",
            "--format",
            "json",
            "--ignore",
            "service.*",
            "--ignore",
            "namespace[test].replication-factor",
            files["a"],
            files["c"],
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["equal"] and doc["ignored"] == 2


def test_colour_forced(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    main(["diff", "--color", "always", files["a"], files["c"]])
    assert "\033[31m" in capsys.readouterr().out


BAD_INPUTS = {
    "missing": (None, "no such file"),
    "empty": (b"", ":1:1: empty"),
    "binary": (b"\x7fELF\x02\x01\x00\x00", ":1:7: binary data"),
    "latin1": (b"service {\n cluster-name \xe9t\xe9\n}\n", ":2:15: not UTF-8"),
    "unbalanced": (b"service {\n}\n}\n", ":3:1: unbalanced '}'"),
    "unclosed": (b"namespace x {\n", ":1:1: missing '}'"),
    "noname": (b"namespace {\n}\n", ":1:11: 'namespace' needs a name"),
    "stray": (b"service {\n  proto-fd-max 1 }\n}\n", ":2:18: '}' must be alone"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2(
    case: str, tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data, expected = BAD_INPUTS[case]
    bad = tmp_path / f"{case}.conf"
    if data is not None:
        bad.write_bytes(data)
    assert main(["diff", files["a"], str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"ascad: {bad}")
    assert expected in err


def test_directory_is_an_error(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(tmp_path), files["a"]]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_real_console_script_no_traceback(tmp_path: Path) -> None:
    big = tmp_path / "big.conf"
    big.write_bytes(b"service {\n" + b"#" * (50 * 1024 * 1024) + b"\n}\n")
    exe = Path(sys.executable).with_name("ascad")
    proc = subprocess.run(
        [str(exe), "diff", str(big), str(FIXTURES / "confs" / "server-8.1-dev.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "over 4 MiB is refused" in proc.stderr


def test_peers_skips_expected_per_node_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node1 = tmp_path / "n1.conf"
    node2 = tmp_path / "n2.conf"
    base = "service {\n node-id %s\n proto-fd-max 1000\n}\nnetwork {\n service {\n  address %s\n  port 3000\n }\n}\n"
    node1.write_text(base % ("a1", "10.0.0.1"))
    node2.write_text(base % ("a2", "10.0.0.2"))
    assert main(["diff", str(node1), str(node2)]) == 1  # two files: every difference counts
    capsys.readouterr()
    assert main(["diff", "--peers", "--format", "json", str(node1), str(node2)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ignored"] == 3  # node-id and the two address elements
    settings = tmp_path / "ascad.toml"
    settings.write_text('[compare]\nignore = ["service.proto-fd-max"]\n')
    node2.write_text((base % ("a2", "10.0.0.2")).replace("1000", "2000"))
    assert main(["diff", "--peers", "--settings", str(settings), str(node1), str(node2)]) == 0


def test_file_name_with_a_newline_is_one_line(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "bad\nname.conf"
    assert main(["diff", files["a"], str(odd)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad\\nname.conf" in err


def test_a_default_stated_on_one_side_only_is_no_difference_for_a_known_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "golden.conf"
    node = tmp_path / "node.conf"
    golden.write_text(
        "namespace test {\n    replication-factor 2\n    default-ttl 0\n    storage-engine memory {\n        data-size 4G\n    }\n}\n"
    )
    node.write_text(
        "namespace test {\n    storage-engine memory {\n        data-size 4G\n    }\n}\n"
    )
    # Without a version ascad cannot know the defaults: both lines are differences.
    assert main(["diff", "--format", "json", str(golden), str(node)]) == 1
    assert [d["path"] for d in json.loads(capsys.readouterr().out)["differences"]] == [
        "namespace[test].replication-factor",
        "namespace[test].default-ttl",
    ]
    assert (
        main(["diff", "--format", "json", "--server-version", "8.1.2.2", str(golden), str(node)])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["defaults"] == ["namespace[test].replication-factor", "namespace[test].default-ttl"]
    # A value that is not the default still counts, and says whether it needs a restart.
    golden.write_text(golden.read_text().replace("replication-factor 2", "replication-factor 3"))
    assert (
        main(["diff", "--format", "json", "--server-version", "8.1.2.2", str(golden), str(node)])
        == 1
    )
    [d] = json.loads(capsys.readouterr().out)["differences"]
    assert (d["path"], d["kind"], d["restart"]) == (
        "namespace[test].replication-factor",
        "only_left",
        True,
    )


def test_server_version_is_refused_when_empty_or_beside_a_node(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--server-version", " ", files["a"], files["b"]]) == 2
    assert "--server-version is empty" in capsys.readouterr().err
    assert main(["diff", "--server-version", "8.1.2.2", files["a"], "aerospike://127.0.0.1:9"]) == 2
    assert "gives its own build" in capsys.readouterr().err
    # A typo would silently drop every restart flag and default: refused as validate refuses it.
    for command in ("diff", "fleet"):
        assert main([command, "--server-version", "banana", files["a"], files["b"]]) == 2
        assert capsys.readouterr().err == (
            "ascad: --server-version: not a server version: 'banana' (expected e.g. 8.1.2.2 or"
            " 7.0)\n"
        )
    # A newer minor release than the table holds is judged by the newest schema, and says so.
    main(["diff", "--server-version", "9.9", files["a"], files["b"]])
    assert capsys.readouterr().err.startswith(
        "ascad: warning: server 9.9 is newer than the newest schema ascad holds ("
    )


@pytest.mark.parametrize(
    ("argv", "secret"),
    [
        (["diff", "--password", "s3cret", "a", "b"], "s3cret"),
        (["diff", "--password=s3cret", "a", "b"], "s3cret"),
        (["fleet", "--token", "tok3n", "a"], "tok3n"),
        (["show", "aerospike://u:s3cret@127.0.0.1:1"], "s3cret"),
    ],
)
def test_secrets_on_the_command_line_are_refused_and_never_echoed(
    argv: list[str], secret: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2
    assert secret not in out + err
    assert "--password-file" in err or "--token-file" in err


def test_options_are_never_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--password-f", "pw", "a", "b"])
    # named by the sub-command, with the option it may have meant (never taken for it)
    err = capsys.readouterr().err
    assert "ascad diff: error: unrecognized option --password-f (did you mean" in err


def test_term_dumb_means_no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ascad.report.terminal import use_colour

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not use_colour(Tty())
    assert use_colour(Tty(), "always")


ORDER_A = (
    "service {\n    proto-fd-max 15000\n}\nnetwork {\n    service {\n        port 3000\n    }\n}\n"
    "namespace test {\n    replication-factor 2\n    storage-engine device {\n"
    "        file /opt/a.dat\n    }\n}\n"
)
ORDER_B = (
    "service {\n    proto-fd-max 15000\n    migrate-threads 2\n}\nnetwork {\n    service {\n"
    "        port 3001\n    }\n}\nnamespace test {\n    replication-factor 3\n"
    "    storage-engine memory\n}\n"
)


def _pair(tmp_path: Path, a: str, b: str, suffix: str = ".conf") -> tuple[str, str]:
    pa, pb = tmp_path / f"a{suffix}", tmp_path / "b.conf"
    pa.write_text(a)
    pb.write_text(b)
    return str(pa), str(pb)


def test_stanzas_are_listed_in_file_order_and_a_type_change_under_its_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parameter only on the right (service.migrate-threads) is listed where it sits in the
    files, not after every change; a storage-engine type change is `storage-engine` under the
    namespace (its path has no `.type`)."""
    a, b = _pair(tmp_path, ORDER_A, ORDER_B)
    assert main(["diff", a, b]) == 1
    lines = capsys.readouterr().out.splitlines()
    groups = [x for x in lines[2:-1] if not x.startswith("  ")]
    assert groups == [
        "service",
        "network.service",
        "namespace[test]",
        "namespace[test].storage-engine",
    ]
    assert "  ~ storage-engine: device (line 11) -> memory (line 12) (stanza type)" in lines
    assert lines[lines.index("namespace[test]") + 2].startswith("  ~ storage-engine:")


def test_ignore_warns_on_a_pattern_that_matches_nothing_and_lists_with_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _pair(tmp_path, ORDER_A, ORDER_B)
    argv = ["diff", a, b, "--ignore", "namespace[tset].*", "--ignore", "service.*"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert err == (
        "ascad: --ignore 'namespace[tset].*' matches no path on either side (a typo? paths are "
        "spelled as in docs/paths.md, e.g. 'namespace[test].*')\n"
    )
    assert "migrate-threads" not in out and out.rstrip().endswith("; ignored: 1")
    assert main([*argv, "-v"]) == 1
    out = capsys.readouterr().out
    assert "ignored (--ignore and expected per-node paths):\n  x service.migrate-threads\n" in out


TEMPLATE = (
    "service {\n{% if grains['id'] == 'a' %}\n    proto-fd-max 15000\n{% else %}\n"
    "    proto-fd-max 20000\n{% endif %}\n}\nnamespace test {\n    replication-factor {{ rf }}\n}\n"
)
NODE_B = "service {\n    proto-fd-max 20000\n}\nnamespace test {\n    replication-factor 3\n}\n"


def test_a_node_on_the_else_branch_matches_and_the_notes_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each conditional takes the branch that fits the node (issue 13): a node configured by the
    `else` branch is no difference, and -v says which branch it is on."""
    monkeypatch.setenv("COLUMNS", "400")  # wide: this test reads content, not layout
    t, b = _pair(tmp_path, TEMPLATE, NODE_B, suffix=".conf.j2")
    assert main(["diff", t, b]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "no differences; template wildcards: 1; 1 value not checked: templated; "
        "template: 1 other note, see -v"
    )
    assert main(["diff", t, b, "-v"]) == 0
    out = capsys.readouterr().out
    assert f"{t}:2: '{{% if %}}' block: branch 2 is the one on this node" in out
    assert "* namespace[test].replication-factor = 3 (not checked: templated)" in out
    # a value that fits no branch is a difference at the template's line of the first branch
    b2 = tmp_path / "b2.conf"
    b2.write_text(NODE_B.replace("20000", "30000"))
    assert main(["diff", t, str(b2)]) == 1
    out = capsys.readouterr().out
    assert "proto-fd-max: 15000 (line 3) -> 30000" in out


def test_http_source_on_an_aerospike_port_gets_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    """An Aerospike node reads an HTTP request as a bad message header and hangs up."""
    from ascad.lab.emulator.cluster import load_node

    conf = str(FIXTURES / "confs" / "server-8.1-dev.conf")
    rc, port = cli_against_node(
        load_node(conf, build="8.1.2.2"),
        lambda port: ["diff", f"http://127.0.0.1:{port}/", conf, "--timeout", "5"],
        timeout=30,
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "ServerDisconnectedError" not in err
    assert (
        "the server closed the connection without an HTTP answer: is this an Aerospike service "
        f"port? (read a node with aerospike://127.0.0.1:{port})"
    ) in err


# --- a Salt/Jinja golden template in a real git repository ----------------------------------------

GOLDEN = """\
# managed by Salt: {{ grains['id'] }}
service {
    proto-fd-max 15000
    cluster-name {{ pillar['aerospike']['cluster'] }}
    node-id {{ grains['node_id'] }}
}
logging {
    file /var/log/aerospike/aerospike.log {
        context any info
    }
}
network {
    service {
        address {{ grains['ipv4'][0] }}
        port 3000
    }
    heartbeat {
        mode mesh
        port 3002
{%- for peer in pillar['aerospike']['seeds'] %}
        mesh-seed-address-port {{ peer }} 3002
{%- endfor %}
        interval 150
        timeout 10
    }
    fabric {
        port 3001
    }
}
namespace test {
    replication-factor 2
    default-ttl 30d
{% if pillar['aerospike']['persist'] %}
    storage-engine device {
        file /opt/aerospike/data/test.dat
        filesize 16G
    }
{% else %}
    storage-engine memory {
        data-size 4G
    }
{% endif %}
}
"""

NODE = """\
service {
  proto-fd-max 15000
  cluster-name prod-eu
  node-id a1
}
logging {
  file /var/log/aerospike/aerospike.log {
    context any info
  }
}
network {
  service {
    address 10.0.0.11
    port 3000
  }
  heartbeat {
    mode mesh
    port 3002
    mesh-seed-address-port 10.0.0.12 3002
    interval 150
    timeout 10
  }
  fabric {
    port 3001
  }
}
namespace test {
  replication-factor 2
  default-ttl 2592000
  storage-engine device {
    file /opt/aerospike/data/test.dat
    filesize 16384M
  }
}
"""


@pytest.fixture
def _own_git_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git+file:// goes through the cache: keep it in the test's directory, not ~/.cache."""
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(tmp_path / "git-cache"))


@pytest.fixture
def salt_repo(tmp_path: Path, _own_git_cache: None) -> Path:
    return init_repo(tmp_path / "salt", {"aerospike/aerospike.conf.j2": GOLDEN})


def test_template_golden_matches_rendered_node(
    salt_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "node.conf"
    node.write_text(NODE)
    golden = f"git+file://{salt_repo}#aerospike/aerospike.conf.j2@main"
    rc = main(["diff", "-v", golden, str(node)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "template wildcards matched" in out
    assert "service.node-id" in out
    assert any((tmp_path / "git-cache").iterdir())  # the cache went where the test said


def test_template_golden_flags_a_real_difference(
    salt_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "node.conf"
    node.write_text(NODE.replace("replication-factor 2", "replication-factor 3"))
    rc = main(
        [
            "diff",
            "--format",
            "json",
            f"git+file://{salt_repo}#aerospike/aerospike.conf.j2@main",
            str(node),
        ]
    )
    import json

    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert [
        (d["path"], d["left"], d["right"], d["left_line"], d["right_line"])
        for d in doc["differences"]
    ] == [("namespace[test].replication-factor", "2", "3", 31, 28)]


def test_template_rendered_for_real_with_variables(
    salt_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "node.conf"
    node.write_text(NODE)
    vars_file = tmp_path / "vars.toml"
    vars_file.write_text(
        "[grains]\nid = 'as1'\nnode_id = 'A1'\nipv4 = ['10.0.0.11']\n"
        "[pillar.aerospike]\ncluster = 'prod-eu'\nseeds = ['10.0.0.12']\npersist = true\n"
    )
    golden = f"git+file://{salt_repo}#aerospike/aerospike.conf.j2@main"
    assert main(["diff", "--vars-file", str(vars_file), golden, str(node)]) == 0
    capsys.readouterr()
    # A different pillar value is now a real difference, not a wildcard.
    assert (
        main(
            [
                "diff",
                "--vars-file",
                str(vars_file),
                "--var",
                "pillar.aerospike.cluster=prod-us",
                golden,
                str(node),
            ]
        )
        == 1
    )
    assert "cluster-name: prod-us" in capsys.readouterr().out


def test_missing_variable_is_a_clear_error(
    salt_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "node.conf"
    node.write_text(NODE)
    rc = main(
        [
            "diff",
            "--var",
            "grains.id=x",
            f"git+file://{salt_repo}#aerospike/aerospike.conf.j2@main",
            str(node),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "undefined" in err and err.count("\n") == 1


LOOP_GOLDEN = """\
service {
    proto-fd-max 15000
}
{% for ns in pillar['namespaces'] %}
namespace {{ ns['name'] }} {
    replication-factor 2
    default-ttl {{ ns['ttl'] }}
    storage-engine memory {
        data-size 4G
    }
}
{% endfor %}
"""

SINGLE_GOLDEN = LOOP_GOLDEN.replace("{% for ns in pillar['namespaces'] %}\n", "").replace(
    "{% endfor %}\n", ""
)


def _nodes_conf(*names: str, rf: int = 2) -> str:
    out = "service {\n    proto-fd-max 15000\n}\n"
    for n in names:
        out += f"namespace {n} {{\n    replication-factor {rf if n != 'c' else 3}\n    default-ttl 1d\n    storage-engine memory {{\n        data-size 4G\n    }}\n}}\n"
    return out


def test_a_loop_body_stanza_pairs_with_every_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    golden = tmp_path / "golden.conf.j2"
    golden.write_text(LOOP_GOLDEN)
    node = tmp_path / "node.conf"
    node.write_text(_nodes_conf("a", "b"))
    assert main(["diff", "--format", "json", str(golden), str(node)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (
        "namespace[a].default-ttl" in doc["wildcards"]
        and "namespace[b].default-ttl" in doc["wildcards"]
    )
    # every namespace made by the loop is still checked against the loop body
    node.write_text(_nodes_conf("a", "b", "c"))
    assert main(["diff", "--format", "json", str(golden), str(node)]) == 1
    [d] = json.loads(capsys.readouterr().out)["differences"]
    assert (d["path"], d["left"], d["right"], d["left_line"]) == (
        "namespace[c].replication-factor",
        "2",
        "3",
        6,
    )


def test_a_single_wildcard_stanza_pairs_with_one_and_flags_an_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    golden = tmp_path / "golden.conf.j2"
    golden.write_text(SINGLE_GOLDEN)
    node = tmp_path / "node.conf"
    node.write_text(_nodes_conf("a"))
    assert main(["diff", str(golden), str(node)]) == 0
    capsys.readouterr()
    node.write_text(_nodes_conf("a", "b"))
    assert main(["diff", "--format", "json", str(golden), str(node)]) == 1
    diffs = json.loads(capsys.readouterr().out)["differences"]
    assert [(d["path"], d["kind"]) for d in diffs] == [("namespace[b]", "only_right")]


# --- against an emulated node ---------------------------------------------------------------------


def _cli_against_emulated(args_of, action=None) -> tuple[int, str]:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code, _ = cli_against_node(
            load_node(CONF_81, build="8.1.2.2"),
            lambda port: args_of(node_url(port)),
            setup=info_on_first(action) if action else None,
        )
    return code, buf.getvalue()


def test_cli_exit_0_when_equal() -> None:
    code, out = _cli_against_emulated(lambda spec: ["diff", CONF_81, spec])
    assert code == 0 and "no differences" in out


def test_cli_exit_1_and_json_with_line_and_restart() -> None:
    code, out = _cli_against_emulated(
        lambda spec: ["diff", spec, CONF_81, "--format", "json"],
        "set-config:context=service;proto-fd-max=30000",
    )
    assert code == 1
    doc = json.loads(out)
    [d] = doc["differences"]
    assert d["path"] == "service.proto-fd-max" and d["right_line"] == line_of("proto-fd-max")
    assert d["restart"] is False
    assert {u["path"] for u in doc["unverifiable"]} >= {"service.user", "mod-lua"}


def test_cli_exit_2_when_node_is_down(tmp_path: Path) -> None:
    port = free_port()
    code = main(["diff", CONF_81, f"aerospike://127.0.0.1:{port}", "--timeout", "2"])
    assert code == 2


# --- GitLab: the token from --token-file or $GITLAB_TOKEN -----------------------------------------


def test_gitlab_from_the_cli_with_token_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ascad diff gitlab+… FILE`: token from --token-file, else $GITLAB_TOKEN; 401 is exit 2."""
    node = tmp_path / "node.conf"
    node.write_text("service {\n    proto-fd-max 15000\n}\n")
    token_file = tmp_path / "token"
    token_file.write_text(f"\n  {GITLAB_PAT}  \n")
    token_file.chmod(0o600)  # a secret: other users may not read it
    app = web.Application()

    async def raw(request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != GITLAB_PAT:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        return web.Response(text="service {\n\tproto-fd-max 15000\n}\n")

    app.router.add_get("/api/v4/projects/ops%2Fsalt/repository/files/a.conf/raw", raw)
    results: list[tuple[int, str]] = []

    async def body(port: int) -> None:
        src = f"gitlab+http://127.0.0.1:{port}/ops/salt#a.conf@main"

        def run(*extra: str) -> None:
            rc = main(["diff", *extra, src, str(node)])
            captured = capsys.readouterr()
            results.append((rc, captured.out + captured.err))

        # The CLI runs its own event loop: run it in a thread while this loop serves.
        monkeypatch.delenv("GITLAB_TOKEN", raising=False)
        await asyncio.to_thread(run, "--token-file", str(token_file))
        await asyncio.to_thread(run)
        monkeypatch.setenv("GITLAB_TOKEN", GITLAB_PAT)
        await asyncio.to_thread(run)

    asyncio.run(serve_while(app, body))
    (rc1, out1), (rc2, out2), (rc3, out3) = results
    assert rc1 == 0 and "no differences" in out1
    assert rc2 == 2 and "HTTP 401" in out2 and "GITLAB_TOKEN" in out2
    assert len(out2.strip().splitlines()) == 1 and "gitlab+http://127.0.0.1:" in out2
    assert rc3 == 0 and "no differences" in out3


# --- a Salt golden with macros and templated stanza names -----------------------------------------

SALT_NODE = """\
service {
    proto-fd-max 15000
    node-id A1
}
logging {
    file /var/log/aerospike/A1.log {
        context any info
    }
}
network {
    heartbeat {
        mode mesh
        mesh-seed-address-port 10.0.0.2 3002
        interval 150
    }
}
namespace test {
    replication-factor 2
    storage-engine memory
}
namespace A1-local {
    replication-factor 1
    storage-engine memory
}
"""


def test_salt_golden_with_macros_and_templated_names_compares_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ascad.cli import main

    golden = tmp_path / "golden.conf.j2"
    golden.write_text(SALT_GOLDEN)
    node = tmp_path / "node.conf"
    node.write_text(SALT_NODE)
    rc = main(["diff", "--peers", "--color", "never", str(golden), str(node)])
    out = capsys.readouterr().out
    assert rc == 0, out
    # A real difference in the templated stanza is still seen.
    node.write_text(SALT_NODE.replace("replication-factor 1", "replication-factor 3"))
    rc = main(["diff", "--peers", "--color", "never", str(golden), str(node)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "replication-factor: 1" in out and "-> 3" in out
    # Rendered for real with the values, it compares clean too.
    node.write_text(SALT_NODE)
    variables = tmp_path / "vars.toml"
    variables.write_text('[grains]\nid = "A1"\n[pillar]\nns = "test"\nseeds = ["10.0.0.2"]\n')
    rc = main(["diff", "--vars-file", str(variables), str(golden), str(node)])
    out = capsys.readouterr().out
    assert rc == 0, out
