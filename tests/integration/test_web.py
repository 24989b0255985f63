import asyncio
import re
from urllib.parse import urlsplit

import pytest

from cowork.http.web import WEB_DIR, web_file

SOURCE_OUTSIDE_WEB = (WEB_DIR.parent / "app.py").read_text()


async def raw_get(base_url: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """GET `target` byte for byte: httpx would normalise dot segments before sending."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):
            data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


PAGES = [
    ("/", "index.html"),
    ("/bookings", "bookings.html"),
    ("/manage", "manage.html"),
    ("/admin", "admin.html"),
    ("/kiosk", "kiosk.html"),
]


@pytest.mark.parametrize(("path", "name"), PAGES)
async def test_pages_are_html(client, path, name):
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text == (WEB_DIR / name).read_text()
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_kiosk_keeps_its_token_query(client):
    r = await client.get("/kiosk", params={"token": "abc"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("find.js", "text/javascript"), ("kiosk.js", "text/javascript"), ("style.css", "text/css")],
)
async def test_assets_have_their_content_type(client, name, content_type):
    r = await client.get(f"/web/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)
    assert r.content == (WEB_DIR / name).read_bytes()


async def test_pages_reference_only_served_assets(client):
    for path, _ in PAGES:
        html = (await client.get(path)).text
        for ref in re.findall(r'(?:src|href)="(/web/[^"]+)"', html):
            assert (await client.get(ref)).status_code == 200, ref


async def test_es_module_imports_resolve_to_served_files(client):
    """No build step: every relative import of every module must be a file the node serves."""
    for module in WEB_DIR.glob("*.js"):
        for ref in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (await client.get(f"/web/{ref}")).status_code == 200, (module.name, ref)


async def test_vendored_files_are_served_with_their_licences_kept(client):
    for package in ("uplot", "qrcode-generator", "swagger-ui"):
        assert (WEB_DIR / "vendor" / package / "LICENSE").is_file()
    r = await client.get("/web/vendor/uplot/uPlot.esm.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/web/vendor/uplot/LICENSE")).status_code == 404  # not a web type


async def test_docs_page_is_the_vendored_ui(client):
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "/web/vendor/swagger-ui/swagger-ui-bundle.js" in r.text
    assert "cdn" not in r.text.lower()
    assert (await client.get("/docs/openapi.json")).status_code == 200


async def test_pages_allow_stripe_js_only_where_they_pay(client, server):
    stripe = server.settings.stripe_js_url.split("/v3")[0].rsplit("/", 1)[0]
    policy = {p: (await client.get(p)).headers["content-security-policy"] for p, _ in PAGES}
    assert stripe in policy["/"] and stripe in policy["/bookings"]
    assert stripe not in policy["/manage"] and stripe not in policy["/kiosk"]
    assert all("'unsafe-inline'" not in p and "cdn" not in p for p in policy.values())


async def test_unknown_asset_is_problem_json(client):
    r = await client.get("/web/x.js")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_found"


async def test_web_routes_are_not_in_openapi(client):
    paths = (await client.get("/docs/openapi.json")).json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/kiosk", "/web"))]


@pytest.mark.parametrize(
    "target",
    [
        "/web/../app.py",
        "/web/..%2Fapp.py",
        "/web/..%2fapp.py",
        "/web/%2e%2e%2fapp.py",
        "/web/%2E%2E/app.py",
        "/web/..%5Capp.py",
        "/web/%2e%2e%2f%2e%2e%2fcowork%2fapp.py",
        "/web/....//app.py",
        "/web//work/main/cowork/app.py",
        "/web/%2Fetc%2Fpasswd",
        "/web/.%2Fcore.js",
        "/web/core.js%00.css",
        "/web/vendor/%2e%2e/core.js",
        "/web/vendor/uplot/%2e%2e%2f%2e%2e%2fapp.py",
    ],
)
async def test_path_traversal_never_leaves_the_web_dir(server, target):
    status, headers, body = await raw_get(server.url, target)
    assert status in (400, 404)
    assert headers["content-type"].startswith("application/problem+json")
    assert b"class Settings" not in body
    assert SOURCE_OUTSIDE_WEB.encode()[:200] not in body
    assert b"root:" not in body


def test_web_file_names_only_files_of_the_web_dir():
    assert web_file("core.js") == WEB_DIR / "core.js"
    assert (
        web_file("uPlot.esm.js", package="uplot") == WEB_DIR / "vendor" / "uplot" / "uPlot.esm.js"
    )
    for name in ("../app.py", "..", ".", "", "app", ".hidden.js", "a/b.js", "web.py", "/etc"):
        assert web_file(name) is None
    for package in ("..", ".", "", "../..", "uplot/..", "a/b"):
        assert web_file("uPlot.esm.js", package=package) is None
