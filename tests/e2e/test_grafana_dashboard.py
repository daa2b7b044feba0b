"""The Grafana dashboard deploy/grafana/ascad.json, as a team imports it: valid JSON, the
datasource a template variable everywhere (nothing tied to one Grafana's datasource uid), every
panel titled, placed and described, no two panels on top of each other, every PromQL expression
well formed, and every metric it queries one the agent really exposes (asked from the agent's
own /metrics code, not from a list kept here)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ascad.agent.daemon import Agent
from ascad.agent.server import metrics_samples
from ascad.checks.results import CRITICAL, OK, CheckResult, CycleResult
from ascad.compare.diff import Difference, Kind
from ascad.report.metrics import render_metrics
from ascad.report.status import cycle_to_dict
from tests.helpers import ROOT, loop_settings

DASHBOARD = ROOT / "deploy" / "grafana" / "ascad.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24
# Series Prometheus makes itself for every target, not the agent.
PROMETHEUS_OWN = {"up"}
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"instance", "job"}
# Variables Grafana defines itself.
GRAFANA_VARIABLES = {"__interval", "__rate_interval", "__range", "__all", "__auto"}

# PromQL words and functions: what the metric-name scan below must not take for a metric.
PROMQL_WORDS = {
    # operators and modifiers
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2",
    # aggregations
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group",
    # functions used in dashboards (and templating)
    "rate", "irate", "increase", "delta", "idelta", "deriv", "time", "timestamp", "vector",
    "scalar", "abs", "ceil", "floor", "round", "clamp_min", "clamp_max", "absent", "changes",
    "resets", "sort", "sort_desc", "label_replace", "label_join", "histogram_quantile",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "label_values", "label_names", "query_result", "metrics",
    "humanizeDuration", "inf", "nan",
}  # fmt: skip

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
# One label matcher: name, operator, quoted value.
_MATCHER = rf"\s*{_NAME}\s*(?:=~|!~|!=|=)\s*(?:{_STRING})\s*"
_MATCHERS = re.compile(rf"(?:{_MATCHER}(?:,{_MATCHER})*,?)?\s*")
# A selector's braces, quoted values (which may hold braces) taken whole.
_BRACES = re.compile(rf"\{{((?:[^{{}}\"'`]|{_STRING})*)\}}")
# Label lists of by/without/on/ignoring/group_left/group_right: label names, not metrics.
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)", re.IGNORECASE
)
# A metric name: an identifier (not inside another token, a number or a $variable) followed by
# a selector's brace, a range's bracket, whitespace, a closing parenthesis or the end.
_METRIC = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=[{\[\s)]|$)")
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
_LABEL_VALUES = re.compile(r"^\s*label_values\s*\((?:(.*),)?\s*(" + _NAME + r")\s*\)\s*$", re.S)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    out = []
    for p in doc["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def _targets(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for p in _panels(doc):
        for t in p.get("targets", []):
            yield p.get("title", "?"), t


def _variable_query(var: dict[str, Any]) -> str:
    query = var.get("query", "")
    return query.get("query", "") if isinstance(query, dict) else str(query)


def _queries(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every target's expr and every query variable's query."""
    out = [(f"panel {title!r} target {t.get('refId')}", t["expr"]) for title, t in _targets(doc)]
    for var in doc["templating"]["list"]:
        if var["type"] == "query":
            query = _variable_query(var)
            match = _LABEL_VALUES.match(query)
            if match:  # label_values(selector, label): the selector is PromQL, if there is one
                out.extend([(f"variable {var['name']}", match[1])] if match[1] else [])
            else:
                out.append((f"variable {var['name']}", query))
    return out


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every key in the document, however deep."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _strip_strings(expr: str) -> str:
    return re.sub(_STRING, '""', expr)


