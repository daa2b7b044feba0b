"""Riemann's protocol-buffer schema, built at import time with the ``protobuf`` library.

Riemann's ``proto.proto`` (riemann-java-client, ``riemann/proto.proto``) is proto2 with no
package. ``protoc`` is not needed: the same file is described here field by field with
``descriptor_pb2`` and turned into message classes with ``message_factory.GetMessageClass``. The
field numbers are the wire format, so they must match the server's exactly:

- ``Msg``: 2 ok, 3 error, 4 states (deprecated), 5 query, 6 events
- ``Event``: 1 time, 2 state, 3 service, 4 host, 5 description, 7 tags, 8 ttl, 9 attributes,
  10 time_micros, 13 metric_sint64, 14 metric_d, 15 metric_f (6 is unused)
- ``Attribute``: 1 key (required), 2 value
- ``Query``: 1 string
- ``State``: the legacy 1-8 layout, kept only so old fields decode

The schema lives in its own :class:`~google.protobuf.descriptor_pool.DescriptorPool`, so its
top-level names (``Msg``, ``Event``) cannot clash with another schema in the default pool.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto

# (name, number, type, label, message type name or None)
_SCHEMA: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "State": [
        ("time", 1, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None),
        ("state", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("service", 3, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("host", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("description", 5, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("once", 6, _F.TYPE_BOOL, _F.LABEL_OPTIONAL, None),
        ("tags", 7, _F.TYPE_STRING, _F.LABEL_REPEATED, None),
        ("ttl", 8, _F.TYPE_FLOAT, _F.LABEL_OPTIONAL, None),
    ],
    "Attribute": [
        ("key", 1, _F.TYPE_STRING, _F.LABEL_REQUIRED, None),
        ("value", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
    ],
    "Event": [
        ("time", 1, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None),
        ("state", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("service", 3, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("host", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("description", 5, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("tags", 7, _F.TYPE_STRING, _F.LABEL_REPEATED, None),
        ("ttl", 8, _F.TYPE_FLOAT, _F.LABEL_OPTIONAL, None),
        ("attributes", 9, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".Attribute"),
        ("time_micros", 10, _F.TYPE_INT64, _F.LABEL_OPTIONAL, None),
        ("metric_sint64", 13, _F.TYPE_SINT64, _F.LABEL_OPTIONAL, None),
        ("metric_d", 14, _F.TYPE_DOUBLE, _F.LABEL_OPTIONAL, None),
        ("metric_f", 15, _F.TYPE_FLOAT, _F.LABEL_OPTIONAL, None),
    ],
    "Query": [
        ("string", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
    ],
    "Msg": [
        ("ok", 2, _F.TYPE_BOOL, _F.LABEL_OPTIONAL, None),
        ("error", 3, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
        ("states", 4, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".State"),
        ("query", 5, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, ".Query"),
        ("events", 6, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".Event"),
    ],
}


def _file_proto() -> descriptor_pb2.FileDescriptorProto:
    """The FileDescriptorProto that ``protoc`` would make from Riemann's proto.proto."""
    fdp = descriptor_pb2.FileDescriptorProto(name="riemann/proto.proto", syntax="proto2")
    for msg_name, fields in _SCHEMA.items():
        msg = fdp.message_type.add(name=msg_name)
        for name, number, ftype, label, type_name in fields:
            field = msg.field.add(name=name, number=number, type=ftype, label=label)
            if type_name is not None:
                field.type_name = type_name
    return fdp


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_proto())


def _cls(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(name))


#: A batch of events (client -> server) or a reply (``ok``, ``error``, query results).
Msg: Any = _cls("Msg")
#: One Riemann event.
Event: Any = _cls("Event")
#: A string key/value pair on an event (``key`` is required by the schema).
Attribute: Any = _cls("Attribute")
#: A query in Riemann's query language.
Query: Any = _cls("Query")
#: The legacy state message (field 4 of Msg); decoded, never sent.
State: Any = _cls("State")

__all__ = ["Attribute", "Event", "Msg", "Query", "State"]
