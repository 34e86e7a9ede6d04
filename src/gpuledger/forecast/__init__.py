"""Monte Carlo forecast of plans under uncertain arrivals, slips and failures.

DESIGN section 6. The public facade: :func:`forecast` returns a :class:`Forecast`
with per-target P10/P50/P90 completion dates and on-time probability, and per
consumer P10/P50/P90 holdings curves. Samples run in NumPy blocks, seeded per
block, locally or on a Dask cluster, with the same answer for the same seed.
"""

from __future__ import annotations

from gpuledger.forecast.blocks import BLOCK_SIZE
from gpuledger.forecast.engine import Progress, forecast
from gpuledger.forecast.progress import rich_progress
from gpuledger.forecast.result import QUANTILES, Forecast

__all__ = ["BLOCK_SIZE", "QUANTILES", "Forecast", "Progress", "forecast", "rich_progress"]
