"""Where a rendered template finds what it imports: ``{% import %}``, ``{% include %}`` and
``{% from "aerospike/map.jinja" import … %}`` (the Salt formula idiom).

A name is looked up next to the template first, then at the top of the template's repository
(a Salt file root or an Ansible repository is a git repository: ``aerospike/map.jinja`` is named
from its top). The loader is sandboxed: names with ``..`` are refused by Jinja, and a file whose
real path (symbolic links followed) leaves those directories is refused here.

- a local file: the file's directory, then the top of the git work tree it is in (the nearest
  parent holding ``.git``), read from disk;
- a git repository (read in place or remote) or GitLab: the same two places in the repository,
  read at the very commit the template came from, so the imports match the template's version
  (the names the template gives as constants are read before rendering, through the same
  readers, tokens and cache as the template itself);
- any other source (a peer agent, stdin): no directory; an import is an error that says so.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ascad.errors import AscadError
from ascad.sources.spec import Kind, SourceSpec


def _repo_top(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def loader_for(spec: SourceSpec) -> Any:
    """A Jinja2 loader for a local file's imports, or ``None`` for other kinds."""
    if spec.kind is Kind.FILE and spec.path:
        path = Path(os.path.expanduser(spec.path)).resolve()
        dirs = [path.parent]
        top = _repo_top(path.parent)
        if top is not None and top != path.parent:
            dirs.append(top)
        return _SandboxedFiles([str(d) for d in dirs])
    return None


_SALT_IMPORT_RE = re.compile(r"""import_(?:yaml|json|text)\s+(['"])([^'"]+)\1""")

# A template imports a few files, each perhaps importing others: bounded all the same.
MAX_IMPORTS = 50
MAX_DEPTH = 10


async def prefetch_imports(
    spec: SourceSpec, version: str | None, text: str, timeout: float, token: str | None
) -> Any:
    """For a git or GitLab template: every file it names in ``{% import %}``/``{% include %}``/
    ``{% from %}`` (and those name, in turn), read at the template's own commit, as a Jinja2
    loader; ``None`` for other kinds (see :func:`loader_for`)."""
    if spec.kind not in (Kind.GIT, Kind.GITLAB) or not spec.path:
        return None
    import jinja2
    from jinja2 import meta

    from ascad.sources import fetch_text
    from ascad.sources.template import salt_tags

    env = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", salt_tags()])
    base = posixpath.dirname(spec.path.lstrip("/"))
    found: dict[str, str] = {}
    todo = [(text, 0)]
    tried: set[str] = set()
    while todo and len(found) < MAX_IMPORTS:
        source, depth = todo.pop()
        try:
            names = [n for n in meta.find_referenced_templates(env.parse(source)) if n]
        except jinja2.TemplateSyntaxError:
            continue  # the render reports it, at its line
        names += [m.group(2) for m in _SALT_IMPORT_RE.finditer(source)]
        for name in names:
            if name in tried or depth >= MAX_DEPTH:
                continue
            tried.add(name)
            for candidate in dict.fromkeys((posixpath.join(base, name), name)):
                if ".." in candidate.split("/"):
                    continue
                other = replace(spec, path=candidate, ref=version or spec.ref)
                try:
                    fetched = await fetch_text(other, timeout=timeout, token=token)
                except AscadError:
                    continue
                found[name] = fetched.text
                todo.append((fetched.text, depth + 1))
                break
    return jinja2.DictLoader(found)


def _sandboxed_class() -> Any:
    import jinja2

    class SandboxedFiles(jinja2.FileSystemLoader):
        """A FileSystemLoader whose files must really live under its directories."""

        def get_source(self, environment: Any, template: str) -> Any:
            source, filename, uptodate = super().get_source(environment, template)
            real = os.path.realpath(filename)
            roots = [os.path.realpath(p) for p in self.searchpath]
            if not any(real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
                raise jinja2.TemplateNotFound(template)
            return source, filename, uptodate

    return SandboxedFiles


def _SandboxedFiles(dirs: list[str]) -> Any:
    return _sandboxed_class()(dirs)


def reader_of(loader: Any) -> Any:
    """``name -> text | None`` over a Jinja2 loader, for wildcard mode to follow includes."""
    if loader is None:
        return None
    import jinja2

    env = jinja2.Environment()

    def read(name: str) -> str | None:
        try:
            source, _filename, _uptodate = loader.get_source(env, name)
        except (jinja2.TemplateNotFound, OSError, UnicodeDecodeError):
            return None
        return str(source)

    return read
