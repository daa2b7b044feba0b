"""The stages go one way (docs/architecture.md): every module imports, no module imports a later
stage (function-level imports included), and the package-level import graph has no cycle."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import ascad

SRC = Path(ascad.__file__).parent

# In data-flow order; a module may import its own stage and earlier ones only.
STAGES = (
    "ascad",  # ascad/__init__.py (the version), errors.py and gcpause.py: everyone's
    "knowledge",
    "conf",
    "sources",
    "runtime",
    "compare",
    "checks",
    "report",
    "agent",
    "lab",
    "commands",
    "cli",
)
RANK = {name: i for i, name in enumerate(STAGES)}


def stage_of(module: str) -> str:
    """``ascad.conf.parser`` -> ``conf``; ``ascad.errors``, ``ascad.gcpause`` and ``ascad`` ->
    ``ascad``;
    ``ascad.__main__`` belongs with the CLI."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("errors", "gcpause"):
        return "ascad"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def all_modules() -> list[str]:
    return ["ascad"] + [
        m.name
        for m in pkgutil.walk_packages([str(SRC)], prefix="ascad.")
        if "__main__" not in m.name
    ]


def imports_of(module: str) -> set[str]:
    """Every ascad module a module's source imports, at any depth (lazy imports too)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    package = module if spec.origin.endswith("__init__.py") else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ascad"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name.startswith("ascad"):
                found.add(name)
    return found


def test_every_module_imports() -> None:
    modules = all_modules()
    assert len(modules) > 60
    for name in modules:
        importlib.import_module(name)
    assert {stage_of(m) for m in modules} == set(STAGES)


def test_no_module_imports_a_later_stage() -> None:
    wrong = []
    for module in all_modules():
        own = stage_of(module)
        for imported in imports_of(module):
            theirs = stage_of(imported)
            if RANK[theirs] > RANK[own]:
                wrong.append(f"{module} ({own}) imports {imported} ({theirs})")
    assert wrong == []


def test_the_package_import_graph_has_no_cycle() -> None:
    edges: dict[str, set[str]] = {s: set() for s in STAGES}
    for module in all_modules():
        for imported in imports_of(module):
            a, b = stage_of(module), stage_of(imported)
            if a != b:
                edges[a].add(b)
    seen: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges[node]):
            assert seen.get(nxt) != 1, "cycle: " + " -> ".join([*path, node, nxt])
            if nxt not in seen:
                visit(nxt, [*path, node])
        seen[node] = 2

    for stage in STAGES:
        if stage not in seen:
            visit(stage, [])


def test_the_checker_sees_lazy_imports() -> None:
    """A function-level import is an import: the stage rule covers it too."""
    assert "ascad.checks.pipeline" in imports_of("ascad.commands.diff")
    assert stage_of("ascad.lab.emulator.node") == "lab"
