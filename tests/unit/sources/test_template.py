"""Template awareness: real Salt/Jinja and shell templates (tests/fixtures/templates) wildcarded line
for line, and Jinja2 rendering with variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ascad.conf.model import WILDCARD, WILDCARD_MANY
from ascad.errors import AscadError
from ascad.sources.template import (
    load_vars_file,
    merge_vars,
    parse_vars,
    render_template,
    wildcard_template,
    wildcard_template_notes,
)
from ascad.sources.template_detect import is_template
from tests.helpers import CONFS, FIXTURES, SALT_GOLDEN

TEMPLATES = sorted((FIXTURES / "templates").iterdir())
W = WILDCARD
WM = WILDCARD_MANY


def lines_of(name: str) -> tuple[list[str], list[str]]:
    text = (FIXTURES / "templates" / name).read_text()
    return text.split("\n"), wildcard_template(text, name).split("\n")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_fixture_keeps_line_numbers_and_leaves_no_template_syntax(path: Path) -> None:
    text = path.read_text()
    assert is_template(text)
    out = wildcard_template(text, path.name)
    before, after = text.split("\n"), out.split("\n")
    assert len(after) == len(before)
    for n, (src, dst) in enumerate(zip(before, after, strict=True), start=1):
        code = dst.split("#", 1)[0]
        assert "{{" not in code and "{%" not in code and "{#" not in code, f"line {n}: {dst!r}"
        assert "${" not in code and "$(" not in code, f"line {n}: {dst!r}"
        if not any(mark in src for mark in ("{{", "{%", "$", "{#")) and not src.strip().isupper():
            assert dst == src or (dst == "" and not src.strip()), f"line {n} changed: {dst!r}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_each_wildcarded_fixture_parses(path: Path) -> None:
    from ascad.conf.parser import parse_text

    tree = parse_text(wildcard_template(path.read_text(), path.name), path.name)
    assert list(tree.root.stanzas("service")), "the service stanza survives"
    assert list(tree.root.stanzas("namespace"))


def test_jinja_fixture_lines() -> None:
    src, out = lines_of("ansible-role-aerospike.conf.j2")
    assert out[3] == f"\tuser {W}"  # line 4: user {{ service_user }}
    assert out[15] == f"\tfile {W} {{"  # line 16: a stanza name from a variable
    assert out[16] == ""  # line 17: {{ logging_file_content }} alone stands for unknown lines
    assert out[36] == "" and out[37] == ""  # {% for %} and {% if %} lines blank
    # the loop body kept once, its wildcards marked as standing for any number of lines
    assert out[38] == f"    mesh-seed-address-port {WM} {WM}"
    assert out[58] == f"namespace {WM} {{"  # inside {% for ns in namespaces %}
    assert out[77] == "  #\t\tfile " + WM  # a {{ }} inside a conf comment is harmless
    assert src[96] == "{% endfor %}" and out[96] == ""


def test_shell_fixture_lines() -> None:
    _, out = lines_of("docker-8.1-community-shell-template.conf.tmpl")
    assert out[9] == ""  # $([ -n "${FEATURE_KEY_FILE}" ] && echo "feature-key-file …")
    assert out[14:18] == ["", "", "", ""]  # echo "file ${LOGFILE} {" … echo "}": braces inside $( )
    assert out[27] == f"\t\taddress {W}"
    assert out[55] == f"namespace {W} {{"
    assert out[60] == f"\tstorage-engine {W} {{"  # $([ … ] && echo "memory" || echo "device")
    assert out[64] == f"\t\tfile {W}"  # /opt/aerospike/data/${NAMESPACE}.dat: one token
    assert out[65] == f"\t\tfilesize {W}"  # ${STORAGE_GB}G
    assert out[66] == ""  # $(( … ) && echo "read-page-cache …")


def test_asadm_and_sed_placeholder_fixtures() -> None:
    _, out = lines_of("asadm-e2e-latest.conf.tmpl")
    assert out[23] == "" and out[64] == ""  # ${security_stanza}, ${peer_connection}
    assert out[30] == f"\tpidfile {W}"  # ${state_directory}/asd.pid
    assert (
        out[93] == f"namespace {W}_sc {{"
    )  # ${namespace}_sc: a stanza name keeps its literal part
    src, out = lines_of("docker-legacy-mesh-placeholders.conf.tmpl")
    assert src[61].strip() == "MEMORY_PER_NS" and out[61] == ""
    assert out[62] == src[62]  # default-ttl 30d … unchanged


@pytest.mark.parametrize("path", CONFS, ids=lambda p: p.name)
def test_plain_confs_are_not_templates(path: Path) -> None:
    """Real confs, including LDAP patterns with the server's own ${un} token, are not templates."""
    text = path.read_text()
    assert not is_template(text)
    assert wildcard_template(text) == "\n".join(
        "" if not ln.strip() else ln for ln in text.split("\n")
    )


