"""One serializer for every result: frozen dataclasses to plain JSON values.

A result's JSON shape is its dataclass's fields, in declaration order; the CLI's
``--json``, the API's bodies and the reports all come from :func:`jsonable`, so
they cannot disagree. A field declared with ``metadata={"json": False}`` stays out
of the JSON (arrays for charts, back-references). Dates are ISO strings, enums
their values, NumPy scalars plain numbers.

Ledger event bodies are *not* written with this function: their canonical form
is fixed by the hash chain (``gpuledger.ledger.codec``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

#: ``field(metadata=NOT_JSON)``: the field stays out of the JSON (and of the API's schema).
NOT_JSON: dict[str, Any] = {"json": False}

_PLAIN = (str, int, float, bool, type(None))
_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def json_fields(cls: type[Any]) -> tuple[str, ...]:
    """The names of a dataclass's fields that appear in its JSON, in order."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.metadata.get("json", True)
        )
    return names


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values (dict, list, str, int, float, bool, None).

    Edge cases: dict keys become strings; a NumPy scalar becomes its Python
    number; a NaN float is kept (callers that promise finite numbers check it).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {n: jsonable(getattr(value, n)) for n in json_fields(kind)}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "dtype") and hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    raise TypeError(f"{kind.__name__} is not serializable to JSON")
