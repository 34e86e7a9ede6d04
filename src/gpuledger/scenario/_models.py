"""The scenario file's records as pydantic models: field names, types and ranges.

These models check one record at a time (types, required fields, unknown
fields, ranges). Checks between records (references, quantities left on a lot or
an order) live in ``_validate``. Field names are the file's names (``from``,
``on``), not the domain's (``from_org``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

_ISO_DATE_LENGTH = 10


def _to_date(value: object) -> object:
    # YAML gives dates as date objects; a quoted ISO date is accepted too. A
    # timestamp (date and time) is refused: days are the unit of planning.
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
            raise ValueError(f"not a valid date (YYYY-MM-DD): {value!r}") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}")


Day = Annotated[date, BeforeValidator(_to_date)]
Id = Annotated[str, StringConstraints(min_length=1)]
Qty = Annotated[int, Field(gt=0)]
Days = Annotated[int, Field(gt=0)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ParametersModel(_Record):
    """``parameters``: scenario-wide assumptions."""

    gpu_hour_price_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    gpu_hour_price_source: str | None = None
    claim_tolerance: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.05
    horizon_days: Days = 730


class HeaderModel(_Record):
    """The top-level scalars of a scenario file."""

    name: Id | None = None
    description: str | None = None
    as_of: Day
    parameters: ParametersModel = ParametersModel()


class SkuModel(_Record):
    """``skus[]``."""

    id: Id
    name: str | None = None
    annual_failure_rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    source: str | None = None
    assumed: bool = False


class LeadTimeModel(_Record):
    """``vendors[].lead_time[]``: days from order to arrival, by order date."""

    sku: Id
    from_date: Day = Field(alias="from")
    p50_days: Days
    p90_days: Days
    source: str | None = None
    assumed: bool = False


class VendorModel(_Record):
    """``vendors[]``."""

    id: Id
    name: str | None = None
    lead_time: list[LeadTimeModel] = []
    transit_slip_p50_days: Annotated[int, Field(ge=0)] = 0
    transit_slip_p90_days: Annotated[int, Field(ge=0)] = 0
    source: str | None = None


class GroupModel(_Record):
    """``groups[]``."""

    id: Id
    name: str | None = None
    source: str | None = None


class OrgModel(_Record):
    """``orgs[]``."""

    id: Id
    name: str | None = None
    group: Id | None = None
    source: str | None = None


class ClusterModel(_Record):
    """``clusters[]``."""

    id: Id
    org: Id
    name: str | None = None
    source: str | None = None


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
    source: str | None = None
    assumed: bool = False


class LotModel(_Record):
    """``lots[]``."""

    id: Id
    order: Id
    qty: Qty
    ships_on: Day
    arrives_on: Day
    consignee: Id
    source: str | None = None
    assumed: bool = False


class TargetModel(_Record):
    """``targets[]``."""

    id: Id
    consumer: Id
    sku: Id
    qty: Qty
    by: Day
    priority: Annotated[int, Field(ge=1)] = 1
    weight: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    source: str | None = None
    assumed: bool = False


class ClaimModel(_Record):
    """``claims[]``."""

    id: Id
    org: Id
    sku: Id
    qty: Qty
    by: Day
    stated_on: Day
    kind: Literal["actual", "target"]
    source: str | None = None


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
    proposed_by: str | None = None
    reason: str | None = None
    source: str | None = None


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
    source: str | None = None


RECORD_MODELS: dict[str, type[_Record]] = {
    "skus": SkuModel,
    "vendors": VendorModel,
    "groups": GroupModel,
    "orgs": OrgModel,
    "clusters": ClusterModel,
    "orders": OrderModel,
    "lots": LotModel,
    "targets": TargetModel,
    "claims": ClaimModel,
}
EVENT_MODELS: dict[str, type[_Record]] = {
    "divert": DivertModel,
    "deploy": MovementModel,
    "fail": MovementModel,
    "return": MovementModel,
}
