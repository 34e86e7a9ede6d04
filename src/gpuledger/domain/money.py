"""Money, only ever as a stated assumption times a figure of the books."""

from __future__ import annotations

from typing import Final

HOURS_PER_DAY: Final = 24


def rental_usd(gpu_days: int, price_per_gpu_hour: float | None) -> float | None:
    """GPU-days times the stated GPU-hour price (None when the scenario states none).

    Money is only ever this product: an assumption (the price) times a figure of
    the books (GPU-days), never summed over figures that overlap.
    """
    assert gpu_days >= 0, gpu_days
    if price_per_gpu_hour is None:
        return None
    return gpu_days * HOURS_PER_DAY * price_per_gpu_hour
