# SPDX-License-Identifier: GPL-3.0-or-later
"""Hearth's own stylesheet and script under ``/_static/<name>``: no CDN, no build step.

The files of ``web/static/`` are read once at import. Pages link them as
``/_static/<name>?v=<hash>`` (:func:`url`), so a browser may keep a copy for a year: a changed file
gets a new URL. Unversioned requests are cached for an hour, revalidated with the ETag.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

DIRECTORY = Path(__file__).parent / "static"
PREFIX = "/_static/"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _load() -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for path in sorted(DIRECTORY.iterdir()) if DIRECTORY.is_dir() else []:
        if not path.is_file() or path.name.startswith("."):
            continue
        body = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript",):
            kind += "; charset=utf-8"
        if path.suffix == ".js":
            kind = "text/javascript; charset=utf-8"
        assets[path.name] = Asset(body, kind, hashlib.sha256(body).hexdigest()[:12])
    return assets


ASSETS = _load()


def url(name: str) -> str:
    """The versioned URL of a static file (templates: ``static('hearth.css')``)."""
    asset = ASSETS.get(name)
    return PREFIX + name + (f"?v={asset.version}" if asset else "")


async def serve(request: Request) -> Response:
    name = request.path_params["name"]
    asset = ASSETS.get(name)
    if asset is None:
        return PlainTextResponse("Not Found", status_code=404)
    versioned = request.query_params.get("v") == asset.version
    headers = {
        "etag": asset.etag,
        "cache-control": "public, max-age=31536000, immutable"
        if versioned
        else "public, max-age=3600",
        "x-content-type-options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=None, headers=headers)
    response.headers["content-type"] = asset.content_type
    response.headers["content-length"] = str(len(asset.body))
    return response


def routes() -> list[Route]:
    return [Route(PREFIX + "{name}", serve, methods=["GET", "HEAD"])]
