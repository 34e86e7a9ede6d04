"""Corrections: ``POST /transfers/{id}/reverse`` (``gpuledger reverse TRANSFER --reason TEXT``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from gpuledger.api.deps import Books, Idempotency, Key, PathId, Who, seen, write
from gpuledger.api.schemas import model_of
from gpuledger.domain.limits import TEXT_MAX_LEN
from gpuledger.services.corrections import Reversal, reverse

router = APIRouter(tags=["ledger"])


class ReverseIn(BaseModel):
    """Why the transfer is reversed (recorded on the reversal's event)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX_LEN)]


@router.post("/transfers/{transfer_id}/reverse", response_model=model_of(Reversal))
def reverse_transfer(
    request: Request,
    books: Books,
    store: Idempotency,
    who: Who,
    key: Key,
    transfer_id: PathId,
    body: ReverseIn,
) -> JSONResponse:
    """Reverse a posted transfer (planner of every org it moves): units move back, both stay."""

    def run() -> dict[str, Any]:
        done = reverse(
            books.ledger,
            transfer_id,
            reason=body.reason,
            actor=who.user,
            seen=seen(books, who),
            access=who.access,
        )
        return done.to_json()

    return write(request, store, who, key, body, run)
