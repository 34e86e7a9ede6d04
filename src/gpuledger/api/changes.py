"""Query parameters of ``GET /impact``, in the syntax of ``gpuledger impact``.

The shapes come from :mod:`gpuledger.services.requests` (the one parser of
``divert=LOT:QTY:FROM:TO``, ``payback=LOT:QTY``, ``slip=LOT:DAYS``,
``new_order=ORG:VENDOR:SKU:QTY``, ``priority=TARGET:PRIORITY``), stated here as
patterns so the OpenAPI names them and a malformed value is a 422 naming the
parameter; ``services.requests.parse_change`` then checks the numbers' bounds
and builds the planning change, for the API as for the CLI.
"""

from __future__ import annotations

from re import Pattern
from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

from gpuledger.services.requests import (
    DIVERT_SHAPE,
    NEW_ORDER_SHAPE,
    PAYBACK_SHAPE,
    PRIORITY_SHAPE,
    SLIP_SHAPE,
)


def _whole(shape: Pattern[str]) -> str:
    return f"^{shape.pattern}$"


DivertQuery = Annotated[
    str | None,
    Query(
        pattern=_whole(DIVERT_SHAPE),
        max_length=700,
        description="LOT:QTY:FROM:TO, a hypothetical diversion on `on` (as `impact --divert`).",
    ),
]
PaybackQuery = Annotated[
    list[Annotated[str, StringConstraints(pattern=_whole(PAYBACK_SHAPE), max_length=300)]] | None,
    Query(
        max_length=100,
        description="LOT:QTY of the receiver's lot paid back to the giver (repeatable; "
        "with `divert` only).",
    ),
]
SlipQuery = Annotated[
    str | None,
    Query(
        pattern=_whole(SLIP_SHAPE),
        max_length=300,
        description="LOT:DAYS, a lot arriving DAYS later (negative: earlier).",
    ),
]
NewOrderQuery = Annotated[
    str | None,
    Query(
        pattern=_whole(NEW_ORDER_SHAPE),
        max_length=700,
        description="ORG:VENDOR:SKU:QTY, a new order placed on `on`.",
    ),
]
PriorityQuery = Annotated[
    str | None,
    Query(
        pattern=_whole(PRIORITY_SHAPE),
        max_length=300,
        description="TARGET:PRIORITY, a target's priority changed (1 = highest).",
    ),
]
