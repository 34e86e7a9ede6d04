"""Validate raw records from any format and build the domain :class:`Scenario`.

Validation knows no format: it gets a :class:`~gpuledger.scenario._raw.RawDocument`
and reports each problem at the origin its reader gave (``file:line``,
``file:row``, ``sheet!row``). Checks run in two phases:

1. Each record on its own: its model (types, required and unknown fields, the
   bounds of :mod:`gpuledger.domain.limits`), then rules inside one record such as
   ``p90_days`` not below ``p50_days``.
2. Records against each other (``_cross``), over the records that passed phase 1.

The whole source is refused if anything is wrong: the :class:`ScenarioError`
raised is the first problem in the source's order (the smallest line, or the
first sheet and row; on one line, the first found), and every other problem is
attached as a note (``exc.__notes__``), one line each.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gpuledger.domain import Diversion, Movement, Scenario, ScenarioError, limits
from gpuledger.scenario._cross import Checked, CrossChecker, field_path
from gpuledger.scenario._models import (
    EVENT_MODELS,
    RECORD_MODELS,
    HeaderModel,
    OrderModel,
    RecordModel,
    VendorModel,
)
from gpuledger.scenario._raw import (
    COLLECTIONS,
    FieldPath,
    Origin,
    RawDocument,
    RawProblem,
    RawRecord,
    field_name,
    shown,
)

M = TypeVar("M", bound=BaseModel)

#: Problems listed as notes beyond the first; the rest are counted.
NOTES_MAX = 50


@dataclass(frozen=True)
class _Problem:
    origin: Origin
    seq: int
    reason: str
    record: str | None
    field: str | None

    def error(self) -> ScenarioError:
        file, line = self.origin.place()
        return ScenarioError(
            self.reason, file=file, line=line, record=self.record, field=self.field
        )


class Problems:
    """Collects problems with their origins; raises them in the source's order."""

    def __init__(self, found_by_reader: Iterable[RawProblem] = ()) -> None:
        self._found: list[_Problem] = []
        for p in found_by_reader:
            self.add(p.origin, p.reason, record=p.record, field=p.field)

    def add(self, origin: Origin, reason: str, *, record: str | None, field: str | None) -> None:
        """Record one problem."""
        self._found.append(_Problem(origin, len(self._found), reason, record, field))

    def raise_first(self) -> None:
        """Raise the first problem in the source's order, the others as notes; nothing if none.

        Raises:
            ScenarioError: the first problem.
        """
        if not self._found:
            return
        ordered = sorted(self._found, key=lambda p: (p.origin.sort_key(), p.seq))
        error = ordered[0].error()
        for later in ordered[1 : NOTES_MAX + 1]:
            error.add_note(str(later.error()))
        if len(ordered) > NOTES_MAX + 1:
            error.add_note(f"... and {len(ordered) - NOTES_MAX - 1:,} more problems")
        raise error


def validate(doc: RawDocument) -> Scenario:
    """Check a document read by any format and build its :class:`Scenario`.

    Raises:
        ScenarioError: at the first problem in the source's order (see the module docstring).
    """
    problems = Problems(doc.problems)

    # 1. Each record on its own.
    header = _check_model(HeaderModel, doc.header, None, problems)
    broken: set[str] = set()
    checked = {
        key: _check_collection(key, doc.collections.get(key, []), problems, broken)
        for key in COLLECTIONS
    }

    # 2. Records against each other.
    cross = CrossChecker(problems.add, broken)
    kept = cross.dedupe(checked)
    cross.check(kept)
    problems.raise_first()
    assert header is not None, "a header that failed its model is a problem"
    return _assemble(header, kept, doc.default_name)


# --------------------------------------------------------------------------- phase 1


def _label(collection: str, index: int, fields: Mapping[str, object]) -> str:
    # The id joins the label only when it is one: a hostile id (100,000 characters,
    # bidi overrides) is shown escaped by the id's own problem instead.
    ident = fields.get("id")
    valid = isinstance(ident, str) and limits.ID_PATTERN.fullmatch(ident)
    return f"{collection}[{index}]" + (f" {ident}" if valid else "")


def _check_collection(
    key: str, raws: Sequence[RawRecord], problems: Problems, broken: set[str]
) -> list[Checked[Any]]:
    """The records of one collection that pass phase 1; ids of the others go to ``broken``."""
    out: list[Checked[Any]] = []
    for raw in raws:
        label = _label(key, raw.index, raw.fields)
        ident = raw.fields.get("id")
        model_type = _model_for(key, raw, label, problems)
        model = _check_model(model_type, raw, label, problems) if model_type else None
        rules = list(_record_rules(model)) if model is not None else []
        for field, reason in rules:
            problems.add(raw.origin_of(field_path(field)), reason, record=label, field=field)
        if model is None or rules:
            if isinstance(ident, str):
                broken.add(ident)
            continue
        out.append(Checked(raw, model.record(), label))
    return out


