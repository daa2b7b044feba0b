"""Source string -> parsed, flattened config: the one place that turns any source into a FlatConfig.

Conf text comes from ``ascad.sources`` (a file, a peer agent, git, GitLab); a template is either
rendered with the user's variables or turned into text with wildcards; then it is parsed and
flattened. Running nodes (``aerospike://``) are read by ``ascad.runtime`` instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ascad.conf.flatten import flatten
from ascad.conf.model import ConfTree, FlatConfig, Warning_
from ascad.conf.parser import parse_text
from ascad.sources import template as tpl
from ascad.sources.template import TemplateNote

RUNTIME_SCHEMES = ("aerospike://", "aerospike+tls://")


def is_runtime_spec(spec: str) -> bool:
    """True for a running node's address (``aerospike://``, ``aerospike+tls://``)."""
    return spec.startswith(RUNTIME_SCHEMES)


@dataclass
class LoadOptions:
    token: str | None = None  # bearer token for peer agents / GitLab
    variables: dict[str, Any] | None = None  # template variables: render for real when given
    timeout: float = 10.0
    regular_only: bool = False  # local paths must be regular files (the agent's conf and golden)


@dataclass
class LoadedConf:
    name: str
    text: str
    tree: ConfTree
    flat: FlatConfig
    template: bool = False
    warnings: list[Warning_] = field(default_factory=list)
    # What wildcarding a template did (a blanked `{% else %}` branch, an include, a placeholder
    # line): ``ascad.sources.template.TemplateNote``s, shown by ``ascad diff -v``.
    template_notes: list[TemplateNote] = field(default_factory=list)
    # A template in wildcard mode: every way it can come out, for the pipeline to pick the one
    # that fits the node it is compared with (``tree``/``flat`` above are its default).
    variants: tpl.TemplateVariants | None = None


async def fetch_conf_text(spec: str, options: LoadOptions) -> tuple[str, str]:
    """(display name, text) of a non-runtime source, read and decoded by the one rule of
    :mod:`ascad.sources` whatever its kind."""
    from ascad.sources import fetch_text, parse_source

    parsed = parse_source(spec)
    fetched = await fetch_text(
        parsed, timeout=options.timeout, token=options.token, regular_only=options.regular_only
    )
    return fetched.name, fetched.text


def conf_from_text(
    name: str, text: str, options: LoadOptions | None = None, loader: object | None = None
) -> LoadedConf:
    """Parse text (rendering or wildcarding it first if it is a template). ``loader`` (a Jinja2
    loader) serves a rendered template's ``{% import %}``/``{% include %}``."""

    template = False
    notes: list[TemplateNote] = []
    if tpl.is_template(text):
        template = True
        if options is not None and options.variables is not None:
            rendered = tpl.render_template_lines(text, options.variables, name, loader)
            text = rendered.text
            if not (tpl.is_template(text) or tpl.has_placeholder_comment(text)):
                # Every line number (errors, warnings, settings) is the template's own.
                tree, flat, _ = tpl.parse_mapped(text, rendered.line_map, name)
                return LoadedConf(name, text, tree, flat, True, list(tree.warnings), notes)
            # A shell template's `$( … )` or init-container placeholder line: still wildcards
            variants = tpl.TemplateVariants(text, name, base_map=rendered.line_map)
            d = variants.default
            return LoadedConf(
                name, d.text, d.tree, d.flat, True, list(d.tree.warnings), d.notes, variants
            )
        else:
            from ascad.sources.template_loader import reader_of

            variants = tpl.TemplateVariants(text, name, reader_of(loader))
            d = variants.default  # the template's line numbers kept
            return LoadedConf(
                name, d.text, d.tree, d.flat, True, list(d.tree.warnings), d.notes, variants
            )
    tree = parse_text(text, name)
    flat = flatten(tree)
    return LoadedConf(name, text, tree, flat, template, list(tree.warnings), notes)


async def load_conf(spec: str, options: LoadOptions | None = None) -> LoadedConf:
    """Fetch a non-runtime source and parse it (a template rendered or wildcarded)."""
    options = options or LoadOptions()
    from ascad.sources import fetch_text, parse_source

    parsed = parse_source(spec)
    fetched = await fetch_text(
        parsed, timeout=options.timeout, token=options.token, regular_only=options.regular_only
    )
    loader = None
    if tpl.is_template(fetched.text) and (
        options.variables is not None or tpl.INCLUDE_RE.search(fetched.text)
    ):
        from ascad.sources.template_loader import loader_for, prefetch_imports

        loader = loader_for(parsed) or await prefetch_imports(
            parsed, fetched.version, fetched.text, options.timeout, options.token
        )
    # Parsing is CPU work (up to a few seconds at the size limit): off the event loop's thread,
    # so an agent keeps answering while it parses.
    return await asyncio.to_thread(conf_from_text, fetched.name, fetched.text, options, loader)
