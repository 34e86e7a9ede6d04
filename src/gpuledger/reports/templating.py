"""The Jinja2 environment shared by the web pages and the HTML report.

Templates autoescape; the filters of :mod:`gpuledger.reports.formatting` format
numbers with thousands separators and units, and dates as ISO. Shared partials
(``_macros.html``) live in this package; the web adds its own page templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, StrictUndefined

from gpuledger.claims import P90_MEANS, VERDICT_RULE
from gpuledger.reports.formatting import FILTERS

__all__ = ["asset_text", "environment"]


def environment(extra: Sequence[BaseLoader] = ()) -> Environment:
    """A Jinja environment over ``extra`` loaders, then the report templates."""
    env = Environment(
        loader=ChoiceLoader([*extra, PackageLoader("gpuledger.reports", "templates")]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    # the one wording of the claims' rule and of P90, on every page
    env.globals.update(verdict_rule=VERDICT_RULE, p90_means=P90_MEANS)
    return env


def asset_text(name: str) -> str:
    """A shared asset (``app.css``, ``app.js``) as text."""
    return (resources.files("gpuledger.reports") / "assets" / name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """Plotly's bundled ``plotly.min.js`` from the ``plotly`` package (never a CDN)."""
    return plotly_js_path().read_text(encoding="utf-8")


def plotly_js_path() -> resources.abc.Traversable:
    """Where the ``plotly`` Python package ships ``plotly.min.js``."""
    return resources.files("plotly") / "package_data" / "plotly.min.js"
