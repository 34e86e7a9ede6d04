"""The web dashboard: pages served beside the API (``gpuledger.server`` mounts it).

Pages at ``/`` (overview), ``/orgs/{org}``, ``/flows``, ``/diversions``,
``/diversions/{id}``, ``/forecast``, ``/claims``, ``/audit`` and ``/login``, with
their assets under ``/static/`` and ``/favicon.ico`` (Plotly served from the
``plotly`` package, only to pages with charts: nothing from a CDN).
"""

from __future__ import annotations

from gpuledger.web.routes import create_router
from gpuledger.web.site import COOKIE

__all__ = ["COOKIE", "computes_forecast", "create_router"]


def computes_forecast(path: str) -> bool:
    """True for the pages that compute a forecast in the server's process: the
    overview (``/``, ``/orgs/{org}``), ``/forecast`` and ``/claims``."""
    return path in ("/", "/forecast", "/claims") or path.startswith("/orgs/")
