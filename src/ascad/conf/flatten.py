"""ConfTree -> FlatConfig: one :class:`~ascad.conf.model.Setting` per path (docs/paths.md)."""

from __future__ import annotations

from functools import lru_cache

from ascad.conf import keys
from ascad.conf.model import ConfTree, FlatConfig, Param, Setting, Stanza, Warning_
from ascad.conf.values import canonical_values
from ascad.gcpause import gc_paused
from ascad.knowledge.table import known_unit, known_unit_of_pattern, pattern_of


def stanza_segment(stanza: Stanza) -> str:
    """The path segment of a stanza: ``namespace[test]``, ``storage-engine``, ``service``."""
    if stanza.kind in keys.NAMED_STANZAS and stanza.name is not None:
        return f"{stanza.kind}[{stanza.name}]"
    return stanza.kind


def join(prefix: str, segment: str) -> str:
    """``prefix.segment``, or ``segment`` at the top level."""
    return f"{prefix}.{segment}" if prefix else segment


# Keys that may repeat as a list, a set or a keyed map (keys.repeat_shape); any other key is one
# plain setting, made inline by _flatten_stanza.
_SHAPED_KEYS = keys.KEYED_KEYS | keys.ORDERED_KEYS | keys.SET_KEYS
_NAMED = keys.NAMED_STANZAS
_TYPED = keys.TYPED_STANZAS

# ``prefix.key[`` -> the keyed paths set under it so far (logging ``context NAME``), so that a
# ``context any`` line finds the per-context lines it overrides without scanning every setting.
Keyed = dict[str, dict[str, None]]


@lru_cache(maxsize=1 << 14)
def _canonical(key: str, values: tuple[str, ...], unit: str | None) -> str:
    """canonical_values, remembered: a pure function of its arguments, and a conf repeats the
    same few (key, value) pairs in every namespace."""
    return canonical_values(key, values, unit)


# Canonical values by the pattern of the stanza they sit in, then by (key, values): a stanza
# looks its pattern's table up once and each line costs one lookup of a key it already has (no
# path spelt, no string hashed twice). A pure function's results (the unit comes from the
# knowledge table, itself fixed data), so nothing here can go stale; bounded like _canonical.
_CANONICAL_BY_PATTERN: dict[str, dict[tuple[str, tuple[str, ...]], str]] = {}
_MAX_PATTERNS = 1 << 10
_MAX_PER_PATTERN = 1 << 12
_NO_TABLE: dict[tuple[str, tuple[str, ...]], str] = {}  # (never written: no pattern)


def _canonical_table(pattern: str) -> dict[tuple[str, tuple[str, ...]], str]:
    """The table of canonical values for the lines of a stanza whose path's pattern is
    ``pattern`` (emptied when it outgrows its bound; a new one when there are too many)."""
    table = _CANONICAL_BY_PATTERN.get(pattern)
    if table is None:
        if len(_CANONICAL_BY_PATTERN) >= _MAX_PATTERNS:
            _CANONICAL_BY_PATTERN.clear()
        table = _CANONICAL_BY_PATTERN[pattern] = {}
    elif len(table) >= _MAX_PER_PATTERN:
        table.clear()
    return table


def _canonical_in(
    table: dict[tuple[str, tuple[str, ...]], str], pattern: str, key: str, values: tuple[str, ...]
) -> str:
    """The canonical value of ``key values…`` in a stanza of pattern ``pattern`` (``""`` at the
    top level), computed once per table."""
    canonical = canonical_values(
        key, values, known_unit_of_pattern(f"{pattern}.{key}" if pattern else key)
    )
    table[key, values] = canonical
    return canonical


# A Setting made by tuple.__new__ directly: the named tuple's own __new__ is a Python function
# around this same call, and a flat config makes one per line (a third of the time).
_new_setting = tuple.__new__


def flatten(tree: ConfTree) -> FlatConfig:
    """Flatten a tree (time linear in its size). Warnings about duplicates are appended to
    ``tree.warnings``."""
    flat = FlatConfig(source=tree.source)
    with gc_paused():  # a setting per line, no cycles (ascad.gcpause)
        _flatten_stanza(tree, tree.root, "", flat, {})
    return flat


def _add(tree: ConfTree, flat: FlatConfig, setting: Setting, what: str) -> None:
    previous = flat.settings.get(setting.path)
    if previous is not None and not setting.stanza:
        tree.warnings.append(
            Warning_(
                setting.line,
                setting.col,
                f"{what} also set at line {previous.line}; the server keeps this last value",
            )
        )
        del flat.settings[setting.path]  # keep file order: the last line wins and sits last
    flat.settings[setting.path] = setting


