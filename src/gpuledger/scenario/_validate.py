"""Validate a parsed scenario file and build the domain :class:`Scenario`.

The file is refused as a whole at its first problem in file order (the smallest
line; on one line, the first found). Checks run in two phases:

1. Each record on its own (pydantic models, then rules inside one record such as
   ``arrives_on`` not before ``ships_on``).
2. Records against each other, over the records that passed phase 1: duplicate
   ids, references, quantities left on an order or a lot, who holds a lot's
   units when a diversion moves them. A reference to a record that failed phase 1
   is not reported again as unknown (that record's own problem is).
"""

from __future__ import annotations

import types
import typing
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gpuledger.domain import (
    Claim,
    ClaimKind,
    Cluster,
    Delivery,
    Diversion,
    DiversionStatus,
    Group,
    LeadTime,
    Lot,
    Movement,
    Order,
    Org,
    Parameters,
    Payback,
    Scenario,
    ScenarioError,
    Sku,
    Target,
    TransferKind,
    Vendor,
)
from gpuledger.scenario._models import (
    EVENT_MODELS,
    RECORD_MODELS,
    ClaimModel,
    ClusterModel,
    DivertModel,
    GroupModel,
    HeaderModel,
    LotModel,
    MovementModel,
    OrderModel,
    OrgModel,
    SkuModel,
    TargetModel,
    VendorModel,
)
from gpuledger.scenario._yaml import Locator, Parsed

HEADER_KEYS = ("name", "description", "as_of", "parameters")
COLLECTION_KEYS = (*RECORD_MODELS, "events")
TOP_LEVEL_KEYS = (*HEADER_KEYS, *COLLECTION_KEYS)

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True)
class _Problem:
    line: int
    seq: int
    reason: str
    record: str | None
    field: str | None


@dataclass(frozen=True)
class _Rec(Generic[R]):
    """A validated record with where it came from."""

    index: int
    model: R
    label: str


class _Problems:
    """Collects problems with their lines; raises the first in file order."""

    def __init__(self, locator: Locator, filename: str) -> None:
        self._locator = locator
        self._filename = filename
        self._found: list[_Problem] = []

    def add(self, path: Path_, reason: str, *, record: str | None, field: str | None) -> None:
        line = self._locator.line(path) or 0
        self._found.append(_Problem(line, len(self._found), reason, record, field))

    def line(self, path: Path_) -> int | None:
        return self._locator.line(path)

    def raise_first(self) -> None:
        if not self._found:
            return
        first = min(self._found, key=lambda p: (p.line, p.seq))
        raise ScenarioError(
            first.reason,
            file=self._filename,
            line=first.line or None,
            record=first.record,
            field=first.field,
        )


def validate(parsed: Parsed, *, filename: str, default_name: str) -> Scenario:
    """Check a parsed file and build its :class:`Scenario`.

    Raises:
        ScenarioError: at the first problem in file order (see the module docstring).
    """
    locator = Locator(parsed.root)
    problems = _Problems(locator, filename)
    data = parsed.data
    if data is None:
        raise ScenarioError("the file is empty: a scenario needs at least as_of", file=filename)
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario file must be a mapping of name, as_of, skus, orgs, ...",
            file=filename,
            line=locator.line(()),
        )

    # 1. Each record on its own.
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.add(
                (key,),
                f"unknown top-level field (allowed: {', '.join(TOP_LEVEL_KEYS)})",
                record=None,
                field=str(key),
            )
    header = _validate_model(
        HeaderModel, {k: data[k] for k in HEADER_KEYS if k in data}, (), None, problems
    )
    records: dict[str, list[_Rec[Any]]] = {}
    broken: set[str] = set()
    for key in COLLECTION_KEYS:
        records[key] = _validate_collection(key, data.get(key), problems, broken)

    # 2. Records against each other.
    checker = _CrossChecker(problems, broken)
    kept = checker.dedupe(records)
    checker.check(kept)
    problems.raise_first()
    assert header is not None  # no problems means the header validated

    return _build(header, kept, default_name)


# --------------------------------------------------------------------------- phase 1


def _label(collection: str, index: int, item: object) -> str:
    ident = item.get("id") if isinstance(item, dict) else None
    return f"{collection}[{index}]" + (f" {ident}" if isinstance(ident, str) and ident else "")


