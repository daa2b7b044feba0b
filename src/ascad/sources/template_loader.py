"""Where a rendered template finds what it imports: ``{% import %}``, ``{% include %}`` and
``{% from "aerospike/map.jinja" import … %}`` (the Salt formula idiom).

A name is looked up next to the template first, then at the top of the template's repository
(a Salt file root or an Ansible repository is a git repository: ``aerospike/map.jinja`` is named
from its top). The loader is sandboxed: names with ``..`` are refused by Jinja, and a file whose
real path (symbolic links followed) leaves those directories is refused here.

- a local file: the file's directory, then the top of the git work tree it is in (the nearest
  parent holding ``.git``), read from disk;
- a repository read in place (``DIR#PATH@REF``): the same two places, read from git at the very
  commit the template came from (``git cat-file``), so the imports match the template's version;
- any other source (a peer agent, GitLab, a remote git repository, stdin): no directory; an
  import is an error that says so.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from pathlib import Path
from typing import Any

from ascad.sources.spec import Kind, SourceSpec


def _repo_top(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def loader_for(spec: SourceSpec, version: str | None, timeout: float) -> Any:
    """A Jinja2 loader for ``spec``'s imports, or ``None`` when the source has no directory."""
    import jinja2

    if spec.kind is Kind.FILE and spec.path:
        path = Path(os.path.expanduser(spec.path)).resolve()
        dirs = [path.parent]
        top = _repo_top(path.parent)
        if top is not None and top != path.parent:
            dirs.append(top)
        return _SandboxedFiles([str(d) for d in dirs])
    if spec.kind is Kind.GIT and spec.local and spec.repo and spec.path and version:
        repo, commit = spec.repo, version
        base = posixpath.dirname(spec.path.lstrip("/"))

        def read(name: str) -> tuple[str, str, Any] | None:
            for candidate in dict.fromkeys((posixpath.join(base, name), name)):
                try:
                    proc = subprocess.run(
                        ["git", "-C", repo, "cat-file", "blob", f"{commit}:{candidate}"],
                        capture_output=True,
                        timeout=timeout,
                        check=False,
                    )
                except (OSError, subprocess.TimeoutExpired):
                    return None
                if proc.returncode == 0:
                    text = proc.stdout.decode("utf-8", "replace")
                    return text, f"{spec.display.rsplit(':', 1)[0]}:{candidate}", lambda: True
            return None

        return jinja2.FunctionLoader(read)
    return None


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
