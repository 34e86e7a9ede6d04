"""The dashboard's static files: what is served, under which versioned URL, compressed once.

Every file is named here (nothing else is served: no path is followed). A page
links a file by :func:`static_url`, ``/static/NAME?v=DIGEST``, where the digest
is the file's content hash: a URL never names two contents, so the file may be
cached for a year (``immutable``); a request without the current digest gets
``no-cache`` and revalidates by ETag. Files are read and gzip-compressed once.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from gpuledger.reports.templating import asset_text, plotly_js_path

__all__ = ["ASSETS", "Asset", "favicon_ico", "static_url"]


def _web_file(name: str) -> Callable[[], bytes]:
    return lambda: (resources.files("gpuledger.web") / "static" / name).read_bytes()


def _png(size: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """A size x size RGBA PNG drawn by ``pixel(x, y)`` (no imaging library needed)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def favicon_ico() -> bytes:
    """The site's icon: a 32 px ICO holding a PNG (three rising bars on the header's navy)."""
    size = 32
    bars = ((6, 18), (14, 11), (22, 5))  # (left x, top y) of each 6 px wide bar

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        for left, top in bars:
            if left <= x < left + 6 and top <= y < 27:
                return (120, 180, 240, 255)
        return (20, 33, 46, 255)

    png = _png(size, pixel)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


@dataclass
class Asset:
    """One static file: how to read it and its media type; bytes, digest and gzip kept once."""

    name: str
    read: Callable[[], bytes]
    media_type: str
    _body: bytes | None = None
    _gzipped: bytes | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def body(self) -> bytes:
        """The file's bytes (read once)."""
        with self._lock:
            if self._body is None:
                self._body = self.read()
            return self._body

    @property
    def digest(self) -> str:
        """The first 16 hex digits of the content's SHA-256: the version in its URL."""
        return hashlib.sha256(self.body).hexdigest()[:16]

    @property
    def etag(self) -> str:
        """A strong ETag: the digest, quoted."""
        return f'"{self.digest}"'

    @property
    def gzipped(self) -> bytes:
        """The bytes gzip-compressed (once, at the highest level: files never change)."""
        body = self.body
        with self._lock:
            if self._gzipped is None:
                self._gzipped = gzip.compress(body, compresslevel=9, mtime=0)
            return self._gzipped


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset("app.css", lambda: asset_text("app.css").encode(), "text/css; charset=utf-8"),
        Asset("app.js", lambda: asset_text("app.js").encode(), "text/javascript; charset=utf-8"),
        Asset("diversions.js", _web_file("diversions.js"), "text/javascript; charset=utf-8"),
        Asset("plotly.min.js", lambda: plotly_js_path().read_bytes(), "text/javascript"),
        Asset("favicon.ico", favicon_ico, "image/x-icon"),
    )
}


def static_url(name: str) -> str:
    """``/static/NAME?v=DIGEST``: the versioned URL of a static file."""
    return f"/static/{name}?v={ASSETS[name].digest}"
