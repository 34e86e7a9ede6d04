"""The web dashboard: pages served by the API app (``app.include_router(create_router())``).

Pages at ``/`` (overview), ``/orgs/{org}``, ``/flows``, ``/diversions``,
``/forecast``, ``/claims``, ``/audit`` and ``/login``, with their assets under
``/static/`` (Plotly served from the ``plotly`` package: nothing from a CDN).
"""

from __future__ import annotations

from gpuledger.web.routes import COOKIE, create_router

__all__ = ["COOKIE", "create_router"]