def _model_for(
    key: str, raw: RawRecord, label: str, problems: Problems
) -> type[RecordModel] | None:
    if key != "events":
        return RECORD_MODELS[key]
    op = raw.fields.get("op")
    if op is None:
        problems.add(raw.origin, "missing required field", record=label, field="op")
        return None
    if not isinstance(op, str) or op not in EVENT_MODELS:
        problems.add(
            raw.origin_of(("op",)),
            f"unknown op {shown(op)} (expected one of {', '.join(EVENT_MODELS)})",
            record=label,
            field="op",
        )
        return None
    return EVENT_MODELS[op]


def _check_model(
    model_type: type[M], raw: RawRecord, label: str | None, problems: Problems
) -> M | None:
    try:
        return model_type.model_validate(raw.fields)
    except ValidationError as exc:
        for error in exc.errors():
            loc: FieldPath = tuple(error["loc"])
            record, field_loc = label, loc
            if label is None and loc and loc[0] == "parameters" and len(loc) > 1:
                record, field_loc = "parameters", loc[1:]
            problems.add(
                raw.origin_of(loc),
                _reason(error, model_type, loc),
                record=record,
                field=_field_name(field_loc),
            )
        return None


def _field_name(loc: Sequence[str | int]) -> str | None:
    name = ""
    for step in loc:
        if isinstance(step, int):
            name += f"[{step}]"
        else:
            step = field_name(step)
            name += f".{step}" if name else step
    return name or None


def _allowed_fields(model_type: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    # Walk to the model that holds the last step of loc (through list[...] and X | None).
    current: type[BaseModel] = model_type
    for step in loc[:-1]:
        if isinstance(step, int):
            continue
        fields = current.model_fields
        field = fields.get(step) or next((f for f in fields.values() if f.alias == step), None)
        inner = _inner_model(field.annotation) if field is not None else None
        if inner is None:
            return []
        current = inner
    return [f.alias or name for name, f in current.model_fields.items()]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _reason(error: ErrorDetails, model_type: type[BaseModel], loc: Sequence[str | int]) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model_type, loc)
        return "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    message = error["msg"]
    if kind == "out_of_bounds":
        return message
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    return f"{message}, got {shown(value)}"


def _record_rules(model: BaseModel) -> Iterable[tuple[str, str]]:
    """Rules inside one record: (field, reason) for each broken one.

    Rules between records (a lot and its order, a diversion and its lots, a
    movement and its cluster) are the domain's, applied in ``_cross``.
    """
    if isinstance(model, VendorModel):
        for j, row in enumerate(model.lead_time):
            if row.p90_days < row.p50_days:
                yield (
                    f"lead_time[{j}].p90_days",
                    f"p90_days ({row.p90_days}) is below p50_days ({row.p50_days})",
                )
        if model.transit_slip_p90_days < model.transit_slip_p50_days:
            yield (
                "transit_slip_p90_days",
                f"transit_slip_p90_days ({model.transit_slip_p90_days}) is below "
                f"transit_slip_p50_days ({model.transit_slip_p50_days})",
            )
    elif isinstance(model, OrderModel):
        for j, step in enumerate(model.schedule):
            if step.on < model.ordered_on:
                yield (
                    f"schedule[{j}].on",
                    f"delivery on {step.on} is before the order was placed ({model.ordered_on})",
                )
        total = sum(step.qty for step in model.schedule)
        if total > model.qty:
            yield "schedule", f"schedule delivers {total} units, beyond the order's qty {model.qty}"


# --------------------------------------------------------------------------- build


def _values(kept: Mapping[str, list[Checked[Any]]], key: str) -> tuple[Any, ...]:
    return tuple(c.value for c in kept[key])


def _assemble(
    header: HeaderModel, kept: Mapping[str, list[Checked[Any]]], default_name: str
) -> Scenario:
    events = [c.value for c in kept["events"]]
    return Scenario(
        name=header.name or default_name,
        description=header.description,
        as_of=header.as_of,
        parameters=header.parameters.record(),
        skus=_values(kept, "skus"),
        vendors=_values(kept, "vendors"),
        groups=_values(kept, "groups"),
        orgs=_values(kept, "orgs"),
        clusters=_values(kept, "clusters"),
        sites=_values(kept, "sites"),
        orders=_values(kept, "orders"),
        lots=_values(kept, "lots"),
        targets=_values(kept, "targets"),
        claims=_values(kept, "claims"),
        diversions=tuple(e for e in events if isinstance(e, Diversion)),
        movements=tuple(e for e in events if isinstance(e, Movement)),
    )
