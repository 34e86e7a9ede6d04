"""The ledger's verbs: each queues events on a unit of work (``ledger.work.Work``).

- :mod:`~gpuledger.ledger.verbs.lots`: orders, shipments and receipts
- :mod:`~gpuledger.ledger.verbs.movements`: deploy, fail and return
- :mod:`~gpuledger.ledger.verbs.diversions`: proposals, decisions and paybacks
- :mod:`~gpuledger.ledger.verbs.reversals`: corrections by reversing transfers

Every verb checks its records with the rules of ``gpuledger.domain.rules`` (the
ones the scenario reader applies), takes its ids from ``gpuledger.domain.ids``,
and writes nothing itself: the unit of work does, all or nothing.
"""

from __future__ import annotations

from gpuledger.ledger.verbs.diversions import decide, payback, propose, record_diversion
from gpuledger.ledger.verbs.lots import check_consignee, order, receive, ship
from gpuledger.ledger.verbs.movements import movement
from gpuledger.ledger.verbs.reversals import reverse

__all__ = [
    "check_consignee",
    "decide",
    "movement",
    "order",
    "payback",
    "propose",
    "receive",
    "record_diversion",
    "reverse",
    "ship",
]