def balanced(expr: str) -> bool:
    """Parentheses, brackets and braces nest and close, outside quoted strings."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in _strip_strings(expr):
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack


def matcher_problems(expr: str) -> list[str]:
    """Selector braces whose contents are not comma-separated `label op "value"` matchers."""
    bodies = _BRACES.findall(expr)
    bad = [b for b in bodies if not _MATCHERS.fullmatch(b)]
    rest = _strip_strings(_BRACES.sub("{}", expr)).replace("{}", "")
    if "{" in rest or "}" in rest:
        bad.append("a brace that opens or closes no selector")
    return bad


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = _BRACES.sub("{}", expr)  # label matchers hold label names and values, not metrics
    text = _strip_strings(text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges and subqueries: [1d], [1h:5m]
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    return {m for m in _METRIC.findall(text) if m not in PROMQL_WORDS}


def label_names(expr: str) -> set[str]:
    """The label names an expression matches on or groups by."""
    names = set()
    for body in _BRACES.findall(expr):
        names.update(re.findall(rf"({_NAME})\s*(?:=~|!~|!=|=)", _strip_strings(body)))
    for group in _GROUPING.findall(_strip_strings(expr)):
        names.update(n.strip() for n in group.split(",") if n.strip())
    return names


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Metric name -> label names, from the agent's own /metrics code fed a realistic cycle:
    checks runtime (ok) and golden (critical, one difference), both fingerprints, a last
    success per check, a real Agent's counters and the default interval."""
    tmp = tmp_path_factory.mktemp("grafana")
    started = 1_700_000_000.0
    diff = Difference("service.proto-fd-max", Kind.CHANGED, "15000", "20000", 12, 12)
    cycle = CycleResult(
        node="n1",
        node_id="BB9020011AC4202",
        role="master",
        configured_role="auto",
        cluster="prod",
        master="n1",
        started=started,
        duration=1.25,
        checks=[
            CheckResult("runtime", OK, duration=0.4, finished=started + 0.4),
            CheckResult("golden", CRITICAL, [diff], duration=0.8, finished=started + 1.2),
        ],
        fingerprints={"conf": "3f2a9c0d1e4b5a67", "runtime": "9b8c7d6e5f4a3b21"},
    )
    status = cycle_to_dict(cycle)
    last_success = {c["check"]: c["finished"] for c in status["checks"]}
    agent = Agent(loop_settings(tmp, 0), serve=False)  # constructed only, never run
    text = render_metrics(metrics_samples(status, last_success, agent.counters(), 21600))
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def test_the_dashboard_is_importable_json(dashboard: dict[str, Any]) -> None:
    assert dashboard["title"] and dashboard["uid"]
    assert dashboard.get("id") is None  # an id belongs to one Grafana's database
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert "__inputs" not in dashboard  # no import-time datasource prompt: the variable picks it
    assert dashboard["panels"]


