"""Source string -> parsed, flattened config: the one place that turns any source into a FlatConfig.

Conf text comes from ``ascad.sources`` (a file, a peer agent, git, GitLab); a template is either
rendered with the user's variables or turned into text with wildcards; then it is parsed and
flattened. Running nodes (``aerospike://``) are read by ``ascad.runtime`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ascad.conf.model import ConfTree, FlatConfig, Warning_
from ascad.errors import AscadError

# The parser, the flattener and the template detection (which brings ascad.sources) are imported
# where a conf is made: a fleet of running nodes (``ascad fleet --runtime``) makes none.
if TYPE_CHECKING:
    from ascad.sources.salt import SaltOptions
    from ascad.sources.spec import SourceSpec
    from ascad.sources.template import TemplateNote, TemplateVariants

RUNTIME_SCHEMES = ("aerospike://", "aerospike+tls://")
T = TypeVar("T")


def is_runtime_spec(spec: str) -> bool:
    """True for a running node's address (``aerospike://``, ``aerospike+tls://``)."""
    return spec.startswith(RUNTIME_SCHEMES)


def is_local_spec(spec: str) -> bool:
    """True for a source read from this machine's files: a path or ``-`` (not a node, an agent,
    git or GitLab); such a source is read without an event loop (:func:`load_local_conf`)."""
    from ascad.sources import Kind, parse_source

    if is_runtime_spec(spec):
        return False
    try:
        return parse_source(spec).kind in (Kind.FILE, Kind.STDIN)
    except AscadError:
        return False  # the async loader says what is wrong with it, as it always did


@dataclass
class LoadOptions:
    token: str | None = None  # bearer token for peer agents / GitLab
    variables: dict[str, Any] | None = None  # template variables: render for real when given
    timeout: float = 10.0
    regular_only: bool = False  # local paths must be regular files (the agent's conf and golden)
    salt: SaltOptions | None = None  # how to run salt-call for salt:// sources (default: on PATH)


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
    variants: TemplateVariants | None = None


async def fetch_conf_text(spec: str, options: LoadOptions) -> tuple[str, str]:
    """(display name, text) of a non-runtime source, read and decoded by the one rule of
    :mod:`ascad.sources` whatever its kind."""
    name, text, _, _, _ = await _fetch(spec, options)
    return name, text


async def _fetch(spec: str, options: LoadOptions) -> tuple[str, str, bool, SourceSpec, str | None]:
    """(name, text, rendered, the parsed source, its version): ``rendered`` when Salt rendered it
    (a plain conf, never wildcarded)."""
    from ascad.sources import Kind, fetch_text, parse_source

    parsed = parse_source(spec)
    fetched = await fetch_text(
        parsed,
        timeout=options.timeout,
        token=options.token,
        regular_only=options.regular_only,
        salt=options.salt,
    )
    if parsed.kind is Kind.SALT:
        return f"{fetched.name} (rendered by Salt)", fetched.text, True, parsed, fetched.version
    return fetched.name, fetched.text, False, parsed, fetched.version


