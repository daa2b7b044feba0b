"""A Salt/Jinja golden template in a real git repository, compared with rendered node files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.cli import main
from tests.helpers import init_repo

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


@pytest.fixture(autouse=True)
def _own_git_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git+file:// goes through the cache: keep it in the test's directory, not ~/.cache."""
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(tmp_path / "git-cache"))


@pytest.fixture
def salt_repo(tmp_path: Path) -> Path:
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
