"""Every real template (tests/fixtures/field-templates: Ansible, Salt, Puppet/Chef ERB, shell,
Kubernetes) against the conf it renders to: no difference in wildcard mode (no variables), none
rendered with its variables, and a single change gives exactly one difference at the template's
line."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ascad.checks.pipeline import Rules, conf_vs_conf
from ascad.compare.diff import CHANGED
from ascad.conf.keys import ORDERED_KEYS, SET_KEYS
from ascad.errors import AscadError
from ascad.sources.loader import LoadedConf, LoadOptions, conf_from_text, load_conf
from ascad.sources.template import load_vars_file
from tests.helpers import FIXTURES

FIELD = FIXTURES / "field-templates"
RENDERED = FIELD / "rendered"
SALT_TEMPLATE = FIELD / "salt-formula" / "aerospike" / "files" / "aerospike.conf.jinja"
TEMPLATES = [
    *sorted(p for p in FIELD.iterdir() if p.is_file() and p.suffix != ".md"),
    SALT_TEMPLATE,
]


def stem(template: Path) -> str:
    return "salt-guiltias" if template == SALT_TEMPLATE else template.name.split(".")[0]


def vars_of(template: Path) -> Path | None:
    if template == SALT_TEMPLATE:
        return RENDERED / "salt-guiltias.pillar.yaml"  # for the formula's own map.jinja
    found = RENDERED / f"{stem(template)}.vars.json"
    return found if found.exists() else None


def git(*args: str, cwd: Path) -> None:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    subprocess.run(["git", *args], check=True, env=env, cwd=cwd, capture_output=True)


def formula_repo(where: Path) -> Path:
    """The Salt formula as it lives: a git repository whose top holds aerospike/map.jinja."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = where / "salt"
    shutil.copytree(FIELD / "salt-formula", repo)
    git("init", "-q", ".", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "formula", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def salt_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return formula_repo(tmp_path_factory.mktemp("formula"))


@pytest.fixture(autouse=True)
def _formula_in_git(request: pytest.FixtureRequest) -> None:
    global SALT_WORKTREE
    if "template" in request.fixturenames and request.getfixturevalue("template") == SALT_TEMPLATE:
        SALT_WORKTREE = request.getfixturevalue("salt_repo")


SALT_WORKTREE: Path | None = None


def load(spec: str, variables: dict[str, object] | None = None) -> LoadedConf:
    if spec == str(SALT_TEMPLATE) and SALT_WORKTREE is not None:
        spec = str(SALT_WORKTREE / "aerospike" / "files" / "aerospike.conf.jinja")
    return asyncio.run(load_conf(spec, LoadOptions(variables=variables)))


def compare(template: LoadedConf, rendered_text: str) -> list:  # type: ignore[type-arg]
    conf = conf_from_text("node.conf", rendered_text)
    return conf_vs_conf(template, conf, Rules()).result.differences


@pytest.mark.parametrize("template", TEMPLATES, ids=stem)
def test_wildcard_mode_finds_no_difference(template: Path) -> None:
    golden = load(str(template))
    assert golden.template and golden.variants is not None
    rendered = (RENDERED / f"{stem(template)}.rendered.conf").read_text()
    assert compare(golden, rendered) == []
    # the template on the right (`ascad diff node.conf golden.j2`) too
    node = conf_from_text("node.conf", rendered)
    assert conf_vs_conf(node, golden, Rules()).result.differences == []


@pytest.mark.parametrize("template", [t for t in TEMPLATES if vars_of(t)], ids=stem)
def test_rendered_with_its_variables_finds_no_difference(template: Path) -> None:
    found = vars_of(template)
    assert found is not None
    golden = load(str(template), load_vars_file(found))
    if stem(template) == "k8s-aerospike-kubernetes":
        assert golden.variants is not None  # the init container's seed placeholder remains
    else:
        assert golden.variants is None, "rendered for real: nothing left to wildcard"
    rendered = (RENDERED / f"{stem(template)}.rendered.conf").read_text()
    assert compare(golden, rendered) == []


_PARAM_RE = re.compile(r"^\s*([a-z][a-z0-9-]*)\s+(\d+)\s*(#.*)?$")


def _one_line(lines: list[str], wanted: str) -> int | None:
    hits = [i for i, ln in enumerate(lines, start=1) if ln.strip() == wanted]
    return hits[0] if len(hits) == 1 else None


def literal_lines(template: Path) -> list[tuple[int, str]]:
    """(template line, text) of numeric parameters written literally, once in both files."""
    tlines = template.read_text().split("\n")
    rlines = (RENDERED / f"{stem(template)}.rendered.conf").read_text().split("\n")
    found = []
    for n, ln in enumerate(tlines, start=1):
        m = _PARAM_RE.match(ln)
        if not m or m.group(1) in SET_KEYS | ORDERED_KEYS:
            continue
        if _one_line(tlines, ln.strip()) == n and _one_line(rlines, ln.strip()):
            found.append((n, ln.strip()))
    return found


WITH_LITERALS = [t for t in TEMPLATES if literal_lines(t)]


def test_every_template_but_the_generated_ones_has_a_literal_value() -> None:
    # Chef's and Puppet's templates write every parameter from a loop (`<%= k %> <%= v %>`),
    # and voronaff's from a macro: they have no literal value to change.
    assert {stem(t) for t in TEMPLATES} - {stem(t) for t in WITH_LITERALS} == {
        "chef-vkhatri",
        "puppet-deric",
        "ansible-voronaff",
    }


@pytest.mark.parametrize("template", WITH_LITERALS, ids=stem)
@pytest.mark.parametrize("rendered_too", [False, True], ids=["wildcards", "variables"])
def test_one_changed_literal_is_one_difference_at_the_template_line(
    template: Path, rendered_too: bool
) -> None:
    found = vars_of(template)
    if rendered_too and found is None:
        pytest.skip("no variables for this template")
    golden = load(str(template), load_vars_file(found) if rendered_too and found else None)
    rendered = (RENDERED / f"{stem(template)}.rendered.conf").read_text()
    for line, text in literal_lines(template):
        key, value = text.split()[:2]
        changed = rendered.replace(text, text.replace(value, str(int(value) + 7), 1), 1)
        diffs = compare(golden, changed)
        assert len(diffs) == 1, (line, text, diffs)
        assert diffs[0].kind is CHANGED and diffs[0].path.endswith(key)
        assert diffs[0].left_line == line, (text, diffs[0])


_TEMPLATED_RE = re.compile(r"^\s*([a-z][a-z0-9-]*)\s+(\{\{|\$\{)[^#]*$")


def templated_lines(template: Path) -> list[tuple[int, str, str]]:
    """(template line, key, rendered line) of numeric parameters set from a variable."""
    tlines = template.read_text().split("\n")
    rlines = (RENDERED / f"{stem(template)}.rendered.conf").read_text().split("\n")
    out = []
    for n, ln in enumerate(tlines, start=1):
        m = _TEMPLATED_RE.match(ln)
        if not m or m.group(1) in SET_KEYS | ORDERED_KEYS:
            continue
        key = m.group(1)
        if sum(1 for t in tlines if re.match(rf"\s*{key}\s", t)) != 1:
            continue
        hits = [r for r in rlines if re.match(rf"\s*{key}\s+\d+\s*(#.*)?$", r)]
        if len(hits) == 1:
            out.append((n, key, hits[0]))
    return out


@pytest.mark.parametrize("template", [t for t in TEMPLATES if vars_of(t)], ids=stem)
def test_one_changed_templated_value_with_variables_is_one_difference(template: Path) -> None:
    found = vars_of(template)
    assert found is not None
    golden = load(str(template), load_vars_file(found))
    rendered = (RENDERED / f"{stem(template)}.rendered.conf").read_text()
    cases = templated_lines(template)
    if stem(template) == "ansible-voronaff":
        # every line comes from the macro: its line is the one that wrote the value
        cases = [(11, "proto-fd-max", "  proto-fd-max 15000")]
    if stem(template) == "allezon-ansible":
        # its variables are an address and seeds (set members) and a set's name: changing one
        # is a line out and a line in, two differences by design (docs/paths.md)
        assert cases == []
        return
    assert cases, "every template with variables sets a number from one"
    for line, key, rline in cases:
        value = rline.split()[1]
        changed = rendered.replace(rline, rline.replace(value, str(int(value) + 7), 1), 1)
        diffs = compare(golden, changed)
        assert len(diffs) == 1, (key, diffs)
        assert diffs[0].kind is CHANGED and diffs[0].path.endswith(key)
        assert diffs[0].left_line == line, (key, diffs[0])


def test_templated_value_changed_without_variables_is_counted_not_checked() -> None:
    golden = load(str(FIELD / "ansible-dregor.conf.j2"))
    text = (RENDERED / "ansible-dregor.rendered.conf").read_text()
    result = conf_vs_conf(golden, conf_from_text("n.conf", text), Rules()).result
    assert result.differences == []
    assert result.wildcard_values["namespace[default].replication-factor"] == "2"
    assert result.wildcard_values["service.service-threads"] == "4"


def test_salt_formula_imports_map_jinja_from_the_repository_at_the_commit(tmp_path: Path) -> None:
    repo = formula_repo(tmp_path)
    # A later change to map.jinja in the work tree is not what the commit holds.
    (repo / "aerospike" / "map.jinja").write_text("{% set aerospike = {} %}\n")
    variables = load_vars_file(RENDERED / "salt-guiltias.pillar.yaml")
    golden = load(f"{repo}#aerospike/files/aerospike.conf.jinja@HEAD", variables)
    rendered = (RENDERED / "salt-guiltias.rendered.conf").read_text()
    assert compare(golden, rendered) == []
    # a value from map.jinja's defaults (replication_factor 2); the node has 3
    diffs = compare(golden, rendered.replace("replication-factor 2", "replication-factor 3"))
    assert [(d.path, d.left, d.right, d.left_line) for d in diffs] == [
        ("namespace[bidder].replication-factor", "2", "3", 50)
    ]
    # and a pillar-driven one: the pillar says 24G
    diffs = compare(golden, rendered.replace("memory-size 24G", "memory-size 16G"))
    assert [(d.path, d.left, d.right, d.left_line) for d in diffs] == [
        ("namespace[bidder].memory-size", "24G", "16G", 51)
    ]


def test_import_outside_any_directory_is_a_clear_error() -> None:
    text = '{% from "aerospike/map.jinja" import x %}\nservice {\n}\n'
    with pytest.raises(AscadError) as err:
        conf_from_text("<stdin>", text, LoadOptions(variables={}))
    assert "template not found: 'aerospike/map.jinja'" in err.value.message
    assert "no directory" in err.value.message


def test_salt_object_answers_from_the_variables() -> None:
    text = (
        "service {\n"
        "  cluster-name {{ salt['pillar.get']('aerospike:cluster', 'none') }}\n"
        "  node-id {{ salt['grains.get']('id') }}\n"
        "  proto-fd-max {{ pillar.get('aerospike:fds') }}\n"
        "  service-threads {{ salt['config.get']('threads', 4) }}\n"
        "  migrate-threads {{ salt.pillar.get('aerospike:migrate', 1) }}\n"
        "}\n"
    )
    variables = {"pillar": {"aerospike": {"cluster": "prod", "fds": 9000}}, "grains": {"id": "a1"}}
    conf = conf_from_text("t.sls", text, LoadOptions(variables=variables))
    assert {p: s.value for p, s in conf.flat.settings.items() if not s.stanza} == {
        "service.cluster-name": "prod",
        "service.node-id": "a1",
        "service.proto-fd-max": "9000",
        "service.service-threads": "4",
        "service.migrate-threads": "1",
    }


def test_erb_with_variables_is_refused_with_a_reason() -> None:
    with pytest.raises(AscadError) as err:
        load(str(FIELD / "chef-vkhatri.conf.erb"), {"x": 1})
    assert "ERB" in err.value.message and "wildcard mode" in err.value.message


def test_shell_template_with_variables_names_an_unknown_one() -> None:
    text = "service {\n  proto-fd-max ${FDS}\n  cluster-name ${NAME:-dev}\n}\n"
    conf = conf_from_text("t.conf", text, LoadOptions(variables={"FDS": 9000}))
    assert conf.flat["service.cluster-name"].value == "dev"
    with pytest.raises(AscadError) as err:
        conf_from_text("t.conf", text, LoadOptions(variables={}))
    assert err.value.where == "t.conf:2" and "'FDS'" in err.value.message


def test_rendered_line_numbers_are_the_template_lines_in_errors_too() -> None:
    text = "{% if x %}\n\n{% endif %}\nservice {\n  proto-fd-max {{ n }}\n  bogus{\n}\n"
    with pytest.raises(AscadError) as err:
        conf_from_text("t.j2", text, LoadOptions(variables={"x": False, "n": 1}))
    assert err.value.where is not None and err.value.where.startswith("t.j2:6:")


def _diffs(template: str, node: str, name: str = "t.conf.j2") -> list:  # type: ignore[type-arg]
    golden = conf_from_text(name, template)
    return [
        (d.path, d.kind.value, d.left, d.right, d.left_line)
        for d in conf_vs_conf(golden, conf_from_text("n.conf", node), Rules()).result.differences
    ]


def test_optional_block_is_optional_and_a_changed_literal_in_it_names_the_template_line() -> None:
    template = (
        "service {\n"
        "{% if fds is defined %}\n"
        "    proto-fd-max 15000\n"
        "{% endif %}\n"
        "    cluster-name c1\n"
        "}\n"
    )
    assert _diffs(template, "service {\n    cluster-name c1\n}\n") == []
    assert _diffs(template, "service {\n    proto-fd-max 15000\n    cluster-name c1\n}\n") == []
    assert _diffs(template, "service {\n    proto-fd-max 9\n    cluster-name c1\n}\n") == [
        ("service.proto-fd-max", "changed", "15000", "9", 3)
    ]


def test_each_namespace_of_a_loop_takes_its_own_branch() -> None:
    template = (
        "service {\n    proto-fd-max 1\n}\n"
        "{% for ns in namespaces %}\n"
        "namespace {{ ns.name }} {\n"
        "    replication-factor 2\n"
        "{% if ns.disk %}\n"
        "    storage-engine device {\n"
        "        file {{ ns.file }}\n"
        "    }\n"
        "{% else %}\n"
        "    storage-engine memory\n"
        "{% endif %}\n"
        "}\n"
        "{% endfor %}\n"
    )
    node = (
        "service {\n    proto-fd-max 1\n}\n"
        "namespace a {\n    replication-factor 2\n    storage-engine memory\n}\n"
        "namespace b {\n    replication-factor 2\n    storage-engine device {\n"
        "        file /x/b.dat\n    }\n}\n"
        "namespace c {\n    replication-factor 3\n    storage-engine memory\n}\n"
    )
    assert _diffs(template, node) == [("namespace[c].replication-factor", "changed", "2", "3", 6)]


def test_erb_conditionals_and_loops() -> None:
    template = (
        "service {\n"
        "<% if @big -%>\n"
        "    proto-fd-max 90000\n"
        "<% else -%>\n"
        "    proto-fd-max 15000\n"
        "<% end -%>\n"
        "}\n"
        "network {\n  heartbeat {\n"
        "<% @seeds.each do |s| -%>\n"
        "    mesh-seed-address-port <%= s %> 3002\n"
        "<% end -%>\n"
        "  }\n}\n"
    )
    node = (
        "service {\n    proto-fd-max 15000\n}\nnetwork {\n  heartbeat {\n"
        "    mesh-seed-address-port 10.0.0.1 3002\n    mesh-seed-address-port 10.0.0.2 3002\n"
        "  }\n}\n"
    )
    assert _diffs(template, node, "t.conf.erb") == []
    assert _diffs(template, node.replace("15000", "1"), "t.conf.erb") == [
        ("service.proto-fd-max", "changed", "90000", "1", 3)
    ]


def test_include_and_macro_call_make_their_stanza_a_wildcard() -> None:
    template = (
        "{% macro opts(d) %}{% for k, v in d.items() %}{{ k }} {{ v }}\n{% endfor %}{% endmacro %}\n"
        "service {\n"
        "    proto-fd-max 15000\n"
        "    {{ opts(service) }}\n"
        "}\n"
        "network {\n"
        "{% include 'network.j2' %}\n"
        "}\n"
    )
    node = (
        "service {\n    proto-fd-max 15000\n    cluster-name x\n    service-threads 8\n}\n"
        "network {\n  service {\n    port 3000\n  }\n}\n"
    )
    assert _diffs(template, node) == []
    # what the template states is still checked
    assert _diffs(template, node.replace("15000", "1")) == [
        ("service.proto-fd-max", "changed", "15000", "1", 4)  # the macro takes 2 lines
    ]


def test_kubernetes_placeholder_comment_stands_for_the_seeds() -> None:
    template = (
        "network {\n  heartbeat {\n    mode mesh\n    port ${HB_PORT}\n"
        "    # mesh-seed-placeholder\n  }\n}\n"
    )
    node = (
        "network {\n  heartbeat {\n    mode mesh\n    port 3002\n"
        "    mesh-seed-address-port a.svc 3002\n    mesh-seed-address-port b.svc 3002\n  }\n}\n"
    )
    assert _diffs(template, node, "t.template.conf") == []
    golden = conf_from_text("t.template.conf", template, LoadOptions(variables={"HB_PORT": 3002}))
    assert golden.variants is not None, "the placeholder line is still a wildcard when rendered"
    result = conf_vs_conf(golden, conf_from_text("n.conf", node), Rules()).result
    assert result.differences == []
    changed = node.replace("port 3002", "port 3003")
    result = conf_vs_conf(golden, conf_from_text("n.conf", changed), Rules()).result
    assert [(d.path, d.left, d.right, d.left_line) for d in result.differences] == [
        ("network.heartbeat.port", "3002", "3003", 4)
    ]


def test_rendered_include_lines_name_the_include_line(tmp_path: Path) -> None:
    (tmp_path / "service.j2").write_text("    proto-fd-max {{ fds }}\n    service-threads 4\n")
    (tmp_path / "golden.conf.j2").write_text(
        "{# head #}\n\nservice {\n{% include 'service.j2' %}\n    cluster-name c1\n}\n"
    )
    golden = load(str(tmp_path / "golden.conf.j2"), {"fds": 100})
    assert golden.flat["service.proto-fd-max"].line == 4
    assert golden.flat["service.cluster-name"].line == 5
    node = "service {\n    proto-fd-max 100\n    service-threads 4\n    cluster-name c2\n}\n"
    assert [(d.path, d.left_line) for d in compare(golden, node)] == [("service.cluster-name", 5)]


def test_salt_formula_through_a_remote_git_url_reads_map_jinja_at_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASCAD_GIT_CACHE", str(tmp_path / "git-cache"))
    repo = formula_repo(tmp_path)
    variables = load_vars_file(RENDERED / "salt-guiltias.pillar.yaml")
    golden = load(f"git+file://{repo}#aerospike/files/aerospike.conf.jinja", variables)
    rendered = (RENDERED / "salt-guiltias.rendered.conf").read_text()
    assert compare(golden, rendered) == []
    assert [
        d.left_line for d in compare(golden, rendered.replace("max-ttl 90d", "max-ttl 9d"))
    ] == [53]


def test_wildcard_mode_follows_an_include_next_to_the_template(tmp_path: Path) -> None:
    (tmp_path / "service.j2").write_text(
        "    service-threads {{ st }}\n{% if x is defined %}\n    cluster-name c1\n{% endif %}\n"
    )
    (tmp_path / "golden.conf.j2").write_text(
        "service {\n    proto-fd-max 15000\n{% include 'service.j2' %}\n}\n"
    )
    golden = load(str(tmp_path / "golden.conf.j2"))
    node = "service {\n    proto-fd-max 15000\n    service-threads 4\n    cluster-name c1\n}\n"
    assert compare(golden, node) == []
    assert compare(golden, node.replace("cluster-name c1\n", "")) == []  # optional there too
    # the included lines are checked, and reported at the include's line
    diffs = compare(golden, node.replace("c1", "c2"))
    assert [(d.path, d.left, d.right, d.left_line) for d in diffs] == [
        ("service.cluster-name", "c1", "c2", 3)
    ]
    # an include that cannot be read makes its stanza a wildcard instead
    (tmp_path / "service.j2").unlink()
    golden = load(str(tmp_path / "golden.conf.j2"))
    assert compare(golden, node.replace("c1", "c2")) == []
    assert compare(golden, node.replace("15000", "1"))[0].left_line == 2


def test_jinja_template_with_shell_placeholders_keeps_template_lines_when_rendered() -> None:
    text = (
        "{# an entrypoint fills the rest #}\n{% if big %}\n\n{% endif %}\n"
        "service {\n    proto-fd-max {{ fds }}\n    cluster-name ${CLUSTER}\n"
        "    node-id $(hostname)\n}\n"
    )
    variables: dict[str, object] = {"fds": 100, "big": True, "CLUSTER": "dev"}
    golden = conf_from_text("t.j2", text, LoadOptions(variables=variables))
    node = "service {\n    proto-fd-max 100\n    cluster-name prod\n    node-id a1\n}\n"
    assert [(d.path, d.left, d.left_line) for d in compare(golden, node)] == [
        ("service.cluster-name", "dev", 7)
    ]
