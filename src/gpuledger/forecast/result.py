"""The result of a forecast: per target completion quantiles, per consumer fans.

Quantiles are the inverted-CDF kind: the ``q`` quantile of ``n`` sorted values is
the ``ceil(q * n)``-th smallest, always one of the samples (a day, a unit count),
never an interpolation. A completion that never happens in the horizon counts as
``+inf``: a quantile that falls on such a sample is ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gpuledger.domain import PolicyName, UnknownRecord
from gpuledger.forecast.failures import FailureModel, describe_failures
from gpuledger.forecast.layout import Layout
from gpuledger.planning import IntArray, PlanningSnapshot

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MEASURES", "QUANTILES", "Forecast", "quantile_index"]

QUANTILES = (0.1, 0.5, 0.9)

MEASURES = (
    "on time (held): holdings reach the target by its date; "
    "on time (powered): also the units its sites could power on that date reach it "
    "(equal where no site states a capacity)"
)
"""What the two on-time figures count (printed by every interface beside them)."""

Int32Array = npt.NDArray[np.int32]


def quantile_index(q: float, n: int) -> int:
    """Index into ``n`` sorted values of the inverted-CDF ``q`` quantile."""
    return min(max(math.ceil(q * n) - 1, 0), n - 1)


def _iso(day: int | None) -> str | None:
    return None if day is None else date.fromordinal(day).isoformat()


@dataclass(frozen=True)
class Forecast:
    """Monte Carlo outcome of a plan under uncertainty.

    Attributes:
        samples, seed, policy: how it was run.
        snapshot: the snapshot forecast.
        layout: series and grid of the curves.
        completed: ``[samples, targets]`` completion day ordinal per sample, -1 never.
        curves: ``[samples, series, grid]`` holdings per sample, net of units
            lost (failures not replaced); units under repair or awaiting a
            replacement are still held.
        interruptions: ``[samples, series]`` interruptions from ``as_of + 1`` to
            the horizon's end (failures included).
        failures: ``[samples, series]`` failures in the same window.
        power_short: ``[samples, targets]`` True where the units the target's
            consumer's sites could power on its ``by`` fall short of its quantity
            (always False where no site states a capacity; see powered.py).
        failure_model: the model run, None when failures were off.
    """

    samples: int
    seed: int
    policy: PolicyName
    snapshot: PlanningSnapshot
    layout: Layout
    completed: IntArray
    curves: Int32Array
    interruptions: IntArray
    failures: IntArray
    power_short: npt.NDArray[np.bool_]
    failure_model: FailureModel | None

    # ------------------------------------------------------------------ targets

    def completion_quantiles(self) -> list[tuple[int | None, int | None, int | None]]:
        """Per target (P10, P50, P90) completion ordinals; None = not in the horizon."""
        n = self.completed.shape[0]
        as_float = np.where(self.completed < 0, np.inf, self.completed.astype(np.float64))
        ordered = np.sort(as_float, axis=0)
        out: list[tuple[int | None, int | None, int | None]] = []
        for t in range(self.completed.shape[1]):
            vals = [ordered[quantile_index(q, n), t] for q in QUANTILES]
            p10, p50, p90 = (None if math.isinf(v) else int(v) for v in vals)
            out.append((p10, p50, p90))
        return out

    def on_time_probability(self) -> list[float]:
        """Per target, the share of samples completed on or before its ``by`` (held)."""
        by = self.snapshot.target_by[None, :]
        on_time = (self.completed >= 0) & (self.completed <= by)
        return [float(x) for x in on_time.mean(axis=0)] if self.samples else []

    def powered_on_time_probability(self) -> list[float]:
        """Per target, the share of samples on time counting only units that could be powered.

        On time on the held measure and, where the consumer's sites state a
        capacity, its powered units on ``by`` reach the quantity (``MEASURES``).
        Never above :meth:`on_time_probability`; equal without sites.
        """
        by = self.snapshot.target_by[None, :]
        on_time = (self.completed >= 0) & (self.completed <= by) & ~self.power_short
        return [float(x) for x in on_time.mean(axis=0)] if self.samples else []

    # ------------------------------------------------------------------ holdings

    def _series(self, consumer: str, sku: str | None) -> int:
        snap = self.snapshot
        if consumer not in snap.consumers:
            raise UnknownRecord(f"consumer {consumer!r} is not in the forecast's snapshot")
        c = snap.consumers.index(consumer)
        hits = [
            g
            for g in range(self.layout.series_consumer.size)
            if self.layout.series_consumer[g] == c
            and (sku is None or snap.skus[int(self.layout.series_sku[g])] == sku)
        ]
        if len(hits) != 1:
            what = "no holdings tracked" if not hits else "several SKUs: name one"
            raise UnknownRecord(f"consumer {consumer!r} sku {sku!r}: {what}")
        return hits[0]

    def holdings_curve(
        self, consumer: str, sku: str | None = None
    ) -> tuple[list[date], IntArray, IntArray, IntArray]:
        """(days, P10, P50, P90) of a consumer's holdings on the grid days.

        ``sku`` may be omitted when the consumer holds one SKU only.

        Raises:
            UnknownRecord: the consumer is unknown, has no tracked holdings, or
                holds several SKUs and none was named.
        """
        g = self._series(consumer, sku)
        ordered = np.sort(self.curves[:, g, :], axis=0)
        n = ordered.shape[0]
        p10, p50, p90 = (ordered[quantile_index(q, n)].astype(np.int64) for q in QUANTILES)
        days = [date.fromordinal(self.layout.day0 + int(i)) for i in self.layout.grid]
        return days, p10, p50, p90

    def holdings_quantiles(
        self, consumer: str, day: date, sku: str | None = None
    ) -> tuple[int, int, int]:
        """(P10, P50, P90) of a consumer's holdings on ``day`` (net of failures).

        Holdings are step curves known on the grid days: the value on ``day`` is
        the one on the last grid day on or before it (exact when ``day`` is a
        grid day: every target's ``by`` and every day passed as ``curve_days``).
        Before the first curve day holdings are those of the first day.

        Raises:
            UnknownRecord: as for :meth:`holdings_curve`.
        """
        g = self._series(consumer, sku)
        index = day.toordinal() - self.layout.day0
        pos = max(int(np.searchsorted(self.layout.grid, index, side="right")) - 1, 0)
        ordered = np.sort(self.curves[:, g, pos])
        n = ordered.size
        p10, p50, p90 = (int(ordered[quantile_index(q, n)]) for q in QUANTILES)
        return p10, p50, p90

    def in_service_quantiles(
        self, consumer: str, day: date, sku: str | None = None
    ) -> tuple[int, int, int]:
        """(P10, P50, P90) of held units expected in service on ``day``.

        Held units minus the expected share under repair or awaiting a
        replacement (:meth:`FailureModel.out_of_service_share`), rounded down.
        Equal to the holdings with failures off.
        """
        held = self.holdings_quantiles(consumer, day, sku)
        if self.failure_model is None:
            return held
        g = self._series(consumer, sku)
        share = self.failure_model.out_of_service_share(float(self.layout.series_rate[g]))
        p10, p50, p90 = (math.floor(h * (1.0 - share)) for h in held)
        return p10, p50, p90

    def failures_text(self) -> str:
        """One line saying which failure model ran (printed by every interface)."""
        return describe_failures(self.failure_model)

    # ------------------------------------------------------------------ output

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract: ``{"samples", "seed", "policy", "targets": [...]}``."""
        targets = []
        quantiles = self.completion_quantiles()
        prob = self.on_time_probability()
        powered = self.powered_on_time_probability()
        for t, tid in enumerate(self.snapshot.target_id):
            p10, p50, p90 = quantiles[t]
            targets.append(
                {
                    "id": tid,
                    "p10": _iso(p10),
                    "p50": _iso(p50),
                    "p90": _iso(p90),
                    "on_time_probability": prob[t],
                    "powered_on_time_probability": powered[t],
                }
            )
        return {
            "samples": self.samples,
            "seed": self.seed,
            "policy": str(self.policy),
            "failures": self.failures_text(),
            "measures": MEASURES,
            "targets": targets,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per target: id, consumer, sku, qty, by, p10, p50, p90, on time held, powered."""
        import pandas as pd

        snap = self.snapshot
        quantiles = self.completion_quantiles()
        prob = self.on_time_probability()
        powered = self.powered_on_time_probability()
        rows = []
        for t, tid in enumerate(snap.target_id):
            p10, p50, p90 = (None if d is None else date.fromordinal(d) for d in quantiles[t])
            rows.append(
                {
                    "id": tid,
                    "consumer": snap.consumers[int(snap.target_consumer[t])],
                    "sku": snap.skus[int(snap.target_sku[t])],
                    "qty": int(snap.target_qty[t]),
                    "by": date.fromordinal(int(snap.target_by[t])),
                    "p10": p10,
                    "p50": p50,
                    "p90": p90,
                    "on_time_probability": prob[t],
                    "powered_on_time_probability": powered[t],
                }
            )
        columns = ["id", "consumer", "sku", "qty", "by", "p10", "p50", "p90"]
        odds = ["on_time_probability", "powered_on_time_probability"]
        return pd.DataFrame(rows, columns=[*columns, *odds])

    def curves_frame(self) -> pd.DataFrame:
        """Holdings fans in long form: consumer, sku, day, p10, p50, p90 (for charts)."""
        import pandas as pd

        snap = self.snapshot
        days = [date.fromordinal(self.layout.day0 + int(i)) for i in self.layout.grid]
        ordered = np.sort(self.curves, axis=0)
        n = ordered.shape[0]
        p10, p50, p90 = (ordered[quantile_index(q, n)] for q in QUANTILES)
        rows = []
        for g in range(self.layout.series_consumer.size):
            consumer = snap.consumers[int(self.layout.series_consumer[g])]
            sku = snap.skus[int(self.layout.series_sku[g])]
            for j, day in enumerate(days):
                rows.append(
                    {
                        "consumer": consumer,
                        "sku": sku,
                        "day": day,
                        "p10": int(p10[g, j]),
                        "p50": int(p50[g, j]),
                        "p90": int(p90[g, j]),
                    }
                )
        return pd.DataFrame(rows, columns=["consumer", "sku", "day", "p10", "p50", "p90"])
