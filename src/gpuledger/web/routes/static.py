"""``/static/{name}`` and ``/favicon.ico``: the files of :mod:`gpuledger.web.assets`.

A request carrying the file's current version (``?v=DIGEST``, as pages link it)
is cached for a year as ``immutable``; any other is ``no-cache`` (revalidate).
Every answer has a strong ETag, and ``If-None-Match`` with it answers 304. A
client that accepts gzip gets the precompressed bytes (``Content-Encoding:
gzip``; the app's gzip middleware leaves an encoded answer alone).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gpuledger.web.assets import ASSETS
from gpuledger.web.site import Site

YEAR = 365 * 24 * 3600


def _accepts_gzip(request: Request) -> bool:
    codings = request.headers.get("accept-encoding", "")
    return any(c.split(";")[0].strip() == "gzip" for c in codings.split(","))


def serve(request: Request, name: str, version: str | None) -> Response:
    """The file ``name`` as the module docstring says."""
    asset = ASSETS.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    cache = f"public, max-age={YEAR}, immutable" if version == asset.digest else "public, no-cache"
    headers = {"ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if asset.etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def router(site: Site) -> APIRouter:
    """The static files and the site's icon."""
    del site  # the files are the same for every site
    pages = APIRouter()

    @pages.get("/static/{name}")
    def static_file(request: Request, name: str, v: str | None = None) -> Response:
        return serve(request, name, v)

    @pages.get("/favicon.ico")
    def favicon(request: Request, v: str | None = None) -> Response:
        return serve(request, "favicon.ico", v)

    return pages