def test_if_elif_else_keeps_the_first_branch() -> None:
    text = (
        "service {\n"
        "{% if grains['role'] == 'a' %}\n"
        "\tproto-fd-max 1000\n"
        "{% elif grains['role'] == 'b' %}\n"
        "\tproto-fd-max 2000\n"
        "{% else %}\n"
        "\tproto-fd-max 3000\n"
        "{% endif %}\n"
        "\tcluster-name c{{ n }}\n"
        "}\n"
    )
    result = wildcard_template_notes(text)
    assert result.text.split("\n") == [
        "service {",
        "",
        "\tproto-fd-max 1000",
        "",
        "",
        "",
        "",
        "",
        f"\tcluster-name {W}",
        "}",
        "",
    ]
    assert result.wildcards == 1
    assert [n.line for n in result.notes] == [4, 6]


def test_nested_blocks_for_else_macro_set_and_raw() -> None:
    text = (
        "{% macro seed(h) %}\n"
        "mesh-seed-address-port {{ h }} 3002\n"
        "{% endmacro %}\n"
        "network {\n"
        "  heartbeat {\n"
        "{%- for h in pillar['seeds'] %}\n"
        "    {% if h != grains['ip'] %}mesh-seed-address-port {{ h }} 3002{% endif %}\n"
        "{% else %}\n"
        "    mesh-seed-address-port 127.0.0.1 3002\n"
        "{% endfor -%}\n"
        "{% set block %}\n"
        "not output\n"
        "{% endset %}\n"
        "  }\n"
        "}\n"
        "{% raw %}# {{ literally }}{% endraw %}\n"
    )
    out = wildcard_template(text).split("\n")
    assert out[1] == ""  # macro body is not output
    assert out[6] == f"    mesh-seed-address-port {WM} 3002"  # inside the loop
    assert out[8] == ""  # the for-else branch
    assert out[11] == ""  # block set
    assert out[15] == "# {{ literally }}"


def test_multiline_tags_and_comments_keep_line_numbers() -> None:
    text = (
        "{#\n a Jinja comment\n with {{ braces }}\n#}\n"
        "service {\n"
        "{% set x = {\n  'a': 1,\n  'b': '}}' } %}\n"
        "\tproto-fd-max {{ '%}' ~ x['a'] }}\n"
        "\tnode-id {{ grains['id'] }}:{{ port }}  # {{ comment }} stays a comment\n"
        "}\n"
    )
    out = wildcard_template(text).split("\n")
    assert len(out) == len(text.split("\n"))
    assert out[:4] == ["", "", "", ""] and out[5:8] == ["", "", ""]
    assert out[8] == f"\tproto-fd-max {W}"
    assert out[9].startswith(f"\tnode-id {W}  #")  # two placeholders in one token: one wildcard
    assert out[4] == "service {" and out[10] == "}"


