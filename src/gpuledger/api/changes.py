"""Query parameters of ``GET /impact`` into a planning change, as ``gpuledger impact`` parses them.

The values use the CLI's syntax (``divert=LOT:QTY:FROM:TO``, ``payback=LOT:QTY``,
``slip=LOT:DAYS``, ``new_order=ORG:VENDOR:SKU:QTY``, ``priority=TARGET:PRIORITY``);
their shape is checked by the patterns below (so a malformed value is a 422
naming the parameter before any code runs), and ``services.parse_change``
builds the planning change, for the API as for the CLI. Numbers are bounded
(quantities up to 12 digits, a slip up to 5 digits of days, a priority from 1 to 6
digits, as scenarios require) so no value overflows the planner's int64 arrays.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

_ID = r"[^:\s/]+"
_QTY = r"[0-9]{1,12}"

DIVERT_PATTERN = rf"^{_ID}:{_QTY}:{_ID}:{_ID}$"
PAYBACK_PATTERN = rf"^{_ID}:{_QTY}$"
SLIP_PATTERN = rf"^{_ID}:[+-]?[0-9]{{1,5}}$"
NEW_ORDER_PATTERN = rf"^{_ID}:{_ID}:{_ID}:{_QTY}$"
PRIORITY_PATTERN = rf"^{_ID}:[1-9][0-9]{{0,5}}$"  # priorities start at 1, as in scenarios

DivertQuery = Annotated[
    str | None,
    Query(
        pattern=DIVERT_PATTERN,
        max_length=700,
        description="LOT:QTY:FROM:TO, a hypothetical diversion on `on` (as `impact --divert`).",
    ),
]
PaybackQuery = Annotated[
    list[Annotated[str, StringConstraints(pattern=PAYBACK_PATTERN, max_length=300)]] | None,
    Query(
        max_length=100,
        description="LOT:QTY of the receiver's lot paid back to the giver (repeatable; "
        "with `divert` only).",
    ),
]
SlipQuery = Annotated[
    str | None,
    Query(
        pattern=SLIP_PATTERN,
        max_length=300,
        description="LOT:DAYS, a lot arriving DAYS later (negative: earlier).",
    ),
]
NewOrderQuery = Annotated[
    str | None,
    Query(
        pattern=NEW_ORDER_PATTERN,
        max_length=700,
        description="ORG:VENDOR:SKU:QTY, a new order placed on `on`.",
    ),
]
PriorityQuery = Annotated[
    str | None,
    Query(
        pattern=PRIORITY_PATTERN,
        max_length=300,
        description="TARGET:PRIORITY, a target's priority changed (1 = highest).",
    ),
]
