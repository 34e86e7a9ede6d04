"""A :class:`Scenario` as the plain data of a scenario file, for every format's writer.

Keys come in a fixed order (id first, as people write them); values are Python
scalars (dates as :class:`datetime.date`). Optional fields that are empty (None,
``assumed: false``, an empty schedule) are left out, so a written file reads like
a hand-written one; reading it back gives an equal Scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gpuledger.domain import Diversion, Movement, Parameters, Scenario, Site

_DEFAULTS = Parameters()


def _clean(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    # Drop what reads back as the default anyway: None, false flags, empty lists.
    return {k: v for k, v in pairs if v is not None and v is not False and v != []}


def _diversion(d: Diversion) -> dict[str, Any]:
    return _clean(
        [
            ("op", "divert"),
            ("id", d.id),
            ("lot", d.lot),
            ("qty", d.qty),
            ("from", d.from_org),
            ("to", d.to_org),
            ("on", d.on),
            ("known_on", d.known_on),
            ("payback", [{"lot": p.lot, "qty": p.qty} for p in d.payback]),
            ("status", str(d.status)),
            ("proposed_by", d.proposed_by),
            ("reason", d.reason),
            ("source", d.source),
        ]
    )


def _movement(m: Movement) -> dict[str, Any]:
    return _clean(
        [
            ("op", str(m.op)),
            ("id", m.id),
            ("qty", m.qty),
            ("on", m.on),
            ("org", m.org),
            ("lot", m.lot),
            ("cluster", m.cluster),
            ("known_on", m.known_on),
            ("source", m.source),
        ]
    )


def _events(scenario: Scenario) -> list[dict[str, Any]]:
    # Merge diversions and movements by date, keeping each kind's own order, so
    # the file reads chronologically where it can and parses back to the same tuples.
    out: list[dict[str, Any]] = []
    divs, moves = list(scenario.diversions), list(scenario.movements)
    i = j = 0
    while i < len(divs) or j < len(moves):
        if j >= len(moves) or (i < len(divs) and divs[i].on <= moves[j].on):
            out.append(_diversion(divs[i]))
            i += 1
        else:
            out.append(_movement(moves[j]))
            j += 1
    return out


def _site(site: Site) -> dict[str, Any]:
    return _clean(
        [
            ("id", site.id),
            ("org", site.org),
            ("name", site.name),
            ("pue", site.pue),
            (
                "power",
                [
                    _clean(
                        [
                            ("from", step.from_date),
                            ("mw", step.mw),
                            ("source", step.source),
                            ("assumed", step.assumed),
                        ]
                    )
                    for step in site.power
                ],
            ),
            ("source", site.source),
            ("assumed", site.assumed),
        ]
    )


def _unless_default(value: float, default: float, source: str | None) -> float | None:
    # A power parameter left at its default (and unsourced) is left out, as people write files.
    return None if value == default and source is None else value


def _failure_parameters(p: Parameters) -> dict[str, Any]:
    # the failure model's parameters only where they differ from the defaults
    # (files written before they existed read back the same)
    default = Parameters()
    names = ("interruptions_per_failure", "repair_days", "rma_days", "replace_failed")
    return {n: getattr(p, n) for n in names if getattr(p, n) != getattr(default, n)}


def scenario_as_data(scenario: Scenario) -> dict[str, Any]:
    """The plain data (dicts, lists, dates) of a scenario file, keys in file order."""
    p = scenario.parameters
    data: dict[str, Any] = {
        "name": scenario.name,
        "description": scenario.description,
        "as_of": scenario.as_of,
        "parameters": _clean(
            [
                ("gpu_hour_price_usd", p.gpu_hour_price_usd),
                ("gpu_hour_price_source", p.gpu_hour_price_source),
                ("claim_tolerance", p.claim_tolerance),
                ("horizon_days", p.horizon_days),
                (
                    "system_overhead",
                    _unless_default(
                        p.system_overhead, _DEFAULTS.system_overhead, p.system_overhead_source
                    ),
                ),
                ("system_overhead_source", p.system_overhead_source),
                ("pue", _unless_default(p.pue, _DEFAULTS.pue, p.pue_source)),
                ("pue_source", p.pue_source),
            ]
        )
        | _failure_parameters(p),
        "skus": [
            _clean(
                [
                    ("id", s.id),
                    ("name", s.name),
                    ("annual_failure_rate", s.annual_failure_rate),
                    ("source", s.source),
                    ("assumed", s.assumed),
                    ("tdp_w", s.tdp_w),
                    ("h100e", s.h100e),
                ]
            )
            for s in scenario.skus
        ],
        "vendors": [
            _clean(
                [
                    ("id", v.id),
                    ("name", v.name),
                    (
                        "lead_time",
                        [
                            _clean(
                                [
                                    ("sku", lt.sku),
                                    ("from", lt.from_date),
                                    ("p50_days", lt.p50_days),
                                    ("p90_days", lt.p90_days),
                                    ("source", lt.source),
                                    ("assumed", lt.assumed),
                                ]
                            )
                            for lt in v.lead_times
                        ],
                    ),
                    ("transit_slip_p50_days", v.transit_slip_p50_days or None),
                    ("transit_slip_p90_days", v.transit_slip_p90_days or None),
                    ("source", v.source),
                ]
            )
            for v in scenario.vendors
        ],
        "groups": [
            _clean([("id", g.id), ("name", g.name), ("source", g.source)]) for g in scenario.groups
        ],
        "orgs": [
            _clean([("id", o.id), ("name", o.name), ("group", o.group), ("source", o.source)])
            for o in scenario.orgs
        ],
        "sites": [_site(site) for site in scenario.sites],
        "clusters": [
            _clean(
                [
                    ("id", c.id),
                    ("org", c.org),
                    ("name", c.name),
                    ("source", c.source),
                    ("site", c.site),
                ]
            )
            for c in scenario.clusters
        ],
        "orders": [
            _clean(
                [
                    ("id", o.id),
                    ("org", o.org),
                    ("vendor", o.vendor),
                    ("sku", o.sku),
                    ("qty", o.qty),
                    ("ordered_on", o.ordered_on),
                    ("schedule", [{"on": d.on, "qty": d.qty} for d in o.schedule]),
                    ("source", o.source),
                    ("assumed", o.assumed),
                ]
            )
            for o in scenario.orders
        ],
        "lots": [
            _clean(
                [
                    ("id", x.id),
                    ("order", x.order),
                    ("qty", x.qty),
                    ("ships_on", x.ships_on),
                    ("arrives_on", x.arrives_on),
                    ("consignee", x.consignee),
                    ("source", x.source),
                    ("assumed", x.assumed),
                ]
            )
            for x in scenario.lots
        ],
        "targets": [
            _clean(
                [
                    ("id", t.id),
                    ("consumer", t.consumer),
                    ("sku", t.sku),
                    ("accepts", list(t.accepts)),
                    ("qty", t.qty),
                    ("by", t.by),
                    ("priority", t.priority),
                    ("weight", t.weight),
                    ("source", t.source),
                    ("assumed", t.assumed),
                ]
            )
            for t in scenario.targets
        ],
        "claims": [
            _clean(
                [
                    ("id", c.id),
                    ("org", c.org),
                    ("sku", c.sku),
                    ("qty", c.qty),
                    ("by", c.by),
                    ("stated_on", c.stated_on),
                    ("kind", str(c.kind)),
                    ("source", c.source),
                ]
            )
            for c in scenario.claims
        ],
        "events": _events(scenario),
    }
    return _clean(data.items())