def conf_from_text(
    name: str,
    text: str,
    options: LoadOptions | None = None,
    loader: object | None = None,
    *,
    rendered: bool = False,
) -> LoadedConf:
    """Parse text (rendering or wildcarding it first if it is a template). ``loader`` (a Jinja2
    loader) serves a rendered template's ``{% import %}``/``{% include %}``. ``rendered``: the
    text is a template's output already (Salt rendered it), so every value is compared as
    written. An asconfig YAML or an ``AerospikeCluster`` resource (:mod:`ascad.conf.yaml_tree`)
    is read as the same tree, with the YAML's line numbers."""
    from ascad.conf import yaml_tree
    from ascad.conf.flatten import flatten
    from ascad.conf.parser import parse_text
    from ascad.sources.template_detect import has_placeholder_comment, is_template

    if yaml_tree.is_yaml(name, text):
        tree = yaml_tree.parse_yaml(text, name)
        flat = flatten(tree)
        return LoadedConf(name, text, tree, flat, False, list(tree.warnings))
    template = False
    notes: list[TemplateNote] = []
    if not rendered and is_template(text):
        from ascad.sources import template as tpl  # (only a template needs it: start-up)

        template = True
        if options is not None and options.variables is not None:
            out = tpl.render_template_lines(text, options.variables, name, loader)
            text = out.text
            if not (is_template(text) or has_placeholder_comment(text)):
                # Every line number (errors, warnings, settings) is the template's own.
                tree, flat, _ = tpl.parse_mapped(text, out.line_map, name)
                return LoadedConf(name, text, tree, flat, True, list(tree.warnings), notes)
            # A shell template's `$( … )` or init-container placeholder line: still wildcards
            variants = tpl.TemplateVariants(text, name, base_map=out.line_map)
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


def load_local_conf(spec: str, options: LoadOptions | None = None) -> LoadedConf:
    """:func:`load_conf` of a local source (:func:`is_local_spec`), in this thread."""
    from ascad.errors import SourceError
    from ascad.sources import parse_source
    from ascad.sources.local import read_local
    from ascad.sources.template_detect import INCLUDE_RE, is_template

    options = options or LoadOptions()
    parsed = parse_source(spec)
    if options.timeout <= 0:
        raise SourceError("timeout must be positive", parsed.raw)  # as fetch_text says it
    fetched = read_local(parsed, regular_only=options.regular_only)
    loader = None
    if is_template(fetched.text) and (
        options.variables is not None or INCLUDE_RE.search(fetched.text)
    ):
        from ascad.sources.template_loader import loader_for

        loader = loader_for(parsed)  # a file's imports: next to it, at its repository top
    return conf_from_text(fetched.name, fetched.text, options, loader)


def _is_file_spec(spec: str) -> bool:
    """A file on this machine (not stdin, whose templates' imports come another way)."""
    from ascad.sources import Kind, parse_source

    if is_runtime_spec(spec):
        return False
    try:
        return parse_source(spec).kind is Kind.FILE
    except AscadError:
        return False  # load_conf's own reading says what is wrong with it


async def load_conf(spec: str, options: LoadOptions | None = None) -> LoadedConf:
    """Fetch a non-runtime source and parse it (a template rendered or wildcarded)."""
    return await load_conf_then(spec, _same, options)


def _same(conf: LoadedConf) -> LoadedConf:
    return conf


async def load_conf_then(
    spec: str, then: Callable[[LoadedConf], T], options: LoadOptions | None = None
) -> T:
    """``then(conf)`` of the source loaded as :func:`load_conf` loads it, run in the same trip to
    a worker thread as the parse (the agent's golden check compares there: one trip, not two)."""
    import asyncio

    from ascad.sources.template_detect import INCLUDE_RE, is_template

    options = options or LoadOptions()
    if _is_file_spec(spec):
        # A file is read and parsed in one trip to a worker thread, not two: each trip costs a
        # wake-up of the event loop and a hand-over between threads (about 150 us of CPU on the
        # development machine; an agent's cycle makes several).
        return await asyncio.to_thread(lambda: then(load_local_conf(spec, options)))
    name, text, rendered, parsed, version = await _fetch(spec, options)
    loader = None
    if (
        not rendered
        and is_template(text)
        and (options.variables is not None or INCLUDE_RE.search(text))
    ):
        from ascad.sources.template_loader import loader_for, prefetch_imports

        loader = loader_for(parsed) or await prefetch_imports(
            parsed, version, text, options.timeout, options.token
        )
    # Parsing is CPU work (up to a few seconds at the size limit): off the event loop's thread,
    # so an agent keeps answering while it parses.
    return await asyncio.to_thread(
        lambda: then(conf_from_text(name, text, options, loader, rendered=rendered))
    )
