"""Request and response bodies: pydantic models, so the OpenAPI says exactly what flows.

Response shapes are the CLI's ``--json`` shapes (``balances``, ``trace``, ``plan``,
``impact``, ``forecast``, ``claims``, ``divert show``, ``audit verify``), with
pagination fields added to lists.

Every input value is checked by the one parser (``services.requests``, over
``domain.limits``), the same that the CLI, the web's forms and scenario files
use; the JSON schema states the same bounds. A value out of bounds is 422 with
the code ``out_of_bounds`` and the field's name. Numbers must be JSON integers
(no ``"5"``, ``true`` or ``5.0``) and dates ISO strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    WithJsonSchema,
)

from gpuledger.domain import (
    Bucket,
    ClaimKind,
    Decision,
    DiversionStatus,
    Phase,
    PolicyName,
    TransferKind,
)
from gpuledger.domain.limits import (
    DATE_MAX,
    DATE_MIN,
    FILE_MAX_BYTES,
    ID_MAX_LEN,
    ID_PATTERN,
    QTY_MAX,
    TEXT_MAX_LEN,
    check_int,
)
from gpuledger.services import requests as rq

T = TypeVar("T")

#: The longest name an uploaded scenario may carry (it appears in every message).
FILENAME_MAX_LEN = 200


def _checked(check: Callable[[Any, str], T], name: str | None = None) -> Callable[..., T]:
    """A pydantic validator calling a ``services.requests`` parser with the field's name."""

    def validate(value: Any, info: ValidationInfo) -> T:
        return check(value, name or info.field_name or "value")

    return validate


def _qty(value: Any, field: str) -> int:
    return check_int(value, field, low=1, high=QTY_MAX)


def _filename(value: str, field: str) -> str:
    return rq.parse_text(value, field, FILENAME_MAX_LEN)


_ID_SCHEMA = WithJsonSchema(
    {"type": "string", "minLength": 1, "maxLength": ID_MAX_LEN, "pattern": ID_PATTERN.pattern}
)
_QTY_SCHEMA = WithJsonSchema({"type": "integer", "minimum": 1, "maximum": QTY_MAX})