def test_ldap_server_tokens_are_kept_but_shell_variables_are_not() -> None:
    text = (
        "security {\n ldap {\n  user-dn-pattern uid=${un},ou=${OU}\n  query-base-dn $BASE\n }\n}\n"
    )
    out = wildcard_template(text).split("\n")
    assert out[2] == f"  user-dn-pattern {W}"  # partly templated: the whole token is unknown
    assert out[3] == f"  query-base-dn {W}"
    plain = "security {\n ldap {\n  role-query-pattern (&(member=${dn})(uid=${un}))\n }\n}\n"
    assert not is_template(plain) and wildcard_template(plain) == plain


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a\nb {{ x\n", 2, "'{{' is never closed"),
        ("a\n{% if x %}\nb\n", 2, "never closed with '{% endif %}'"),
        ("{% for x in y %}\n{% endif %}\n", 2, "does not close '{% for %}' from line 1"),
        ("{% endif %}\n", 1, "closes nothing"),
        ("x\n{% else %}\n", 2, "outside"),
    ],
)
def test_broken_templates_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(AscadError) as err:
        wildcard_template(text, "golden.conf.j2")
    assert err.value.where == f"golden.conf.j2:{line}"
    assert words in err.value.message


# --- rendering ------------------------------------------------------------------------------


def test_render_ansible_fixture_with_variables() -> None:
    from ascad.conf.parser import parse_text

    text = (FIXTURES / "templates" / "ansible-role-aerospike.conf.j2").read_text()
    variables = {
        "service_user": "root",
        "service_group": "root",
        "service_paxos_single_replica_limit": 1,
        "service_pidfile": "/var/run/aerospike/asd.pid",
        "service_threads": 4,
        "service_transaction_queues": 4,
        "service_transaction_threads_per_queue": 4,
        "service_proto_fd_max": 15000,
        "logging_file": "/var/log/aerospike/aerospike.log",
        "logging_file_content": "context any info",
        "network_service_address": "any",
        "network_port": 3000,
        "PRIV_IP": "10.0.0.1",
        "AEROSPIKE_CLUSTER_INTERFACE": "eth0",
        "network_mode": "mesh",
        "network_mode_port": 3002,
        "groups": {"aerospike_db_servers": ["n1", "n2"]},
        "hostvars": {"n1": {"PRIV_IP": "10.0.0.1"}, "n2": {"PRIV_IP": "10.0.0.2"}},
        "network_heartbeat_interval": 150,
        "network_heartbeat_timeout": 10,
        "network_fabric_port": 3001,
        "network_info_port": 3003,
        "ansible_devices": ["sdb"],
        "namespaces": [
            {
                "storage_engine": "memory",
                "ns_name": "test",
                "default_ttl": 0,
                "replication_factor": 2,
                "memory_size": "4G",
                "match_device": "sdb",
            },
        ],
    }
    rendered = render_template(text, variables, "ansible.j2")
    assert "mesh-seed-address-port 10.0.0.2 3002" in rendered
    assert "namespace test {" in rendered and "{{" not in rendered
    assert rendered.endswith("\n")
    tree = parse_text(rendered, "rendered")
    assert [s.name for s in tree.root.stanzas("namespace")] == ["test"]


def test_render_salt_style_grains_from_vars() -> None:
    text = "service {\n\tnode-id {{ grains['id'] }}\n\tcluster-name {{ pillar.aerospike.cluster }}\n}\n"
    variables = parse_vars(["grains.id=a1", "pillar.aerospike.cluster=prod"])
    assert render_template(text, variables) == "service {\n\tnode-id a1\n\tcluster-name prod\n}\n"


def test_missing_variable_names_the_template_line() -> None:
    text = "service {\n\tproto-fd-max 1000\n\tnode-id {{ grains['id'] }}\n}\n"
    with pytest.raises(AscadError) as err:
        render_template(text, {"grains": {}}, "golden.conf.j2")
    assert err.value.where == "golden.conf.j2:3"
    assert "node-id {{ grains['id'] }}" in err.value.message and "--var" in err.value.message
    with pytest.raises(AscadError) as err:
        render_template("a\n\nb {{ nothere }}\n", {}, "t.j2")
    assert err.value.where == "t.j2:3" and "'nothere' is undefined" in err.value.message


def test_render_syntax_error_and_sandbox() -> None:
    with pytest.raises(AscadError) as err:
        render_template("a\n{% if x %}\nb\n", {"x": 1}, "t.j2")
    assert err.value.where.startswith("t.j2:") and "syntax" in err.value.message
    with pytest.raises(AscadError, match="SecurityError"):
        render_template("{{ ''.__class__.__mro__[1].__subclasses__() }}\n", {}, "t.j2")


