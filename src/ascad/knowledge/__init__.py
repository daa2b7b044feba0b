"""What ascad knows about Aerospike's parameters, per server version.

``table`` gives the per-version parameter table generated from Aerospike's schemas
(tools/gen_params.py -> params.json); ``validate`` checks a parsed conf against it.
"""

from ascad.knowledge.table import (
    ParamInfo,
    ParamTable,
    schema_version_for,
    table_for,
    unit_kind,
)

__all__ = ["ParamInfo", "ParamTable", "schema_version_for", "table_for", "unit_kind"]
