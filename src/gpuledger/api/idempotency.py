"""``Idempotency-Key`` on writes: the same key and body replay the stored response.

Keys are scoped per user. The same key with a different request (method, path
or body) is refused with 409. Responses are stored for 2xx and 4xx answers (a
refused write is refused again on replay); nothing is stored when the handler
crashes, so a retry after a 5xx runs again (the ledger's own operation ids keep
that safe).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from gpuledger.domain import GpuledgerError, IdempotencyConflict
from gpuledger.governance import tables
from gpuledger.ledger import record_digests

_WRITE = "gpuledger_write"  # the ledger's option: SQLite takes the write lock at BEGIN

Outcome = tuple[int, Any]  # status code, JSON body


def request_hash(method: str, path: str, body: Any) -> str:
    """SHA-256 of the request as the key protects it (canonical JSON body)."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyStore:
    """Stored responses by (user, key)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def _stored(self, user: str, key: str) -> tuple[str, int, Any] | None:
        c = tables.idempotency.c
        with self._engine.connect() as conn, conn.begin():
            row = conn.execute(
                select(c.request_hash, c.status_code, c.body).where(
                    c.user_name == user, c.key == key
                )
            ).first()
        return (
            None if row is None else (row.request_hash, int(row.status_code), json.loads(row.body))
        )

    def run(
        self,
        user: str,
        key: str,
        digest: str,
        handler: Callable[[], Outcome],
        on_error: Callable[[GpuledgerError], Outcome],
    ) -> Outcome:
        """Replay the stored outcome of ``key``, or run ``handler`` and store its outcome."""
        stored = self._stored(user, key)
        if stored is not None:
            return self._replay(key, digest, stored)
        try:
            outcome = handler()
        except GpuledgerError as exc:
            outcome = on_error(exc)
        status, body = outcome
        try:
            with self._engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
                conn.execute(
                    insert(tables.idempotency).values(
                        user_name=user,
                        key=key,
                        request_hash=digest,
                        status_code=status,
                        body=json.dumps(body),
                        created_at=self._clock(),
                    )
                )
                record_digests.link(conn, tables.idempotency, [user, key])  # audit verify checks
        except IntegrityError:
            stored = self._stored(user, key)  # a concurrent request with the same key won
            if stored is not None:
                return self._replay(key, digest, stored)
        return outcome

    @staticmethod
    def _replay(key: str, digest: str, stored: tuple[str, int, Any]) -> Outcome:
        stored_digest, status, body = stored
        if stored_digest != digest:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was used before for a different request; "
                "use a new key for a new request"
            )
        return status, body