Id = Annotated[str, Strict(), AfterValidator(_checked(rq.parse_id)), _ID_SCHEMA]
Qty = Annotated[int, BeforeValidator(_checked(_qty)), _QTY_SCHEMA]
PaybackLot = Annotated[
    str, Strict(), AfterValidator(_checked(rq.parse_id, "payback.lot")), _ID_SCHEMA
]
PaybackQty = Annotated[int, BeforeValidator(_checked(_qty, "payback.qty")), _QTY_SCHEMA]
Day = Annotated[
    date,
    AfterValidator(_checked(rq.parse_date)),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": f"A date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}.",
        }
    ),
]
Text = Annotated[
    str,
    Strict(),
    AfterValidator(_checked(rq.parse_text)),
    WithJsonSchema({"type": "string", "maxLength": TEXT_MAX_LEN}),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- inputs


class OrderIn(_In):
    """A purchase order line."""

    id: Id
    org: Id
    vendor: Id
    sku: Id
    qty: Qty
    ordered_on: Day


class LotIn(_In):
    """A lot shipped against an order to its consignee."""

    id: Id
    order: Id
    qty: Qty
    ships_on: Day
    arrives_on: Day
    consignee: Id


class ReceiveIn(_In):
    """A lot's arrival date."""

    on: Day


class MovementIn(_In):
    """Deploy units of an org's stock into a cluster, or record failed units."""

    id: Id | None = None
    qty: Qty
    on: Day
    org: Id
    cluster: Id
    lot: Id | None = None


class PaybackIn(_In):
    """Units of a receiver's future lot owed back to the giver."""

    lot: PaybackLot
    qty: PaybackQty


class DiversionIn(_In):
    """A proposed diversion; the caller is recorded as its proposer."""

    id: Id
    lot: Id
    qty: Qty
    from_org: Id
    to_org: Id
    on: Day
    payback: list[PaybackIn] = Field(default_factory=list, max_length=100)
    reason: Text | None = None


class ScenarioIn(_In):
    """A scenario file's YAML text (DESIGN section 3)."""

    yaml: Annotated[str, Strict(), Field(min_length=1, max_length=FILE_MAX_BYTES)]
    filename: Annotated[
        str,
        Strict(),
        AfterValidator(_checked(_filename)),
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": FILENAME_MAX_LEN}),
    ] = "upload.yaml"


# --------------------------------------------------------------------------- outputs


class Page(BaseModel):
    """Pagination of a list: ``next`` is the URL of the next page, None on the last."""

    total: int
    limit: int
    offset: int
    next: str | None


class BalanceOut(BaseModel):
    """One account's units of one SKU."""

    owner: str
    bucket: Bucket
    sku: str
    posted: int
    pending: int
    site: str | None = None


class BalancesOut(Page):
    """``gpuledger balances --json``, one page at a time."""

    as_of: date | None
    known_on: date | None
    balances: list[BalanceOut]


class TransferOut(BaseModel):
    """One transfer row."""

    id: str
    kind: TransferKind
    phase: Phase
    debit: str
    credit: str
    sku: str
    lot: str
    qty: int
    pending_id: str | None
    diversion: str | None
    effective_at: str
    recorded_at: str


class TraceOut(BaseModel):
    """``gpuledger trace LOT --json``: where every unit of a lot went."""

    lot: str
    sku: str
    shipped: int
    transfers: list[TransferOut]
    holdings: dict[str, int]
    pending: dict[str, int]
    sites: dict[str, str] = {}


class PaybackOut(BaseModel):
    """A payback line of a diversion."""

    lot: str
    qty: int


class DiversionRecord(BaseModel):
    """A diversion's latest record."""

    id: str
    lot: str
    qty: int
    from_org: str
    to_org: str
    on: date
    payback: list[PaybackOut]
    status: DiversionStatus
    known_on: date | None
    proposed_by: str | None
    reason: str | None
    source: str | None


class DecisionOut(BaseModel):
    """One decision on a diversion, with its actor."""

    decision: Decision
    actor: str
    effective_at: str
    recorded_at: str
    seq: int


class FilledOut(BaseModel):
    """An approval requirement and who filled it."""

    requirement: str
    user: str


class ApprovalsOut(BaseModel):
    """What the governance rules require of this diversion, and what is still missing."""

    required: list[str]
    filled: list[FilledOut]
    missing: list[str]
    summary: str


class DiversionOut(BaseModel):
    """``gpuledger divert show ID --json`` plus the approval state."""

    diversion: DiversionRecord
    status: DiversionStatus | None
    decisions: list[DecisionOut]
    transfers: list[TransferOut]
    approvals: ApprovalsOut


class DiversionsOut(Page):
    """Diversions the caller may see, one page at a time."""

    diversions: list[DiversionOut]


class ImportOut(BaseModel):
    """What an import wrote."""

    new_events: int
    existing_events: int
    new_transfers: int
    new_documents: int


class ScenarioOut(BaseModel):
    """The books as scenario YAML (``gpuledger export``)."""

    yaml: str


class AuditOut(BaseModel):
    """``gpuledger audit verify --json``."""

    ok: bool
    events_checked: int
    transfers_checked: int
    bad_seq: int | None
    bad_id: str | None
    reason: str | None
    problems: list[str]


class AcceptedOut(BaseModel):
    """A ledger verb was recorded (or was already: an idempotent replay)."""

    ok: bool
    message: str


class WhoAmIOut(BaseModel):
    """The caller and the orgs they may see, with their role in each."""

    user: str
    orgs: dict[str, str]
    auditor_of: list[str]


class ForecastTargetOut(BaseModel):
    """One target's completion quantiles and on-time probability, held and powered."""

    id: str
    p10: date | None
    p50: date | None
    p90: date | None
    on_time_probability: float
    powered_on_time_probability: float


class ForecastOut(BaseModel):
    """``gpuledger forecast --json``, the caller's targets only."""

    samples: int
    seed: int
    policy: PolicyName
    failures: str
    measures: str
    targets: list[ForecastTargetOut]


class ExplanationOut(BaseModel):
    """One term of a claim's reconciliation (a diversion, a payback, the forecast)."""

    id: str
    kind: str
    direction: str
    qty: int
    effect: int
    on: date
    known_on: date | None
    status: DiversionStatus | None


class ClaimOut(BaseModel):
    """One public claim checked: gap = sum of the terms' effects + residual.

    Two measures: ``books_then`` / ``books_now`` count units held;
    ``powered_then`` / ``powered_now`` the units held that the org's sites could
    power that day (null when its sites state no capacity: all held count).
    """

    id: str
    org: str
    kind: ClaimKind
    claimed: int
    books_then: int
    books_now: int
    powered_then: int | None
    powered_now: int | None
    planned: int | None
    forecast_p10: int | None
    forecast_p50: int | None
    forecast_p90: int | None
    gap: int | None
    explained_by: list[ExplanationOut]
    residual: int | None
    verdict: str
    overstated: bool
    assumptions: list[str]
    pending: list[str]


class ClaimsOut(BaseModel):
    """``gpuledger claims --json``, claims of the caller's orgs only."""

    claims: list[ClaimOut]
    verdict_rule: str
    p90_means: str
