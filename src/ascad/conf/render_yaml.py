"""ConfTree -> asconfig YAML (the form ``asconfig convert`` writes and an ``AerospikeCluster``'s
``spec.aerospikeConfig`` holds). Reading the result with :mod:`ascad.conf.yaml_tree` gives the
same settings: the conventions are the ones that module reads (plural lists, ``name`` and
``type`` keys, ``:``-joined tokens, logging sinks), and sizes and durations are written as plain
numbers in their base unit (``2M`` -> ``2097152`` bytes, or ``120`` seconds on
``ship-versions-interval``), booleans as YAML booleans, as asconfig writes them. PyYAML is
imported only when this runs.
"""

from __future__ import annotations

import re
from typing import Any

from ascad.conf import keys
from ascad.conf.flatten import join, stanza_segment
from ascad.conf.model import ConfTree, Param, Stanza
from ascad.conf.values import canonical_values
from ascad.conf.yaml_tree import COLON_JOINED, LIST_SECTIONS, PLURALS, SYSLOG_PARAMS
from ascad.knowledge.table import known_unit

# Keys the management lib writes as one value when there is one, as a list otherwise
# (utils.go isListOrString).
_LIST_OR_STRING = frozenset({"feature-key-file", "tls-authenticate-client"})
_INT_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")


def render_yaml(tree: ConfTree, header: list[str] | None = None) -> str:
    """The tree as asconfig YAML; ``header`` lines are written first as ``#`` comments."""
    import yaml

    doc = _mapping(tree.root, "")
    head = "".join(f"# {line}\n" if line else "#\n" for line in header or ())
    if not doc:
        return head + "{}\n"
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return head + str(body)


def _mapping(stanza: Stanza, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    multi: dict[str, list[str]] = {}
    for child in stanza.children:
        if isinstance(child, Param):
            _param(out, multi, child, stanza.kind, prefix)
            continue
        path = join(prefix, stanza_segment(child))
        if not prefix and child.kind == "logging":
            out["logging"] = [_sink(s) for s in child.stanzas()]
            continue
        if child.kind in LIST_SECTIONS and child.name is not None:
            body = {"name": child.name, **_mapping(child, path)}
            out.setdefault(PLURALS.get(child.kind, child.kind), []).append(body)
        elif child.kind in keys.TYPED_STANZAS:
            out[child.kind] = {"type": child.name, **_mapping(child, path)}
        else:
            existing = out.get(child.kind)
            body = _mapping(child, path)
            if isinstance(existing, dict):
                existing.update(body)  # a stanza opened twice: the server merges them
            else:
                out[child.kind] = body
    for key, values in multi.items():
        if key in _LIST_OR_STRING and len(values) == 1:
            out[key] = values[0]
        else:
            out[PLURALS[key]] = values
    return out


def _param(
    out: dict[str, Any], multi: dict[str, list[str]], param: Param, parent: str, prefix: str
) -> None:
    if keys.repeat_shape(param.key, parent) in ("ordered", "set") or param.key in PLURALS:
        sep = ":" if param.key in COLON_JOINED else " "
        multi.setdefault(param.key, []).append(sep.join(param.values))
        return
    if param.key in COLON_JOINED:
        out[param.key] = ":".join(param.values)
        return
    canonical = canonical_values(param.key, param.values, known_unit(join(prefix, param.key)))
    out[param.key] = _typed(canonical if " " not in canonical else " ".join(param.values))


def _typed(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if _INT_RE.match(value):
        return int(value)
    return value


def _sink(sink: Stanza) -> dict[str, Any]:
    name = sink.name if sink.kind == "file" and sink.name is not None else sink.kind
    out: dict[str, Any] = {"name": name}
    for param in sink.params():
        if param.key == "context" and len(param.values) >= 2:
            out[param.values[0]] = param.values[1]
        elif param.key in SYSLOG_PARAMS and param.values:
            out[param.key] = param.values[0]
    return out
