"""Canonical JSON, the event hash, and domain records to and from JSON documents."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache, lru_cache
from typing import Any, TypeVar

from gpuledger import domain
from gpuledger.domain import DocumentKind

T = TypeVar("T")

#: The record type stored under each document kind.
DOCUMENT_TYPES: dict[DocumentKind, type[Any]] = {
    DocumentKind.SKU: domain.Sku,
    DocumentKind.VENDOR: domain.Vendor,
    DocumentKind.GROUP: domain.Group,
    DocumentKind.ORG: domain.Org,
    DocumentKind.SITE: domain.Site,
    DocumentKind.CLUSTER: domain.Cluster,
    DocumentKind.ORDER: domain.Order,
    DocumentKind.LOT: domain.Lot,
    DocumentKind.TARGET: domain.Target,
    DocumentKind.CLAIM: domain.Claim,
    DocumentKind.DIVERSION: domain.Diversion,
}
#: Movements are documents too; DocumentKind has no member for them.
MOVEMENT_KIND = "movement"


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=4096)
def timestamp(value: datetime) -> str:
    """A timestamp as the chain hashes it: UTC ISO 8601 with microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def json_string(value: str) -> str:
    """A JSON string literal, as ``json.dumps(ensure_ascii=False)`` writes it.

    Printable ASCII without quote or backslash is written as is (four C-level
    tests, twice as fast as a regular expression); anything else by ``json``.
    """
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    id: str,
    kind: str,
    body: str,
    actor: str,
    effective_at: datetime,
    recorded_at: datetime,
) -> str:
    """``sha256(prev_hash || canonical(event))``.

    The event is ``{seq, id, kind, body, actor, effective_at, recorded_at}`` in
    canonical JSON; ``body`` is the stored text, itself canonical JSON, spliced
    in as is (``verify`` also checks that it is canonical).
    """
    envelope = (
        f'{{"actor":{json_string(actor)},"body":{body},'
        f'"effective_at":"{timestamp(effective_at)}","id":{json_string(id)},'
        f'"kind":{json_string(kind)},"recorded_at":"{timestamp(recorded_at)}","seq":{int(seq)}}}'
    )
    return hashlib.sha256((prev_hash + envelope).encode()).hexdigest()


def content_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data``."""
    return hashlib.sha256(canonical(data).encode()).hexdigest()


_FIELDS: dict[type[Any], tuple[str, ...]] = {}
_PLAIN = (str, int, float, bool, type(None))


def to_json(value: Any) -> Any:
    """A dataclass, enum, date or tuple as plain JSON values (dates as ISO strings)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELDS.get(kind)
    if names is not None:
        out = {}
        for n in names:  # plain fields inline: most of a record's fields are
            v = getattr(value, n)
            out[n] = v if type(v) in _PLAIN else to_json(v)
        return out
    # Enums before the dataclass test: is_dataclass on an enum is slow (EnumType.__getattr__).
    if isinstance(value, Enum):
        return value._value_
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
        return {n: to_json(getattr(value, n)) for n in names}
    return value


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    # The globals of the module that defines ``cls`` resolve its annotations.
    return typing.get_type_hints(cls)


Decoder = typing.Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@cache
def _decoder(tp: Any) -> Decoder:
    """A function decoding JSON values of type ``tp`` (built once per type).

    None decodes to None for every type; plain types are passed through.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(inner[0])
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])
        return lambda v: None if v is None else tuple(item(x) for x in v)
    if isinstance(tp, type):
        cls: type[Any] = tp
        if dataclasses.is_dataclass(cls):
            return lambda v: None if v is None else from_json(cls, v)
        if issubclass(cls, Enum):
            return lambda v: None if v is None else cls(v)
        if tp is date:
            return lambda v: None if v is None else date.fromisoformat(v)
        if tp is float:
            return lambda v: None if v is None else float(v)
    return _identity


_PLANS: dict[type[Any], dict[str, Decoder]] = {}


def _plan(cls: type[Any]) -> dict[str, Decoder]:
    """Field name -> decoder of a dataclass (plain fields get the identity), built once."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = _hints(cls)  # type: ignore[arg-type]
        plan = _PLANS[cls] = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}
    return plan


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a domain dataclass from :func:`to_json` output (unknown keys ignored)."""
    plan = _plan(cls)
    kwargs = {k: decode(data[k]) for k, decode in plan.items() if k in data}
    return cls(**kwargs)
