"""The REST API: ``/api/v1``, the same operations and JSON as the CLI.

No rule lives here: each route authenticates the caller, asks
:mod:`gpuledger.governance.rules` what they may see and do, calls the ledger (or
the governed diversion service) and shapes the answer with the models of
:mod:`gpuledger.api.models`. Writes carry an ``Idempotency-Key``; lists page with
``limit``/``offset`` and a ``next`` link; errors are ``{"error": {...}}`` 4xx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import yaml
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from gpuledger import __version__, services
from gpuledger.api import errors
from gpuledger.api.changes import (
    DivertQuery,
    NewOrderQuery,
    PaybackQuery,
    PriorityQuery,
    SlipQuery,
)
from gpuledger.api.idempotency import IdempotencyStore, request_hash
from gpuledger.api.models import (
    AcceptedOut,
    ApprovalsOut,
    AuditOut,
    BalancesOut,
    ClaimsOut,
    DiversionIn,
    DiversionOut,
    DiversionsOut,
    FilledOut,
    ForecastOut,
    ImpactOut,
    ImportOut,
    LotIn,
    MovementIn,
    OrderIn,
    PlanOut,
    ReceiveIn,
    ScenarioIn,
    ScenarioOut,
    TraceOut,
    WhoAmIOut,
)
from gpuledger.domain import (
    ClaimKind,
    Decision,
    Diversion,
    DiversionStatus,
    DocumentKind,
    GpuledgerError,
    Lot,
    Movement,
    Order,
    Payback,
    PermissionDenied,
    PolicyName,
    ScenarioError,
    TransferKind,
    Unauthenticated,
    UnknownRecord,
)
from gpuledger.governance import service
from gpuledger.governance.rules import Access, Action, Directory
from gpuledger.governance.store import Governance
from gpuledger.governance.tokens import TokenHasher
from gpuledger.ledger import DiversionView, Ledger, system_clock
from gpuledger.ledger.ledger import read_documents
from gpuledger.planning import DivertChange, Impact, NewOrderChange, PriorityChange, SlipChange
from gpuledger.planning.changes import Change
from gpuledger.scenario import dump_scenario, parse_scenario
from gpuledger.web import create_router

PREFIX = "/api/v1"
M = TypeVar("M", bound=BaseModel)

#: The most Monte Carlo samples one request may ask for (forecast, claims): about
#: 1.5 s of one core at the founding story's size. Larger runs belong to the CLI
#: (``gpuledger forecast --workers N``); the API never starts a Dask cluster.
MAX_FORECAST_SAMPLES = 20_000
DEFAULT_SAMPLES = 1000
#: Dates the planning endpoints accept: far enough either way for any plan, and
#: inside what ``datetime.date`` can shift by a horizon without overflowing.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Caller:
    """The authenticated user, their access, and the directory it was resolved from."""

    user: str
    access: Access
    directory: Directory


@dataclass
class Backend:
    """What the routes share: the books, governance and stored idempotent responses."""

    ledger: Ledger
    gov: Governance
    idem: IdempotencyStore

    def docs(self, kind: DocumentKind) -> dict[str, dict[str, Any]]:
        """Latest records of one kind, by id."""
        with self.ledger.engine.connect() as conn, conn.begin():
            return read_documents(conn, [kind.value])[kind.value]


def _out(model: type[M], data: Any) -> dict[str, Any]:
    """Validate ``data`` against the response model and return its JSON form."""
    return model.model_validate(data).model_dump(mode="json")


def _next(request: Request, total: int, limit: int, offset: int) -> str | None:
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(limit=limit, offset=offset + limit))


#: Forecasts are CPU-bound: one runs at a time per server, so a burst of them
#: queues instead of starving every other request of both cores.
FORECASTS = threading.BoundedSemaphore(1)


def create_app(
    database_url: str,
    clock: Callable[[], datetime] = system_clock,
    *,
    hasher: TokenHasher | None = None,
) -> FastAPI:
    """The FastAPI app over the books at ``database_url`` (created or migrated on start).

    Args:
        database_url: a SQLAlchemy URL (``sqlite:///file.db``, ``postgresql+psycopg://...``).
        clock: the recorded time of writes (timezone-aware UTC).
        hasher: verifies tokens (tests pass cheap argon2 parameters).
    """
    ledger = Ledger.open(database_url, clock=clock)
    backend = Backend(
        ledger, Governance(ledger.engine, clock, hasher), IdempotencyStore(ledger.engine, clock)
    )
    app = FastAPI(
        title="gpuledger",
        version=__version__,
        description="Track scarce GPUs, plan who gets them, and govern diversions.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    errors.install(app)
    app.include_router(_router(backend), prefix=PREFIX)
    app.include_router(create_router(ledger=backend.ledger, gov=backend.gov))  # the dashboard
    return app


_BEARER = HTTPBearer(auto_error=False, description="An API token: gpl_<id>_<secret>.")


def _backend(request: Request) -> Backend:
    backend = request.app.state.backend
    assert isinstance(backend, Backend)
    return backend


def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Caller:
    """Authenticate the bearer token and resolve the caller's access."""
    if credentials is None:
        raise Unauthenticated("a bearer token is required: Authorization: Bearer gpl_...")
    gov = _backend(request).gov
    user = gov.authenticate(credentials.credentials)
    directory = gov.directory()
    return Caller(user, directory.access(user), directory)


Who = Annotated[Caller, Depends(_caller)]
Key = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Same key and body: the stored response replayed; other body: 409.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")]
PathId = Annotated[str, Path(min_length=1, max_length=200)]
Day = Annotated[
    date | None,
    Query(ge=FIRST_DAY, le=LAST_DAY, description="A date from 1900-01-01 to 2999-12-31."),
]
Samples = Annotated[
    int,
    Query(ge=1, le=MAX_FORECAST_SAMPLES, description="Monte Carlo samples (at most 20,000)."),
]
Seed = Annotated[int, Query(ge=0, le=2**63 - 1, description="Same seed, same answer.")]
OrgFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Only this org (and its clusters)."),
]


