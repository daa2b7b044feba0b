"""A conf path and value -> the info command that sets it on a running node (``ascad fix``).

The inverse of the runtime mapping for the parameters ``set-config`` can change
(aerospike-server 8.1.2.0, as/src/base/cfg_info.c ``cfg_set``): the context selects the stanza,
``id=NS`` the namespace (every version; ``namespace=NS`` only from 7.2), ``set=S`` a set,
``dc=D`` and ``namespace=N`` an XDR dc and its namespace; network and security sub-stanzas keep
their dotted key (``heartbeat.interval``, ``ldap.polling-period``). Namespace storage keys go
without the ``storage-engine.`` prefix (cfg_info.c:2524 ``defrag-lwm-pct``). A logging context
is ``log-set:id=SINK;CONTEXT=LEVEL`` (thr_info.c:2365).

Values: the canonical value (bytes, seconds, lowercase booleans), which every version parses.
A list or set element (``file[0]``, ``mesh-seed-address-port[…]``) has no one set-config: None.
"""

from __future__ import annotations

from collections.abc import Mapping

from ascad.conf.paths import segment_parts, split_path


def set_config_command(path: str, value: str, sinks: Mapping[str, str] | None = None) -> str | None:
    """The command that sets ``path`` to ``value``, or None when no single command can.
    ``sinks``: the node's log sinks, conf path (``logging.file[/var/log/a.log]``) -> sink id."""
    segs = split_path(path)
    if not segs or (" " in value.strip() and not path.startswith("logging.")):
        return None
    head, name = segment_parts(segs[0])
    leaf, leaf_name = segment_parts(segs[-1])
    if head == "logging":
        if leaf != "context" or leaf_name is None or len(segs) < 3:
            return None
        sink = ".".join(segs[:-1])
        sink_id = (sinks or {}).get(sink)
        if sink_id is None:
            return None
        return f"log-set:id={sink_id};{leaf_name}={value.upper()}"
    if leaf_name is not None or ";" in value or "=" in value:
        return None  # a list/set element, or a value the command syntax cannot carry
    rest = segs[1:]
    if head in ("service", "network", "security") and name is None:
        if any(segment_parts(s)[1] is not None for s in rest):
            return None  # network.tls[NAME].… : no set-config context
        return f"set-config:context={head};{'.'.join(rest)}={value}"
    if head == "namespace" and name is not None and rest:
        first, set_name = segment_parts(rest[0])
        if first == "set" and set_name is not None and len(rest) == 2:
            return f"set-config:context=namespace;id={name};set={set_name};{rest[1]}={value}"
        if first == "storage-engine" and len(rest) == 2:
            return f"set-config:context=namespace;id={name};{rest[1]}={value}"
        if any(segment_parts(s)[1] is not None for s in rest):
            return None
        return f"set-config:context=namespace;id={name};{'.'.join(rest)}={value}"
    if head == "xdr" and name is None and rest:
        first, dc = segment_parts(rest[0])
        if first != "dc":
            return f"set-config:context=xdr;{'.'.join(rest)}={value}"
        if dc is None or len(rest) < 2:
            return None
        second, ns = segment_parts(rest[1])
        if second == "namespace" and ns is not None and len(rest) == 3:
            return f"set-config:context=xdr;dc={dc};namespace={ns};{rest[2]}={value}"
        if len(rest) == 2 and ns is None:
            return f"set-config:context=xdr;dc={dc};{rest[1]}={value}"
    return None


__all__ = ["set_config_command"]
