"""The ``/ui/`` page's content: many agents' ``ascad.agent.status/1`` documents -> one view.

Pure data, no I/O: the agent (:mod:`ascad.agent.ui`) fetches the documents and the confs, this
module turns them into what the page shows (nodes, one row per node and check, one row per
difference, counts per state), filtered and sorted as the query string asks, and
:func:`ascad.report.html.render_dashboard` renders it. Filtering and sorting happen here, on the
server, so the page works with JavaScript off; the script only re-asks for the same view.

Keys a newer status document may carry (``first_seen``/``last_seen`` per check; ``provenance``,
``origin``, ``acknowledged``, ``first_seen`` per difference) are read with ``.get``: shown when
present, left out when not.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

#: Node states, worst first (the default sort order).
STATES = ("critical", "unreachable", "warning", "pending", "ok")
CHECKS = ("runtime", "golden", "peer")
SORTS = ("state", "node", "differences", "since")
#: The longest path filter kept (a query string is bounded; a longer one is cut).
MAX_FILTER = 200


@dataclass
class NodeStatus:
    """One node as the agent knows it: its status document, or why it could not be read."""

    name: str  # the agent's node name (its status' ``node``), else the node id or URL
    node_id: str | None
    url: str | None  # the agent's base URL (None for the agent serving the page)
    doc: Mapping[str, Any] | None = None
    error: str | None = None
    is_self: bool = False

    @property
    def state(self) -> str:
        if self.doc is None:
            return "unreachable"
        if self.doc.get("pending"):
            return "pending"
        states = {str(c.get("state")) for c in checks_of(self.doc)}
        for s in ("critical", "warning"):
            if s in states:
                return s
        return "ok" if states else "pending"


def checks_of(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A status document's checks (objects only: a peer's odd document never breaks the page)."""
    checks = doc.get("checks")
    if not isinstance(checks, list):
        return []
    return [c for c in checks if isinstance(c, Mapping)]


