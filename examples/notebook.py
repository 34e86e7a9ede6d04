"""gpuledger from Python: the books, a plan, an impact and a forecast as pandas DataFrames.

Run it as a script (``python examples/notebook.py``) or paste the cells into a
notebook. It imports examples/small.yaml into fresh books in a temporary
folder, so it writes nothing else. docs/notebook.md explains each call.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from gpuledger.notebook import open_books

HERE = Path(__file__).resolve().parent
pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)

with tempfile.TemporaryDirectory() as tmp, open_books(Path(tmp) / "books.db", create=True) as books:
    # %% The books: records as tables
    books.import_file(HERE / "small.yaml")
    lots = books.lots()
    print(lots[["id", "consignee", "qty", "arrives_on", "status", "left"]])
    print(books.balances().groupby("owner")["posted"].sum())

    # %% Expected lots arriving before the end of June
    expected = books.lots(status="expected", end="2024-06-30")
    print(expected[["id", "consignee", "qty", "arrives_on"]])

    # %% The plan, now and as the books were known before the diversion was recorded
    now = books.plan()
    then = books.plan(known_on="2024-01-15")
    print(
        now.merge(then, on="id", suffixes=("_now", "_then"))[
            ["id", "completed_on_now", "completed_on_then"]
        ]
    )

    # %% What the diversion cost each target
    impact = books.impact(diversion="DIV-A2-BETA")
    print(impact[["id", "completed_before", "completed_after", "gpu_days_lost"]])
    print("GPU-days lost in all:", int(impact["gpu_days_lost"].sum()))

    # %% A what-if: LOT-A-3 arriving 30 days late
    slip = books.impact(slip="LOT-A-3:30", on="2024-04-01")
    print(slip[["id", "delay_days"]])

    # %% The forecast: on-time odds per target
    forecast = books.forecast(samples=500, seed=7)
    print(forecast[["id", "p50", "p90", "on_time_probability"]])
