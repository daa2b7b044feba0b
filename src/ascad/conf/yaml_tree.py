"""asconfig YAML, or a Kubernetes ``AerospikeCluster``'s ``spec.aerospikeConfig`` -> ConfTree.

The YAML forms of aerospike.conf that Aerospike's own tools use (aerospike/asconfig ``convert``,
aerospike-kubernetes-operator) are read into the same tree the conf parser builds, every node with
the YAML line and column it came from, so differences name ``cluster.yaml:42``. The conventions are
those of aerospike-management-lib's ``asconfig`` package (``singular_plural.go``, ``utils.go``,
``conffilewriter.go``: the code that writes the conf the operator deploys):

- Repeated lines are lists under a plural name: ``devices: [/dev/sdb]`` is ``device /dev/sdb``;
  :data:`PLURALS` is the management lib's table (``addresses``, ``mesh-seed-address-ports``,
  ``multicast-groups``, ``node-address-ports``, ``files``, ``mounts``, ``feature-key-files``, …).
- Values of several tokens are joined with ``:``: ``mesh-seed-address-ports: [10.0.0.1:3002]`` is
  ``mesh-seed-address-port 10.0.0.1 3002``, ``devices: [/dev/a:/dev/b]`` a device with its shadow,
  ``secrets-address-port: h:3005:tls``; an IPv6 host keeps its colons (only the port is split).
- Named stanzas are lists of mappings with ``name``: ``namespaces``, ``sets``, ``dcs``, ``tls``,
  and a dc's ``namespaces``; typed stanzas carry ``type``: ``storage-engine: {type: device, …}``
  (alone: the one-liner ``storage-engine memory``), ``index-type``, ``sindex-type``.
- ``logging`` is a list of sinks ``{name: console | syslog | PATH, CONTEXT: LEVEL, …}``; syslog's
  ``facility``, ``path`` and ``tag`` are parameters. Contexts are written in sorted order, as the
  management lib writes them (so ``any`` applies where it applies in the deployed conf).
- Sizes and durations are plain numbers (``flush-size: 2097152``, ``ship-versions-interval: 120``)
  and booleans are YAML booleans; the conf's unit rules compare ``2097152`` with ``2M`` as equal.
  A value the lib leaves out is left out: ``null`` or ``""``, and a ``*port`` of ``0``.
- ``security: {}`` is an empty ``security`` stanza (it turns security on).

A file holding ``kind: AerospikeCluster`` (one document, or several separated by ``---``, e.g.
with the resource's Secret) is read from its ``spec.aerospikeConfig``; per-rack overrides
(``spec.rackConfig.racks[].aerospikeConfig``) are not merged in. PyYAML is imported only here,
when a YAML source is read. Errors (bad YAML, a list where a value belongs, a named list item
without ``name``) are :class:`~ascad.errors.ConfSyntaxError` naming ``FILE:LINE:COL``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ascad.conf import keys
from ascad.conf.model import ConfTree, Param, Stanza, Warning_
from ascad.errors import ConfSyntaxError

if TYPE_CHECKING:
    import yaml

YAML_SUFFIXES = (".yaml", ".yml")
CR_KIND = "AerospikeCluster"

#: Singular conf key -> its name in the YAML (aerospike-management-lib asconfig/singular_plural.go).
PLURALS: dict[str, str] = {
    "access-address": "access-addresses",
    "address": "addresses",
    "alternate-access-address": "alternate-access-addresses",
    "datacenter": "datacenters",
    "dc": "dcs",
    "device": "devices",
    "file": "files",
    "feature-key-file": "feature-key-files",
    "mount": "mounts",
    "ignore-bin": "ignore-bins",
    "ignore-set": "ignore-sets",
    "logging": "logging",
    "mesh-seed-address-port": "mesh-seed-address-ports",
    "multicast-group": "multicast-groups",
    "namespace": "namespaces",
    "node-address-port": "node-address-ports",
    "report-data-op": "report-data-op",
    "report-data-op-user": "report-data-op-user",
    "report-data-op-role": "report-data-op-role",
    "role-query-pattern": "role-query-patterns",
    "set": "sets",
    "ship-bin": "ship-bins",
    "ship-set": "ship-sets",
    "tls": "tls",
    "tls-access-address": "tls-access-addresses",
    "tls-address": "tls-addresses",
    "tls-alternate-access-address": "tls-alternate-access-addresses",
    "tls-mesh-seed-address-port": "tls-mesh-seed-address-ports",
    "tls-authenticate-client": "tls-authenticate-client",
}
SINGULARS: dict[str, str] = {plural: single for single, plural in PLURALS.items()}

#: List values whose tokens the lib joins with ``:`` (utils.go isListField, isDelimitedStringField).
#: Not ``feature-key-file``, which the lib lists too: the server reads one token, and a colon is
#: part of its value (``env-b64:FEATUREKEY``).
COLON_JOINED = frozenset(
    {
        "mesh-seed-address-port",
        "tls-mesh-seed-address-port",
        "device",
        "report-data-op",
        "node-address-port",
        "secrets-address-port",
    }
)
_HOST_PORT = frozenset({"mesh-seed-address-port", "tls-mesh-seed-address-port"})
#: Named stanzas written as lists of mappings with ``name`` (utils.go isListSection).
LIST_SECTIONS = frozenset({"namespace", "dc", "set", "tls", "file", "datacenter"})
SYSLOG_PARAMS = frozenset({"facility", "path", "tag"})
#: The keys of the document (the conf parser's top-level stanzas, ``namespace`` as ``namespaces``).
TOP_LEVEL = frozenset(
    {k for k, where in keys.PLAIN_STANZAS.items() if "" in where} | {"namespaces"}
)
_PORT_RE = re.compile(r"(^|-)port$")

_FIRST_LINE_RE = re.compile(r"^(---(\s|$)|%YAML\s|[A-Za-z][A-Za-z0-9_.-]*:(\s|$))")
_SUFFIX_RE = re.compile(r" \([^()]*\)$")


def is_yaml(name: str, text: str) -> bool:
    """True for a YAML source: its name ends in ``.yaml``/``.yml``, or its first line that is not
    blank or a comment is ``---`` or ``key:`` (a conf line never is: it opens ``service {``)."""
    if _SUFFIX_RE.sub("", name).lower().endswith(YAML_SUFFIXES):
        return True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return bool(_FIRST_LINE_RE.match(stripped))
    return False


def parse_yaml(text: str, source: str) -> ConfTree:
    """Read asconfig YAML (or an ``AerospikeCluster``'s ``spec.aerospikeConfig``) into a tree."""
    import yaml

    try:
        docs = [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "bad YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise ConfSyntaxError(source, line, col, f"not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfSyntaxError(source, 0, 0, f"not valid YAML: {exc}") from None
    reader = _Reader(source)
    config = reader.pick_config(docs)
    root = Stanza(kind="", name=None, line=0)
    tree = ConfTree(root=root, source=source, warnings=reader.warnings)
    if config is not None:
        reader.fill(root, config, top=True)
    if not root.children:  # as the conf parser says of an empty conf
        line = config.start_mark.line + 1 if config is not None else 1
        raise ConfSyntaxError(source, line, 1, "empty: no stanza found (is this asconfig YAML?)")
    return tree


class _Reader:
    def __init__(self, source: str) -> None:
        import yaml

        self.yaml = yaml
        self.source = source
        self.constructor = yaml.SafeLoader("")
        self.warnings: list[Warning_] = []

    def error(self, node: yaml.Node, message: str) -> ConfSyntaxError:
        mark = node.start_mark
        return ConfSyntaxError(self.source, mark.line + 1, mark.column + 1, message)

    # -- which mapping holds the config --

    def pick_config(self, docs: list[yaml.Node]) -> yaml.MappingNode | None:
        if not docs:
            return None
        found: list[yaml.MappingNode] = []
        others: list[str] = []
        for doc in docs:
            if not isinstance(doc, self.yaml.MappingNode):
                if len(docs) == 1:
                    raise self.error(doc, "expected asconfig YAML (a mapping of stanzas)")
                continue
            kind = self.get(doc, "kind")
            if kind is None and self.get(doc, "apiVersion") is None:
                found.append(doc)
                continue
            kind_text = (self.scalar(kind) if kind is not None else None) or "?"
            if kind_text != CR_KIND:
                others.append(kind_text)
                continue
            spec = self.get(doc, "spec")
            config = self.get(spec, "aerospikeConfig") if spec is not None else None
            if config is None:
                raise self.error(doc, f"this {CR_KIND} has no spec.aerospikeConfig")
            if isinstance(config, self.yaml.ScalarNode) and config.tag.endswith(":null"):
                found.append(self.yaml.MappingNode("tag:yaml.org,2002:map", []))
                continue
            if not isinstance(config, self.yaml.MappingNode):
                raise self.error(config, "spec.aerospikeConfig must be a mapping")
            found.append(config)
        if not found:
            kinds = ", ".join(sorted(set(others))) or "none"
            raise ConfSyntaxError(
                self.source, 0, 0, f"no {CR_KIND} resource and no asconfig YAML (kinds: {kinds})"
            )
        if len(found) > 1:
            lines = ", ".join(str(n.start_mark.line + 1) for n in found)
            raise ConfSyntaxError(
                self.source,
                found[1].start_mark.line + 1,
                found[1].start_mark.column + 1,
                f"{len(found)} configs in one file (at lines {lines}): give one",
            )
        return found[0]

    def get(self, node: yaml.Node, key: str) -> yaml.Node | None:
        if not isinstance(node, self.yaml.MappingNode):
            return None
        for k, v in node.value:
            if isinstance(k, self.yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
        return None

    # -- values --

    def scalar(self, node: yaml.Node) -> str | None:
        """A scalar as conf text: ``true``/``false``, numbers in decimal; ``None`` for null."""
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.error(node, "expected a value here, not a list or a mapping")
        value = self.constructor.construct_object(node)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def key_of(self, node: yaml.Node) -> str:
        if not isinstance(node, self.yaml.ScalarNode):
            raise self.error(node, "a key must be a plain name")
        return str(node.value)

    # -- the tree --

    def fill(self, stanza: Stanza, mapping: yaml.Node, *, top: bool = False) -> None:
        if not isinstance(mapping, self.yaml.MappingNode):
            raise self.error(mapping, f"'{stanza.kind}' must be a mapping of its parameters")
        typed = stanza.kind in keys.TYPED_STANZAS
        for key_node, value in mapping.value:
            key = self.key_of(key_node)
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if key == "name" and stanza.name is not None and not typed:
                continue  # the stanza's id, already its name
            if typed and key == "type":
                continue
            if top and key == "logging":
                self.logging(stanza, value, line, col)
                continue
            if top and key not in TOP_LEVEL:
                raise self.error(
                    key_node,
                    f"unknown top-level stanza '{key}' (asconfig YAML holds "
                    f"{', '.join(sorted(TOP_LEVEL))})",
                )
            if top and not isinstance(value, self.yaml.MappingNode) and key != "namespaces":
                if isinstance(value, self.yaml.ScalarNode) and value.tag.endswith(":null"):
                    continue  # `xdr:` with nothing under it: no stanza
                raise self.error(value, f"'{key}' must be a mapping of its parameters")
            if isinstance(value, self.yaml.MappingNode):
                self.section(stanza, key, value, line, col)
            elif isinstance(value, self.yaml.SequenceNode):
                self.sequence(stanza, key, value, line, col)
            else:
                self.param(stanza, key, value, line, col)

    def section(
        self, parent: Stanza, key: str, value: yaml.MappingNode, line: int, col: int
    ) -> None:
        if key in keys.TYPED_STANZAS:
            type_node = self.get(value, "type")
            if type_node is None:
                raise self.error(value, f"'{key}' needs a 'type' (e.g. type: device)")
            kind_type = self.scalar(type_node)
            rest = [k for k, _ in value.value if self.key_of(k) != "type"]
            child = Stanza(key, kind_type, line, col, braces=bool(rest))
        else:
            child = Stanza(key, None, line, col)
        parent.children.append(child)
        self.fill(child, value)

    def sequence(
        self, parent: Stanza, key: str, value: yaml.SequenceNode, line: int, col: int
    ) -> None:
        single = SINGULARS.get(key, key)
        items = value.value
        if items and all(isinstance(i, self.yaml.MappingNode) for i in items):
            if single not in LIST_SECTIONS:
                raise self.error(value, f"'{key}' is not a list of named stanzas")
            for item in items:
                name_node = self.get(item, "name")
                name = self.scalar(name_node) if name_node is not None else None
                if not name:
                    raise self.error(item, f"each item of '{key}' needs a 'name'")
                mark = item.start_mark
                child = Stanza(single, name, mark.line + 1, mark.column + 1)
                parent.children.append(child)
                self.fill(child, item)
            return
        for item in items:
            if isinstance(item, self.yaml.MappingNode):
                raise self.error(item, f"'{key}' mixes values and stanzas")
            text = self.scalar(item)
            if text is None or text == "":
                continue
            mark = item.start_mark
            parent.children.append(self.make_param(single, text, mark.line + 1, mark.column + 1))

    def param(self, parent: Stanza, key: str, node: yaml.Node, line: int, col: int) -> None:
        text = self.scalar(node)
        if text is None or text == "" or text.upper() == "NULL":
            return  # the management lib writes no line for an empty value
        if text == "0" and _PORT_RE.search(key):
            return  # nor for port 0
        single = SINGULARS.get(key, key)  # feature-key-file may be one value (isListOrString)
        parent.children.append(self.make_param(single, text, line, col))

    def make_param(self, key: str, text: str, line: int, col: int) -> Param:
        """One conf line; tokens past what the server reads are dropped with the parser's warning."""
        values = self.tokens(key, text)
        limit = keys.max_values(key)
        if len(values) > limit:
            dropped = " ".join(values[limit:])
            self.warnings.append(
                Warning_(
                    line,
                    col,
                    f"extra value ignored by the server: '{key}' reads {limit}, '{dropped}' is"
                    " dropped",
                )
            )
            values = values[:limit]
        return Param(key, values, line, col)

    def tokens(self, key: str, text: str) -> tuple[str, ...]:
        if key in _HOST_PORT and ":" in text:
            host, _, port = text.rpartition(":")
            return (host.strip("[]"), port)
        if key in COLON_JOINED and ":" in text:
            return tuple(t for t in text.split(":") if t)
        return tuple(text.split()) or (text,)

    def logging(self, parent: Stanza, value: yaml.Node, line: int, col: int) -> None:
        stanza = Stanza("logging", None, line, col)
        parent.children.append(stanza)
        if isinstance(value, self.yaml.ScalarNode) and value.tag.endswith(":null"):
            return
        if not isinstance(value, self.yaml.SequenceNode):
            raise self.error(value, "'logging' must be a list of sinks, each with a 'name'")
        for item in value.value:
            name_node = self.get(item, "name")
            if not isinstance(item, self.yaml.MappingNode) or name_node is None:
                raise self.error(
                    item, "each logging sink needs a 'name' (console, syslog or a path)"
                )
            name = self.scalar(name_node) or ""
            mark = item.start_mark
            if name in ("console", "syslog", "stderr"):
                sink = Stanza(name, None, mark.line + 1, mark.column + 1)
            else:
                sink = Stanza("file", name, mark.line + 1, mark.column + 1)
            stanza.children.append(sink)
            entries = [(self.key_of(k), k, v) for k, v in item.value]
            for key, key_node, level_node in sorted(entries, key=lambda e: e[0]):
                if key == "name":
                    continue
                level = self.scalar(level_node)
                if level is None:
                    continue
                kline, kcol = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                if key in SYSLOG_PARAMS:
                    sink.children.append(Param(key, (level,), kline, kcol))
                else:
                    sink.children.append(Param("context", (key, level), kline, kcol))
