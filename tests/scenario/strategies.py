"""Hypothesis strategies for valid scenarios: every value within the bounds of domain.limits.

Every reference resolves, no lot or order is over-committed, and every text is
one a person could type (printable, tabs and newlines allowed, never blank).
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

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
    PowerStep,
    Scenario,
    Site,
    Sku,
    Target,
    TransferKind,
    Vendor,
    limits,
)

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:+@#-]{0,7}", fullmatch=True)
# Any text a person could type, long and multi-line included (sources, descriptions):
# what limits.check_text accepts. A blank text is no text (None).
texts = st.none() | st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
        include_characters="\t\n",
    ),
    min_size=1,
    max_size=120,
)
# Every date the books accept, with room for the 400 days _later may add.
days = st.dates(min_value=limits.DATE_MIN, max_value=limits.DATE_MAX - timedelta(days=800))
unit_floats = st.floats(min_value=0, max_value=1, exclude_max=True)
power_factors = st.floats(min_value=1, max_value=limits.POWER_FACTOR_MAX)
qtys = st.integers(min_value=1, max_value=limits.QTY_MAX)


def _later(draw: st.DrawFn, start: date, *, strictly: bool = False) -> date:
    return start + timedelta(days=draw(st.integers(min_value=int(strictly), max_value=400)))


def _split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """Up to ``parts`` positive quantities whose sum is at most ``total``."""
    out: list[int] = []
    left = total
    for _ in range(parts):
        if left < 1:
            break
        qty = draw(st.integers(min_value=1, max_value=left))
        out.append(qty)
        left -= qty
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Valid scenarios: every reference resolves, no lot or order is over-committed."""
    suffix = lambda prefix, i: f"{prefix}{i}-{draw(ids)}"  # noqa: E731 - unique per kind
    skus = [
        Sku(
            suffix("s", i),
            draw(texts),
            draw(unit_floats),
            draw(texts),
            draw(st.booleans()),
            draw(st.none() | st.floats(min_value=0.001, max_value=limits.TDP_W_MAX)),
            draw(st.none() | st.floats(min_value=0.001, max_value=limits.H100E_MAX)),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    sku_ids = [s.id for s in skus]
    vendors = []
    for i in range(draw(st.integers(1, 2))):
        rows = []
        for sku in sku_ids:
            starts = draw(st.lists(days, max_size=2, unique=True))
            for start in starts:
                p50 = draw(st.integers(1, 400))
                rows.append(
                    LeadTime(
                        sku,
                        start,
                        p50,
                        p50 + draw(st.integers(0, 200)),
                        draw(texts),
                        draw(st.booleans()),
                    )
                )
        slip50 = draw(st.integers(0, 30))
        vendors.append(
            Vendor(
                suffix("v", i),
                draw(texts),
                tuple(rows),
                slip50,
                slip50 + draw(st.integers(0, 30)),
                draw(texts),
            )
        )
    groups = [
        Group(suffix("g", i), draw(texts), draw(texts)) for i in range(draw(st.integers(0, 2)))
    ]
    orgs = [
        Org(
            suffix("o", i),
            draw(texts),
            draw(st.none() | st.sampled_from([g.id for g in groups])) if groups else None,
            draw(texts),
        )
        for i in range(draw(st.integers(2, 4)))
    ]
    org_ids = [o.id for o in orgs]
    sites = [
        Site(
            suffix("site", i),
            draw(st.sampled_from(org_ids)),
            draw(texts),
            draw(st.none() | power_factors),
            tuple(
                PowerStep(
                    start, draw(st.floats(0, limits.MW_MAX)), draw(texts), draw(st.booleans())
                )
                for start in draw(st.lists(days, max_size=3, unique=True))
            ),
            draw(texts),
            draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    clusters = []
    for i in range(draw(st.integers(0, 3))):
        site = draw(st.none() | st.sampled_from(sites)) if sites else None
        org = site.org if site is not None else draw(st.sampled_from(org_ids))
        clusters.append(
            Cluster(
                suffix("c", i),
                org,
                draw(texts),
                draw(texts),
                site.id if site is not None else None,
            )
        )
    orders: list[Order] = []
    lots: list[Lot] = []
    for i in range(draw(st.integers(1, 4))):
        qty = draw(qtys)
        ordered_on = draw(days)
        schedule = tuple(
            Delivery(_later(draw, ordered_on), q)
            for q in _split(draw, qty, draw(st.integers(0, 2)))
        )
        order = Order(
            suffix("po", i),
            draw(st.sampled_from(org_ids)),
            draw(st.sampled_from([v.id for v in vendors])),
            draw(st.sampled_from(sku_ids)),
            qty,
            ordered_on,
            schedule,
            draw(texts),
            draw(st.booleans()),
        )
        orders.append(order)
        for j, lot_qty in enumerate(_split(draw, qty, draw(st.integers(0, 3)))):
            ships = _later(draw, ordered_on)
            lots.append(
                Lot(
                    f"{order.id}-lot{j}",
                    order.id,
                    lot_qty,
                    ships,
                    _later(draw, ships),
                    draw(st.sampled_from(org_ids)),
                    draw(texts),
                    draw(st.booleans()),
                )
            )
    consumers = org_ids + [c.id for c in clusters]
    targets = []
    for i in range(draw(st.integers(0, 3))):
        sku = draw(st.sampled_from(sku_ids))
        others = [x for x in sku_ids if x != sku]
        targets.append(
            Target(
                suffix("t", i),
                draw(st.sampled_from(consumers)),
                sku,
                draw(qtys),
                draw(days),
                draw(st.integers(1, limits.PRIORITY_MAX)),
                draw(st.floats(min_value=0.001, max_value=limits.WEIGHT_MAX)),
                draw(texts),
                draw(st.booleans()),
                tuple(draw(st.lists(st.sampled_from(others), unique=True))) if others else (),
            )
        )
    claims = [
        Claim(
            suffix("cl", i),
            draw(st.sampled_from(org_ids)),
            draw(st.sampled_from(sku_ids)),
            draw(qtys),
            draw(days),
            draw(days),
            draw(st.sampled_from(list(ClaimKind))),
            draw(texts),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    # Diversions: each lot is diverted or paid back at most once, from its consignee,
    # so the units are always there.
    sku_of = {o.id: o.sku for o in orders}
    used: set[str] = set()
    diversions = []
    for i, lot in enumerate(
        draw(st.lists(st.sampled_from(lots), max_size=3, unique=True)) if lots else []
    ):
        if lot.id in used:
            continue
        used.add(lot.id)
        to_org = draw(st.sampled_from([o for o in org_ids if o != lot.consignee]))
        on = _later(draw, lot.ships_on)
        payback = []
        for other in lots:
            if (
                other.id not in used
                and other.consignee == to_org
                and other.ships_on > on
                and sku_of[other.order] == sku_of[lot.order]
                and draw(st.booleans())
            ):
                used.add(other.id)
                payback.append(Payback(other.id, draw(st.integers(1, other.qty))))
        diversions.append(
            Diversion(
                suffix("d", i),
                lot.id,
                draw(st.integers(1, lot.qty)),
                lot.consignee,
                to_org,
                on,
                tuple(payback),
                draw(st.sampled_from(list(DiversionStatus))),
                draw(st.none() | days),
                draw(texts),
                draw(texts),
                draw(texts),
            )
        )
    movements = []
    for i in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from([TransferKind.DEPLOY, TransferKind.FAIL, TransferKind.RETURN]))
        cluster = draw(st.sampled_from(clusters)) if clusters else None
        if cluster is None and op is not TransferKind.RETURN:
            op = TransferKind.RETURN
        org = cluster.org if cluster is not None else draw(st.sampled_from(org_ids))
        movements.append(
            Movement(
                suffix("m", i),
                op,
                draw(qtys),
                draw(days),
                org,
                draw(st.none() | st.sampled_from([x.id for x in lots])) if lots else None,
                cluster.id if cluster is not None else None,
                draw(st.none() | days),
                draw(texts),
            )
        )
    return Scenario(
        name=draw(ids),
        as_of=draw(days),
        skus=tuple(skus),
        vendors=tuple(vendors),
        groups=tuple(groups),
        orgs=tuple(orgs),
        clusters=tuple(clusters),
        sites=tuple(sites),
        orders=tuple(orders),
        lots=tuple(lots),
        targets=tuple(targets),
        claims=tuple(claims),
        diversions=tuple(diversions),
        movements=tuple(movements),
        parameters=Parameters(
            gpu_hour_price_usd=draw(st.none() | st.floats(min_value=0, max_value=limits.PRICE_MAX)),
            gpu_hour_price_source=draw(texts),
            claim_tolerance=draw(unit_floats),
            horizon_days=draw(st.integers(1, limits.HORIZON_MAX)),
            interruptions_per_failure=draw(
                st.floats(min_value=1, max_value=limits.INTERRUPTIONS_PER_FAILURE_MAX)
            ),
            repair_days=draw(st.integers(0, limits.REPAIR_DAYS_MAX)),
            rma_days=draw(st.integers(0, limits.REPAIR_DAYS_MAX)),
            replace_failed=draw(st.booleans()),
            system_overhead=draw(power_factors),
            system_overhead_source=draw(texts),
            pue=draw(power_factors),
            pue_source=draw(texts),
        ),
        description=draw(texts),
    )