def _router(b: Backend) -> APIRouter:
    """Every route, closing over the app's backend."""
    router = APIRouter(responses=errors.ERROR_RESPONSES)

    def write(
        request: Request,
        who: Caller,
        key: str,
        body: BaseModel | None,
        handler: Callable[[], dict[str, Any]],
    ) -> JSONResponse:
        digest = request_hash(
            request.method, request.url.path, body.model_dump(mode="json") if body else None
        )

        def run() -> tuple[int, Any]:
            return 200, handler()

        def refused(exc: GpuledgerError) -> tuple[int, Any]:
            status, code, field = errors.classify(exc)
            return status, {"error": {"code": code, "message": str(exc), "field": field}}

        status, data = b.idem.run(who.user, key, digest, run, refused)
        return JSONResponse(data, status_code=status)

    def require(who: Caller, action: Action, org: str) -> None:
        """404 for an org the caller cannot see; 403 when seen but not allowed."""
        if not who.access.sees(org):
            raise UnknownRecord(f"org {org!r} is not in the ledger")
        who.access.require(action, org)

    def lot_org(who: Caller, lot_id: str) -> str:
        """The consignee of a lot the caller may see (else 404)."""
        lot = b.docs(DocumentKind.LOT).get(lot_id)
        if lot is None or not who.access.sees(lot["consignee"]):
            raise UnknownRecord(f"lot {lot_id!r} is not in the ledger")
        return str(lot["consignee"])

    def visible_owner(
        who: Caller, owner: str, clusters: dict[str, dict[str, Any]], sees_all: bool
    ) -> bool:
        kind, _, ident = owner.partition(":")
        if kind == "org":
            return who.access.sees(ident)
        if kind == "cluster":
            cluster = clusters.get(ident)
            return cluster is not None and who.access.sees(cluster["org"])
        # vendors' world accounts sum over every org: shown only to who sees them all
        return sees_all

    def diversion_json(view: DiversionView, directory: Directory) -> dict[str, Any]:
        state = service.approvals(view, directory)
        data = view.as_json()
        data["approvals"] = ApprovalsOut(
            required=[r.value for r in state.required],
            filled=[FilledOut(requirement=r.value, user=u) for r, u in state.filled],
            missing=[r.value for r in state.missing],
            summary=state.describe(),
        )
        return _out(DiversionOut, data)

    # ------------------------------------------------------------------ reads

    @router.get("/whoami", response_model=WhoAmIOut, tags=["governance"])
    def whoami(who: Who) -> dict[str, Any]:
        """The caller, the orgs they may see and their role in each."""
        return _out(
            WhoAmIOut,
            {
                "user": who.user,
                "orgs": {o: r.value for o, r in who.access.org_roles.items()},
                "auditor_of": sorted(who.access.auditor_of),
            },
        )

    @router.get("/balances", response_model=BalancesOut, tags=["ledger"])
    def balances(
        request: Request,
        who: Who,
        as_of: date | None = None,
        known_on: date | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Units per account (the caller's orgs and their clusters), posted and pending.

        Vendors' world accounts sum over every org: only a caller who sees every
        org in the books gets them (and then the same rows as ``gpuledger balances``).
        """
        clusters = b.docs(DocumentKind.CLUSTER)
        sees_all = all(who.access.sees(o) for o in b.docs(DocumentKind.ORG))
        rows = [
            x
            for x in b.ledger.balances(as_of=as_of, known_on=known_on)
            if visible_owner(who, x.owner, clusters, sees_all)
        ]
        return _out(
            BalancesOut,
            {
                "as_of": as_of,
                "known_on": known_on,
                "balances": [x.as_json() for x in rows[offset : offset + limit]],
                "total": len(rows),
                "limit": limit,
                "offset": offset,
                "next": _next(request, len(rows), limit, offset),
            },
        )

    @router.get("/lots/{lot}/trace", response_model=TraceOut, tags=["ledger"])
    def trace(
        who: Who, lot: PathId, as_of: date | None = None, known_on: date | None = None
    ) -> dict[str, Any]:
        """Where every unit of a lot went, transfer by transfer."""
        lot_org(who, lot)
        return _out(TraceOut, b.ledger.trace(lot, as_of=as_of, known_on=known_on).as_json())

    @router.get("/diversions", response_model=DiversionsOut, tags=["diversions"])
    def diversions(
        request: Request,
        who: Who,
        status: DiversionStatus | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Diversions touching an org the caller may see, oldest first."""
        views = [
            v
            for v in b.ledger.diversions(status)
            if who.access.sees(v.diversion.from_org) or who.access.sees(v.diversion.to_org)
        ]
        return _out(
            DiversionsOut,
            {
                "diversions": [
                    diversion_json(v, who.directory) for v in views[offset : offset + limit]
                ],
                "total": len(views),
                "limit": limit,
                "offset": offset,
                "next": _next(request, len(views), limit, offset),
            },
        )

    @router.get("/diversions/{diversion_id}", response_model=DiversionOut, tags=["diversions"])
    def diversion(who: Who, diversion_id: PathId) -> dict[str, Any]:
        """One diversion: status, every decision with its actor, and the approvals missing."""
        view = service.visible_diversion(b.ledger, who.access, diversion_id)
        return diversion_json(view, who.directory)

    def visible_consumers(who: Caller, org: str | None = None) -> set[str]:
        """The caller's orgs and their clusters (only ``org``'s when given: 404 if not seen)."""
        clusters = b.docs(DocumentKind.CLUSTER)
        orgs = set(who.access.visible_orgs())
        if org is not None:
            if org not in orgs:
                raise UnknownRecord(f"org {org!r} is not in the ledger")
            orgs = {org}
        return orgs | {c for c, data in clusters.items() if data["org"] in orgs}

    def consumer_org(consumer: str) -> str:
        cluster = b.docs(DocumentKind.CLUSTER).get(consumer)
        return str(cluster["org"]) if cluster is not None else consumer

    def only_mine(result: Impact, who: Caller) -> dict[str, Any]:
        """An impact's JSON with only the targets (recovery, explanations) the caller sees."""
        seen = visible_consumers(who)
        consumer = {t["id"]: t["consumer"] for t in result.before.to_json()["targets"]}
        data = result.to_json()
        mine = {t for t, c in consumer.items() if c in seen}
        data["targets"] = [t for t in data["targets"] if t["id"] in mine]
        data["recovery"] = [r for r in data["recovery"] if r["target"] in mine]
        data["explanations"] = [e for e in data["explanations"] if e["target"] in mine]
        return _out(ImpactOut, data)

    def check_change(who: Caller, change: Change) -> None:
        """404 unless the caller sees the org whose supply or target the change touches.

        A diversion needs the giving org (its lot is the giver's supply); the
        receiver may be any org in the books, as when proposing one. A slip needs
        the lot's consignee, a new order its org, a priority the target's owner.
        """
        if isinstance(change, DivertChange):
            if not who.access.sees(change.from_org):
                raise UnknownRecord(f"org {change.from_org!r} is not in the ledger")
        elif isinstance(change, SlipChange):
            lot_org(who, change.lot)
        elif isinstance(change, NewOrderChange):
            if not who.access.sees(change.org):
                raise UnknownRecord(f"org {change.org!r} is not in the ledger")
        elif isinstance(change, PriorityChange):
            target = b.docs(DocumentKind.TARGET).get(change.target)
            if target is None or not who.access.sees(consumer_org(str(target["consumer"]))):
                raise UnknownRecord(f"target {change.target!r} is not in the ledger")

    @router.get("/plan", response_model=PlanOut, tags=["planning"])
    def plan(
        who: Who, policy: PolicyName = PolicyName.CONSIGNED, as_of: Day = None
    ) -> dict[str, Any]:
        """``gpuledger plan``: per target, holdings at ``by``, completion and days late."""
        data = services.plan_report(b.ledger, policy, as_of).to_json()
        seen = visible_consumers(who)
        data["targets"] = [t for t in data["targets"] if t["consumer"] in seen]
        return _out(PlanOut, data)

    @router.get("/diversions/{diversion_id}/impact", response_model=ImpactOut, tags=["planning"])
    def diversion_impact(
        who: Who,
        diversion_id: PathId,
        policy: PolicyName = PolicyName.CONSIGNED,
        with_payback: bool = True,
    ) -> dict[str, Any]:
        """``gpuledger impact --diversion ID``: what it costs each of the caller's targets."""
        service.visible_diversion(b.ledger, who.access, diversion_id)
        result = services.impact_of_diversion(
            b.ledger, diversion_id, policy, with_payback=with_payback
        )
        return only_mine(result, who)

    @router.get("/impact", response_model=ImpactOut, tags=["planning"])
    def change_impact(
        who: Who,
        divert: DivertQuery = None,
        on: Day = None,
        payback: PaybackQuery = None,
        slip: SlipQuery = None,
        new_order: NewOrderQuery = None,
        priority: PriorityQuery = None,
        as_of: Day = None,
        policy: PolicyName = PolicyName.CONSIGNED,
    ) -> dict[str, Any]:
        """``gpuledger impact --divert/--slip/--new-order/--priority``: a hypothetical change.

        Exactly one change; ``divert`` and ``new_order`` need ``on``. It is evaluated
        on the books the day before its date (``as_of`` overrides), against the
        same policy; the answer lists the caller's targets only.
        """
        change = services.parse_change(
            divert=divert,
            on=on,
            payback=payback or [],
            slip=slip,
            new_order=new_order,
            priority=priority,
        )
        check_change(who, change)
        return only_mine(services.impact_of_change(b.ledger, change, policy, as_of), who)

    @router.get("/forecast", response_model=ForecastOut, tags=["planning"])
    def forecast(
        who: Who,
        samples: Samples = DEFAULT_SAMPLES,
        seed: Seed = 0,
        policy: PolicyName = PolicyName.PRIORITY,
        as_of: Day = None,
        org: OrgFilter = None,
    ) -> dict[str, Any]:
        """``gpuledger forecast``: P10/P50/P90 completion and on-time odds of the caller's targets.

        Runs in this process (never on Dask), at most 20,000 samples. A caller
        who sees no target gets an empty list and no computation.
        """
        seen = visible_consumers(who, org)
        if not any(t["consumer"] in seen for t in b.docs(DocumentKind.TARGET).values()):
            return _out(
                ForecastOut, {"samples": samples, "seed": seed, "policy": policy, "targets": []}
            )
        with FORECASTS:
            result = services.forecast_report(
                b.ledger, policy, samples=samples, seed=seed, as_of=as_of
            )
        snap = result.snapshot
        mine = {
            tid
            for tid, c in zip(snap.target_id, snap.target_consumer.tolist(), strict=True)
            if snap.consumers[c] in seen
        }
        data = result.to_json()
        data["targets"] = [t for t in data["targets"] if t["id"] in mine]
        return _out(ForecastOut, data)

    @router.get("/claims", response_model=ClaimsOut, tags=["planning"])
    def claims(
        who: Who,
        samples: Samples = DEFAULT_SAMPLES,
        seed: Seed = 0,
        policy: PolicyName = PolicyName.CONSIGNED,
        org: OrgFilter = None,
    ) -> dict[str, Any]:
        """``gpuledger claims``: the public claims of the caller's orgs against the books.

        ``target`` claims are checked against a forecast (``samples``, ``seed``,
        ``policy``), run only when the caller sees one.
        """
        orgs = visible_consumers(who, org) & set(b.docs(DocumentKind.ORG))
        mine = [c for c in b.ledger.to_scenario().claims if c.org in orgs]
        fc = None
        if any(c.kind is ClaimKind.TARGET for c in mine):
            with FORECASTS:
                fc = services.forecast_report(b.ledger, policy, samples=samples, seed=seed)
        ids = {c.id for c in mine}
        checks = [c for c in services.claims_report(b.ledger, fc) if c.id in ids] if mine else []
        return _out(ClaimsOut, {"claims": [c.to_json() for c in checks]})

    @router.get("/scenario", response_model=ScenarioOut, tags=["scenario"])
    def export(who: Who, as_of: date | None = None) -> dict[str, Any]:
        """The books as scenario YAML; the caller must see every org in the books."""
        hidden = sorted(o for o in b.docs(DocumentKind.ORG) if not who.access.sees(o))
        if hidden:
            raise PermissionDenied(
                f"user {who.user!r} may not export the books: it needs a role in every org "
                f"({len(hidden)} not covered)"
            )
        return {"yaml": dump_scenario(b.ledger.to_scenario(as_of=as_of))}

    @router.get("/audit/verify", response_model=AuditOut, tags=["audit"])
    def verify(who: Who) -> dict[str, Any]:
        """Recompute the hash chain and the projections; name the first bad event."""
        if not who.access.visible_orgs():
            raise PermissionDenied(f"user {who.user!r} holds no role in any org")
        return _out(AuditOut, b.ledger.verify().as_json())

    # ------------------------------------------------------------------ writes

    @router.post("/scenario", response_model=ImportOut, tags=["scenario"])
    def import_(request: Request, who: Who, key: Key, body: ScenarioIn) -> JSONResponse:
        """Import a scenario file atomically; the caller must be admin of every org in it."""

        def run() -> dict[str, Any]:
            try:
                scenario = parse_scenario(body.yaml, filename=body.filename)
            except yaml.YAMLError as exc:  # the reader refuses some characters before parsing
                raise ScenarioError(f"not YAML: {exc}", file=body.filename) from exc
            groups = {**who.directory.org_groups, **{o.id: o.group for o in scenario.orgs}}
            access = Directory(groups, who.directory.grants).access(who.user)
            for org in scenario.orgs:
                if not access.may(Action.ADMINISTER, org.id):
                    raise PermissionDenied(
                        f"user {who.user!r} may not import scenario {scenario.name!r}: "
                        f"it needs the admin role in org {org.id!r}"
                    )
            return _out(ImportOut, b.ledger.import_scenario(scenario, actor=who.user).as_json())

        return write(request, who, key, body, run)

    @router.post("/orders", response_model=AcceptedOut, tags=["ledger"])
    def order(request: Request, who: Who, key: Key, body: OrderIn) -> JSONResponse:
        """Record a purchase order line (planner of the org)."""

        def run() -> dict[str, Any]:
            require(who, Action.WRITE, body.org)
            o = Order(body.id, body.org, body.vendor, body.sku, body.qty, body.ordered_on)
            b.ledger.order(o, actor=who.user)
            return {"ok": True, "message": f"order {o.id}: {o.qty:,} {o.sku} for {o.org}"}

        return write(request, who, key, body, run)

    @router.post("/lots", response_model=AcceptedOut, tags=["ledger"])
    def ship(request: Request, who: Who, key: Key, body: LotIn) -> JSONResponse:
        """Record a lot shipped to its consignee (planner of the consignee)."""

        def run() -> dict[str, Any]:
            require(who, Action.WRITE, body.consignee)
            lot = Lot(body.id, body.order, body.qty, body.ships_on, body.arrives_on, body.consignee)
            b.ledger.ship(lot, actor=who.user)
            return {"ok": True, "message": f"lot {lot.id}: {lot.qty:,} shipped to {lot.consignee}"}

        return write(request, who, key, body, run)

    @router.post("/lots/{lot}/receive", response_model=AcceptedOut, tags=["ledger"])
    def receive(request: Request, who: Who, key: Key, lot: PathId, body: ReceiveIn) -> JSONResponse:
        """Record a lot's arrival (planner of its consignee)."""

        def run() -> dict[str, Any]:
            require(who, Action.WRITE, lot_org(who, lot))
            b.ledger.receive(lot, body.on, actor=who.user)
            return {"ok": True, "message": f"lot {lot}: received on {body.on}"}

        return write(request, who, key, body, run)

    def movement(op: TransferKind) -> Callable[[Request, Caller, str, MovementIn], JSONResponse]:
        def route(request: Request, who: Who, key: Key, body: MovementIn) -> JSONResponse:
            def run() -> dict[str, Any]:
                require(who, Action.WRITE, body.org)
                ident = body.id or (
                    f"{op}:{body.lot or '-'}:{body.cluster}:{body.qty}:{body.on.isoformat()}"
                )
                m = Movement(ident, op, body.qty, body.on, body.org, body.lot, body.cluster)
                if op is TransferKind.DEPLOY:
                    b.ledger.deploy(m, actor=who.user)
                else:
                    b.ledger.fail(m, actor=who.user)
                return {"ok": True, "message": f"{op}: {m.qty:,} in {body.cluster} ({ident})"}

            return write(request, who, key, body, run)

        return route

    router.add_api_route(
        "/movements/deploy",
        movement(TransferKind.DEPLOY),
        methods=["POST"],
        response_model=AcceptedOut,
        tags=["ledger"],
        summary="Deploy units from an org's stock into one of its clusters",
    )
    router.add_api_route(
        "/movements/fail",
        movement(TransferKind.FAIL),
        methods=["POST"],
        response_model=AcceptedOut,
        tags=["ledger"],
        summary="Record deployed units that failed",
    )

    @router.post("/diversions", response_model=DiversionOut, tags=["diversions"])
    def propose(request: Request, who: Who, key: Key, body: DiversionIn) -> JSONResponse:
        """Propose a diversion: units reserved (pending) until the approvals are complete."""

        def run() -> dict[str, Any]:
            d = Diversion(
                id=body.id,
                lot=body.lot,
                qty=body.qty,
                from_org=body.from_org,
                to_org=body.to_org,
                on=body.on,
                payback=tuple(Payback(p.lot, p.qty) for p in body.payback),
                status=DiversionStatus.PENDING,
                proposed_by=who.user,
                reason=body.reason,
            )
            view, directory = service.propose(b.ledger, b.gov, who.user, d)
            return diversion_json(view, directory)

        return write(request, who, key, body, run)

    def decision_route(
        decision: Decision,
    ) -> Callable[[Request, Caller, str, str], JSONResponse]:
        def route(request: Request, who: Who, key: Key, diversion_id: PathId) -> JSONResponse:
            def run() -> dict[str, Any]:
                view, directory = service.decide(b.ledger, b.gov, who.user, diversion_id, decision)
                return diversion_json(view, directory)

            return write(request, who, key, None, run)

        return route

    for decision, summary in (
        (Decision.APPROVE, "Approve a diversion (it posts once its approvals are complete)"),
        (Decision.REJECT, "Reject a diversion: voided, its units released"),
        (Decision.VOID, "Void a diversion (its proposer, or an admin of the giving org)"),
    ):
        router.add_api_route(
            f"/diversions/{{diversion_id}}/{decision.value}",
            decision_route(decision),
            methods=["POST"],
            response_model=DiversionOut,
            tags=["diversions"],
            summary=summary,
            name=f"diversion_{decision.value}",
        )

    return router
