"""What the conf grammar knows about each name: which lines open stanzas, which keys repeat and how.

Facts from the server's own parser (as/src/base/cfg.c, summarised in docs and in
shared/aerospike/conf-format-and-runtime-mapping.md sections a and c):

- A stanza opens when its name is seen; ``{`` is only a token. Named stanzas need an id
  (``namespace test``); typed stanzas take a type (``storage-engine device``) and open a body only
  for some types (``storage-engine memory`` and ``index-type shmem`` may be one-liners).
- The server reads at most 3 value tokens per line, and each parameter reads only as many as it
  needs: ``mount /a /b`` keeps ``/a``. :data:`MAX_VALUES` lists the keys that read more than one.
- Repeated keys either build an ordered list (runtime ``file[0]``, ``file[1]``), a set (addresses
  and seeds: order and duplicates do not matter), or a keyed map (logging ``context NAME LEVEL``).
"""

from __future__ import annotations

# Stanzas whose id is required: `namespace test {`. Value: the contexts (parent kinds) they live in.
NAMED_STANZAS: dict[str, frozenset[str]] = {
    "namespace": frozenset({"", "dc"}),  # top level, and inside an xdr dc
    "set": frozenset({"namespace"}),
    "dc": frozenset({"xdr"}),
    "datacenter": frozenset({"xdr"}),  # before 5.0
    "tls": frozenset({"network"}),
    "file": frozenset({"logging"}),
}

# Typed stanzas: the token after the name is a type; value: types that never have a body.
TYPED_STANZAS: dict[str, frozenset[str]] = {
    # `storage-engine memory` is a one-liner up to 6.4 and opens a body from 7.0.
    "storage-engine": frozenset(),
    "index-type": frozenset({"shmem", "mem"}),
    "sindex-type": frozenset({"shmem", "mem"}),
}

# Plain stanzas (no id, no type), by the context they open in; "" is the top level.
PLAIN_STANZAS: dict[str, frozenset[str]] = {
    "service": frozenset({"", "network"}),
    "logging": frozenset({""}),
    "network": frozenset({""}),
    "mod-lua": frozenset({""}),
    "security": frozenset({""}),
    "xdr": frozenset({""}),
    "cluster": frozenset({""}),  # 3.x/4.x rack-aware cluster stanza
    "heartbeat": frozenset({"network"}),
    "fabric": frozenset({"network"}),
    "info": frozenset({"network"}),
    "admin": frozenset({"network"}),
    "console": frozenset({"logging"}),
    "syslog": frozenset({"logging", "security"}),
    "ldap": frozenset({"security"}),
    "log": frozenset({"security"}),
    "geo2dsphere-within": frozenset({"namespace"}),
    # 3.x/4.x `sindex { num-partitions N }` (cfg.c NAMESPACE_SINDEX_OPTS@4.9.0.3; a 3.14.1.1 node
    # prints sindex.num-partitions=32)
    "sindex": frozenset({"namespace"}),
}

# Keys whose repeated lines form an ordered list; the runtime numbers them `key[i]` in conf order.
ORDERED_KEYS = frozenset({"file", "device", "mount", "feature-key-file"})

# Keys whose repeated lines form a set: the server keeps them unordered (seed lists, addresses).
SET_KEYS = frozenset(
    {
        "address",
        "access-address",
        "alternate-access-address",
        "tls-address",
        "tls-access-address",
        "tls-alternate-access-address",
        "tls-authenticate-client",
        "multicast-group",
        "mesh-seed-address-port",
        "tls-mesh-seed-address-port",
        "node-address-port",
        "dc-node-address-port",
        "xdr-remote-datacenter",
        "ship-bin",
        "ignore-bin",
        "ship-set",
        "ignore-set",
        "role-query-pattern",
        "report-data-op",
        "report-data-op-role",
        "report-data-op-user",
    }
)

# Keys whose first token names a sub-key: `context any info` -> context[any] = info.
KEYED_KEYS = frozenset({"context"})

# How many value tokens the server reads for a key; 1 unless listed. (cfg.c; 3 is the line maximum.)
MAX_VALUES: dict[str, int] = {
    "mesh-seed-address-port": 2,
    "tls-mesh-seed-address-port": 2,
    "dc-node-address-port": 2,
    "device": 2,  # device and its shadow device
    "file": 2,  # storage file and its shadow file
    "context": 2,
    "report-data-op": 2,  # namespace [set]
    "xdr-digestlog-path": 2,  # path size (before 5.0)
    "node-address-port": 3,  # host port [tls-name]
    "secrets-address-port": 3,  # host port [tls-name]
}

# Bare flags: a key alone on its line means true (cfg_bool_no_value_is_true).
BARE_TRUE_KEYS = frozenset({"run-as-daemon"})

# Flags the server switches on without reading a value up to 7.1 (as/src/base/cfg.c at 4.0.0.1 …
# 7.1.0.0: ``ns->write_benchmarks_enabled = true;``); from 7.2 they take true/false (AER-6767,
# 31853d59). A line with no value parses, flattens to ``true``, and ``ascad validate`` says from
# which version the server refuses it (tools/server_facts.json: value_ignored).
VALUELESS_FLAGS = frozenset(
    {
        "enable-benchmarks-batch-sub",
        "enable-benchmarks-ops-sub",
        "enable-benchmarks-read",
        "enable-benchmarks-udf",
        "enable-benchmarks-udf-sub",
        "enable-benchmarks-write",
        "enable-benchmarks-storage",
    }
)


def max_values(key: str) -> int:
    """How many value tokens the server reads for ``key``."""
    return MAX_VALUES.get(key, 1)


def repeat_shape(key: str, parent_kind: str) -> str:
    """``ordered``, ``set``, ``keyed`` or ``single`` for a key inside a stanza of ``parent_kind``."""
    if key in KEYED_KEYS and parent_kind in ("file", "console", "syslog"):
        return "keyed"
    if key in ORDERED_KEYS:
        return "ordered"
    if key in SET_KEYS:
        return "set"
    return "single"
