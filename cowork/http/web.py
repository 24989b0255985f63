"""The static web client: the live floor map at `/`, the entrance kiosk at `/kiosk`.

Files come only from `cowork/web`, by a plain file name with a known type; anything else
(sub-paths, dot segments, encoded separators, unknown types) is a 404 problem.
"""

from __future__ import annotations

import re
from pathlib import Path

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import file
from sanic_ext.extensions.openapi import openapi

from cowork.domain.problems import Problem

bp = Blueprint("web")

WEB_DIR = (Path(__file__).resolve().parent.parent / "web").resolve()

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)+$")

# The pages talk only to this origin; nothing inline, nothing third-party.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
_COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@bp.get("/")
@openapi.exclude()
async def index(request: Request) -> HTTPResponse:
    return await _serve(request, "index.html")


@bp.get("/kiosk")
@openapi.exclude()
async def kiosk(request: Request) -> HTTPResponse:
    return await _serve(request, "kiosk.html")


@bp.get("/web/<name:str>")
@openapi.exclude()
async def asset(request: Request, name: str) -> HTTPResponse:
    return await _serve(request, name)


def web_file(name: str) -> Path | None:
    """The file `name` inside WEB_DIR, or None for anything that is not one of its files."""
    if not _NAME.match(name) or ".." in name:
        return None
    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR or path.suffix not in CONTENT_TYPES or not path.is_file():
        return None
    return path


async def _serve(request: Request, name: str) -> HTTPResponse:
    path = web_file(name)
    if path is None:
        raise Problem.NOT_FOUND.error(f"No web file named {name!r}.")
    headers = dict(_COMMON_HEADERS)
    if path.suffix == ".html":
        headers.update(_PAGE_HEADERS)
    return await file(
        path,
        request_headers=request.headers,
        mime_type=CONTENT_TYPES[path.suffix],
        headers=headers,
    )
