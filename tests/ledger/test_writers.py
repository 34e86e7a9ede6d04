"""Writers of one process queue on the engine's writer lock, not in SQLite's busy handler.

SQLite's busy handler sleeps 1, 2, 5 ... 100 ms between tries, so a writer that
finds the database locked by another thread of the same process wakes up well
after the lock is free. The engine makes such writers wait on an in-process lock
instead, which hands over at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from gpuledger.ledger import Ledger
from gpuledger.ledger.engine import WRITE


def test_a_second_writer_in_the_process_waits_for_the_first_instead_of_failing(
    tmp_path: Path,
) -> None:
    books = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}")
    engine = books.engine
    began, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            began.set()
            release.wait(30)

    def second() -> None:
        try:
            with engine.connect().execution_options(**{WRITE: True}) as conn:
                # No busy waiting in SQLite: a writer that reaches BEGIN IMMEDIATE
                # while another connection holds the lock fails at once.
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA busy_timeout=0")
                try:
                    with conn.begin():
                        conn.execute(text("INSERT INTO t VALUES (1)"))
                finally:
                    raw.execute("PRAGMA busy_timeout=60000")
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        holder = threading.Thread(target=first)
        holder.start()
        assert began.wait(30)
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.5)  # it waits (on the lock) rather than failing
        assert waiter.is_alive() or errors == [], errors
        release.set()
        holder.join(30)
        waiter.join(30)
        assert errors == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    finally:
        release.set()
        books.close()
