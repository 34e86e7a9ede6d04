"""The invariants of a unit of work, asserted before it is written (always on, cheap).

After a unit of work, for every lot it touched (a lot has one SKU):

1. its units sum to zero over all accounts: posted units, and pending debits
   against pending credits (conservation, per SKU);
2. no org or cluster account holds fewer than zero units of the lot, counting
   its pending debits.

The verbs refuse whatever would break these; a failure here is a bug in the
ledger, so it raises :class:`AssertionError` and nothing is written. The cost
is one pass over the accounts of the touched lots (a handful each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from gpuledger.domain import Account
from gpuledger.ledger.balances import Bal


class Balances(Protocol):
    """A lot's balances by account: a ``LotBook``, or the batch lane's tally."""

    @property
    def bal(self) -> Mapping[Account, Bal]:
        """Units per account of the lot."""
        ...


class InvariantBroken(AssertionError):
    """A unit of work would break an invariant of the books (a bug, never bad input)."""


def check_unit_of_work(books: Mapping[str, Balances], touched: Iterable[str]) -> None:
    """Assert conservation and no negative org or cluster account for each touched lot.

    ``books`` maps lot ids to their books; ``touched`` holds the lots a unit of
    work changed.
    """
    for lot in touched:
        posted = reserved = incoming = 0
        for account, b in books[lot].bal.items():
            posted += b.posted
            reserved += b.pend_debit
            incoming += b.pend_credit
            if (b.posted < 0 or b.posted < b.pend_debit) and not account.may_go_negative:
                raise InvariantBroken(
                    f"{account} holds {b.posted} unit(s) of lot {lot} with {b.pend_debit} "
                    "reserved: below zero"
                )
        if posted != 0 or reserved != incoming:
            raise InvariantBroken(
                f"lot {lot}: units do not sum to zero over its accounts (posted {posted}, "
                f"pending debits {reserved}, pending credits {incoming})"
            )
