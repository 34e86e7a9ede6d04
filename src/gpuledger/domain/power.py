"""Powered capacity: how many units of a SKU a site's power can run on a day.

Epoch AI's method (AI Supercomputers dataset): facility power = chip TDP x number
of chips x system overhead (1.82, from NVIDIA DGX H100 server specifications) x
PUE. So a site of MW megawatts runs ``floor(MW x 10**6 / (tdp_w x overhead x
pue))`` units of a SKU. An org's powered capacity is the sum over its sites; an
org with no site, or with a site that states no power timeline, has no stated
limit (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date

from gpuledger.domain.records import Parameters, Site, Sku

WATTS_PER_MW = 1_000_000


def watts_per_unit(sku: Sku, site: Site, parameters: Parameters) -> float | None:
    """Facility watts one unit of ``sku`` draws at ``site``; None when its TDP is not stated."""
    if sku.tdp_w is None:
        return None
    pue = site.pue if site.pue is not None else parameters.pue
    watts = sku.tdp_w * parameters.system_overhead * pue
    assert watts > 0, (sku.id, site.id, watts)
    return watts


def site_capacity(sku: Sku, site: Site, parameters: Parameters, day: date) -> int | None:
    """Units of ``sku`` the site's power runs on ``day``; None when there is no stated limit.

    Edge cases: before the site's first power step, 0; a SKU without ``tdp_w``
    cannot be counted against power, so None (no stated limit).
    """
    mw = site.mw_on(day)
    per_unit = watts_per_unit(sku, site, parameters)
    if mw is None or per_unit is None:
        return None
    # A tiny epsilon keeps exact quotients (e.g. 63.7 MW for 50,000 H100) from
    # rounding down to one unit less through binary floating point.
    return max(0, math.floor(mw * WATTS_PER_MW / per_unit + 1e-9))


def org_capacity(sku: Sku, sites: Iterable[Site], parameters: Parameters, day: date) -> int | None:
    """Units of ``sku`` the org's sites run on ``day`` (sum); None when any states no limit.

    An org with no site has no stated limit either (None).
    """
    total = 0
    seen = False
    for site in sites:
        seen = True
        cap = site_capacity(sku, site, parameters, day)
        if cap is None:
            return None
        total += cap
    return total if seen else None


def deploy_capacity_problem(
    site: Site,
    sku: Sku,
    qty: int,
    already: Sequence[tuple[Sku, int]],
    parameters: Parameters,
    day: date,
) -> str | None:
    """Why deploying ``qty`` units of ``sku`` at ``site`` on ``day`` exceeds its power; None if not.

    ``already`` lists the units deployed at the site's clusters on ``day`` (per
    SKU); each draws ``watts_per_unit``. This is the one capacity rule: the
    ledger's deploy verb applies it on every path (import, CLI, API, web).

    Edge cases: a site that states no power timeline, or a SKU without
    ``tdp_w``, has no stated limit (None); units of other SKUs without ``tdp_w``
    draw nothing countable; before the site's first power step it has 0 MW.
    """
    assert qty > 0, qty
    mw = site.mw_on(day)
    per_unit = watts_per_unit(sku, site, parameters)
    if mw is None or per_unit is None:
        return None
    used = sum(n * (watts_per_unit(s, site, parameters) or 0.0) for s, n in already)
    # The same rounding as site_capacity, so an empty site takes exactly its capacity.
    left = max(0, math.floor((mw * WATTS_PER_MW - used) / per_unit + 1e-9))
    if qty <= left:
        return None
    deployed = sum(n for _, n in already)
    room = site_capacity(sku, site, parameters, day)
    pue = site.pue if site.pue is not None else parameters.pue
    return (
        f"site {site.id!r} has {mw:g} MW on {day.isoformat()}: room for {room:,} units of "
        f"{sku.id} ({per_unit:,.1f} W each: {sku.tdp_w:g} W x {parameters.system_overhead:g} "
        f"system overhead x {pue:g} PUE, Epoch AI's method); {deployed:,} deployed there "
        f"already, {left:,} more fit; asked for {qty:,}"
    )
