"""The API's routers, one per resource; :func:`gpuledger.api.app.api_router` includes them."""

from __future__ import annotations
