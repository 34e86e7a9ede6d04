"""The REST API (FastAPI, ``/api/v1``): :func:`create_app` builds it over the books."""

from __future__ import annotations

from gpuledger.api.app import create_app

__all__ = ["create_app"]
