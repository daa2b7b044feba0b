"""Canonical values: the value the server holds after reading a conf token.

Every rule here is the server's own (cf/src/cf_str.c and as/src/base/cfg.c, summarised in
shared/aerospike/conf-format-and-runtime-mapping.md section b):

- **Integers** take one optional suffix K/M/G/T/P, either case, in powers of 1024, on *every*
  integer parameter (``proto-fd-max 15K`` = 15360). Nothing may follow the suffix.
- **Durations** (the ``cfg_seconds`` parameters listed in :data:`DURATION_KEYS`) take s/m/h/d
  instead, either case: on them ``2M`` is two minutes, on any other integer it is 2 MiB. ``-1`` is
  kept as is.
- **Booleans** are ``true``/``false`` in any case; the runtime prints lowercase. ``yes``/``no``
  mean the same up to 7.1 (``cfg_bool()``, cfg.c; from 7.2 the server refuses them, which
  ``ascad validate`` reports), so they are read as ``true``/``false`` on a boolean parameter.
- A ``enable-benchmarks-*`` line with no value is ``true`` (keys.VALUELESS_FLAGS).
- ``node-id`` is hex; the runtime prints it uppercase without leading zeros.
- Logging context names and levels are case-insensitive; every other enum is case-sensitive, so it
  is left alone.
- Strings are kept verbatim.

The canonical form is the string the server prints at runtime, so a conf value and a ``get-config``
value compare directly.
"""

from __future__ import annotations

import re

from ascad.conf.keys import VALUELESS_FLAGS
from ascad.conf.model import is_wild

_YES_NO = {"yes": "true", "no": "false"}

# cfg_seconds parameters, by key (cfg.c, server 8.1). All are durations wherever they appear
# (default-ttl: namespace and set). Older names kept for old confs.
DURATION_KEYS = frozenset(
    {
        "migrate-fill-delay",
        "tls-refresh-period",
        "default-ttl",
        "nsup-period",
        "nsup-hist-period",
        "tomb-raider-eligible-age",
        "tomb-raider-period",
        "xdr-tomb-raider-period",
        "xdr-bin-tombstone-ttl",
        "mrt-duration",
        "privilege-refresh-period",
        "session-ttl",
        "polling-period",
        "ship-versions-interval",
    }
)

_SIZE_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_TIME_MULTIPLIERS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

_INT_RE = re.compile(r"^(\d+)([kmgtpKMGTP]?)$")
_DURATION_RE = re.compile(r"^(\d+)([smhdSMHD]?)$")
_NEG_INT_RE = re.compile(r"^-\d+$")
_HEX_RE = re.compile(r"^(?:0[xX])?([0-9a-fA-F]+)$")


def parse_size(token: str) -> int | None:
    """``4G`` -> 4294967296; ``None`` when the token is not an integer with an optional suffix."""
    if token.isdecimal():  # the common case, exactly what \d+ alone matches
        return int(token)
    m = _INT_RE.match(token)
    if not m:
        return None
    return int(m.group(1)) * _SIZE_MULTIPLIERS[m.group(2).lower()]


def parse_duration(token: str) -> int | None:
    """``30d`` -> 2592000, ``-1`` -> -1; ``None`` when the token is not a duration."""
    if token == "-1":
        return -1
    m = _DURATION_RE.match(token)
    if not m:
        return None
    return int(m.group(1)) * _TIME_MULTIPLIERS[m.group(2).lower()]


def canonical_token(key: str, token: str, unit: str | None = None) -> str:
    """The server's form of one value token of parameter ``key``.

    ``unit`` is the parameter's kind from the knowledge table (``duration``, ``size``, ``bool``,
    ``plain``) when it is known; unknown parameters fall back on the token's shape.
    """
    if is_wild(token):
        return token
    if unit == "plain" and key != "node-id":
        return token
    if unit == "bool":
        lowered = token.lower()
        if lowered in ("true", "false"):
            return lowered
        return _YES_NO.get(lowered, token)
    if key in DURATION_KEYS or unit == "duration":
        seconds = parse_duration(token)
        if seconds is not None:
            return str(seconds)
        return token
    if key == "node-id":
        m = _HEX_RE.match(token)
        if m:
            return m.group(1).lstrip("0").upper() or "0"
        return token
    size = parse_size(token)
    if size is not None:
        return str(size)
    if _NEG_INT_RE.match(token):
        return str(int(token))
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered
    return token


def canonical_values(key: str, tokens: tuple[str, ...], unit: str | None = None) -> str:
    """Canonical form of a whole value (tokens joined by one space).

    A multi-token value (``mesh-seed-address-port HOST PORT``, ``xdr-digestlog-path PATH SIZE``)
    has tokens of different kinds, so each is read by its shape.
    """
    if key == "context":
        # `context NAME LEVEL`: both case-insensitive (cf/src/log.c).
        return " ".join(t if is_wild(t) else t.lower() for t in tokens)
    if not tokens and key in VALUELESS_FLAGS:
        return "true"
    if len(tokens) > 1:
        unit = None
    return " ".join(canonical_token(key, t, unit) for t in tokens)
