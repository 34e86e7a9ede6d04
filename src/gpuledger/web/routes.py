"""The dashboard's pages: server-rendered Jinja2, Plotly charts, a little vanilla JS.

No rule lives here. Every number comes from :mod:`gpuledger.services`, the
ledger, the forecast and the claims (through :mod:`gpuledger.reports.views`);
who may see and do what comes from :mod:`gpuledger.governance` (its rules and
its diversion service). Sign-in stores the API token in an HttpOnly, SameSite
Strict cookie; an org the user cannot see answers 404, as in the API.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import PackageLoader

from gpuledger import services
from gpuledger.domain import (
    Decision,
    Diversion,
    DiversionStatus,
    GpuledgerError,
    IdempotencyConflict,
    InsufficientUnits,
    InvalidTransition,
    OwnerKind,
    Payback,
    PermissionDenied,
    PolicyName,
    ScenarioError,
    Unauthenticated,
    UnknownRecord,
)
from gpuledger.forecast import Forecast
from gpuledger.governance import service
from gpuledger.governance.rules import Access, Directory, check_decision
from gpuledger.governance.store import Governance
from gpuledger.ledger import EventKind, EventView, Ledger
from gpuledger.planning import DivertChange
from gpuledger.reports import views
from gpuledger.reports.templating import asset_text, environment, plotly_js_path

__all__ = ["COOKIE", "create_router"]

COOKIE = "gpuledger_token"
PAGE_SIZE = 100

#: Error statuses of the pages (the API maps the same exceptions the same way).
STATUS: tuple[tuple[type[GpuledgerError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (UnknownRecord, 404),
    (InsufficientUnits, 409),
    (IdempotencyConflict, 409),
    (InvalidTransition, 409),
)

NAV = (
    ("/", "Overview"),
    ("/flows", "Flows"),
    ("/diversions", "Diversions"),
    ("/forecast", "Forecast"),
    ("/claims", "Claims"),
    ("/audit", "Audit"),
)


def status_of(exc: GpuledgerError) -> int:
    """The HTTP status of a domain error (422 when nothing more precise applies)."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 422


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and what they may see."""

    user: str
    access: Access
    directory: Directory

    @property
    def orgs(self) -> list[str]:
        """Visible orgs, sorted."""
        return sorted(self.access.visible_orgs())


@dataclass
class _ForecastCache:
    """Recent forecasts by (events in the books, policy, samples, seed): the books changed
    means a new key, so a cached forecast is never stale."""

    size: int = 8
    items: dict[tuple[int, str, int, int], Forecast] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, ledger: Ledger, policy: PolicyName, samples: int, seed: int) -> Forecast:
        key = (ledger.event_count(), str(policy), samples, seed)
        with self.lock:
            hit = self.items.get(key)
        if hit is not None:
            return hit
        fc = services.forecast_report(ledger, policy, samples=samples, seed=seed)
        with self.lock:
            self.items[key] = fc
            while len(self.items) > self.size:
                self.items.pop(next(iter(self.items)))
        return fc


def _parse_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ScenarioError(f"{name} {value!r} is not a date (YYYY-MM-DD)", field=name) from None


def _parse_int(value: str | None, name: str, default: int | None = None) -> int:
    if not value:
        if default is None:
            raise ScenarioError(f"{name} is required", field=name)
        return default
    try:
        return int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise ScenarioError(f"{name} {value!r} is not a whole number", field=name) from None


def _parse_policy(value: str | None) -> PolicyName:
    try:
        return PolicyName(value or PolicyName.CONSIGNED)
    except ValueError:
        choices = ", ".join(PolicyName)
        raise ScenarioError(f"policy {value!r} is not one of {choices}", field="policy") from None


_PAYBACK = re.compile(r"^\s*([^:\s]+)\s*:\s*([0-9][0-9_]*)\s*$")


def parse_payback(text: str | None) -> tuple[tuple[str, int], ...]:
    """``LOT:QTY`` pieces separated by commas, semicolons or new lines."""
    out = []
    for piece in re.split(r"[,;\n]+", text or ""):
        if not piece.strip():
            continue
        m = _PAYBACK.match(piece)
        if m is None:
            raise ScenarioError(f"payback {piece.strip()!r} is not LOT:QTY", field="payback")
        out.append((m.group(1), int(m.group(2).replace("_", ""))))
    return tuple(out)


def divert_change(fields: Mapping[str, str]) -> DivertChange:
    """The hypothetical diversion a form describes (the same change as ``impact --divert``)."""
    for name in ("lot", "from_org", "to_org"):
        if not fields.get(name, "").strip():
            raise ScenarioError(f"{name.replace('_', ' ')} is required", field=name)
    on = _parse_date(fields.get("on"), "on")
    if on is None:
        raise ScenarioError("on (the date of the diversion) is required", field="on")
    return DivertChange(
        lot=fields["lot"].strip(),
        qty=_parse_int(fields.get("qty"), "qty"),
        from_org=fields["from_org"].strip(),
        to_org=fields["to_org"].strip(),
        on=on,
        payback=parse_payback(fields.get("payback")),
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def create_router(
    *,
    ledger: Ledger | None = None,
    gov: Governance | None = None,
    samples: int = views.DEFAULT_SAMPLES,
    seed: int = views.DEFAULT_SEED,
    secure_cookie: bool = False,
) -> APIRouter:
    """The dashboard's routes: pages, a JSON impact preview, sign-in and static files.

    Args:
        ledger, gov: the books and governance; None reads them from the app's
            ``state.backend`` (the object :func:`gpuledger.api.create_app` sets,
            with ``ledger`` and ``gov`` attributes) on each request.
        samples, seed: the forecast the overview, forecast and claims pages use.
        secure_cookie: mark the sign-in cookie ``Secure`` (behind HTTPS).
    """
    router = APIRouter(include_in_schema=False)
    env = environment([PackageLoader("gpuledger.web", "templates")])
    cache = _ForecastCache()

    def books(request: Request) -> tuple[Ledger, Governance]:
        if ledger is not None and gov is not None:
            return ledger, gov
        backend = request.app.state.backend
        return backend.ledger, backend.gov

    def viewer(request: Request) -> Viewer | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        _, g = books(request)
        try:
            user = g.authenticate(token)
        except Unauthenticated:
            return None
        directory = g.directory()
        return Viewer(user, directory.access(user), directory)

    def render(
        request: Request, name: str, who: Viewer | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        path = request.url.path
        current = next(
            (href for href, _ in NAV if href != "/" and path.startswith(href)),
            "/" if path == "/" or path.startswith("/orgs/") else None,
        )
        html = env.get_template(name).render(
            request_path=path, nav=NAV, current=current, who=who, **ctx
        )
        return HTMLResponse(html, status_code=status)

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    def page(request: Request, build: Callable[[Viewer, Ledger, Governance], Response]) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        led, g = books(request)
        try:
            return build(who, led, g)
        except GpuledgerError as exc:
            status = status_of(exc)
            return render(request, "error.html", who, status, code=status, message=str(exc))

    async def form(request: Request) -> dict[str, str]:
        """The url-encoded body (no multipart parser needed), one value per field."""
        body = (await request.body()).decode("utf-8", errors="replace")
        return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def same_origin(request: Request) -> bool:
        """Writes must come from this site's own pages (the cookie is SameSite=Strict too)."""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        return urlsplit(origin).netloc == request.headers.get("host")

    def consumers_of(who: Viewer, led: Ledger) -> set[str]:
        return views.visible_consumers(led.to_scenario(), who.orgs)

    # ------------------------------------------------------------------ sign-in

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return render(request, "login.html", viewer(request), next=_safe_next(next), error=None)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = await form(request)
        target = _safe_next(fields.get("next"))
        token = fields.get("token", "").strip()
        _, g = books(request)
        try:
            g.authenticate(token)
        except Unauthenticated as exc:
            return render(request, "login.html", None, 401, next=target, error=str(exc))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path="/",
        )
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ overview

    def overview(request: Request, only: str | None, policy_text: str | None) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            if only is not None and not who.access.sees(only):
                raise UnknownRecord(f"org {only!r} is not in the ledger")
            policy = _parse_policy(policy_text)
            scenario = led.to_scenario()
            orgs = [only] if only else [o.id for o in scenario.orgs if who.access.sees(o.id)]
            plan = services.plan_report(led, policy)
            fc = cache.get(led, policy, samples, seed)
            sections = views.org_sections(led, plan, fc, orgs, scenario)
            if only is not None and not sections:
                raise UnknownRecord(f"org {only!r} is not in the ledger")
            return render(
                request,
                "overview.html",
                who,
                sections=sections,
                plan=plan,
                policy=str(policy),
                policies=[str(p) for p in PolicyName],
                single=only,
                samples=samples,
            )

        return page(request, build)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, policy: str | None = None) -> Response:
        return overview(request, None, policy)

    @router.get("/orgs/{org}", response_class=HTMLResponse)
    def org_page(request: Request, org: str, policy: str | None = None) -> Response:
        return overview(request, org, policy)

    # ------------------------------------------------------------------ flows

    @router.get("/flows", response_class=HTMLResponse)
    def flows(request: Request, start: str | None = None, end: str | None = None) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            first, last = _parse_date(start, "start"), _parse_date(end, "end")
            cluster_org = {c.id: c.org for c in led.to_scenario().clusters}

            def visible(owner: str) -> bool:
                kind, _, ident = owner.partition(":")
                if kind == OwnerKind.ORG:
                    return who.access.sees(ident)
                if kind == OwnerKind.CLUSTER:
                    return who.access.sees(cluster_org.get(ident, ""))
                return False

            links = views.flow_links(led.transfers(), visible, first, last)
            period = f"{views_iso(first) or 'the beginning'} to {views_iso(last) or 'today'}"
            return render(
                request,
                "flows.html",
                who,
                links=links,
                figure=views.sankey_figure(links, f"Units vendor → org → cluster, {period}"),
                start=start or "",
                end=end or "",
                label=views.owner_label,
            )

        return page(request, build)

    # ------------------------------------------------------------------ diversions

    def diversion_rows(who: Viewer, led: Ledger) -> list[dict[str, Any]]:
        rows = []
        for view in reversed(led.diversions()):
            d = view.diversion
            if not (who.access.sees(d.from_org) or who.access.sees(d.to_org)):
                continue
            state = service.approvals(view, who.directory)
            allowed: list[str] = []
            if view.status is DiversionStatus.PENDING:
                prior = service.approvers_of(view)
                for decision in (Decision.APPROVE, Decision.REJECT, Decision.VOID):
                    try:
                        check_decision(who.access, d, decision, prior, who.directory)
                    except PermissionDenied:
                        continue
                    allowed.append(decision.value)
            rows.append(
                {
                    "d": d,
                    "status": view.status.value if view.status else None,
                    "decisions": view.decisions,
                    "approvals": state,
                    "allowed": allowed,
                }
            )
        return rows

    def diversions_page(
        request: Request,
        who: Viewer,
        led: Ledger,
        *,
        status: int = 200,
        error: str | None = None,
        values: Mapping[str, str] | None = None,
        done: str | None = None,
    ) -> Response:
        scenario = led.to_scenario()
        lots = [lot for lot in scenario.lots if who.access.sees(lot.consignee)]
        defaults = {
            "id": "",
            "lot": "",
            "qty": "",
            "from_org": "",
            "to_org": "",
            "on": services.books_today(led).isoformat(),
            "payback": "",
            "reason": "",
            "policy": str(PolicyName.CONSIGNED),
        }
        return render(
            request,
            "diversions.html",
            who,
            status,
            rows=diversion_rows(who, led),
            lots=lots,
            orgs=[o for o in scenario.orgs if who.access.sees(o.id)],
            policies=[str(p) for p in PolicyName],
            values=defaults | dict(values or {}),
            error=error,
            done=done,
        )

    @router.get("/diversions", response_class=HTMLResponse)
    def diversions(request: Request, done: str | None = None) -> Response:
        return page(request, lambda who, led, g: diversions_page(request, who, led, done=done))

    @router.get("/diversions/preview")
    def preview(request: Request) -> Response:
        """The impact of the diversion in the form: ``gpuledger impact --divert ... --json``."""
        who = viewer(request)
        if who is None:
            return JSONResponse({"error": {"code": "unauthenticated", "message": "sign in"}}, 401)
        led, _ = books(request)
        fields = dict(request.query_params)
        try:
            change = divert_change(fields)
            if not (who.access.sees(change.from_org) or who.access.sees(change.to_org)):
                raise UnknownRecord(f"org {change.from_org!r} is not in the ledger")
            policy = _parse_policy(fields.get("policy"))
            result = services.impact_of_change(led, change, policy)
        except GpuledgerError as exc:
            return JSONResponse(
                {"error": {"code": "refused", "message": str(exc)}}, status_code=status_of(exc)
            )
        data = views.visible_impact_json(result, consumers_of(who, led))
        fragment = env.get_template("_preview.html").render(impact=data)
        return JSONResponse({"impact": data, "html": fragment})

    @router.post("/diversions", response_class=HTMLResponse)
    async def propose(request: Request) -> Response:
        fields = await form(request)

        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            if not same_origin(request):
                raise PermissionDenied("the form was not sent from this site")
            try:
                change = divert_change(fields)
                ident = fields.get("id", "").strip() or (
                    f"DIV-{change.on.isoformat()}-{change.from_org}-{change.to_org}-{change.lot}"
                )
                d = Diversion(
                    id=ident,
                    lot=change.lot,
                    qty=change.qty,
                    from_org=change.from_org,
                    to_org=change.to_org,
                    on=change.on,
                    payback=tuple(Payback(lot, q) for lot, q in change.payback),
                    status=DiversionStatus.PENDING,
                    proposed_by=who.user,
                    reason=fields.get("reason", "").strip() or None,
                )
                service.propose(led, g, who.user, d)
            except GpuledgerError as exc:
                return diversions_page(
                    request, who, led, status=status_of(exc), error=str(exc), values=fields
                )
            return RedirectResponse(f"/diversions?done={quote(ident)}#div-{quote(ident)}", 303)

        return page(request, build)

    @router.post("/diversions/{diversion_id}/{decision}", response_class=HTMLResponse)
    def decide(request: Request, diversion_id: str, decision: str) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            if not same_origin(request):
                raise PermissionDenied("the form was not sent from this site")
            try:
                choice = Decision(decision)
            except ValueError:
                raise UnknownRecord(f"decision {decision!r} does not exist") from None
            if choice is Decision.PROPOSE:
                raise UnknownRecord("propose with the form, not on an existing diversion")
            try:
                service.decide(led, g, who.user, diversion_id, choice)
            except (PermissionDenied, InvalidTransition) as exc:
                return diversions_page(request, who, led, status=status_of(exc), error=str(exc))
            target = quote(diversion_id)
            return RedirectResponse(f"/diversions?done={target}#div-{target}", 303)

        return page(request, build)

    # ------------------------------------------------------------------ forecast, claims

    @router.get("/forecast", response_class=HTMLResponse)
    def forecast_page(request: Request, policy: str | None = None) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            chosen = _parse_policy(policy)
            fc = cache.get(led, chosen, samples, seed)
            consumers = consumers_of(who, led)
            return render(
                request,
                "forecast.html",
                who,
                charts=views.fan_charts(fc, consumers),
                rows=views.forecast_rows(fc, consumers),
                forecast=fc,
                policy=str(chosen),
                policies=[str(p) for p in PolicyName],
            )

        return page(request, build)

    @router.get("/claims", response_class=HTMLResponse)
    def claims_page(request: Request) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            scenario = led.to_scenario()
            fc = cache.get(led, PolicyName.CONSIGNED, samples, seed)
            checks = [c for c in services.claims_report(led, fc) if who.access.sees(c.org)]
            return render(
                request,
                "claims.html",
                who,
                checks=checks,
                claims={c.id: c for c in scenario.claims},
                forecast=fc,
            )

        return page(request, build)

    # ------------------------------------------------------------------ audit

    @router.get("/audit", response_class=HTMLResponse)
    def audit(
        request: Request,
        kind: str | None = None,
        actor: str | None = None,
        q: str | None = None,
        offset: str | None = None,
    ) -> Response:
        def build(who: Viewer, led: Ledger, g: Governance) -> Response:
            if not who.orgs:
                raise PermissionDenied(f"user {who.user!r} holds no role in any org")
            chosen = None
            if kind:
                try:
                    chosen = EventKind(kind)
                except ValueError:
                    msg = f"kind {kind!r} is not an event kind"
                    raise ScenarioError(msg, field="kind") from None
            scenario = led.to_scenario()
            owner_org = {c.id: c.org for c in scenario.clusters}
            events = [
                e
                for e in led.events(limit=max(led.event_count(), 1), kind=chosen)
                if event_visible(e, who.access, owner_org)
                and (not actor or e.actor == actor)
                and (not q or q.lower() in e.id.lower())
            ]
            start = max(_parse_int(offset, "offset", 0), 0)
            return render(
                request,
                "audit.html",
                who,
                events=events[start : start + PAGE_SIZE],
                total=len(events),
                offset=start,
                page_size=PAGE_SIZE,
                report=led.verify(),
                kinds=[str(k) for k in EventKind],
                actors=sorted({e.actor for e in events}),
                filters={"kind": kind or "", "actor": actor or "", "q": q or ""},
            )

        return page(request, build)

    # ------------------------------------------------------------------ static files

    static: dict[str, tuple[Callable[[], bytes], str]] = {
        "app.css": (lambda: asset_text("app.css").encode(), "text/css"),
        "app.js": (lambda: asset_text("app.js").encode(), "text/javascript"),
        "diversions.js": (
            lambda: (resources.files("gpuledger.web") / "static" / "diversions.js").read_bytes(),
            "text/javascript",
        ),
        "plotly.min.js": (lambda: plotly_js_path().read_bytes(), "text/javascript"),
    }
    loaded: dict[str, bytes] = {}

    @router.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            return Response("not found", status_code=404, media_type="text/plain")
        read, media = static[name]
        if name not in loaded:
            loaded[name] = read()
        return Response(
            loaded[name],
            media_type=media,
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return router


def views_iso(d: date | None) -> str | None:
    """A date as ISO, None kept."""
    return d.isoformat() if d else None


_OWNER = re.compile(r"^(org|cluster):([^/]+)/")
_ORG_KEYS = frozenset({"org", "consignee", "from", "to", "from_org", "to_org", "consumer"})


def event_orgs(body: Any, cluster_org: Mapping[str, str]) -> set[str]:
    """The orgs an event's body names (accounts, consignees, diversions' sides, consumers)."""
    found: set[str] = set()

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            m = _OWNER.match(value)
            if m is not None:
                kind, ident = m.groups()
                found.add(cluster_org.get(ident, ident) if kind == "cluster" else ident)
            elif key in _ORG_KEYS:
                found.add(cluster_org.get(value, value))

    walk(body, None)
    return found


def event_visible(event: EventView, access: Access, cluster_org: Mapping[str, str]) -> bool:
    """An event naming orgs is shown when the reader sees one of them; others to everyone."""
    orgs = event_orgs(event.body, cluster_org)
    return not orgs or any(access.sees(o) for o in orgs)
