"""Sites in the books: stored as documents, exported, and a deploy beyond a site's power refused.

Powered capacity by Epoch AI's method: an H100 (700 W) at overhead 1.82 and PUE 1.2
draws 1,528.8 W, so 1.2 MW runs floor(1,200,000 / 1,528.8) = 784 units.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from gpuledger import domain as d
from gpuledger.ledger import Ledger
from tests.ledger.conftest import H100, base

SITE = d.Site(
    "giga-texas",
    "tesla",
    power=(
        d.PowerStep(date(2024, 1, 1), 1.2, "a guess", True),
        d.PowerStep(date(2024, 5, 1), 12.0, "Epoch AI"),
    ),
)


def _sited(*movements: d.Movement, site: d.Site = SITE) -> d.Scenario:
    s = base(as_of=date(2024, 7, 1))
    return dataclasses.replace(
        s,
        skus=(d.Sku(H100, annual_failure_rate=0.09, tdp_w=700.0, h100e=1.0),),
        sites=(site,),
        clusters=(d.Cluster("cortex", "tesla", site=site.id), d.Cluster("colossus", "xai")),
        movements=movements,
    )


def _deploy(qty: int, on: date, ident: str = "M-DEP") -> d.Movement:
    return d.Movement(
        ident, d.TransferKind.DEPLOY, qty, on, "tesla", lot="LOT-T1-08", cluster="cortex"
    )


def test_sites_are_documents_exported_and_reimported_as_a_no_op(ledger: Ledger) -> None:
    s = _sited(_deploy(784, date(2024, 3, 1)))
    ledger.import_scenario(s)
    out = ledger.to_scenario()
    assert out.sites == (SITE,)
    assert out.clusters[0].site == "giga-texas"
    assert out.skus[0].tdp_w == 700.0
    again = ledger.import_scenario(s)
    assert again.new_events == 0


def test_import_refuses_a_deploy_beyond_the_sites_power(ledger: Ledger) -> None:
    before = ledger.event_count()
    with pytest.raises(d.CapacityExceeded) as caught:
        ledger.import_scenario(_sited(_deploy(785, date(2024, 3, 1))))
    message = str(caught.value)
    assert "movement 'M-DEP'" in message
    assert "site 'giga-texas'" in message
    assert "784" in message and "785" in message
    assert ledger.event_count() == before


def test_the_verb_counts_units_already_deployed_at_the_site(ledger: Ledger) -> None:
    ledger.import_scenario(_sited(_deploy(700, date(2024, 3, 1))))
    with pytest.raises(d.CapacityExceeded, match="700 deployed there"):
        ledger.deploy(_deploy(85, date(2024, 3, 5), "M-MORE"), actor="ops")
    ledger.deploy(_deploy(84, date(2024, 3, 5), "M-FITS"), actor="ops")


def test_more_power_later_lets_more_units_in(ledger: Ledger) -> None:
    ledger.import_scenario(_sited(_deploy(700, date(2024, 3, 1))))
    ledger.deploy(_deploy(5_000, date(2024, 5, 1), "M-MAY"), actor="ops")


def test_a_backdated_deploy_must_fit_on_later_days_too(ledger: Ledger) -> None:
    # 700 on March 1; on May 1 (12 MW: room for 7,849) 7,100 more. Then 50 on
    # February 1 fits February and March (750 <= 784) but not May (7,850 > 7,849).
    s = _sited(_deploy(700, date(2024, 3, 1)), _deploy(7_100, date(2024, 5, 1), "M-MAY"))
    s = dataclasses.replace(
        s,
        lots=(
            *s.lots,
            d.Lot("LOT-T1-09", "PO-T1", 5_000, date(2024, 1, 2), date(2024, 1, 5), "tesla"),
        ),
    )
    ledger.import_scenario(s)
    with pytest.raises(d.CapacityExceeded, match="2024-05-01"):
        ledger.deploy(
            d.Movement(
                "M-BACK",
                d.TransferKind.DEPLOY,
                50,
                date(2024, 2, 1),
                "tesla",
                lot="LOT-T1-09",
                cluster="cortex",
            ),
            actor="ops",
        )


def test_before_the_first_power_step_a_site_runs_nothing(ledger: Ledger) -> None:
    late = dataclasses.replace(SITE, power=(d.PowerStep(date(2024, 4, 1), 1.2),))
    with pytest.raises(d.CapacityExceeded, match="0 MW"):
        ledger.import_scenario(_sited(_deploy(1, date(2024, 3, 1)), site=late))


def test_a_site_that_states_no_power_has_no_limit(ledger: Ledger) -> None:
    open_site = dataclasses.replace(SITE, power=())
    ledger.import_scenario(_sited(_deploy(10_000, date(2024, 3, 1)), site=open_site))


def test_balances_and_trace_show_the_site_of_a_cluster(ledger: Ledger) -> None:
    ledger.import_scenario(_sited(_deploy(700, date(2024, 3, 1))))
    rows = {(b.owner, b.bucket): b for b in ledger.balances()}
    assert rows[("cluster:cortex", d.Bucket.DEPLOYED)].site == "giga-texas"
    assert rows[("org:tesla", d.Bucket.STOCK)].site is None
    assert rows[("cluster:cortex", d.Bucket.DEPLOYED)].as_json()["site"] == "giga-texas"
    trace = ledger.trace("LOT-T1-08")
    assert trace.sites == {"cluster:cortex": "giga-texas"}
    assert trace.as_json()["sites"] == {"cluster:cortex": "giga-texas"}
