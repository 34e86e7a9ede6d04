"""Random operation sequences against a simple in-memory model of the books.

After every step: the ledger's balances equal the model's (so no double
reservation and no negative org/cluster balance slip through), every SKU sums to
zero, and replays write nothing. At the end of a run the hash chain verifies and
the no-negative grid holds: every (as_of, known_on) view over the event dates
has no org or cluster account below zero counting pending debits.

Dates: lots ship on SHIP; a lot is received on ARRIVE or LATE; diversions,
deployments and failures happen on ON (between the two). The clock moves one
day per step, so every step is recorded on a day of its own. A receipt on
ARRIVE of units an org got in transit on ON, and anything on ON that needs
stock received on LATE, are refused: they would make a view between the two
dates negative.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from gpuledger import domain as d
from gpuledger.domain import Bucket, Decision
from gpuledger.ledger import Ledger

from .conftest import H100, FakeClock
from .grid import negative_views_in_memory

LOTS = ("L1", "L2")
ORGS = ("a", "b", "c")
CLUSTERS = {"ca": "a", "cb": "b"}
SHIP, ARRIVE, ON, LATE = date(2023, 12, 1), date(2023, 12, 10), date(2024, 1, 1), date(2024, 1, 2)
CLOCK = datetime(2026, 1, 5, tzinfo=UTC)

Key = tuple[str, Bucket, str]  # owner, bucket, lot


def scenario() -> d.Scenario:
    return d.Scenario(
        name="machine",
        as_of=date(2023, 11, 1),
        skus=(d.Sku(H100),),
        vendors=(d.Vendor("nvidia"),),
        orgs=tuple(d.Org(o) for o in ORGS),
        clusters=tuple(d.Cluster(c, o) for c, o in CLUSTERS.items()),
        orders=(d.Order("PO", "a", "nvidia", H100, 1000, date(2023, 3, 1)),),
        lots=tuple(d.Lot(lot, "PO", 20, SHIP, ARRIVE, "a") for lot in LOTS),
    )


class LedgerMachine(RuleBasedStateMachine):
    """Drives one ledger and a model of it."""

    url: str = "sqlite://"

    diversions = Bundle("diversions")

    def __init__(self) -> None:
        super().__init__()
        self.schema: str | None = None
        url = self.url
        if url.startswith("postgresql"):
            self.schema = f"h_{uuid.uuid4().hex[:12]}"
            self.admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
            with self.admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self.schema}"
        self.clock = FakeClock(CLOCK)
        self.books = Ledger.open(url, clock=self.clock)
        self.posted: dict[Key, int] = defaultdict(int)
        self.reserved: dict[Key, int] = defaultdict(int)  # pending debits
        self.incoming: dict[Key, int] = defaultdict(int)  # pending credits
        self.shipped: set[str] = set()
        self.received: dict[tuple[str, str], date] = {}  # (org, lot) -> day received
        self.late: dict[Key, int] = defaultdict(int)  # units received on LATE, per account
        self.transit_holders: dict[str, set[str]] = defaultdict(set)
        self.proposals: dict[str, tuple[str, str, str, Bucket, int]] = {}
        self.status: dict[str, d.DiversionStatus] = {}
        self.counter = 0

    def teardown(self) -> None:
        report = self.books.verify()
        negative = negative_views_in_memory(self.books.transfers())
        self.books.close()
        if self.schema:
            with self.admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()
        assert report.ok, report
        assert negative == [], negative[:5]

    # ------------------------------------------------------------------ helpers

    def move(self, debit: Key, credit: Key, qty: int) -> None:
        self.posted[debit] -= qty
        self.posted[credit] += qty

    def available(self, key: Key) -> int:
        return self.posted[key] - self.reserved[key]

    def unchanged(self, fn: object, error: type[Exception]) -> None:
        before = self.books.event_count()
        with pytest.raises(error):
            fn()  # type: ignore[operator]
        assert self.books.event_count() == before

    # ------------------------------------------------------------------ rules

    @initialize()
    def load(self) -> None:
        self.books.import_scenario(scenario())

    @rule(lot=st.sampled_from(LOTS))
    def ship(self, lot: str) -> None:
        record = next(x for x in scenario().lots if x.id == lot)
        before = self.books.event_count()
        self.books.ship(record, actor="ops")
        if lot in self.shipped:
            assert self.books.event_count() == before  # replay
            return
        self.shipped.add(lot)
        self.transit_holders[lot].add("a")
        self.move(("vendor:nvidia", Bucket.WORLD, lot), ("org:a", Bucket.IN_TRANSIT, lot), 20)

    @rule(lot=st.sampled_from(LOTS), day=st.sampled_from((ARRIVE, LATE)))
    def receive(self, lot: str, day: date) -> None:
        if lot not in self.shipped:
            self.unchanged(lambda: self.books.receive(lot, day, actor="ops"), d.LedgerError)
            return
        refusal = self.receive_refusal(lot, day)
        if refusal is not None:
            event(f"receive refused: {refusal.__name__}")
            self.unchanged(lambda: self.books.receive(lot, day, actor="ops"), refusal)
            return
        self.books.receive(lot, day, actor="ops")
        event(f"received on {day}")
        for o in sorted(self.transit_holders[lot]):
            key = (f"org:{o}", Bucket.IN_TRANSIT, lot)
            if (o, lot) not in self.received and self.posted[key] > 0:
                self.received[(o, lot)] = day
                if day == LATE:
                    self.late[(f"org:{o}", Bucket.STOCK, lot)] += self.posted[key]
                self.move(key, (f"org:{o}", Bucket.STOCK, lot), self.posted[key])

    def receive_refusal(self, lot: str, day: date) -> type[Exception] | None:
        """What the ledger refuses a receipt with, holders in account order (None: accepted)."""
        for o in sorted(self.transit_holders[lot]):
            key = (f"org:{o}", Bucket.IN_TRANSIT, lot)
            if (o, lot) in self.received:
                if self.received[(o, lot)] != day:
                    return d.IdempotencyConflict  # received before on another day
                continue
            if self.reserved[key]:
                return d.InvalidTransition
            # As of ARRIVE an org holds in transit only what was shipped to it (on SHIP):
            # units it got on ON cannot arrive before it had them.
            shipped_to_it = 20 if o == "a" else 0
            if day < ON and self.posted[key] > shipped_to_it:
                return d.InsufficientUnits
        return None

    @rule(cluster=st.sampled_from(sorted(CLUSTERS)), lot=st.sampled_from(LOTS),
          qty=st.integers(1, 25))  # fmt: skip
    def deploy(self, cluster: str, lot: str, qty: int) -> None:
        org = CLUSTERS[cluster]
        self.counter += 1
        m = d.Movement(f"dep{self.counter}", d.TransferKind.DEPLOY, qty, ON, org, lot=lot,
                       cluster=cluster)  # fmt: skip
        stock = (f"org:{org}", Bucket.STOCK, lot)
        if self.available(stock) - self.late[stock] < qty:  # as of ON: not what came on LATE
            self.unchanged(lambda: self.books.deploy(m, actor="ops"), d.InsufficientUnits)
            return
        self.books.deploy(m, actor="ops")
        event("deployed")
        self.move(stock, (f"cluster:{cluster}", Bucket.DEPLOYED, lot), qty)

    @rule(cluster=st.sampled_from(sorted(CLUSTERS)), lot=st.sampled_from(LOTS),
          qty=st.integers(1, 10))  # fmt: skip
    def fail(self, cluster: str, lot: str, qty: int) -> None:
        org = CLUSTERS[cluster]
        self.counter += 1
        m = d.Movement(f"fail{self.counter}", d.TransferKind.FAIL, qty, ON, org, lot=lot,
                       cluster=cluster)  # fmt: skip
        deployed = (f"cluster:{cluster}", Bucket.DEPLOYED, lot)
        if self.available(deployed) < qty:
            self.unchanged(lambda: self.books.fail(m, actor="ops"), d.InsufficientUnits)
            return
        self.books.fail(m, actor="ops")
        event("failed")
        self.move(deployed, (f"org:{org}", Bucket.FAILED, lot), qty)

    @rule(target=diversions, lot=st.sampled_from(LOTS), giver=st.sampled_from(("a", "a", "b", "c")),
          taker=st.sampled_from(ORGS), qty=st.integers(1, 14))  # fmt: skip
    def propose(self, lot: str, giver: str, taker: str, qty: int) -> str:
        self.counter += 1
        div_id = f"D{self.counter}"
        diversion = d.Diversion(div_id, lot, qty, giver, taker, ON,
                                status=d.DiversionStatus.PENDING)  # fmt: skip
        if giver == taker:
            self.unchanged(lambda: self.books.propose_diversion(diversion, actor="p"),
                           d.LedgerError)  # fmt: skip
            return div_id
        # The giver's bucket is where it holds the lot on ON: units received on LATE
        # were still in transit then (and are no longer there: such a proposal is refused).
        stock = (f"org:{giver}", Bucket.STOCK, lot)
        in_transit = self.posted[(f"org:{giver}", Bucket.IN_TRANSIT, lot)] + self.late[stock] > 0
        bucket = Bucket.IN_TRANSIT if in_transit else Bucket.STOCK
        source = (f"org:{giver}", bucket, lot)
        if self.available(source) - self.late[source] < qty:
            self.unchanged(lambda: self.books.propose_diversion(diversion, actor="p"),
                           d.InsufficientUnits)  # fmt: skip
            return div_id
        self.books.propose_diversion(diversion, actor="p")
        self.reserved[source] += qty
        self.incoming[(f"org:{taker}", bucket, lot)] += qty
        self.proposals[div_id] = (lot, giver, taker, bucket, qty)
        self.status[div_id] = d.DiversionStatus.PENDING
        return div_id

    @precondition(lambda self: bool(self.proposals))
    @rule(div_id=diversions)
    def replay_proposal(self, div_id: str) -> None:
        if div_id not in self.proposals:
            return
        lot, giver, taker, _, qty = self.proposals[div_id]
        same = d.Diversion(div_id, lot, qty, giver, taker, ON, status=d.DiversionStatus.PENDING)
        before = self.books.event_count()
        self.books.propose_diversion(same, actor="someone")
        assert self.books.event_count() == before
        other = d.Diversion(div_id, lot, qty + 1, giver, taker, ON,
                            status=d.DiversionStatus.PENDING)  # fmt: skip
        self.unchanged(lambda: self.books.propose_diversion(other, actor="p"),
                       d.IdempotencyConflict)  # fmt: skip

    @rule(div_id=consumes(diversions), decision=st.sampled_from(list(Decision)))
    def decide(self, div_id: str, decision: Decision) -> None:
        if div_id not in self.proposals:
            self.unchanged(
                lambda: self.books.decide(div_id, decision, actor="q", on=ON), d.GpuledgerError
            )
            return
        status = self.status[div_id]
        lot, giver, taker, bucket, qty = self.proposals[div_id]
        wanted = {
            Decision.APPROVE: d.DiversionStatus.POSTED,
            Decision.REJECT: d.DiversionStatus.VOIDED,
            Decision.VOID: d.DiversionStatus.VOIDED,
        }.get(decision)
        if wanted is None or status is not d.DiversionStatus.PENDING:
            self.unchanged(
                lambda: self.books.decide(div_id, decision, actor="q", on=ON), d.InvalidTransition
            )
            return
        assert self.books.decide(div_id, decision, actor="q", on=ON) is wanted
        event(f"diversion {wanted.value} from {bucket.value}")
        before = self.books.event_count()
        assert self.books.decide(div_id, decision, actor="q2", on=ON) is wanted  # replay
        assert self.books.event_count() == before
        source, dest = (f"org:{giver}", bucket, lot), (f"org:{taker}", bucket, lot)
        self.reserved[source] -= qty
        self.incoming[dest] -= qty
        if wanted is d.DiversionStatus.POSTED:
            self.move(source, dest, qty)
            if bucket is Bucket.IN_TRANSIT:
                self.transit_holders[lot].add(taker)
        self.status[div_id] = wanted

    # ------------------------------------------------------------------ invariants

    @invariant()
    def a_day_passes(self) -> None:
        """Not a check: each step is recorded on a day of its own (known_on views differ)."""
        self.clock.advance()

    @invariant()
    def books_match_the_model(self) -> None:
        want: dict[tuple[str, Bucket], tuple[int, int]] = {}
        for key in set(self.posted) | set(self.reserved) | set(self.incoming):
            owner, bucket, _ = key
            p, q = want.get((owner, bucket), (0, 0))
            want[(owner, bucket)] = (
                p + self.posted[key],
                q + self.incoming[key] - self.reserved[key],
            )
        want = {k: v for k, v in want.items() if v != (0, 0)}
        balances = self.books.balances()
        got = {(b.owner, b.bucket): (b.posted, b.pending) for b in balances}
        assert got == want
        assert sum(b.posted for b in balances) == 0  # one SKU: conservation
        for key in self.posted:
            if key[1] is not Bucket.WORLD:
                assert self.posted[key] - self.reserved[key] >= 0, key


LedgerMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("GPULEDGER_STATEFUL_EXAMPLES", "40")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerSqlite = LedgerMachine.TestCase


@pytest.mark.postgres
def test_state_machine_on_postgres(postgres_url: str) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    class OnPostgres(LedgerMachine):
        url = postgres_url

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
