"""The web client: pages, their ES modules, vendored libraries and the offline API docs.

Files come only from `cowork/web` (plain names) or `cowork/web/vendor/<package>/` (plain
names one level down), with a known type; anything else (other sub-paths, dot segments,
encoded separators, unknown types) is a 404 problem. No build step: what is on disk is served.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import file
from sanic_ext.extensions.openapi import openapi

from cowork.config import Settings
from cowork.domain.problems import Problem
from cowork.http.context import services

bp = Blueprint("web")

WEB_DIR = (Path(__file__).resolve().parent.parent / "web").resolve()
VENDOR_DIR = WEB_DIR / "vendor"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.[A-Za-z0-9]+$")
PAGES = {
    "/": "index.html",
    "/bookings": "bookings.html",
    "/manage": "manage.html",
    "/admin": "admin.html",
    "/kiosk": "kiosk.html",
}
# Served at /docs by cowork.http.openapi, beside the document it shows.
DOCS_PAGE = WEB_DIR / "docs.html"
_COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def content_security_policy(settings: Settings, page: str) -> str:
    """Only this origin, plus Stripe.js where a page pays; nothing inline, no CDN.

    (The API docs page carries its own policy in a meta tag: cowork.http.openapi serves it.)
    """
    script = ["'self'"]
    connect = ["'self'"]
    frame = ["'none'"]
    style = ["'self'"]
    if page in ("index.html", "bookings.html"):
        stripe = urlsplit(settings.stripe_js_url)
        origin = f"{stripe.scheme}://{stripe.netloc}"
        script.append(origin)
        # Real Stripe.js talks to api.stripe.com from frames it hosts; localstripe's fake
        # Stripe.js calls its own origin from the page.
        connect += [origin, "https://api.stripe.com"]
        frame = [origin, "https://hooks.stripe.com"]
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(script)}",
            f"connect-src {' '.join(connect)}",
            f"frame-src {' '.join(frame)}",
            f"style-src {' '.join(style)}",
            "worker-src 'self' blob:",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _page_route(path: str, name: str) -> None:
    async def page(request: Request) -> HTTPResponse:
        return await _serve(request, web_file(name))

    bp.add_route(openapi.exclude()(page), path, methods=["GET"], name=f"page_{name[:-5]}")


for _path, _name in PAGES.items():
    _page_route(_path, _name)


@bp.get("/favicon.ico")
@openapi.exclude()
async def favicon(request: Request) -> HTTPResponse:
    return await _serve(request, web_file("icon.svg"))


@bp.get("/sw.js")
@openapi.exclude()
async def service_worker(request: Request) -> HTTPResponse:
    """The service worker that shows pushes: at the root, so its scope is the whole app."""
    return await _serve(request, web_file("sw.js"))


@bp.get("/web/<name:str>")
@openapi.exclude()
async def asset(request: Request, name: str) -> HTTPResponse:
    return await _serve(request, web_file(name))


@bp.get("/web/vendor/<package:str>/<name:str>")
@openapi.exclude()
async def vendored(request: Request, package: str, name: str) -> HTTPResponse:
    return await _serve(request, web_file(name, package=package))


def web_file(name: str, *, package: str | None = None) -> Path | None:
    """The file `name` in WEB_DIR (or in vendor/`package`), or None for anything else."""
    if not _NAME.match(name) or ".." in name:
        return None
    folder = WEB_DIR
    if package is not None:
        if not _NAME.match(package + ".x") or ".." in package:
            return None
        folder = VENDOR_DIR / package
    path = (folder / name).resolve()
    if path.parent != folder or path.suffix not in CONTENT_TYPES or not path.is_file():
        return None
    return path


async def _serve(request: Request, path: Path | None) -> HTTPResponse:
    if path is None:
        raise Problem.NOT_FOUND.error("No such web file.")
    headers = dict(_COMMON_HEADERS)
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = content_security_policy(
            services(request).settings, path.name
        )
        headers["Referrer-Policy"] = "no-referrer"
    return await file(
        path,
        request_headers=request.headers,
        mime_type=CONTENT_TYPES[path.suffix],
        headers=headers,
    )
