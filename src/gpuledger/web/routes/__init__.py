"""The dashboard's pages, one router per page, assembled by :func:`create_router`."""

from __future__ import annotations

from fastapi import APIRouter
from jinja2 import PackageLoader

from gpuledger.governance.store import Governance
from gpuledger.ledger import Ledger
from gpuledger.reports.templating import environment
from gpuledger.services.requests import DEFAULT_SAMPLES, DEFAULT_SEED
from gpuledger.web.routes import audit, auth, diversions, flows, forecast, overview, static
from gpuledger.web.site import Site

__all__ = ["create_router"]


def create_router(
    *,
    ledger: Ledger | None = None,
    gov: Governance | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    secure_cookie: bool = False,
) -> APIRouter:
    """The dashboard's routes: pages, a JSON impact preview, sign-in and static files.

    Args:
        ledger, gov: the books and governance; None reads them from the app's
            ``state.backend`` (``gpuledger.server`` sets it) on each request.
        samples, seed: the forecast the overview, forecast and claims pages use.
        secure_cookie: mark the sign-in cookie ``Secure`` (behind HTTPS).
    """
    site = Site(
        env=environment([PackageLoader("gpuledger.web", "templates")]),
        samples=samples,
        seed=seed,
        secure_cookie=secure_cookie,
        ledger=ledger,
        gov=gov,
    )
    router = APIRouter(include_in_schema=False)
    for page in (auth, overview, flows, diversions, forecast, audit, static):
        router.include_router(page.router(site))
    return router
