"""Prometheus text exposition format (version 0.0.4), written by hand.

Facts behind the rules (Prometheus "Exposition formats" documentation):

- One family per metric name: ``# HELP name text`` and ``# TYPE name gauge`` once, then all of its
  samples together; a name may not appear in two separate groups.
- A sample line is ``name{label="value",…} value``; the line ends with ``\\n``, and so does the
  whole text.
- Metric names match ``[a-zA-Z_:][a-zA-Z0-9_:]*``, label names ``[a-zA-Z_][a-zA-Z0-9_]*``;
  label names starting with ``__`` are reserved.
- In label values ``\\``, ``"`` and newline are escaped as ``\\\\``, ``\\"`` and ``\\n``. In HELP
  text only ``\\`` and newline are escaped.
- Values are Go floats: ``NaN``, ``+Inf``, ``-Inf`` or a decimal/scientific number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ascad.errors import AscadError

#: The Content-Type for a ``/metrics`` response in this format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: HELP text of the metrics the agent exposes; used when a Sample gives none.
KNOWN_HELP = {
    "ascad_drift_differences": "Differences found by the last run of each check (absent when "
    "it could not run).",
    "ascad_build_info": "Always 1; the ascad version and the Python it runs on.",
    "ascad_role_info": "Always 1; this node's role in its last cycle (master or slave) and, on a "
    "slave, the master's agent URL.",
    "ascad_check_failures_total": "Check runs that could not run (state warning), per check.",
    "ascad_last_success_timestamp_seconds": "Unix time of the check's last successful run.",
    "ascad_cycle_duration_seconds": "Wall-clock duration of the last cycle in seconds.",
    "ascad_cycle_timestamp_seconds": "Unix time at which the last cycle ended.",
    "ascad_interval_seconds": "Seconds between two cycles (the agent's interval, before jitter).",
    "ascad_config_info": "Always 1; the fingerprint of the node's conf (source=conf) and of its "
    "running config (source=runtime), per-node paths left out (docs/observability.md).",
    "ascad_cycles_total": "Cycles run since the agent started.",
    "ascad_riemann_deliveries_total": "Cycles whose Riemann events were delivered.",
    "ascad_riemann_delivery_failures_total": "Cycles whose Riemann events could not be delivered.",
}

_TYPES = ("gauge", "counter", "untyped")
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class Sample:
    """One sample: ``name{labels} value``. ``help``/``type`` describe the whole family."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    help: str = ""
    type: str = "gauge"


def escape_label_value(value: str) -> str:
    """A label value escaped for the text format: ``\\`` ``"`` and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text escaped for the text format: ``\\`` and newline."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: integers without a fraction, Go's NaN/Inf."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _check(sample: Sample) -> None:
    where = f"metric {sample.name}"
    if not _NAME_RE.fullmatch(sample.name):
        raise AscadError("invalid metric name", where)
    if sample.type not in _TYPES:
        raise AscadError(f"type {sample.type!r} is not one of {', '.join(_TYPES)}", where)
    for label in sample.labels:
        if not _LABEL_RE.fullmatch(label) or label.startswith("__"):
            raise AscadError(f"invalid label name {label!r}", where)


def render_metrics(samples: list[Sample]) -> str:
    """The samples as one exposition text, families in order of first appearance.

    Raises :class:`AscadError` for an invalid name, a family given two types or two HELP texts,
    or the same name and labels twice.
    """
    families: dict[str, list[Sample]] = {}
    for sample in samples:
        _check(sample)
        families.setdefault(sample.name, []).append(sample)
    out: list[str] = []
    for name, group in families.items():
        kinds = {s.type for s in group}
        helps = {s.help for s in group if s.help}
        if len(kinds) > 1:
            raise AscadError(f"samples disagree on the type: {sorted(kinds)}", f"metric {name}")
        if len(helps) > 1:
            raise AscadError("samples disagree on the HELP text", f"metric {name}")
        text = helps.pop() if helps else KNOWN_HELP.get(name, name)
        out.append(f"# HELP {name} {escape_help(text)}")
        out.append(f"# TYPE {name} {group[0].type}")
        seen: set[tuple[tuple[str, str], ...]] = set()
        for sample in group:
            key = tuple(sorted(sample.labels.items()))
            if key in seen:
                raise AscadError(f"two samples with labels {dict(key)}", f"metric {name}")
            seen.add(key)
            labels = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sample.labels.items())
            series = f"{name}{{{labels}}}" if labels else name
            out.append(f"{series} {format_value(sample.value)}")
    return "\n".join(out) + "\n" if out else ""
