"""Idempotency and immutable content: what "the same operation again" means.

Every operation carries an id (given, or derived in ``gpuledger.domain.ids``).
The same id with the same content is a no-op; with other content it is refused
(:class:`IdempotencyConflict`). Documents are versioned by content instead; a
diversion, once proposed, is the exception: its content is fixed under its id.

An API request's ``Idempotency-Key`` is claimed inside the transaction of the
write it protects (:class:`Reservation`, :func:`claim_in`): the ledger's unit of
work claims it right after taking the write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gpuledger.domain import IdempotencyConflict
from gpuledger.ledger.codec import to_json
from gpuledger.ledger.results import EventKind, Operation

#: A proposal's content: what approvers approve. ``status`` is the books' state,
#: ``proposed_by`` and ``known_on`` are facts of the first proposal (who, and
#: when the books learned of it): a later proposal of the same content keeps them.
DIVERSION_CONTENT = ("lot", "qty", "from_org", "to_org", "on", "payback", "reason", "source")


#: A value as plain JSON types, equal to what the log stores once read back.
normal = to_json


def _without_source(inputs: Any) -> Any:
    """What operation idempotency compares: the input without its ``source`` (a note)."""
    if isinstance(inputs, dict):
        return {k: v for k, v in inputs.items() if k != "source"}
    return inputs


def replayed(
    prior: tuple[str, dict[str, Any]] | None, event_id: str, op: Operation, inputs: Any
) -> bool:
    """True when ``prior`` (the stored event with this id) is this operation again.

    ``prior`` is (kind, body) or None when the id is new; ``inputs`` holds plain
    JSON values (dates as ISO strings), as the log stores them. Raises
    IdempotencyConflict naming the id when the stored event differs.
    """
    if prior is None:
        return False
    kind, body = prior
    if (
        kind != EventKind.OPERATION.value
        or body.get("op") != op.value
        or _without_source(body.get("input")) != _without_source(inputs)
    ):
        raise IdempotencyConflict(
            f"operation {event_id!r} was recorded before with different content "
            f"({_differing(body.get('op'), op.value, body.get('input'), inputs)}); "
            "use a new id or reverse the first one"
        )
    return True


def _differing(stored_op: Any, op: str, stored: Any, inputs: Any) -> str:
    """Which fields differ, never their stored values (the id may be another org's record)."""
    if stored_op != op:
        return "another operation"
    if not isinstance(stored, dict) or not isinstance(inputs, dict):
        return "another input"
    a, b = _without_source(stored), _without_source(inputs)
    keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
    return "differs in: " + ", ".join(keys)


def diversion_changes(stored: dict[str, Any], proposed: dict[str, Any]) -> list[str]:
    """The content fields (``DIVERSION_CONTENT``) in which two diversion documents differ.

    Both are documents as stored (``normal`` of a Diversion); a field missing
    from an older document counts as empty.
    """
    empty: dict[str, Any] = {"payback": []}
    return [
        f for f in DIVERSION_CONTENT if stored.get(f, empty.get(f)) != proposed.get(f, empty.get(f))
    ]


def refuse_changes(diversion_id: str, stored: dict[str, Any], proposed: dict[str, Any]) -> None:
    """Raise IdempotencyConflict when a proposed diversion's content differs from the stored one."""
    changed = diversion_changes(stored, proposed)
    if changed:
        # Field names only: the stored diversion may be between orgs the caller cannot see.
        raise IdempotencyConflict(
            f"diversion {diversion_id!r} was proposed with other content (differs in: "
            f"{', '.join(changed)}); "
            "a diversion's content is fixed once proposed: void it and propose a new id"
        )


# --------------------------------------------------------------------------- request keys


class KeyTaken(Exception):
    """Another request already holds this Idempotency-Key; this write must not run."""


@dataclass
class Reservation:
    """An API request's Idempotency-Key, to be claimed inside its write's own transaction.

    ``claim`` inserts the key's row on the write's connection (raising KeyTaken
    when the row exists), so the write and the key commit together or not at
    all: a concurrent request with the same key never runs its write.
    ``committed`` turns true once a write transaction holding the claim commits.
    """

    claim: Callable[[Connection], None]
    committed: bool = False


_RESERVATION: ContextVar[Reservation | None] = ContextVar("gpuledger_reservation", default=None)


@contextmanager
def reserving(reservation: Reservation) -> Iterator[Reservation]:
    """Hold ``reservation`` for the writes made in this context (this request's thread)."""
    token = _RESERVATION.set(reservation)
    try:
        yield reservation
    finally:
        _RESERVATION.reset(token)


def claim_in(conn: Connection) -> Reservation | None:
    """Claim this context's reservation inside the write transaction of ``conn``.

    None when there is none, or when an earlier write of the same request
    committed it already. Raises KeyTaken (the transaction must roll back).
    """
    reservation = _RESERVATION.get()
    if reservation is None or reservation.committed:
        return None
    reservation.claim(conn)
    return reservation
