"""How numbers and dates read for people: thousands separators, units, ISO dates.

Jinja filters shared by the web pages and the HTML report. ``None`` reads as an
em dash wherever a value is missing (a target that never completes, a forecast
quantile beyond the horizon).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

MISSING = "—"


def count(value: int | float | None, unit: str = "") -> str:
    """``12000`` -> ``12,000 GPUs`` (with ``unit``); None -> an em dash."""
    if value is None:
        return MISSING
    text = f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}" if unit else text


def gpus(value: int | None) -> str:
    """Units of hardware: ``12,000 GPUs``."""
    return count(value, "GPUs")


def gpu_days(value: int | None) -> str:
    """Area between holdings curves: ``1,234,000 GPU-days``."""
    return count(value, "GPU-days")


def days(value: int | None) -> str:
    """A signed delay: ``+104 days``, ``-3 days``, ``0 days``."""
    if value is None:
        return MISSING
    unit = "day" if abs(value) == 1 else "days"
    return f"{value:+,} {unit}" if value else f"0 {unit}"


def iso(value: date | datetime | str | None) -> str:
    """A date as ISO ``2024-12-31``; a timestamp as ``2024-06-04 12:00:00Z``."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if "T" in value:
        try:
            return iso(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def percent(value: float | None) -> str:
    """A probability as ``87%``."""
    if value is None:
        return MISSING
    return f"{value * 100:.0f}%"


def usd(value: float | None) -> str:
    """Dollars: ``USD 1,234,567``."""
    if value is None:
        return MISSING
    return f"USD {value:,.0f}"


#: Ids longer than this are shortened in legends and buttons (the full id stays in titles).
SHORT_ID = 24


def short_id(ident: str, limit: int = SHORT_ID) -> str:
    """``divert-2023-12-10-LOT-T-2023-12-tesla-x-12000`` -> ``divert-2023…esla-x-12000``."""
    if len(ident) <= limit:
        return ident
    head = (limit - 1) // 2
    return f"{ident[:head]}…{ident[-(limit - 1 - head) :]}"


def script_json(value: Any) -> str:
    """JSON safe to embed in ``<script type="application/json">`` (no ``</``)."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


FILTERS = {
    "count": count,
    "gpus": gpus,
    "gpu_days": gpu_days,
    "days": days,
    "iso": iso,
    "percent": percent,
    "usd": usd,
    "script_json": script_json,
    "short_id": short_id,
}
