"""Every derived id of gpuledger, in one place.

An operation's id is its idempotency key: the same operation reached from a
scenario file, the CLI, the API or the web must get the same id, or the books
count it twice. Event ids of the ledger are derived here too, so no module
spells an id with an f-string of its own.
"""

from __future__ import annotations

from datetime import date

from gpuledger.domain.enums import Decision, TransferKind


def movement_id(
    op: TransferKind, on: date, org: str, qty: int, *, lot: str | None, cluster: str | None
) -> str:
    """The id of a deploy, fail or return given without one: its content, so replays agree.

    Edge cases: a movement with neither cluster nor lot keeps an empty place.
    """
    where = cluster or lot or ""
    return f"{op.value}-{on.isoformat()}-{org}-{where}-{qty}"


def diversion_id(on: date, lot: str, from_org: str, to_org: str, qty: int) -> str:
    """The id of a diversion given without one (scenario files may omit it)."""
    return f"divert-{on.isoformat()}-{lot}-{from_org}-{to_org}-{qty}"


# --------------------------------------------------------------------------- ledger events


def ship_event(lot: str) -> str:
    """The event shipping a lot (one per lot)."""
    return f"ship:{lot}"


def receive_event(lot: str, owner: str) -> str:
    """The event receiving what ``owner`` has of a lot in transit."""
    return f"receive:{lot}:{owner}"


def movement_event(movement: str) -> str:
    """The event of a deploy, fail or return movement."""
    return f"movement:{movement}"


def divert_event(diversion: str) -> str:
    """The pending transfer that reserves a diversion's units."""
    return f"divert:{diversion}"


def post_event(diversion: str) -> str:
    """The transfer posting a diversion."""
    return f"post:{diversion}"


def void_event(diversion: str) -> str:
    """The transfer voiding a diversion."""
    return f"void:{diversion}"


def payback_event(diversion: str, lot: str) -> str:
    """The transfer paying back a diversion from one of the receiver's lots."""
    return f"payback:{diversion}:{lot}"


def decision_event(diversion: str, decision: Decision, actor: str) -> str:
    """One person's decision on a diversion."""
    return f"decide:{diversion}:{decision.value}:{actor}"


def decision_prefix(diversion: str) -> str:
    """The common prefix of every decision event of a diversion."""
    return f"decide:{diversion}:"


def reversal_event(transfer: str) -> str:
    """The transfer reversing an earlier one."""
    return f"reverse:{transfer}"


def document_event(kind: str, record: str, digest: str, n: int = 0) -> str:
    """A document version's event: the record and a prefix of its content hash.

    ``n`` > 0 disambiguates a version whose content returns to an earlier one.
    """
    base = f"doc:{kind}:{record}:{digest[:16]}"
    return f"{base}:{n}" if n else base


def new_order_change(org: str, vendor: str, sku: str, on: date) -> str:
    """The id of a hypothetical order in an impact analysis."""
    return f"new-order:{org}:{vendor}:{sku}:{on.isoformat()}"


def movement_piece(movement: str, n: int) -> str:
    """The ``n``-th transfer of a movement (one per lot and account it takes units from)."""
    return f"{movement_event(movement)}:{n}"


def movements_prefix() -> str:
    """What every movement event id starts with (a :func:`movement_event`)."""
    return movement_event("")


def proposals_prefix() -> str:
    """What every proposal event id starts with (a :func:`divert_event`)."""
    return divert_event("")


def proposed_diversion(event_id: str) -> str:
    """The diversion a proposal event names: the inverse of :func:`divert_event`.

    Raises ValueError when ``event_id`` is not a proposal's.
    """
    prefix = proposals_prefix()
    if not event_id.startswith(prefix):
        raise ValueError(f"event {event_id!r} is not a proposal (it does not start {prefix!r})")
    return event_id[len(prefix) :]


def decisions_prefix() -> str:
    """What every decision event id starts with (a :func:`decision_event`)."""
    return "decide:"