def _validate_collection(
    key: str, value: object, problems: _Problems, broken: set[str]
) -> list[_Rec[Any]]:
    """The records of one collection that pass phase 1; ids of the others go to ``broken``."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add((key,), f"must be a list of records, got {value!r}", record=None, field=key)
        return []
    out: list[_Rec[Any]] = []
    for index, item in enumerate(value):
        label = _label(key, index, item)
        path: Path_ = (key, index)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            broken.add(item["id"])  # until the record passes
        if not isinstance(item, dict):
            problems.add(
                path, f"a record must be a mapping, got {item!r}", record=label, field=None
            )
            continue
        model_type: type[BaseModel]
        if key == "events":
            op = item.get("op")
            if op is None:
                problems.add(path, "missing required field", record=label, field="op")
                continue
            if op not in EVENT_MODELS:
                problems.add(
                    (*path, "op"),
                    f"unknown op {op!r} (expected one of {', '.join(EVENT_MODELS)})",
                    record=label,
                    field="op",
                )
                continue
            model_type = EVENT_MODELS[op]
        else:
            model_type = RECORD_MODELS[key]
        model = _validate_model(model_type, item, path, label, problems)
        if model is None:
            continue
        rules = list(_record_rules(model))
        for field, reason in rules:
            problems.add((*path, *_field_path(field)), reason, record=label, field=field)
        if not rules:
            broken.discard(item.get("id"))
            out.append(_Rec(index, model, label))
    return out


def _validate_model(
    model_type: type[M],
    item: Mapping[str, Any],
    path: Path_,
    label: str | None,
    problems: _Problems,
) -> M | None:
    try:
        return model_type.model_validate(item)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            record, field_loc = label, loc
            if label is None and loc and loc[0] == "parameters" and len(loc) > 1:
                record, field_loc = "parameters", loc[1:]
            problems.add(
                (*path, *loc),
                _reason(error, model_type, loc),
                record=record,
                field=_field_name(field_loc),
            )
        return None


def _field_name(loc: Sequence[str | int]) -> str | None:
    name = ""
    for step in loc:
        name += f"[{step}]" if isinstance(step, int) else (f".{step}" if name else str(step))
    return name or None


def _field_path(field: str) -> Path_:
    path: list[str | int] = []
    for part in field.replace("]", "").replace("[", ".").split("."):
        path.append(int(part) if part.isdigit() else part)
    return tuple(path)


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
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    return f"{message}, got {value!r}"


def _record_rules(model: BaseModel) -> Iterable[tuple[str, str]]:
    """Rules inside one record: (field, reason) for each broken one."""
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
    elif isinstance(model, LotModel):
        if model.arrives_on < model.ships_on:
            yield "arrives_on", f"arrives_on {model.arrives_on} is before ships_on {model.ships_on}"
    elif isinstance(model, DivertModel):
        if model.from_org == model.to_org:
            yield (
                "to",
                f"a diversion must move units between two orgs, got from == to {model.to_org!r}",
            )
    elif isinstance(model, MovementModel) and model.op in ("deploy", "fail") and not model.cluster:
        yield "cluster", f"a {model.op} event needs the cluster where the units are deployed"


# --------------------------------------------------------------------------- phase 2


def _event_id(model: BaseModel) -> str:
    """The given id, or one derived from the content (the same event gives the same id)."""
    if isinstance(model, DivertModel):
        if model.id:
            return model.id
        return f"divert-{model.on}-{model.lot}-{model.from_org}-{model.to_org}-{model.qty}"
    assert isinstance(model, MovementModel)
    if model.id:
        return model.id
    where = model.cluster or model.lot or ""
    return f"{model.op}-{model.on}-{model.org}-{where}-{model.qty}"


class _CrossChecker:
    def __init__(self, problems: _Problems, broken: set[str]) -> None:
        self._problems = problems
        # Ids of records that failed phase 1: references to them are not reported.
        # Over all kinds at once: this can only hide a problem when another one
        # (the broken record's) is reported anyway.
        self._broken = broken

    def _unknown(self, value: str | None, known: Iterable[str]) -> bool:
        return value is not None and value not in known and value not in self._broken

    def _add(self, rec: _Rec[Any], collection: str, field: str, reason: str) -> None:
        path = (collection, rec.index, *_field_path(field))
        self._problems.add(path, reason, record=rec.label, field=field)

    def dedupe(self, records: dict[str, list[_Rec[Any]]]) -> dict[str, list[_Rec[Any]]]:
        """Drop exact duplicates; a reused id with other content is a problem."""
        kept: dict[str, list[_Rec[Any]]] = {}
        for collection, recs in records.items():
            first: dict[str, _Rec[Any]] = {}
            kept[collection] = []
            for rec in recs:
                ident = _event_id(rec.model) if collection == "events" else rec.model.id
                earlier = first.get(ident)
                if earlier is None:
                    first[ident] = rec
                    kept[collection].append(rec)
                elif earlier.model != rec.model:
                    line = self._problems.line((collection, earlier.index))
                    self._add(
                        rec,
                        collection,
                        "id",
                        f"duplicate id {ident!r} with different content from "
                        f"{earlier.label} (line {line})",
                    )
        return kept

    def check(self, kept: dict[str, list[_Rec[Any]]]) -> None:
        """Every reference resolves and every quantity is available."""
        skus = {r.model.id for r in kept["skus"]}
        vendors = {r.model.id for r in kept["vendors"]}
        groups = {r.model.id for r in kept["groups"]}
        orgs = {r.model.id for r in kept["orgs"]}
        clusters: dict[str, ClusterModel] = {r.model.id: r.model for r in kept["clusters"]}
        orders: dict[str, OrderModel] = {r.model.id: r.model for r in kept["orders"]}
        lots: dict[str, LotModel] = {r.model.id: r.model for r in kept["lots"]}

        def ref(
            rec: _Rec[Any],
            coll: str,
            field: str,
            kind: str,
            value: str | None,
            known: Iterable[str],
        ) -> bool:
            if not self._unknown(value, known):
                return value is None or value in known
            names = sorted(known)
            hint = f" (known: {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"
            self._add(rec, coll, field, f"unknown {kind} {value!r}" + (hint if names else ""))
            return False

        for rec in kept["vendors"]:
            seen_rows: dict[tuple[str, date], int] = {}
            for j, row in enumerate(rec.model.lead_time):
                ref(rec, "vendors", f"lead_time[{j}].sku", "sku", row.sku, skus)
                key = (row.sku, row.from_date)
                if key in seen_rows and rec.model.lead_time[seen_rows[key]] != row:
                    self._add(
                        rec,
                        "vendors",
                        f"lead_time[{j}].from",
                        f"a second lead-time row for {row.sku} from {row.from_date} "
                        f"(lead_time[{seen_rows[key]}]) with other values",
                    )
                seen_rows.setdefault(key, j)
        for rec in kept["orgs"]:
            ref(rec, "orgs", "group", "group", rec.model.group, groups)
        for rec in kept["clusters"]:
            ref(rec, "clusters", "org", "org", rec.model.org, orgs)
            if rec.model.id in orgs:
                self._add(
                    rec,
                    "clusters",
                    "id",
                    f"cluster id {rec.model.id!r} is also an org id; a target's consumer "
                    "would be ambiguous",
                )
        for rec in kept["orders"]:
            ref(rec, "orders", "org", "org", rec.model.org, orgs)
            ref(rec, "orders", "vendor", "vendor", rec.model.vendor, vendors)
            ref(rec, "orders", "sku", "sku", rec.model.sku, skus)

        lotted: dict[str, int] = defaultdict(int)
        for rec in kept["lots"]:
            lot: LotModel = rec.model
            ref(rec, "lots", "consignee", "org", lot.consignee, orgs)
            if not ref(rec, "lots", "order", "order", lot.order, orders):
                continue
            order = orders[lot.order]
            if lot.ships_on < order.ordered_on:
                self._add(
                    rec,
                    "lots",
                    "ships_on",
                    f"ships_on {lot.ships_on} is before its order {order.id} was placed "
                    f"({order.ordered_on})",
                )
            lotted[order.id] += lot.qty
            if lotted[order.id] > order.qty:
                self._add(
                    rec,
                    "lots",
                    "qty",
                    f"lots of order {order.id} total {lotted[order.id]} units, beyond the "
                    f"order's qty {order.qty} ({order.qty - lotted[order.id] + lot.qty} left "
                    "for this lot)",
                )

        for rec in kept["targets"]:
            ref(
                rec,
                "targets",
                "consumer",
                "consumer (org or cluster)",
                rec.model.consumer,
                orgs | set(clusters),
            )
            ref(rec, "targets", "sku", "sku", rec.model.sku, skus)
        for rec in kept["claims"]:
            ref(rec, "claims", "org", "org", rec.model.org, orgs)
            ref(rec, "claims", "sku", "sku", rec.model.sku, skus)

        diversions: list[_Rec[DivertModel]] = []
        for rec in kept["events"]:
            if isinstance(rec.model, DivertModel):
                if self._check_diversion_refs(rec, orgs, lots, orders):
                    diversions.append(rec)
            else:
                move: MovementModel = rec.model
                ref(rec, "events", "org", "org", move.org, orgs)
                ref(rec, "events", "lot", "lot", move.lot, lots)
                if ref(rec, "events", "cluster", "cluster", move.cluster, clusters) and (
                    move.cluster is not None and clusters[move.cluster].org != move.org
                ):
                    self._add(
                        rec,
                        "events",
                        "cluster",
                        f"cluster {move.cluster!r} belongs to org "
                        f"{clusters[move.cluster].org!r}, not {move.org!r}",
                    )
        self._check_holdings(diversions, lots)

    def _check_diversion_refs(
        self,
        rec: _Rec[DivertModel],
        orgs: set[str],
        lots: Mapping[str, LotModel],
        orders: Mapping[str, OrderModel],
    ) -> bool:
        d = rec.model
        ok = True
        for field, value in (("from", d.from_org), ("to", d.to_org)):
            if value not in orgs:
                if self._unknown(value, orgs):
                    self._add(rec, "events", field, f"unknown org {value!r}")
                ok = False
        lot = lots.get(d.lot)
        if lot is None:
            if self._unknown(d.lot, lots):
                self._add(rec, "events", "lot", f"unknown lot {d.lot!r}")
            return False
        if d.on < lot.ships_on:
            self._add(
                rec,
                "events",
                "on",
                f"diversion on {d.on} is before lot {lot.id} ships ({lot.ships_on})",
            )
        sku = orders[lot.order].sku if lot.order in orders else None
        for j, pay in enumerate(d.payback):
            field = f"payback[{j}].lot"
            pay_lot = lots.get(pay.lot)
            if pay_lot is None:
                if self._unknown(pay.lot, lots):
                    self._add(rec, "events", field, f"unknown lot {pay.lot!r}")
                ok = False
                continue
            if pay_lot.consignee != d.to_org:
                self._add(
                    rec,
                    "events",
                    field,
                    f"payback lot {pay.lot} is consigned to {pay_lot.consignee!r}; a payback "
                    f"comes from the receiver's lots ({d.to_org!r})",
                )
            if pay_lot.ships_on <= d.on:
                self._add(
                    rec,
                    "events",
                    field,
                    f"payback lot {pay.lot} ships on {pay_lot.ships_on}, not after the "
                    f"diversion ({d.on})",
                )
            pay_sku = orders[pay_lot.order].sku if pay_lot.order in orders else None
            if sku is not None and pay_sku is not None and pay_sku != sku:
                self._add(
                    rec,
                    "events",
                    field,
                    f"payback lot {pay.lot} is {pay_sku}, the diverted lot is {sku}",
                )
            if pay.qty > pay_lot.qty:
                self._add(
                    rec,
                    "events",
                    f"payback[{j}].qty",
                    f"payback of {pay.qty} units is beyond lot {pay.lot}'s qty {pay_lot.qty}",
                )
                ok = False
        return ok

    def _check_holdings(
        self, diversions: list[_Rec[DivertModel]], lots: Mapping[str, LotModel]
    ) -> None:
        # Who holds how many units of each lot, replayed in date order. A lot starts
        # with its consignee; a diversion (pending ones reserve units) moves units
        # from giver to receiver, and its payback reassigns units of the receiver's
        # lots to the giver when the diversion is agreed.
        held: dict[str, dict[str, int]] = {
            lid: {lot.consignee: lot.qty} for lid, lot in lots.items()
        }
        for rec in sorted(diversions, key=lambda r: (r.model.on, r.index)):
            d = rec.model
            if d.status == "voided":
                continue
            holders = held[d.lot]
            if d.from_org not in holders:
                self._add(
                    rec,
                    "events",
                    "from",
                    f"{d.from_org!r} never held units of lot {d.lot} (consignee "
                    f"{lots[d.lot].consignee!r})",
                )
                continue
            if d.qty > holders[d.from_org]:
                self._add(
                    rec,
                    "events",
                    "qty",
                    f"diverts {d.qty} units of lot {d.lot} from {d.from_org!r}, which has only "
                    f"{holders[d.from_org]} of it left on {d.on}",
                )
                continue
            holders[d.from_org] -= d.qty
            holders[d.to_org] = holders.get(d.to_org, 0) + d.qty
            for j, pay in enumerate(d.payback):
                pay_holders = held[pay.lot]
                left = pay_holders.get(d.to_org, 0)
                if pay.qty > left:
                    self._add(
                        rec,
                        "events",
                        f"payback[{j}].qty",
                        f"pays back {pay.qty} units of lot {pay.lot}, but {d.to_org!r} has "
                        f"only {left} of it left",
                    )
                    continue
                pay_holders[d.to_org] = left - pay.qty
                pay_holders[d.from_org] = pay_holders.get(d.from_org, 0) + pay.qty


# --------------------------------------------------------------------------- build


def _models(kept: Mapping[str, list[_Rec[Any]]], key: str, kind: type[M]) -> list[M]:
    return [r.model for r in kept[key] if isinstance(r.model, kind)]


def _build(header: HeaderModel, kept: Mapping[str, list[_Rec[Any]]], default_name: str) -> Scenario:
    p = header.parameters
    diversions: list[Diversion] = []
    movements: list[Movement] = []
    for rec in kept["events"]:
        m = rec.model
        if isinstance(m, DivertModel):
            diversions.append(
                Diversion(
                    id=_event_id(m),
                    lot=m.lot,
                    qty=m.qty,
                    from_org=m.from_org,
                    to_org=m.to_org,
                    on=m.on,
                    payback=tuple(Payback(lot=x.lot, qty=x.qty) for x in m.payback),
                    status=DiversionStatus(m.status),
                    known_on=m.known_on,
                    proposed_by=m.proposed_by,
                    reason=m.reason,
                    source=m.source,
                )
            )
        elif isinstance(m, MovementModel):
            movements.append(
                Movement(
                    id=_event_id(m),
                    op=TransferKind(m.op),
                    qty=m.qty,
                    on=m.on,
                    org=m.org,
                    lot=m.lot,
                    cluster=m.cluster,
                    known_on=m.known_on,
                    source=m.source,
                )
            )
    return Scenario(
        name=header.name or default_name,
        description=header.description,
        as_of=header.as_of,
        parameters=Parameters(
            gpu_hour_price_usd=p.gpu_hour_price_usd,
            gpu_hour_price_source=p.gpu_hour_price_source,
            claim_tolerance=p.claim_tolerance,
            horizon_days=p.horizon_days,
        ),
        skus=tuple(
            Sku(
                id=s.id,
                name=s.name,
                annual_failure_rate=s.annual_failure_rate,
                source=s.source,
                assumed=s.assumed,
            )
            for s in _models(kept, "skus", SkuModel)
        ),
        vendors=tuple(
            Vendor(
                id=v.id,
                name=v.name,
                lead_times=tuple(
                    LeadTime(
                        sku=lt.sku,
                        from_date=lt.from_date,
                        p50_days=lt.p50_days,
                        p90_days=lt.p90_days,
                        source=lt.source,
                        assumed=lt.assumed,
                    )
                    for lt in v.lead_time
                ),
                transit_slip_p50_days=v.transit_slip_p50_days,
                transit_slip_p90_days=v.transit_slip_p90_days,
                source=v.source,
            )
            for v in _models(kept, "vendors", VendorModel)
        ),
        groups=tuple(
            Group(id=g.id, name=g.name, source=g.source)
            for g in _models(kept, "groups", GroupModel)
        ),
        orgs=tuple(
            Org(id=o.id, name=o.name, group=o.group, source=o.source)
            for o in _models(kept, "orgs", OrgModel)
        ),
        clusters=tuple(
            Cluster(id=c.id, org=c.org, name=c.name, source=c.source)
            for c in _models(kept, "clusters", ClusterModel)
        ),
        orders=tuple(
            Order(
                id=o.id,
                org=o.org,
                vendor=o.vendor,
                sku=o.sku,
                qty=o.qty,
                ordered_on=o.ordered_on,
                schedule=tuple(Delivery(on=s.on, qty=s.qty) for s in o.schedule),
                source=o.source,
                assumed=o.assumed,
            )
            for o in _models(kept, "orders", OrderModel)
        ),
        lots=tuple(
            Lot(
                id=x.id,
                order=x.order,
                qty=x.qty,
                ships_on=x.ships_on,
                arrives_on=x.arrives_on,
                consignee=x.consignee,
                source=x.source,
                assumed=x.assumed,
            )
            for x in _models(kept, "lots", LotModel)
        ),
        targets=tuple(
            Target(
                id=t.id,
                consumer=t.consumer,
                sku=t.sku,
                qty=t.qty,
                by=t.by,
                priority=t.priority,
                weight=t.weight,
                source=t.source,
                assumed=t.assumed,
            )
            for t in _models(kept, "targets", TargetModel)
        ),
        claims=tuple(
            Claim(
                id=c.id,
                org=c.org,
                sku=c.sku,
                qty=c.qty,
                by=c.by,
                stated_on=c.stated_on,
                kind=ClaimKind(c.kind),
                source=c.source,
            )
            for c in _models(kept, "claims", ClaimModel)
        ),
        diversions=tuple(diversions),
        movements=tuple(movements),
    )
