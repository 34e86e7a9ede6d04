"""Response schemas derived from the result dataclasses: one definition of each shape.

A result's JSON is its dataclass's fields (``gpuledger.domain.serialize``); the
API's OpenAPI schema for it is built from the same fields here, so the two
cannot drift apart. Fields marked ``NOT_JSON`` stay out of both.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


@cache
def model_of(cls: type[Any]) -> type[BaseModel]:
    """A pydantic model with the JSON fields of the dataclass ``cls`` (nested ones too)."""
    assert dataclasses.is_dataclass(cls), cls
    namespace = vars(sys.modules[cls.__module__])
    fields: dict[str, Any] = {
        f.name: (_field_type(_resolve(f.type, namespace)), ...)
        for f in dataclasses.fields(cls)
        if f.metadata.get("json", True)
    }
    model: type[BaseModel] = create_model(
        cls.__name__, __base__=_Out, __doc__=(cls.__doc__ or "").strip() or None, **fields
    )
    return model


@cache
def counted_model_of(cls: type[Any]) -> type[BaseModel]:
    """``model_of(cls)`` with the ``unit`` its counts are in (``gpus`` or ``h100e``)."""
    from gpuledger.domain.enums import CountUnit

    base = model_of(typing.cast(Any, cls))
    model: type[BaseModel] = create_model(
        f"{cls.__name__}Counted", __base__=base, unit=(CountUnit, ...)
    )
    return model


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    """A field's annotation as a type (hidden fields are never resolved: they may be
    imported for type checking only)."""
    if not isinstance(annotation, str):
        return annotation
    return eval(annotation, namespace)  # our own annotations, never input


def _field_type(tp: Any) -> Any:
    """The pydantic type for a dataclass field type (tuples of rows become lists of models)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return model_of(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[_field_type(args[0])]  # type: ignore[misc]
        return tuple[tuple(_field_type(a) for a in args)]  # type: ignore[misc]
    if origin in (list, typing.Sequence):
        return list[_field_type(args[0])]  # type: ignore[misc]
    if origin in (dict, Mapping):
        return dict[_field_type(args[0]), _field_type(args[1])]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_field_type(a) for a in args)]  # noqa: UP007
    return tp
