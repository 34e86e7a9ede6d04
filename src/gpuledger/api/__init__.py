"""The REST API (FastAPI, ``/api/v1``).

:func:`create_app` builds an app with the API alone; :func:`mount` adds it to
an app (``gpuledger.server.create_app`` serves it beside the web dashboard).
"""

from __future__ import annotations

from gpuledger.api.app import PREFIX, create_app, mount

__all__ = ["PREFIX", "create_app", "mount"]
