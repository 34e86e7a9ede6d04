"""The no-negative grid: every (as_of, known_on) view over the event dates of some books.

A view holds a negative balance when an org or cluster account has fewer units
of a lot than zero, counting its pending debits, as of one day and as known on
another. The views checked are every pair of (an effective day of a transfer,
or everything) and (a recorded day of a transfer, or everything): between two
such days nothing changes, so these pairs are every view there is.
"""

from __future__ import annotations

from datetime import date

from gpuledger.domain import Bucket
from gpuledger.ledger import Ledger, Transfer
from gpuledger.ledger.balances import fold

View = tuple[date | None, date | None]


def views(rows: list[Transfer]) -> list[View]:
    """Every (as_of, known_on) pair over the days of ``rows`` (None: everything)."""
    effective = sorted({t.effective_at.date() for t in rows})
    recorded = sorted({t.recorded_at.date() for t in rows})
    return [(a, k) for a in [*effective, None] for k in [*recorded, None]]


def negative_views(ledger: Ledger) -> list[tuple[View, str, str, int]]:
    """Each view, account and lot whose available units (posted minus reserved) are below zero."""
    rows = ledger.transfers()
    found = []
    for as_of, known_on in views(rows):
        window = ledger.transfers(as_of, known_on)
        for (account, _, lot), b in fold(window).items():
            if account.bucket is not Bucket.WORLD and b.posted - b.pend_debit < 0:
                found.append(((as_of, known_on), str(account), lot, b.posted - b.pend_debit))
    return found


def negative_views_in_memory(rows: list[Transfer]) -> list[tuple[View, str, str, int]]:
    """:func:`negative_views` over transfer rows already read (one read for many views)."""
    found = []
    for as_of, known_on in views(rows):
        window = [
            t
            for t in rows
            if (as_of is None or t.effective_at.date() <= as_of)
            and (known_on is None or t.recorded_at.date() <= known_on)
        ]
        for (account, _, lot), b in fold(window).items():
            if account.bucket is not Bucket.WORLD and b.posted - b.pend_debit < 0:
                found.append(((as_of, known_on), str(account), lot, b.posted - b.pend_debit))
    return found
