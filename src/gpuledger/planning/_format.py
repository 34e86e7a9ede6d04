"""Words for people: the delay column and the one-line verdict of a target.

Shared by every interface through :class:`~gpuledger.planning.impact.TargetImpact`
(its ``delay`` and ``verdict`` fields), so no interface words them again.
"""

from __future__ import annotations

from datetime import date

__all__ = ["delay_label", "human_count", "verdict"]


def human_count(x: int) -> str:
    """A count for people: 1,234 / 12.3k / 1.4M."""
    if abs(x) < 10_000:
        return f"{x:,}"
    if abs(x) < 1_000_000:
        return f"{x / 1e3:.1f}k"
    return f"{x / 1e6:.1f}M"


def delay_label(before: date | None, after: date | None, other_change: bool) -> str:
    """How a target's completion moved, in words.

    ``+N days`` / ``-N days`` when both complete on different days; ``now
    completes`` / ``no longer completes`` when one side does not complete in the
    horizon; when the completion did not move, ``unchanged`` only if nothing else
    about the target changed (``other_change``: its holdings on ``by`` or its
    GPU-days), else ``same date`` or ``still incomplete``.
    """
    if before and after and before != after:
        return f"{(after - before).days:+,} days"
    if before and not after:
        return "no longer completes"
    if after and not before:
        return "now completes"
    if not other_change:
        return "unchanged"
    return "same date" if before else "still incomplete"


def verdict(
    tid: str,
    qty: int,
    by: date,
    before: date | None,
    after: date | None,
    delay: str,
    short_after: int,
    horizon: date,
) -> str:
    """One line per target, e.g. ``tesla-eoy24 (85,000 by 2024-12-31): complete
    2024-11-02 -> 2025-02-14, +104 days; short 12,000 on 2024-12-31``."""
    head = f"{tid} ({qty:,} by {by.isoformat()})"
    never = f"not complete by the horizon ({horizon.isoformat()})"
    b = f"complete {before.isoformat()}" if before else never
    a = f"complete {after.isoformat()}" if after else never
    short = f"; short {short_after:,} on {by.isoformat()}" if short_after else ""
    if delay == "unchanged":
        return f"{head}: unchanged, {b}{short}"
    if before == after:
        return f"{head}: {delay}, {b}{short}"
    return f"{head}: {b} -> {a}, {delay}{short}"
