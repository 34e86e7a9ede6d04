"""Bounds on every input, stated once and applied on every path (file, CLI, API, web).

A value outside these bounds is refused where it enters with an
:class:`~gpuledger.domain.errors.OutOfBounds` naming the field; nothing stored
can then make a read fail. The numbers are generous for real fleets (a
hyperscaler orders hundreds of thousands of units, not 2**63) and small enough
that every day count, quantity and product of the two fits the planner's int64
arrays with room to spare.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import date, datetime
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
#: A chip's power draw (TDP) in watts: a GB200 superchip draws about 2,700 W.
TDP_W_MAX: Final = 100_000
#: A chip's H100-equivalent factor (above 0).
H100E_MAX: Final = 10_000
#: A site's power in MW: the largest campuses planned are a few GW.
MW_MAX: Final = 1_000_000
#: System overhead and PUE: multipliers of a chip's TDP, each at least 1.
POWER_FACTOR_MAX: Final = 10

#: A scenario file or request body, in bytes.
FILE_MAX_BYTES: Final = 64 * 1024 * 1024
#: Nesting depth of a YAML or JSON document.
NESTING_MAX: Final = 32
#: Records in one scenario file or batch.
RECORDS_MAX: Final = 2_000_000

#: Whole-number fields of the records (``domain.records``) and their bounds.
FIELD_BOUNDS: Final[dict[str, tuple[int, int]]] = {
    "qty": (1, QTY_MAX),
    "priority": (1, PRIORITY_MAX),
    "p50_days": (0, DAYS_MAX),
    "p90_days": (0, DAYS_MAX),
    "transit_slip_p50_days": (0, DAYS_MAX),
    "transit_slip_p90_days": (0, DAYS_MAX),
    "horizon_days": (1, HORIZON_MAX),
}

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


def record_problem(record: object) -> str | None:
    """Why a stored record lies outside the bounds (its first such field), or None.

    Checks every date and every whole-number field of ``FIELD_BOUNDS`` of a
    record (a dataclass), and the records it holds in tuples (a vendor's lead
    times, a diversion's paybacks). Reads use it to leave out what an older
    version or a hand-edited database stored, so nothing stored makes a read fail.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return None
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        try:
            if isinstance(value, date) and not isinstance(value, datetime):
                check_date(value, f.name)
            elif f.name in FIELD_BOUNDS and isinstance(value, int):
                low, high = FIELD_BOUNDS[f.name]
                check_int(value, f.name, low=low, high=high)
        except OutOfBounds as exc:
            return str(exc)
        if isinstance(value, tuple):
            inner = next(filter(None, map(record_problem, value)), None)
            if inner is not None:
                return inner
    return None


def check_size(size: int, what: str, limit: int = FILE_MAX_BYTES) -> int:
    """Return ``size`` if at most ``limit`` bytes, else raise InputTooLarge."""
    if size > limit:
        raise InputTooLarge(f"{what} is {size:,} bytes (at most {limit:,})")
    return size


_BRACKETS: Final = bytes(set(range(256)) - set(b"[]{}"))
_JSON_STRING: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"')  # possessive: never backtracks


def check_json_nesting(data: bytes, what: str, limit: int = NESTING_MAX) -> bytes:
    """Return ``data`` (JSON text) if its arrays and objects nest at most ``limit`` deep.

    Measured without parsing (strings dropped, brackets counted) so a hostile
    document costs one linear scan, never a deep recursion; malformed JSON is
    left to the parser. Raises InputTooLarge naming ``what``.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return data  # cannot nest deeper than it has brackets
    depth = deepest = 0
    for b in _JSON_STRING.sub(b"", data).translate(None, _BRACKETS):
        depth += 1 if b in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                raise InputTooLarge(f"{what} is nested deeper than {limit} levels")
    return data


def _shown(value: str) -> str:
    """``value`` quoted for a message, cut short and with unprintable characters escaped."""
    cut = value[:40] + ("..." if len(value) > 40 else "")
    return ascii(cut)
