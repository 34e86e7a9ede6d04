"""Books that cannot be bent (issue 11, the ledger's part), on SQLite and PostgreSQL.

Each test reproduces a way the books could be bent and checks the ledger now
refuses it, whatever interface calls the verb: decisions are immutable, a post
takes effect on the diversion's own date, nothing is recorded before what it
depends on, every verb applies the rules of ``gpuledger.domain.rules``, a
missing database is not created by a read, and books with users never post a
decision made without the governance policy.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from gpuledger import domain as d
from gpuledger.domain import Bucket, Decision, DiversionStatus, day_start
from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger

from .conftest import H100, FakeClock, base, reference
from .grid import negative_views

ON = date(2023, 12, 6)


def posted(ledger: Ledger, owner: str, bucket: Bucket, **kw: date | None) -> int:
    return sum(b.posted for b in ledger.balances(**kw) if b.owner == owner and b.bucket is bucket)


def with_lots_of_b(as_of: date = date(2023, 11, 1)) -> d.Scenario:
    """``reference()`` plus an order of b, its lot LB1 (ships 12-20) and a second SKU."""
    ref = reference(as_of)
    return dataclasses.replace(
        ref,
        skus=(*ref.skus, d.Sku("B200")),
        orders=(
            *ref.orders,
            d.Order("PO-B", "b", "nvidia", H100, 500, date(2023, 3, 1)),
            d.Order("PO-B2", "b", "nvidia", "B200", 500, date(2023, 3, 1)),
        ),
        lots=(
            *ref.lots,
            d.Lot("LB1", "PO-B", 40, date(2023, 12, 20), date(2023, 12, 30), "b"),
            d.Lot("LB-EARLY", "PO-B", 40, date(2023, 12, 3), date(2023, 12, 13), "b"),
            d.Lot("LB-B200", "PO-B2", 40, date(2023, 12, 21), date(2023, 12, 31), "b"),
        ),
    )


@pytest.fixture
def shipped(ledger: Ledger) -> Ledger:
    """The lots of ``with_lots_of_b`` recorded; L1 (100) and L2 (50) shipped to org a."""
    ledger.import_scenario(with_lots_of_b())
    lots = {lot.id: lot for lot in reference().lots}
    ledger.ship(lots["L1"], actor="alice")
    ledger.ship(lots["L2"], actor="alice")
    return ledger


def proposal(**changes: object) -> d.Diversion:
    """D1: 30 units of L1 from a to b on 2023-12-06, paid back from LB1, with a reason."""
    first = d.Diversion(
        "D1",
        "L1",
        30,
        "a",
        "b",
        ON,
        payback=(d.Payback("LB1", 30),),
        status=DiversionStatus.PENDING,
        proposed_by="carol",
        reason="b's cluster is idle",
        source="minutes of 2023-12-05",
    )
    return dataclasses.replace(first, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 11.1


CHANGES = [
    pytest.param({"payback": (d.Payback("LB1", 20),)}, id="payback-qty"),
    pytest.param({"payback": ()}, id="payback-dropped"),
    pytest.param({"reason": "another reason"}, id="reason"),
    pytest.param({"reason": None}, id="reason-dropped"),
    pytest.param({"source": "another source"}, id="source"),
    pytest.param({"lot": "L2"}, id="lot"),
    pytest.param({"qty": 31}, id="qty"),
    pytest.param({"on": date(2023, 12, 7)}, id="on"),
    pytest.param({"from_org": "c"}, id="from"),
    pytest.param({"to_org": "c"}, id="to"),
]


@pytest.mark.parametrize("changes", CHANGES)
@pytest.mark.parametrize("state", ["pending", "posted"])
def test_a_proposed_diversion_names_one_content_for_ever(
    shipped: Ledger, changes: dict[str, object], state: str
) -> None:
    shipped.propose_diversion(proposal(), actor="carol")
    if state == "posted":
        shipped.decide("D1", Decision.APPROVE, actor="erin")
    before = shipped.event_count()
    with pytest.raises(d.IdempotencyConflict, match="D1"):
        shipped.propose_diversion(proposal(**changes), actor="carol")
    assert shipped.event_count() == before
    assert shipped.diversion("D1").diversion == dataclasses.replace(
        proposal(), status=DiversionStatus(state)
    )


def test_the_same_content_again_is_a_no_op_and_keeps_the_proposer(shipped: Ledger) -> None:
    shipped.propose_diversion(proposal(), actor="carol")
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    before = shipped.event_count()
    shipped.propose_diversion(proposal(proposed_by="mallory"), actor="mallory")
    shipped.propose_diversion(proposal(status=DiversionStatus.POSTED), actor="carol")
    assert shipped.event_count() == before
    assert shipped.diversion("D1").diversion.proposed_by == "carol"


def test_an_import_cannot_rewrite_a_proposed_diversion(shipped: Ledger) -> None:
    shipped.propose_diversion(proposal(), actor="carol")
    rewritten = dataclasses.replace(
        with_lots_of_b(), diversions=(proposal(reason="rewritten by a file"),)
    )
    before = shipped.event_count()
    with pytest.raises(d.IdempotencyConflict, match="D1"):
        shipped.import_scenario(rewritten)
    assert shipped.event_count() == before
    assert shipped.diversion("D1").diversion.reason == "b's cluster is idle"


# --------------------------------------------------------------------------- 11.5


def test_a_post_takes_effect_on_the_diversions_date_and_is_recorded_on_approval(
    shipped: Ledger, clock: FakeClock
) -> None:
    shipped.propose_diversion(proposal(payback=()), actor="carol")
    clock.advance(30)
    shipped.decide("D1", Decision.APPROVE, actor="erin")
    [post] = [t for t in shipped.diversion("D1").transfers if t.phase is d.Phase.POST]
    assert post.effective_at == day_start(ON)
    assert post.recorded_at == clock.now
    assert posted(shipped, "org:b", Bucket.IN_TRANSIT, as_of=ON) == 30
    assert posted(shipped, "org:a", Bucket.IN_TRANSIT, as_of=ON) == 150 - 30
    snap = shipped.snapshot(ON)
    held = {(snap.orgs[int(h)], snap.supply_id[i]) for i, h in enumerate(snap.supply_holder)}
    assert ("b", "L1") in held  # the planner sees the posted diversion on its date


# --------------------------------------------------------------------------- 11.6


def test_a_fail_recorded_before_its_deploy_is_known_never_makes_a_negative_view(
    ledger: Ledger,
) -> None:
    story = base()
    deploy = dataclasses.replace(story.movements[0], known_on=date(2024, 3, 10))
    fail = d.Movement(
        "F1", d.TransferKind.FAIL, 5, date(2024, 3, 5), "tesla", lot="LOT-T1-08", cluster="cortex"
    )
    ledger.import_scenario(dataclasses.replace(story, movements=(deploy, fail)))
    assert negative_views(ledger) == []
    # as known on the day between, the failure is not known yet: nothing failed, nothing deployed
    between = {"as_of": date(2024, 3, 6), "known_on": date(2024, 3, 6)}
    assert posted(ledger, "cluster:cortex", Bucket.DEPLOYED, **between) == 0
    assert posted(ledger, "org:tesla", Bucket.FAILED, **between) == 0
    assert posted(ledger, "org:tesla", Bucket.FAILED) == 5


def test_a_deploy_dated_before_its_units_arrive_is_refused(ledger: Ledger) -> None:
    ledger.import_scenario(reference())
    ledger.ship(reference().lots[0], actor="ops")
    ledger.receive("L1", date(2023, 12, 10), actor="ops")
    before = ledger.event_count()
    early = d.Movement(
        "M-EARLY", d.TransferKind.DEPLOY, 10, date(2023, 12, 5), "a", lot="L1", cluster="ca"
    )
    with pytest.raises(d.InsufficientUnits, match="2023-12-05"):
        ledger.deploy(early, actor="ops")
    assert ledger.event_count() == before
    assert negative_views(ledger) == []


# --------------------------------------------------------------------------- 11.4


def test_ship_refuses_a_lot_beyond_what_its_order_has_left(ledger: Ledger) -> None:
    ledger.import_scenario(reference())  # PO-A: 1000 units; L1 100 and L2 50 lotted
    before = ledger.event_count()
    too_big = d.Lot("L9", "PO-A", 851, date(2024, 1, 2), date(2024, 1, 9), "a")
    with pytest.raises(d.LedgerError, match=r"lot 'L9' field 'qty'.*PO-A.*850 left"):
        ledger.ship(too_big, actor="alice")
    assert ledger.event_count() == before
    ledger.ship(dataclasses.replace(too_big, qty=850), actor="alice")  # exactly what is left


def test_import_refuses_lots_beyond_their_order(ledger: Ledger) -> None:
    story = base()
    extra = d.Lot("LOT-T1-99", "PO-T1", 40_000, date(2024, 1, 5), date(2024, 1, 20), "tesla")
    with pytest.raises(d.LedgerError, match="LOT-T1-99"):
        ledger.import_scenario(dataclasses.replace(story, lots=(*story.lots, extra)))
    assert ledger.event_count() == 0


PAYBACK_PROBLEMS = [
    pytest.param("LB-EARLY", "ships on 2023-12-03, not after", id="ships-before-the-diversion"),
    pytest.param("L2", "consigned to 'a'", id="not-the-receivers"),
    pytest.param("LB-B200", "is B200", id="another-sku"),
    pytest.param("L1", "the diverted lot itself", id="the-diverted-lot"),
    pytest.param("NOPE", "unknown lot 'NOPE'", id="unknown-lot"),
]


@pytest.mark.parametrize(("lot", "reason"), PAYBACK_PROBLEMS)
def test_propose_refuses_a_payback_the_rules_refuse(shipped: Ledger, lot: str, reason: str) -> None:
    before = shipped.event_count()
    bad = proposal(payback=(d.Payback(lot, 10),))
    with pytest.raises(
        d.LedgerError, match=rf"diversion 'D1' field 'payback\[0\]\.lot': .*{reason}"
    ):
        shipped.propose_diversion(bad, actor="carol")
    assert shipped.event_count() == before


def test_propose_refuses_a_diversion_before_its_lot_ships(shipped: Ledger) -> None:
    with pytest.raises(d.LedgerError, match=r"field 'on'.*before lot L1 ships"):
        shipped.propose_diversion(proposal(on=date(2023, 11, 30), payback=()), actor="carol")


@pytest.mark.parametrize(
    ("movement", "reason"),
    [
        pytest.param(
            d.Movement("F1", d.TransferKind.FAIL, 1, date(2024, 1, 1), "a"),
            "needs the cluster",
            id="fail-without-cluster",
        ),
        pytest.param(
            d.Movement("F2", d.TransferKind.FAIL, 1, date(2024, 1, 1), "a", cluster="cb"),
            "belongs to org 'b'",
            id="fail-in-another-orgs-cluster",
        ),
        pytest.param(
            d.Movement("R1", d.TransferKind.RETURN, 1, date(2024, 1, 1), "a", cluster="cb"),
            "belongs to org 'b'",
            id="return-naming-another-orgs-cluster",
        ),
    ],
)
def test_movements_check_their_cluster(shipped: Ledger, movement: d.Movement, reason: str) -> None:
    shipped.receive("L1", date(2023, 12, 10), actor="ops")
    shipped.deploy(
        d.Movement("M1", d.TransferKind.DEPLOY, 10, date(2023, 12, 11), "a", cluster="ca"),
        actor="ops",
    )
    before = shipped.event_count()
    with pytest.raises(d.LedgerError, match=rf"movement '{movement.id}' field 'cluster'.*{reason}"):
        shipped.post_batch([movement], actor="ops")
    assert shipped.event_count() == before


# --------------------------------------------------------------------------- 11.7


def test_opening_a_missing_sqlite_file_without_create_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist.db"
    with pytest.raises(d.BooksNotFound, match=r"nonexist\.db") as caught:
        Ledger.open(f"sqlite:///{missing}", create=False)
    assert "\n" not in str(caught.value)
    assert not missing.exists()
    Ledger.open(f"sqlite:///{missing}").close()  # create (the default) makes the books
    Ledger.open(f"sqlite:///{missing}", create=False).close()  # now they exist


def test_opening_in_memory_books_without_create_is_an_error() -> None:
    with pytest.raises(d.BooksNotFound, match="memory"):
        Ledger.open("sqlite://", create=False)


@pytest.mark.postgres
def test_opening_a_postgres_database_without_books_is_an_error(postgres_schema_url: str) -> None:
    with pytest.raises(d.BooksNotFound, match="no gpuledger tables"):
        Ledger.open(postgres_schema_url, create=False)
    engine = sa.create_engine(postgres_schema_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []  # nothing was created
    engine.dispose()
    Ledger.open(postgres_schema_url).close()
    Ledger.open(postgres_schema_url, create=False).close()


# --------------------------------------------------------------------------- 11.2 fail closed


def test_books_with_users_never_post_a_decision_made_without_the_governance_policy(
    shipped: Ledger, clock: FakeClock
) -> None:
    shipped.propose_diversion(proposal(payback=()), actor="carol")
    Governance(shipped.engine, clock).add_user("alice", actor="root")
    before = shipped.event_count()
    with pytest.raises(d.PermissionDenied, match="users"):
        shipped.decide("D1", Decision.APPROVE, actor="erin")
    assert shipped.event_count() == before
    assert shipped.diversion("D1").status is DiversionStatus.PENDING


def test_books_without_users_are_a_working_copy_where_the_first_approval_posts(
    shipped: Ledger,
) -> None:
    shipped.propose_diversion(proposal(payback=()), actor="carol")
    assert shipped.decide("D1", Decision.APPROVE, actor="erin") is DiversionStatus.POSTED


def test_books_with_users_refuse_a_proposal_made_without_the_governance_policy(
    shipped: Ledger, clock: FakeClock
) -> None:
    Governance(shipped.engine, clock).add_user("alice", actor="root")
    before = shipped.event_count()
    with pytest.raises(d.PermissionDenied, match="users"):
        shipped.propose_diversion(proposal(payback=()), actor="carol")
    assert shipped.event_count() == before


def test_an_import_never_decides_a_diversion_pending_in_governed_books(
    shipped: Ledger, clock: FakeClock
) -> None:
    shipped.propose_diversion(proposal(payback=()), actor="carol")
    Governance(shipped.engine, clock).add_user("alice", actor="root")
    says_posted = dataclasses.replace(
        with_lots_of_b(as_of=date(2023, 12, 7)),
        diversions=(proposal(payback=(), status=DiversionStatus.POSTED),),
    )
    before = shipped.event_count()
    with pytest.raises(d.PermissionDenied, match="users"):
        shipped.import_scenario(says_posted)
    assert shipped.event_count() == before
    assert shipped.diversion("D1").status is DiversionStatus.PENDING


def test_a_decision_cannot_move_the_diversions_date(shipped: Ledger) -> None:
    shipped.propose_diversion(proposal(payback=()), actor="carol")
    with pytest.raises(d.LedgerError, match="takes effect on its own date 2023-12-06"):
        shipped.decide("D1", Decision.APPROVE, actor="erin", on=date(2023, 12, 8))
    assert shipped.decide("D1", Decision.APPROVE, actor="erin", on=ON) is DiversionStatus.POSTED
