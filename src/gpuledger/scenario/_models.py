"""The scenario's records as pydantic models: field names, types and bounds, for every format.

These models check one record at a time (types, required fields, unknown fields,
the bounds of :mod:`gpuledger.domain.limits`) and turn it into its domain record.
Checks between records live in ``_cross`` (the rules of :mod:`gpuledger.domain.rules`).
Field names are the file's (``from``, ``on``), not the domain's (``from_org``).

Bounds, each applied here so that YAML, CSV and XLSX get them alike: ids by
``limits.check_id``; free text by ``limits.check_text`` (a blank text is no text);
dates by ``limits.check_date``; whole numbers by ``limits.check_int`` within their
range; floats finite and within theirs. ``claim_tolerance`` and
``annual_failure_rate`` lie in [0, 1): at 1 a claim's floor ``qty * (1 - tolerance)``
is zero and a failure hazard ``-log(1 - rate)`` is infinite, so what validation
accepts can always be computed.

Over 500 lines: one pydantic model per record kind, each field with its bound
from ``domain.limits``; split, a reader would look in two places for one file's rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

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
    OutOfBounds,
    Parameters,
    Payback,
    PowerStep,
    Site,
    Sku,
    Target,
    TransferKind,
    Vendor,
    ids,
    limits,
)
from gpuledger.scenario._raw import shown

_ISO_DATE_LENGTH = 10
# The file's name of fields whose Python name differs (an alias).
_FILE_NAMES = {"from_date": "from", "from_org": "from", "to_org": "to"}


def _out_of_bounds(exc: OutOfBounds) -> PydanticCustomError:
    return PydanticCustomError("out_of_bounds", "{reason}", {"reason": str(exc)})


def _name(info: ValidationInfo) -> str:
    name = info.field_name or "value"
    return _FILE_NAMES.get(name, name)


def _check_id(value: str, info: ValidationInfo) -> str:
    try:
        return limits.check_id(value, _name(info))
    except OutOfBounds as exc:
        raise _out_of_bounds(exc) from None


def _check_text(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    try:
        return limits.check_text(value, _name(info))
    except OutOfBounds as exc:
        raise _out_of_bounds(exc) from None


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _to_date(value: object) -> object:
    # YAML gives dates as date objects; a quoted ISO date is accepted too (and is
    # what CSV cells hold). A timestamp (date and time) is refused: days are the
    # unit of planning.
    if isinstance(value, datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), got a timestamp {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value) != _ISO_DATE_LENGTH:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a valid date (YYYY-MM-DD): {shown(value)}") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {shown(value)}")


def _check_date(value: date, info: ValidationInfo) -> date:
    try:
        return limits.check_date(value, _name(info))
    except OutOfBounds as exc:
        raise _out_of_bounds(exc) from None


def _within(low: int, high: int) -> Callable[[int, ValidationInfo], int]:
    def check(value: int, info: ValidationInfo) -> int:
        name = _name(info)
        if abs(value) > 10**18:  # str() of a huge int is slow, and says nothing more
            raise PydanticCustomError(
                "out_of_bounds",
                "{reason}",
                {"reason": f"{name} is too large (outside {low}..{high})"},
            )
        try:
            return limits.check_int(value, name, low=low, high=high)
        except OutOfBounds as exc:
            raise _out_of_bounds(exc) from None

    return check


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str | None, BeforeValidator(_blank_is_none), AfterValidator(_check_text)]
Day = Annotated[date, BeforeValidator(_to_date), AfterValidator(_check_date)]
Qty = Annotated[int, AfterValidator(_within(1, limits.QTY_MAX))]
Days = Annotated[int, AfterValidator(_within(1, limits.DAYS_MAX))]
SlipDays = Annotated[int, AfterValidator(_within(0, limits.DAYS_MAX))]
Priority = Annotated[int, AfterValidator(_within(1, limits.PRIORITY_MAX))]
HorizonDays = Annotated[int, AfterValidator(_within(1, limits.HORIZON_MAX))]
Fraction = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
Weight = Annotated[float, Field(gt=0, le=limits.WEIGHT_MAX, allow_inf_nan=False)]
Price = Annotated[float, Field(ge=0, le=limits.PRICE_MAX, allow_inf_nan=False)]
Watts = Annotated[float, Field(gt=0, le=limits.TDP_W_MAX, allow_inf_nan=False)]
H100e = Annotated[float, Field(gt=0, le=limits.H100E_MAX, allow_inf_nan=False)]
Megawatts = Annotated[float, Field(ge=0, le=limits.MW_MAX, allow_inf_nan=False)]
PowerFactor = Annotated[float, Field(ge=1, le=limits.POWER_FACTOR_MAX, allow_inf_nan=False)]
InterruptionsPerFailure = Annotated[
    float, Field(ge=1, le=limits.INTERRUPTIONS_PER_FAILURE_MAX, allow_inf_nan=False)
]
RepairDays = Annotated[int, AfterValidator(_within(0, limits.REPAIR_DAYS_MAX))]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ParametersModel(_Record):
    """``parameters``: scenario-wide assumptions."""

    gpu_hour_price_usd: Price | None = None
    gpu_hour_price_source: Text = None
    claim_tolerance: Fraction = 0.05
    horizon_days: HorizonDays = 730
    system_overhead: PowerFactor = 1.82
    system_overhead_source: Text = None
    pue: PowerFactor = 1.2
    pue_source: Text = None
    interruptions_per_failure: InterruptionsPerFailure = 419 / 220
    repair_days: RepairDays = 1
    rma_days: RepairDays = 30
    replace_failed: bool = True

    def record(self) -> Parameters:
        """The domain value."""
        return Parameters(**dict(self))


class HeaderModel(_Record):
    """The top-level scalars of a scenario file."""

    name: Id | None = None
    description: Text = None
    as_of: Day
    parameters: ParametersModel = ParametersModel()


class SkuModel(_Record):
    """``skus[]``."""

    id: Id
    name: Text = None
    annual_failure_rate: Fraction = 0.0
    source: Text = None
    assumed: bool = False
    tdp_w: Watts | None = None
    h100e: H100e | None = None

    def record(self) -> Sku:
        """The domain record."""
        return Sku(**dict(self))


class LeadTimeModel(_Record):
    """``vendors[].lead_time[]``: days from order to arrival, by order date."""

    sku: Id
    from_date: Day = Field(alias="from")
    p50_days: Days
    p90_days: Days
    source: Text = None
    assumed: bool = False

    def record(self) -> LeadTime:
        """The domain record."""
        return LeadTime(**dict(self))


class VendorModel(_Record):
    """``vendors[]``."""

    id: Id
    name: Text = None
    lead_time: list[LeadTimeModel] = []
    transit_slip_p50_days: SlipDays = 0
    transit_slip_p90_days: SlipDays = 0
    source: Text = None

    def record(self) -> Vendor:
        """The domain record."""
        return Vendor(
            self.id,
            self.name,
            tuple(row.record() for row in self.lead_time),
            self.transit_slip_p50_days,
            self.transit_slip_p90_days,
            self.source,
        )


class GroupModel(_Record):
    """``groups[]``."""

    id: Id
    name: Text = None
    source: Text = None

    def record(self) -> Group:
        """The domain record."""
        return Group(**dict(self))


class OrgModel(_Record):
    """``orgs[]``."""

    id: Id
    name: Text = None
    group: Id | None = None
    source: Text = None

    def record(self) -> Org:
        """The domain record."""
        return Org(**dict(self))


class PowerStepModel(_Record):
    """``sites[].power[]``: MW available from a date on."""

    from_date: Day = Field(alias="from")
    mw: Megawatts
    source: Text = None
    assumed: bool = False

    def record(self) -> PowerStep:
        """The domain record."""
        return PowerStep(**dict(self))


class SiteModel(_Record):
    """``sites[]``: a data center of an org with its power over time."""

    id: Id
    org: Id
    name: Text = None
    pue: PowerFactor | None = None
    power: list[PowerStepModel] = []
    source: Text = None
    assumed: bool = False

    def record(self) -> Site:
        """The domain record."""
        return Site(
            self.id,
            self.org,
            self.name,
            self.pue,
            tuple(step.record() for step in self.power),
            self.source,
            self.assumed,
        )


class ClusterModel(_Record):
    """``clusters[]``."""

    id: Id
    org: Id
    name: Text = None
    source: Text = None
    site: Id | None = None

    def record(self) -> Cluster:
        """The domain record."""
        return Cluster(**dict(self))


class DeliveryModel(_Record):
    """``orders[].schedule[]``."""

    on: Day
    qty: Qty


class OrderModel(_Record):
    """``orders[]``."""

    id: Id
    org: Id
    vendor: Id
    sku: Id
    qty: Qty
    ordered_on: Day
    schedule: list[DeliveryModel] = []
    source: Text = None
    assumed: bool = False

    def record(self) -> Order:
        """The domain record."""
        return Order(
            self.id,
            self.org,
            self.vendor,
            self.sku,
            self.qty,
            self.ordered_on,
            tuple(Delivery(step.on, step.qty) for step in self.schedule),
            self.source,
            self.assumed,
        )


class LotModel(_Record):
    """``lots[]``."""

    id: Id
    order: Id
    qty: Qty
    ships_on: Day
    arrives_on: Day
    consignee: Id
    source: Text = None
    assumed: bool = False

    def record(self) -> Lot:
        """The domain record."""
        return Lot(**dict(self))


class TargetModel(_Record):
    """``targets[]``."""

    id: Id
    consumer: Id
    sku: Id
    qty: Qty
    by: Day
    priority: Priority = 1
    weight: Weight = 1.0
    source: Text = None
    assumed: bool = False
    accepts: list[Id] = []

    def record(self) -> Target:
        """The domain record."""
        return Target(**{**dict(self), "accepts": tuple(self.accepts)})


class ClaimModel(_Record):
    """``claims[]``."""

    id: Id
    org: Id
    sku: Id
    qty: Qty
    by: Day
    stated_on: Day
    kind: Literal["actual", "target"]
    source: Text = None

    def record(self) -> Claim:
        """The domain record."""
        return Claim(
            self.id,
            self.org,
            self.sku,
            self.qty,
            self.by,
            self.stated_on,
            ClaimKind(self.kind),
            self.source,
        )


class PaybackModel(_Record):
    """``events[].payback[]``."""

    lot: Id
    qty: Qty


class DivertModel(_Record):
    """``events[]`` with ``op: divert``."""

    op: Literal["divert"]
    id: Id | None = None
    lot: Id
    qty: Qty
    from_org: Id = Field(alias="from")
    to_org: Id = Field(alias="to")
    on: Day
    known_on: Day | None = None
    payback: list[PaybackModel] = []
    status: Literal["pending", "posted", "voided"] = "posted"
    proposed_by: Text = None
    reason: Text = None
    source: Text = None

    def record(self) -> Diversion:
        """The domain record; without an ``id``, one derived from the content."""
        return Diversion(
            id=self.id or ids.diversion_id(self.on, self.lot, self.from_org, self.to_org, self.qty),
            lot=self.lot,
            qty=self.qty,
            from_org=self.from_org,
            to_org=self.to_org,
            on=self.on,
            payback=tuple(Payback(p.lot, p.qty) for p in self.payback),
            status=DiversionStatus(self.status),
            known_on=self.known_on,
            proposed_by=self.proposed_by,
            reason=self.reason,
            source=self.source,
        )


class MovementModel(_Record):
    """``events[]`` with ``op: deploy | fail | return``."""

    op: Literal["deploy", "fail", "return"]
    id: Id | None = None
    qty: Qty
    on: Day
    org: Id
    lot: Id | None = None
    cluster: Id | None = None
    known_on: Day | None = None
    source: Text = None

    def record(self) -> Movement:
        """The domain record; without an ``id``, one derived from the content."""
        op = TransferKind(self.op)
        return Movement(
            id=self.id
            or ids.movement_id(op, self.on, self.org, self.qty, lot=self.lot, cluster=self.cluster),
            op=op,
            qty=self.qty,
            on=self.on,
            org=self.org,
            lot=self.lot,
            cluster=self.cluster,
            known_on=self.known_on,
            source=self.source,
        )


RecordModel = (
    SkuModel
    | VendorModel
    | GroupModel
    | OrgModel
    | SiteModel
    | ClusterModel
    | OrderModel
    | LotModel
    | TargetModel
    | ClaimModel
    | DivertModel
    | MovementModel
)

RECORD_MODELS: dict[str, type[RecordModel]] = {
    "skus": SkuModel,
    "vendors": VendorModel,
    "groups": GroupModel,
    "orgs": OrgModel,
    "sites": SiteModel,
    "clusters": ClusterModel,
    "orders": OrderModel,
    "lots": LotModel,
    "targets": TargetModel,
    "claims": ClaimModel,
}
EVENT_MODELS: dict[str, type[DivertModel | MovementModel]] = {
    "divert": DivertModel,
    "deploy": MovementModel,
    "fail": MovementModel,
    "return": MovementModel,
}
#: Fields that hold a list of nested records, per collection, with their row model.
NESTED: dict[str, tuple[str, type[_Record]]] = {
    "vendors": ("lead_time", LeadTimeModel),
    "sites": ("power", PowerStepModel),
    "orders": ("schedule", DeliveryModel),
    "events": ("payback", PaybackModel),
}