def test_the_datasource_is_a_template_variable_used_everywhere(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for name in ("cluster", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"] == DATASOURCE, name
    assert _variable_query(variables["cluster"]) == "label_values(ascad_config_info, cluster)"
    for p in _panels(dashboard):
        if p.get("type") != "row":
            assert p.get("datasource") == DATASOURCE, p.get("title")
            assert p.get("targets"), p.get("title")
    for title, t in _targets(dashboard):
        assert t.get("datasource") == DATASOURCE, (title, t.get("refId"))
        assert t.get("expr", "").strip(), (title, t.get("refId"))
    # Nowhere a datasource other than the variable: no uid of the Grafana it was made on.
    for path, key, value in _walk(dashboard):
        if key == "datasource":
            assert value == DATASOURCE, path
        if key == "uid" and path != "$":
            assert value == "${datasource}", path
    assert "DS_" not in json.dumps(dashboard)  # no ${DS_PROMETHEUS} of an exported dashboard


def test_every_panel_is_titled_placed_and_described(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in _panels(dashboard):
        title = p.get("title", "")
        assert title.strip(), p.get("id")
        assert len(p.get("description", "").split()) >= 15, f"{title}: describe it, and what to do"
        grid = p.get("gridPos", {})
        assert all(isinstance(grid.get(k), int) for k in "xywh"), title
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0, title
        assert grid["x"] + grid["w"] <= GRID_WIDTH, title
        refs = [t.get("refId") for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), f"{title}: refIds repeat"


def test_no_two_panels_overlap(dashboard: dict[str, Any]) -> None:
    boxes = [(p["title"], p["gridPos"]) for p in dashboard["panels"]]
    for i, (a, ga) in enumerate(boxes):
        for b, gb in boxes[i + 1 :]:
            apart = (
                ga["x"] + ga["w"] <= gb["x"]
                or gb["x"] + gb["w"] <= ga["x"]
                or ga["y"] + ga["h"] <= gb["y"]
                or gb["y"] + gb["h"] <= ga["y"]
            )
            assert apart, f"{a!r} and {b!r} overlap"


def test_every_expression_is_well_formed(dashboard: dict[str, Any]) -> None:
    defined = {v["name"] for v in dashboard["templating"]["list"]} | GRAFANA_VARIABLES
    for where, expr in _queries(dashboard):
        assert balanced(expr), f"{where}: unbalanced brackets in {expr!r}"
        assert not matcher_problems(expr), f"{where}: {matcher_problems(expr)} in {expr!r}"
        assert metric_names(expr), f"{where}: selects no metric: {expr!r}"
        used = {a or b for a, b in _VARIABLE.findall(expr)}
        assert used <= defined, f"{where}: undefined variables {used - defined}"


def test_every_metric_queried_is_one_the_agent_exposes(
    dashboard: dict[str, Any], exposed: dict[str, set[str]]
) -> None:
    # The fixture's document really has every family: a sanity check of the source of truth.
    assert {"ascad_check_state", "ascad_config_info", "ascad_cycles_total"} <= set(exposed)
    assert exposed["ascad_config_info"] == {"cluster", "node", "source", "fingerprint"}
    known = set(exposed) | PROMETHEUS_OWN
    labels = set().union(*exposed.values()) | TARGET_LABELS
    queried: set[str] = set()
    for where, expr in _queries(dashboard):
        names = metric_names(expr)
        assert names <= known, f"{where}: not exposed by the agent: {sorted(names - known)}"
        queried |= names
        unknown = label_names(expr) - labels
        assert not unknown, f"{where}: labels no ascad series has: {sorted(unknown)}"
    for var in dashboard["templating"]["list"]:
        match = _LABEL_VALUES.match(_variable_query(var)) if var["type"] == "query" else None
        if match:
            assert match[2] in labels, f"variable {var['name']}: label {match[2]!r}"
    # What the brief asks the dashboard to show is all there.
    assert {
        "ascad_check_state",
        "ascad_drift_differences",
        "ascad_config_info",
        "ascad_cycle_timestamp_seconds",
        "ascad_interval_seconds",
        "ascad_last_success_timestamp_seconds",
        "ascad_cycle_duration_seconds",
        "ascad_cycles_total",
        "ascad_riemann_delivery_failures_total",
        "up",
    } <= queried


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('count by (cluster, source) (x{cluster=~"$c"})', {"x"}),
        ("time() - a > 2.5 * b", {"a", "b"}),
        ("rate(c_total[1d]) * 86400", {"c_total"}),
        ('a * on (instance) group_left (node) b{s="{}"} offset 1h', {"a", "b"}),
        ("sum without (job) (a)", {"a"}),
        ("up", {"up"}),
    ],
)
def test_the_metric_name_scan(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize(
    "expr", ['a{job="x"', "rate(a[1d]", 'a{job=x"}', 'a{job="x",,b="y"}', "a)(", "a{=}"]
)
def test_malformed_expressions_are_caught(expr: str) -> None:
    assert not balanced(expr) or matcher_problems(expr)
