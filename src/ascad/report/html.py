"""Self-contained HTML reports (no scripts, no external assets), rendered from the JSON documents.

Rendering from the documented JSON (``ascad.diff/1``, ``ascad.fleet/1``) keeps this stage ignorant
of how the results were computed, and makes the page show exactly what ``--format json`` says.
Jinja2 autoescaping is on: every value from a conf or a node is text, never markup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from ascad import __version__


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ascad.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_diff_html(doc: dict[str, Any]) -> str:
    """An ``ascad.diff/1`` document as an HTML page."""
    return (
        _environment().get_template("diff.html.j2").render(doc=_defaults(doc), version=__version__)
    )


def render_fleet_html(doc: dict[str, Any]) -> str:
    """An ``ascad.fleet/1`` document as an HTML page: groups, matrix, parameters, golden."""
    counts = doc.get("matrix", {}).get("counts") or []
    max_count = max((max(row, default=0) for row in counts), default=0)
    return (
        _environment()
        .get_template("fleet.html.j2")
        .render(doc=doc, max_count=max_count, version=__version__)
    )


def _defaults(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.setdefault("unverifiable", [])
    out.setdefault("warnings", [])
    return out
