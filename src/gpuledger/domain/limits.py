"""Bounds on every input, stated once and applied on every path (file, CLI, API, web).

A value outside these bounds is refused where it enters with an
:class:`~gpuledger.domain.errors.OutOfBounds` naming the field; nothing stored
can then make a read fail. The numbers are generous for real fleets (a
hyperscaler orders hundreds of thousands of units, not 2**63) and small enough
that every day count, quantity and product of the two fits the planner's int64
arrays with room to spare.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Final

from gpuledger.domain.errors import InputTooLarge, OutOfBounds

#: Earliest and latest dates the books accept (inclusive).
DATE_MIN: Final = date(1900, 1, 1)
DATE_MAX: Final = date(2999, 12, 31)

#: Ids: ASCII letters, digits and ``. _ : + @ # -``, starting with a letter or digit.
ID_MAX_LEN: Final = 128
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+@#-]{0,127}")

#: Units in one record (an order, a lot, a target, a diversion, a claim).
QTY_MAX: Final = 10**9
#: Priorities of targets: 1 is highest.
PRIORITY_MAX: Final = 10**6
#: Weights of targets (fair-share and optimal).
WEIGHT_MAX: Final = 10**6
#: Day counts (lead times, slips, horizons, repair and RMA times).
DAYS_MAX: Final = 36_500
#: A planning horizon in days.
HORIZON_MAX: Final = 3_660
#: Free text (names, sources, reasons, descriptions).
TEXT_MAX_LEN: Final = 4_000
#: Monte Carlo samples in one forecast.
SAMPLES_MAX: Final = 100_000
#: Forecast failure model: interruptions per failure (at least 1) and days a
#: unit waits for a repair or a replacement.
INTERRUPTIONS_PER_FAILURE_MAX: Final = 100.0
REPAIR_DAYS_MAX: Final = 3_650
#: Money per GPU-hour.
PRICE_MAX: Final = 10**6

#: A scenario file or request body, in bytes.
FILE_MAX_BYTES: Final = 64 * 1024 * 1024
#: Nesting depth of a YAML or JSON document.
NESTING_MAX: Final = 32
#: Records in one scenario file or batch.
RECORDS_MAX: Final = 2_000_000

_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_id(value: str, field: str) -> str:
    """Return ``value`` if it is a valid id, else raise OutOfBounds naming ``field``.

    Edge cases: the empty string, whitespace, ``/``, quotes, control, zero-width and
    right-to-left characters are all refused; so is anything over ID_MAX_LEN.
    """
    if len(value) > ID_MAX_LEN:
        raise OutOfBounds(
            f"{field} is {len(value)} characters long (at most {ID_MAX_LEN})", field=field
        )
    if not ID_PATTERN.fullmatch(value):
        raise OutOfBounds(
            f"{field} {_shown(value)} is not an id (letters, digits and . _ : + @ # -, "
            "starting with a letter or digit)",
            field=field,
        )
    return value


def check_text(value: str, field: str, max_len: int = TEXT_MAX_LEN) -> str:
    """Return ``value`` if it is printable text within ``max_len``, else raise OutOfBounds.

    Tabs and newlines are allowed; other control, format (zero-width, bidi
    override), private-use and unassigned characters are refused.
    """
    if len(value) > max_len:
        raise OutOfBounds(
            f"{field} is {len(value)} characters long (at most {max_len})", field=field
        )
    for ch in value:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise OutOfBounds(
                f"{field} contains the character U+{ord(ch):04X}, which is not printable text",
                field=field,
            )
    return value


def check_date(value: date, field: str) -> date:
    """Return ``value`` if DATE_MIN <= value <= DATE_MAX, else raise OutOfBounds."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise OutOfBounds(
            f"{field} {value.isoformat()} is outside {DATE_MIN}..{DATE_MAX}",
            field=field,
        )
    return value


def check_int(value: int, field: str, *, low: int, high: int) -> int:
    """Return ``value`` if it is an int (not a bool) with low <= value <= high, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutOfBounds(f"{field} {value!r} is not a whole number", field=field)
    if not low <= value <= high:
        raise OutOfBounds(f"{field} {value} is outside {low}..{high}", field=field)
    return value


def check_size(size: int, what: str, limit: int = FILE_MAX_BYTES) -> int:
    """Return ``size`` if at most ``limit`` bytes, else raise InputTooLarge."""
    if size > limit:
        raise InputTooLarge(f"{what} is {size:,} bytes (at most {limit:,})")
    return size


def _shown(value: str) -> str:
    """``value`` quoted for a message, cut short and with unprintable characters escaped."""
    cut = value[:40] + ("..." if len(value) > 40 else "")
    return ascii(cut)
