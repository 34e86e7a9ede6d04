"""A prefix test with the prefix bound later finds exactly what ``starts_with`` finds.

``diversion_views`` reads a few diversions' decision events with a statement built
once, whose prefixes are bind parameters (``starts_with_param``, ``prefix_params``);
``starts_with`` writes them into the statement. On PostgreSQL both are an escaped
``LIKE`` (``_``, ``%`` and ``/`` in an id are literal), on SQLite a range.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from gpuledger.ledger import Ledger, schema
from gpuledger.ledger.queries import prefix_params, starts_with, starts_with_param

IDS = [
    "op:decide:D_1:", "op:decide:D_1:approve", "op:decide:DX1:approve", "op:decide:D%1:x",
    "op:decide:D/1:x", "op:decide:D//1:x", "op:decide:D", "op:decide:D_10:reject",
    "op:decide:d_1:x", "op:decide:D_1", "op:decidf", "op:decide:D\u00e91:x",
]  # fmt: skip
AT = datetime(2024, 1, 1, tzinfo=UTC)
PREFIXES = ["op:decide:D_1:", "op:decide:D%1:", "op:decide:D/1:", "op:decide:D", "op:decide:"]


def test_bound_prefixes_find_what_written_ones_find(ledger_url: str) -> None:
    books = Ledger.open(ledger_url)
    ev = schema.events.c
    try:
        with books.engine.begin() as conn:
            conn.execute(
                schema.events.insert(),
                [
                    {"seq": 10_000 + i, "id": x, "kind": "operation", "body": "{}",
                     "actor": "t", "effective_at": AT, "recorded_at": AT,
                     "prev_hash": "0", "hash": "0"}
                    for i, x in enumerate(IDS)
                ],
            )  # fmt: skip
            dialect = conn.dialect.name
            bound = select(ev.id).where(starts_with_param(dialect, ev.id, "p"))
            for prefix in PREFIXES:
                written = select(ev.id).where(starts_with(dialect, ev.id, prefix))
                expected = {x for x in IDS if x.startswith(prefix)}
                found = set(conn.execute(bound, prefix_params(dialect, "p", prefix)).scalars())
                assert found == expected, prefix
                assert set(conn.execute(written).scalars()) == expected, prefix
            conn.rollback()
    finally:
        books.close()
