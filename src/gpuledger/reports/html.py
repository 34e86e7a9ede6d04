"""``gpuledger report --html FILE``: one self-contained HTML file for a board.

The file inlines Plotly's JavaScript (from the ``plotly`` package), the
stylesheet and every chart's data: it opens offline and fetches nothing. Its
numbers are those of the CLI: the plan (``services.planning.plan_report``), the
impact of every diversion (``services.planning.impact_of_diversion``, with and
without its payback), the forecast and the claims; the report shows every org.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gpuledger.domain import GpuledgerError, PolicyName
from gpuledger.ledger import Ledger
from gpuledger.reports import views
from gpuledger.reports.templating import asset_text, environment, plotly_js
from gpuledger.services.claims import claims_report
from gpuledger.services.forecasting import forecast_report
from gpuledger.services.planning import impact_of_diversion, plan_report
from gpuledger.services.requests import DEFAULT_POLICY, DEFAULT_SAMPLES, DEFAULT_SEED
from gpuledger.services.visibility import Visibility

__all__ = ["DiversionSection", "render_report"]


@dataclass(frozen=True)
class DiversionSection:
    """One diversion in the report: its record, decisions and impacts (or why none)."""

    diversion: dict[str, Any]
    status: str | None
    decisions: tuple[dict[str, Any], ...]
    impacts: tuple[tuple[str, dict[str, Any]], ...]  # (title, Impact.to_json())
    error: str | None = None


def _diversion_sections(ledger: Ledger, policy: PolicyName) -> list[DiversionSection]:
    out = []
    for view in ledger.diversions():
        d = view.diversion
        impacts: list[tuple[str, dict[str, Any]]] = []
        error = None
        try:
            impacts.append(
                (
                    "with its payback" if d.payback else "impact",
                    impact_of_diversion(ledger, d.id, policy).to_json(),
                )
            )
            if d.payback:
                without = impact_of_diversion(ledger, d.id, policy, with_payback=False)
                impacts.append(("without the payback", without.to_json()))
        except GpuledgerError as exc:
            error = str(exc)
        data = view.as_json()
        out.append(
            DiversionSection(
                diversion=data["diversion"],
                status=data["status"],
                decisions=tuple(data["decisions"]),
                impacts=tuple(impacts),
                error=error,
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

    Phases: 1. the books and the plan; 2. the forecast and the claims; 3. the
    impact of every diversion; 4. render with Plotly and the styles inlined.

    Args:
        generated_at: stamped in the footer when given (inject the clock; nothing
            here reads the wall clock).

    Raises:
        GpuledgerError: the books cannot be planned (the impact of a single
            diversion that cannot be computed is reported in its section instead).
    """
    # 1. The books and the plan.
    scenario = ledger.to_scenario()
    orgs = [o.id for o in scenario.orgs]
    plan = plan_report(ledger, policy)
    # 2. Forecast and claims.
    fc = forecast_report(ledger, policy, samples=samples, seed=seed)
    checks = claims_report(ledger, fc)
    sections = views.org_sections(ledger, plan, fc, orgs, scenario)
    consumers = Visibility.everything(scenario).consumers
    # 3. Every diversion's impact.
    diversions = _diversion_sections(ledger, policy)
    # 4. Render.
    template = environment().get_template("report.html")
    return template.render(
        scenario=scenario,
        policy=str(policy),
        plan=plan,
        sections=sections,
        diversions=diversions,
        fan_charts=views.fan_charts(fc, consumers),
        forecast_rows=views.forecast_rows(fc, consumers),
        forecast=fc,
        checks=checks,
        claims={c.id: c for c in scenario.claims},
        price=scenario.parameters.gpu_hour_price_usd,
        price_source=scenario.parameters.gpu_hour_price_source,
        generated_at=generated_at,
        css=asset_text("app.css"),
        app_js=asset_text("app.js"),
        plotly_js=plotly_js(),
    )
