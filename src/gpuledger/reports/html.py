"""``gpuledger report --html FILE``: one self-contained HTML file for a board.

The file inlines Plotly's JavaScript (from the ``plotly`` package), the
stylesheet and every chart's data: it opens offline and fetches nothing. Its
numbers are those of the CLI: the plan (``services.planning.plan_report``), the
impact of every diversion (``services.planning.impact_of_diversion``, with and
without its payback; its org-level headline first, as an executive summary),
the forecast and the claims; the report shows every org.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gpuledger.domain import PolicyName
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.reports.templating import asset_text, environment, plotly_js
from gpuledger.services import dashboard
from gpuledger.services.claims import claims_report
from gpuledger.services.dashboard import Headline
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.planning import plan_report
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED
from gpuledger.services.visibility import Visibility

__all__ = ["DiversionSection", "render_report"]


@dataclass(frozen=True)
class DiversionSection:
    """One diversion in the report: its record, decisions, headline and impacts (or why none)."""

    diversion: dict[str, Any]
    status: str | None
    decisions: tuple[dict[str, Any], ...]
    headline: Headline
    impacts: tuple[tuple[str, dict[str, Any]], ...]  # (title, Impact.to_json())
    error: str | None = None


def _diversion_sections(ledger: Ledger, policy: PolicyName) -> list[DiversionSection]:
    """Every diversion with its headline and its impacts with and without its payback.

    The impacts are the headline's own (``services.dashboard.headline``), so the
    summary and the sections show the figures of one computation.
    """
    out = []
    for view in ledger.diversions():
        h = dashboard.headline(ledger, view, policy)
        impacts: list[tuple[str, dict[str, Any]]] = []
        if h.impacts:
            with_payback, without = h.impacts
            title = "with its payback" if view.diversion.payback else "impact"
            impacts.append((title, with_payback.to_json()))
            if view.diversion.payback:
                impacts.append(("without the payback", without.to_json()))
        data = view.as_json()
        out.append(
            DiversionSection(
                diversion=data["diversion"],
                status=data["status"],
                decisions=tuple(data["decisions"]),
                headline=h,
                impacts=tuple(impacts),
                error=h.error,
            )
        )
    return out


def render_report(
    ledger: Ledger,
    *,
    policy: PolicyName = DEFAULT_POLICY,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    generated_at: datetime | None = None,
) -> str:
    """The whole report as one HTML document (every org of the books).

    Phases: 1. the books as they stand, the plan and every diversion's headline
    and impacts; 2. the forecast and the claims; 3. render with Plotly and the
    styles inlined. The report opens with an executive summary: the headline
    (``services.dashboard.headline``) of every pending and posted diversion.

    Args:
        generated_at: stamped in the footer when given (inject the clock; nothing
            here reads the wall clock).

    Raises:
        GpuledgerError: the books cannot be planned (the impact of a single
            diversion that cannot be computed is reported in its section instead).
    """
    # 1. The books as they stand and the plan; every diversion's headline and impacts.
    scenario = ledger.to_scenario()
    orgs = [o.id for o in scenario.orgs]
    day = dashboard.books_date(ledger)
    plan = plan_report(ledger, policy, as_of=day)
    diversions = _diversion_sections(ledger, policy)
    live = [d.headline for d in diversions if d.headline.status in dashboard.LIVE]
    # 2. Forecast and claims.
    fc = forecast_report(ledger, policy, samples=samples, seed=seed, as_of=day)
    checks = claims_report(ledger, fc)
    sections = views.org_sections(ledger, plan, fc, orgs, scenario, live)
    consumers = Visibility.everything(scenario).consumers
    # 3. Render.
    template = environment().get_template("report.html")
    return template.render(
        scenario=scenario,
        policy=str(policy),
        plan=plan,
        sections=sections,
        diversions=diversions,
        headlines=live,
        fan_charts=views.fan_charts(fc, consumers),
        forecast_rows=views.forecast_rows(fc, consumers),
        forecast=fc,
        checks=checks,
        claims={c.id: c for c in scenario.claims},
        price=scenario.parameters.gpu_hour_price_usd,
        price_source=scenario.parameters.gpu_hour_price_source,
        tolerance=scenario.parameters.claim_tolerance,
        generated_at=generated_at,
        css=asset_text("app.css"),
        app_js=asset_text("app.js"),
        plotly_js=plotly_js(),
    )
