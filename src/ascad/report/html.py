"""HTML: the static reports (``ascad diff|fleet --format html``) and the agent's ``/ui/`` pages.

Both are rendered from documented JSON (``ascad.diff/1``, ``ascad.fleet/1``, the
``ascad.agent.status/1`` documents gathered by :mod:`ascad.report.dashboard`) with the same
templates (``templates/``: one base, one set of macros for differences, nodes, groups, the matrix
and the parameters) and one stylesheet (``static/ascad.css``). A static report inlines the
stylesheet and has no script: one self-contained file. The agent's pages link the stylesheet and
one script from the agent itself (``static/ascad.js``), so its Content-Security-Policy can forbid
every inline script and style. Jinja2 autoescaping is on: every value from a conf or a node is
text, never markup.
"""

from __future__ import annotations

import datetime as _dt
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ascad import __version__

if TYPE_CHECKING:
    import jinja2

#: The agent's static files (name -> content type); nothing else is ever served from disk.
STATIC_FILES = {
    "ascad.css": "text/css",
    "ascad.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}


@cache
def _environment() -> jinja2.Environment:
    # Jinja2 here, at the first page: an agent whose /ui/ is never opened does not hold it (about
    # 1.6 MiB of its idle RSS, bench/agent.py).
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ascad.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["segments"] = path_segments
    env.filters["when"] = when
    env.globals["version"] = __version__
    return env


@cache
def static_file(name: str) -> str:
    """One of :data:`STATIC_FILES`, as shipped in the package."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return resources.files("ascad.report").joinpath("static", name).read_text("utf-8")


def path_segments(path: Any) -> list[str]:
    """A path cut after each dot outside brackets: ``namespace[a.b].x`` -> ``namespace[a.b].``,
    ``x``. The page keeps each piece on one line, so a path breaks only between segments and
    never at a hyphen (``storage-engine``)."""
    text = "" if path is None else str(path)
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "." and depth == 0:
            out.append(text[start : i + 1])
            start = i + 1
    out.append(text[start:])
    return [s for s in out if s]


def when(value: Any) -> str:
    """A time as ``2026-12-01 23:40:12 UTC``: epoch seconds or ISO 8601 text; '' for none."""
    if value is None or value == "" or value == 0:
        return ""
    if isinstance(value, int | float):
        t = _dt.datetime.fromtimestamp(float(value), _dt.UTC)
    else:
        try:
            t = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if t.tzinfo is not None:
            t = t.astimezone(_dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _standalone() -> dict[str, Any]:
    return {"standalone": True, "css": static_file("ascad.css"), "script": False}


def render_diff_html(doc: dict[str, Any]) -> str:
    """An ``ascad.diff/1`` document as a self-contained HTML page."""
    return _render("diff.html.j2", doc=_defaults(doc), **_standalone())


def render_fleet_html(doc: dict[str, Any]) -> str:
    """An ``ascad.fleet/1`` document as a self-contained page: nodes, groups, matrix, parameters,
    golden."""
    return _render("fleet.html.j2", doc=doc, parameters=doc.get("parameters"), **_standalone())


def render_dashboard(view: dict[str, Any], *, fragment: bool = False, logout: bool = False) -> str:
    """The ``/ui/`` page of a view from :func:`ascad.report.dashboard.build_view`; ``fragment``:
    only its live part (what the script polls for). ``logout``: show the log-out button."""
    context = {"view": view, "standalone": False, "script": True, "logout": logout}
    if fragment:
        return _render("ui_live.html.j2", **context)
    return _render("ui.html.j2", **context)


def render_login(*, error: str | None = None, secure: bool = True) -> str:
    """The log-in form (``/ui/login``)."""
    return _render("login.html.j2", error=error, secure=secure, standalone=False, script=False)


def render_conf_page(node: str, source: str, text: str, *, logout: bool = False) -> str:
    """A node's conf with numbered lines (``#L12`` marks line 12): where the page's line links
    go."""
    return _render(
        "conf.html.j2",
        node=node,
        source=source,
        lines=text.splitlines(),
        standalone=False,
        script=False,
        logout=logout,
    )


def render_message_page(title: str, message: str) -> str:
    """A short page saying why something cannot be shown (a node not known, unreadable)."""
    return _render("message.html.j2", title=title, message=message, standalone=False, script=False)


def _defaults(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.setdefault("unverifiable", [])
    out.setdefault("warnings", [])
    return out
