"""The invariants of a unit of work, asserted before it is written (always on, cheap).

After a unit of work, for every lot it touched (a lot has one SKU):

1. its units sum to zero over all accounts: posted units, and pending debits
   against pending credits (conservation, per SKU);
2. no org or cluster account it touched holds fewer than zero units of the lot,
   counting its pending debits.

The verbs refuse whatever would break these; a failure here is a bug in the
ledger, so it raises :class:`AssertionError` and nothing is written. The cost
is one pass over the accounts of the touched lots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gpuledger.domain import Account
from gpuledger.ledger.balances import LotBook


class InvariantBroken(AssertionError):
    """A unit of work would break an invariant of the books (a bug, never bad input)."""


def check_unit_of_work(
    books: Mapping[str, LotBook], touched: Iterable[tuple[str, Account]]
) -> None:
    """Assert conservation for each touched lot and no negative touched account.

    ``books`` maps lot ids to their books; ``touched`` holds (lot, account) pairs.
    """
    touched = list(touched)
    for lot in sorted({lot for lot, _ in touched}):
        book = books[lot]
        posted = sum(b.posted for b in book.bal.values())
        reserved = sum(b.pend_debit for b in book.bal.values())
        incoming = sum(b.pend_credit for b in book.bal.values())
        if posted != 0 or reserved != incoming:
            raise InvariantBroken(
                f"lot {lot}: units do not sum to zero over its accounts (posted {posted}, "
                f"pending debits {reserved}, pending credits {incoming})"
            )
    for lot, account in touched:
        if account.may_go_negative:
            continue
        b = books[lot].bal.get(account)
        if b is not None and (b.posted < 0 or b.available < 0):
            raise InvariantBroken(
                f"{account} holds {b.posted} unit(s) of lot {lot} with {b.pend_debit} "
                "reserved: below zero"
            )
