"""Time as the books see it: days are the unit of planning, timestamps are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def day_start(d: date) -> datetime:
    """Midnight UTC at the start of day ``d``: how a date becomes a timestamp."""
    return datetime.combine(d, time.min, tzinfo=UTC)


def day_end(d: date) -> datetime:
    """Exclusive bound for "on or before day d": midnight UTC of the next day."""
    return datetime.combine(date.fromordinal(d.toordinal() + 1), time.min, tzinfo=UTC)
