"""The governance in force for the current call: how the ledger's posting hook finds it.

Interfaces resolve the :class:`~gpuledger.governance.rules.Directory` (grants and
org groups) from the database and run the ledger's ``decide`` inside
:func:`governed`; the ledger's ``_may_post`` hook then asks the rules. With no
directory in force the hook keeps the ledger's own behaviour (books without
governance: tests, imports of history).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from gpuledger.domain import Diversion
from gpuledger.governance.rules import Directory, approval_state


@dataclass(frozen=True)
class Governed:
    """A directory in force and the approvals recorded before this call."""

    directory: Directory
    prior_approvers: tuple[str, ...] = ()


_CURRENT: ContextVar[Governed | None] = ContextVar("gpuledger_governance", default=None)


@contextmanager
def governed(directory: Directory, prior_approvers: Sequence[str] = ()) -> Iterator[Governed]:
    """Put ``directory`` in force for the calls made inside the block."""
    value = Governed(directory, tuple(prior_approvers))
    token = _CURRENT.set(value)
    try:
        yield value
    finally:
        _CURRENT.reset(token)


def current() -> Governed | None:
    """The governance in force, None outside :func:`governed`."""
    return _CURRENT.get()


def may_post(diversion: Diversion, approvals: Sequence[str], actor: str) -> bool:
    """The ledger hook's answer: True when the approvals so far complete ``diversion``.

    Outside :func:`governed` it answers True (the first approval posts, as the
    ledger does without governance).
    """
    g = current()
    if g is None:
        return True
    approvers = [*g.prior_approvers, *approvals, actor]
    return approval_state(diversion, approvers, g.directory).complete