def _flatten_stanza(
    tree: ConfTree, stanza: Stanza, prefix: str, flat: FlatConfig, keyed: Keyed
) -> None:
    ordered_counts: dict[str, int] = {}
    settings = flat.settings
    # The prefix's pattern, once per stanza: ``prefix.key``'s pattern is ``pattern.key`` when no
    # ``[`` in the prefix waits for its ``]`` and the key has no ``[`` (the common case).
    pattern = pattern_of(prefix) if prefix.rfind("[") <= prefix.rfind("]") else None
    table = _canonical_table(pattern) if pattern is not None else _NO_TABLE
    for child in stanza.children:
        if type(child) is Param and child.key not in _SHAPED_KEYS:
            key = child.key
            path = f"{prefix}.{key}" if prefix else key
            values = child.values
            if pattern is not None and "[" not in key:
                canonical = table.get((key, values))
                if canonical is None:
                    canonical = _canonical_in(table, pattern, key, values)
            else:
                canonical = _canonical(key, values, known_unit(path))
            setting = _new_setting(
                Setting, (path, " ".join(values), canonical, child.line, child.col, False)
            )
            if path in settings:  # a repeated line: _add warns (the message made only then)
                _add(tree, flat, setting, f"'{key}'")
            else:
                settings[path] = setting
        elif isinstance(child, Stanza):
            kind, name = child.kind, child.name
            segment = f"{kind}[{name}]" if name is not None and kind in _NAMED else kind
            path = f"{prefix}.{segment}" if prefix else segment
            typed = kind in _TYPED
            value = name if typed and name is not None else ""
            existing = settings.get(path)
            if existing is None:
                settings[path] = _new_setting(
                    Setting, (path, value, value, child.line, child.col, True)
                )
            elif existing.stanza and not typed:
                tree.warnings.append(
                    Warning_(
                        child.line,
                        child.col,
                        f"'{stanza_segment(child)}' also opened at line {existing.line}; "
                        "their parameters are merged",
                    )
                )
            else:
                if child.kind == "storage-engine" or existing.value != value:
                    # One storage-engine per namespace (cfg.c): a second one is a mistake. A
                    # repeated index-type of the same type (asconfig-server70.conf) is harmless.
                    # ascad keeps the last type and merges the parameters.
                    tree.warnings.append(
                        Warning_(
                            child.line,
                            child.col,
                            f"second '{child.kind}' in this stanza (first at line "
                            f"{existing.line}): a namespace has only one; their parameters "
                            "are merged",
                        )
                    )
                settings[path] = Setting(path, value, value, child.line, child.col, stanza=True)
            _flatten_stanza(tree, child, path, flat, keyed)
        else:
            _flatten_param(tree, stanza, child, prefix, flat, ordered_counts, keyed, pattern, table)


def _flatten_param(
    tree: ConfTree,
    stanza: Stanza,
    param: Param,
    prefix: str,
    flat: FlatConfig,
    ordered_counts: dict[str, int],
    keyed: Keyed,
    pattern: str | None,
    table: dict[tuple[str, tuple[str, ...]], str],
) -> None:
    """A key that may repeat (keys.repeat_shape); ``pattern`` and ``table`` are the stanza's
    (:func:`_flatten_stanza`)."""
    shape = keys.repeat_shape(param.key, stanza.kind)
    value = " ".join(param.values)
    if shape == "keyed":
        sub = param.values[0].lower()
        rest = param.values[1:]
        path = join(prefix, f"{param.key}[{sub}]")
        seen = keyed.setdefault(join(prefix, f"{param.key}["), {})
        if sub == "any":
            # `context any X` sets every context: earlier per-context lines in this sink no longer
            # count (cf/src/log.c applies the lines in file order).
            stale = [p for p in seen if p != path and p in flat.settings]
            seen.clear()
            for p in stale:
                old = flat.settings.pop(p)
                tree.warnings.append(
                    Warning_(
                        old.line,
                        old.col,
                        f"'{param.key} {p[len(prefix) + len(param.key) + 2 : -1]}' is overridden by "
                        f"'{param.key} any' at line {param.line}",
                    )
                )
        setting = _new_setting(
            Setting,
            (path, " ".join(rest), _canonical(param.key, rest, None), param.line, param.col, False),
        )
        any_level = flat.settings.get(join(prefix, f"{param.key}[any]"))
        if sub != "any" and any_level is not None and any_level.canonical == setting.canonical:
            # `context any info` then `context misc info`: the second line changes nothing, so
            # it is no setting of its own (a node without it logs exactly the same).
            flat.settings.pop(path, None)
            return
        if path in flat.settings:  # a repeated line: _add warns (the message made only then)
            _add(tree, flat, setting, f"'{param.key} {param.values[0]}'")
        else:
            flat.settings[path] = setting
        seen[path] = None
        return
    plain_path = f"{prefix}.{param.key}" if prefix else param.key
    if pattern is not None and "[" not in param.key:  # (as _flatten_stanza's plain lines)
        canonical = table.get((param.key, param.values)) or _canonical_in(
            table, pattern, param.key, param.values
        )
    else:
        canonical = _canonical(param.key, param.values, known_unit(plain_path))
    if shape == "ordered":
        index = ordered_counts.get(param.key, 0)
        ordered_counts[param.key] = index + 1
        path = join(prefix, f"{param.key}[{index}]")
    elif shape == "set":
        element = ":".join(canonical.split(" "))
        path = join(prefix, f"{param.key}[{element}]")
        if path in flat.settings:
            tree.warnings.append(
                Warning_(
                    param.line,
                    param.col,
                    f"duplicate '{param.key} {value}' (also at line {flat.settings[path].line})",
                )
            )
            return
    else:
        path = plain_path
    setting = _new_setting(Setting, (path, value, canonical, param.line, param.col, False))
    if path in flat.settings:  # a repeated line: _add warns (the message made only then)
        _add(tree, flat, setting, f"'{param.key}'")
    else:
        flat.settings[path] = setting