def test_parse_vars_and_merge(tmp_path: Path) -> None:
    assert parse_vars(["a.b=1", "a.c:=2", "flag:=true", "s=x=y", "l:=[1, 2]"]) == {
        "a": {"b": "1", "c": 2},
        "flag": True,
        "s": "x=y",
        "l": [1, 2],
    }
    with pytest.raises(AscadError, match="already a value"):
        parse_vars(["a=1", "a.b=2"])
    with pytest.raises(AscadError, match="already holds keys"):
        parse_vars(["a.b=1", "a=2"])
    with pytest.raises(AscadError, match="KEY=VALUE"):
        parse_vars(["novalue"])
    with pytest.raises(AscadError, match="not JSON"):
        parse_vars(["n:=[oops"])
    with pytest.raises(AscadError, match="bad key"):
        parse_vars(["a..b=1"])
    assert merge_vars({"g": {"id": "x", "os": "l"}, "k": 1}, {"g": {"id": "y"}}) == {
        "g": {"id": "y", "os": "l"},
        "k": 1,
    }


def test_load_vars_files(tmp_path: Path) -> None:
    toml = tmp_path / "vars.toml"
    toml.write_text('[grains]\nid = "node7"\n[pillar.aerospike]\nport = 3000\n')
    assert load_vars_file(toml) == {
        "grains": {"id": "node7"},
        "pillar": {"aerospike": {"port": 3000}},
    }
    js = tmp_path / "vars.json"
    js.write_text(json.dumps({"grains": {"id": "n"}}))
    assert load_vars_file(js) == {"grains": {"id": "n"}}
    bad = tmp_path / "vars.toml.bak"
    bad.write_text("x = 1\n")
    with pytest.raises(AscadError, match=r"\.toml, \.json or \.yaml"):
        load_vars_file(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("x = \n")
    with pytest.raises(AscadError, match="cannot parse"):
        load_vars_file(broken)
    arr = tmp_path / "arr.json"
    arr.write_text("[1]")
    with pytest.raises(AscadError, match="table/object"):
        load_vars_file(arr)
    with pytest.raises(AscadError, match="cannot read"):
        load_vars_file(tmp_path / "missing.toml")


def test_wildcarded_golden_lines_up_with_a_rendered_node() -> None:
    """Wildcarding keeps the first branch, the one a node with that grain renders."""
    template = (
        "service {\n"
        "\tnode-id {{ grains['id'] }}\n"
        "{% if grains['ssd'] %}\n"
        "\tproto-fd-max 20000\n"
        "{% else %}\n"
        "\tproto-fd-max 10000\n"
        "{% endif %}\n"
        "}\n"
    )
    node = render_template(template, parse_vars(["grains.id=n1", "grains.ssd:=true"]))
    wild = wildcard_template(template)
    node_lines = [ln for ln in node.split("\n") if ln.strip() and not ln.startswith("{")]
    wild_lines = [ln for ln in wild.split("\n") if ln.strip()]
    assert len(node_lines) == len(wild_lines)
    for a, b in zip(node_lines, wild_lines, strict=True):
        assert a == b or (WILDCARD in b and a.split()[0] == b.split()[0])


def test_partly_templated_stanza_names_keep_their_literal_part() -> None:
    """'namespace {{ id }}-local {' stays apart from 'namespace {{ ns }} {': before, both became
    namespace[{{…}}], were merged with warnings, and the merged values (rf 1) were compared with
    namespace[test] (rf 2): a false difference."""
    out = wildcard_template_notes(SALT_GOLDEN, "golden.j2")
    lines = out.text.split("\n")
    assert len(lines) == len(SALT_GOLDEN.split("\n"))
    assert lines[13] == f"    file /var/log/aerospike/{W}.log {{"
    assert lines[24] == f"namespace {W} {{"
    assert lines[28] == f"namespace {W}-local {{"
    assert lines[20] == ""  # the macro call line stands for unknown lines
    assert out.wildcards == 5
