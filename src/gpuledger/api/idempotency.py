"""``Idempotency-Key`` on writes: the same key and body replay the stored response.

Keys are scoped per user. The same key with a different request (method, path
or body) is refused with 409. The key is claimed inside the transaction of the
write it protects (``ledger.idempotency.Reservation``): of two concurrent
requests with one key, the second finds the key taken when it gets the write
lock, rolls back and never writes; it then replays the first one's answer (same
body) or is 409 (another body).

Answers are stored for 2xx and 4xx: a refused write is refused again on replay.
Three refusals are not stored: invalid input and a caller without the role
(they depend on the request and the caller alone, and a hostile client must
not fill the table with them), and a crash (5xx), so a retry runs again (the
ledger's own operation ids keep that safe). A claimed key whose answer is not
stored yet holds :data:`PENDING` as its status.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from gpuledger.domain import GpuledgerError, IdempotencyConflict, InvalidInput, PermissionDenied
from gpuledger.governance import tables
from gpuledger.ledger import record_digests
from gpuledger.ledger.idempotency import KeyTaken, Reservation, reserving

_WRITE = "gpuledger_write"  # the ledger's option: SQLite takes the write lock at BEGIN
#: The status of a key claimed by a write whose answer is not stored yet.
PENDING: Final = 0
#: How long a replay waits for the answer of a concurrent request with its key.
WAIT_SECONDS: Final = 5.0

Outcome = tuple[int, Any]  # status code, JSON body
Stored = tuple[str, int, Any]  # request hash, status code, JSON body


def request_hash(method: str, path: str, body: Any) -> str:
    """SHA-256 of the request as the key protects it (canonical JSON body)."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyStore:
    """Stored responses by (user, key)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def _stored(self, user: str, key: str) -> Stored | None:
        with self._engine.connect() as conn, conn.begin():
            row = conn.execute(_STORED, {"b_user": user, "b_key": key}).first()
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
        """Replay the stored outcome of ``key``, or run ``handler`` and store its outcome.

        Raises IdempotencyConflict (409) when the key was used for another request.
        """
        # 1. A key seen before: replay (or wait for the concurrent request holding it).
        stored = self._stored(user, key)
        if stored is not None:
            return self._replay(user, key, digest, stored)
        # 2. Run the write with the key claimed inside its transaction.
        reservation = Reservation(lambda conn: self._claim(conn, user, key, digest))
        try:
            with reserving(reservation):
                outcome = handler()
        except KeyTaken:
            return self._replay(user, key, digest, self._stored(user, key))
        except GpuledgerError as exc:
            outcome = on_error(exc)
            if isinstance(exc, InvalidInput | PermissionDenied) and not reservation.committed:
                return outcome
        # 3. Store the answer: on the claimed row, or a new row when nothing was written.
        if reservation.committed:
            self._finish(user, key, outcome)
            return outcome
        try:
            with self._writing() as conn, conn.begin():
                self._insert(conn, user, key, digest, outcome)
        except IntegrityError:  # a concurrent request with the same key stored first
            return self._replay(user, key, digest, self._stored(user, key))
        return outcome

    def _writing(self) -> Any:
        return self._engine.connect().execution_options(**{_WRITE: True})

    def _claim(self, conn: Connection, user: str, key: str, digest: str) -> None:
        """Insert the key's row, pending, on the write's own connection (in its transaction)."""
        try:
            self._insert(conn, user, key, digest, (PENDING, None))
        except IntegrityError as exc:  # the whole write transaction rolls back
            raise KeyTaken(key) from exc

    def _insert(self, conn: Connection, user: str, key: str, digest: str, outcome: Outcome) -> None:
        status, body = outcome
        record_digests.lock(conn)  # lock, then write: the order every writer keeps
        conn.execute(
            _INSERT,
            {
                "user_name": user,
                "key": key,
                "request_hash": digest,
                "status_code": status,
                "body": json.dumps(body),
                "created_at": self._clock(),
            },
        )
        record_digests.link(conn, tables.idempotency, [user, key])  # audit verify checks it

    def _finish(self, user: str, key: str, outcome: Outcome) -> None:
        status, body = outcome
        with self._writing() as conn, conn.begin():
            record_digests.lock(conn)
            values = {"b_user": user, "b_key": key, "b_status": status, "b_body": json.dumps(body)}
            conn.execute(_FINISH, values)
            record_digests.link(conn, tables.idempotency, [user, key])  # the answer, digested

    def _replay(self, user: str, key: str, digest: str, stored: Stored | None) -> Outcome:
        """The stored answer of ``key`` for the same request; 409 for another request."""
        deadline = time.monotonic() + WAIT_SECONDS
        while stored is not None and stored[0] == digest and stored[1] == PENDING:
            if time.monotonic() > deadline:
                raise IdempotencyConflict(
                    f"a request with Idempotency-Key {key!r} is still running (or its answer "
                    "was lost); read the record to see whether it was written"
                )
            time.sleep(0.05)
            stored = self._stored(user, key)
        assert stored is not None, "a claimed key is never deleted"
        stored_digest, status, body = stored
        if stored_digest != digest:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was used before for a different request; "
                "use a new key for a new request"
            )
        return status, body


# The store's statements, built once: every write runs three of them.
_KEY = (
    tables.idempotency.c.user_name
    == bindparam("b_user", type_=tables.idempotency.c.user_name.type),
    tables.idempotency.c.key == bindparam("b_key", type_=tables.idempotency.c.key.type),
)
_STORED = select(
    tables.idempotency.c.request_hash, tables.idempotency.c.status_code, tables.idempotency.c.body
).where(*_KEY)
_INSERT = insert(tables.idempotency)
_FINISH = (
    update(tables.idempotency)
    .where(*_KEY)
    .values(status_code=bindparam("b_status"), body=bindparam("b_body"))
)
