"""The operations every interface shares: the CLI, the REST API and the web call these.

One module per concern:

- :mod:`~gpuledger.services.requests`: parsing what a caller typed, bounds and every default
- :mod:`~gpuledger.services.books`: opening the books, balances, holdings, trace, import, export
- :mod:`~gpuledger.services.visibility`: what a reader sees, and results cut down to it
- :mod:`~gpuledger.services.diversions`: propose, decide, show under governance
- :mod:`~gpuledger.services.planning`: plans and impacts of the books
- :mod:`~gpuledger.services.forecasting`: the Monte Carlo forecast of the books
- :mod:`~gpuledger.services.claims`: public claims against the books
- :mod:`~gpuledger.services.errors`: the one table from an error to an HTTP status

Each function takes an open :class:`~gpuledger.ledger.Ledger` and plain values
and returns result objects whose JSON is the machine contract. A rule that
needs both the books and the planner lives here, once.

The names below are loaded on first use, so importing one light module (the
command line imports ``requests`` before parsing) does not load the planner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpuledger.services.books import (
        BalancesReport,
        balances_report,
        books_today,
        holdings,
    )
    from gpuledger.services.claims import claims_report
    from gpuledger.services.forecasting import forecast_report
    from gpuledger.services.planning import (
        decision_snapshot,
        divert_change,
        impact_of_change,
        impact_of_diversion,
        plan_report,
        snapshot,
    )
    from gpuledger.services.requests import parse_change

_WHERE = {
    "BalancesReport": "books",
    "balances_report": "books",
    "books_today": "books",
    "holdings": "books",
    "claims_report": "claims",
    "forecast_report": "forecasting",
    "decision_snapshot": "planning",
    "divert_change": "planning",
    "impact_of_change": "planning",
    "impact_of_diversion": "planning",
    "plan_report": "planning",
    "snapshot": "planning",
    "parse_change": "requests",
}

__all__ = [
    "BalancesReport",
    "balances_report",
    "books_today",
    "claims_report",
    "decision_snapshot",
    "divert_change",
    "forecast_report",
    "holdings",
    "impact_of_change",
    "impact_of_diversion",
    "parse_change",
    "plan_report",
    "snapshot",
]
assert sorted(_WHERE) == __all__, "every lazy name is listed once"


def __getattr__(name: str) -> Any:
    """Load ``name`` from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gpuledger.services' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gpuledger.services.{module}"), name)
    globals()[name] = value
    return value
