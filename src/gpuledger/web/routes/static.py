"""``/static/{name}``: the stylesheet, the pages' scripts and Plotly, served by the app itself."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from gpuledger.reports.templating import asset_text, plotly_js_path
from gpuledger.web.site import Site

#: name -> (how to read it, media type). Nothing else is served: no path is followed.
FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "app.css": (lambda: asset_text("app.css").encode(), "text/css"),
    "app.js": (lambda: asset_text("app.js").encode(), "text/javascript"),
    "diversions.js": (
        lambda: (resources.files("gpuledger.web") / "static" / "diversions.js").read_bytes(),
        "text/javascript",
    ),
    "plotly.min.js": (lambda: plotly_js_path().read_bytes(), "text/javascript"),
}


def router(site: Site) -> APIRouter:
    """The static files (read once, then kept)."""
    del site  # the files are the same for every site
    pages = APIRouter()
    loaded: dict[str, bytes] = {}

    @pages.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in FILES:
            return Response("not found", status_code=404, media_type="text/plain")
        read, media = FILES[name]
        if name not in loaded:
            loaded[name] = read()
        return Response(
            loaded[name], media_type=media, headers={"Cache-Control": "public, max-age=3600"}
        )

    return pages