@dataclass
class Filters:
    state: str = ""
    check: str = ""
    path: str = ""
    sort: str = "state"

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Unknown values are dropped (the page then shows everything), never an error."""
        state = query.get("state", "")
        check = query.get("check", "")
        sort = query.get("sort", "state")
        return cls(
            state=state if state in STATES else "",
            check=check if check in CHECKS else "",
            path=query.get("path", "").strip()[:MAX_FILTER],
            sort=sort if sort in SORTS else "state",
        )

    def query(self, **override: str) -> str:
        """The query string of these filters with ``override`` applied (for links)."""
        values = {"state": self.state, "check": self.check, "path": self.path, "sort": self.sort}
        values.update(override)
        if values["sort"] == "state":
            values["sort"] = ""
        parts = [f"{k}={quote(v, safe='')}" for k, v in values.items() if v]
        return "?" + "&".join(parts) if parts else "?"

    def path_matches(self, path: str) -> bool:
        if not self.path:
            return True
        want = self.path.lower()
        if any(ch in want for ch in "*?["):
            return fnmatch.fnmatchcase(path.lower(), want)
        return want in path.lower()


def node_label(name: str, node_id: str | None) -> str:
    """``node2 (B2)``: the name, and the Aerospike node id when known and different."""
    if node_id and node_id != name:
        return f"{name} ({node_id})"
    return name


def conf_link(node: str, line: Any) -> str | None:
    """The page's link to a line of a node's conf (relative to ``/ui/``)."""
    if not isinstance(line, int) or line < 1:
        return None
    return f"conf?node={quote(node, safe='')}#L{line}"


def _state_rank(state: str) -> int:
    return STATES.index(state) if state in STATES else len(STATES)


def _first_seen(check: Mapping[str, Any]) -> Any:
    return check.get("first_seen")


def build_view(
    nodes: Sequence[NodeStatus],
    filters: Filters,
    *,
    fleet: Mapping[str, Any] | None = None,
    cluster: str | None = None,
    here: str = "",
    master: str | None = None,
    master_ui: str | None = None,
    generated: float = 0.0,
) -> dict[str, Any]:
    """The page's view: ``nodes`` (every node, its state), ``rows`` (node × check, filtered and
    sorted), ``differences`` (filtered, each with links to its lines), ``counts`` per state."""
    by_url = {n.url.rstrip("/"): n.name for n in nodes if n.url}
    node_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    differences: list[dict[str, Any]] = []
    counts = dict.fromkeys(STATES, 0)
    for n in nodes:
        doc = n.doc or {}
        state = n.state
        counts[state] += 1
        checks = checks_of(doc)
        node_rows.append(
            {
                "name": n.name,
                "node_id": n.node_id or doc.get("node_id"),
                "label": node_label(n.name, n.node_id or doc.get("node_id")),
                "url": n.url,
                "state": state,
                "role": doc.get("role"),
                "error": n.error,
                "is_self": n.is_self,
                "started": doc.get("started"),
                "checks": {str(c.get("check")): str(c.get("state")) for c in checks},
            }
        )
        node_id = n.node_id or doc.get("node_id")
        if n.doc is None or not checks:
            if _keep(filters, state, None):
                rows.append(
                    {
                        "node": n.name,
                        "node_id": node_id,
                        "check": None,
                        "state": state,
                        "count": None,
                        "since": None,
                        "last_seen": None,
                        "finished": None,
                        "reason": n.error
                        or ("no cycle has finished yet" if state == "pending" else None),
                        "master": None,
                        "fallback": None,
                    }
                )
            continue
        for c in checks:
            cstate = str(c.get("state"))
            if not _keep(filters, cstate, str(c.get("check"))):
                continue
            rows.append(
                {
                    "node": n.name,
                    "node_id": node_id,
                    "check": c.get("check"),
                    "state": cstate,
                    "count": c.get("count") if isinstance(c.get("count"), int) else None,
                    "since": _first_seen(c),
                    "last_seen": c.get("last_seen"),
                    "finished": c.get("finished"),
                    "reason": c.get("reason"),
                    "master": c.get("master"),
                    "fallback": c.get("fallback"),
                }
            )
            right_node = _source_node(c.get("right"), by_url)
            diffs = c.get("differences")
            for d in diffs if isinstance(diffs, list) else []:
                if not isinstance(d, Mapping) or not filters.path_matches(str(d.get("path") or "")):
                    continue
                differences.append(
                    {
                        **_difference(d),
                        "node": n.name,
                        "node_id": node_id,
                        "check": c.get("check"),
                        "state": cstate,
                        "left_source": c.get("left"),
                        "right_source": c.get("right"),
                        "left_link": conf_link(n.name, d.get("left_line")),
                        "right_link": conf_link(right_node, d.get("right_line"))
                        if right_node
                        else None,
                        "origin": d.get("origin"),
                        "acknowledged": d.get("acknowledged"),
                        "first_seen": d.get("first_seen"),
                        "provenance": d.get("provenance"),
                    }
                )
    rows.sort(key=_sort_key(filters.sort))
    worst = min((r["state"] for r in node_rows), key=_state_rank, default="pending")
    parameters = None
    if fleet is not None:
        parameters = [p for p in fleet.get("parameters") or [] if filters.path_matches(p["path"])]
    return {
        "cluster": cluster,
        "here": here,
        "master": master,
        "master_ui": master_ui,
        "state": worst,
        "nodes": node_rows,
        "rows": rows,
        "differences": differences,
        "counts": counts,
        "filters": filters,
        "states": STATES,
        "checks": CHECKS,
        "sorts": SORTS,
        "fleet": fleet,
        "parameters": parameters,
        "generated": generated,
    }


def _difference(d: Mapping[str, Any]) -> dict[str, Any]:
    """A difference from a peer's document, its keys of the documented types (a peer running
    another version, or a broken one, must not break the page): text, a line number or None."""

    def text(key: str) -> str | None:
        v = d.get(key)
        return None if v is None else str(v)

    def line(key: str) -> int | None:
        v = d.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    restart = d.get("restart")
    return {
        **d,
        "path": text("path") or "",
        "kind": text("kind") or "changed",
        "left": text("left"),
        "right": text("right"),
        "left_line": line("left_line"),
        "right_line": line("right_line"),
        "restart": restart if isinstance(restart, bool) else None,
        "note": text("note"),
    }


def _keep(filters: Filters, state: str, check: str | None) -> bool:
    if filters.state and state != filters.state:
        return False
    return not (filters.check and check != filters.check)


def _source_node(source: Any, by_url: Mapping[str, str]) -> str | None:
    """The node whose agent served ``source`` (a peer check's ``{url}/v1/config``)."""
    if not isinstance(source, str):
        return None
    return by_url.get(source.removesuffix("/v1/config").rstrip("/"))


def _sort_key(sort: str) -> Any:
    def since(r: Mapping[str, Any]) -> tuple[int, str]:
        s = r.get("since")
        return (0, str(s)) if s else (1, "")

    if sort == "node":
        return lambda r: (r["node"], str(r["check"] or ""))
    if sort == "differences":
        return lambda r: (-(r["count"] or 0), _state_rank(r["state"]), r["node"])
    if sort == "since":
        return lambda r: (*since(r), r["node"])
    return lambda r: (_state_rank(r["state"]), r["node"], str(r["check"] or ""))
