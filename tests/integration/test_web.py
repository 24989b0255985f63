import asyncio
from urllib.parse import urlsplit

import pytest

from cowork.http.web import WEB_DIR, web_file

CONFIG_SOURCE = (WEB_DIR.parent / "config.py").read_text()


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


@pytest.mark.parametrize(("path", "page"), [("/", "index.html"), ("/kiosk", "kiosk.html")])
async def test_pages_are_html(client, path, page):
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text == (WEB_DIR / page).read_text()
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_kiosk_keeps_its_token_query(client):
    r = await client.get("/kiosk", params={"token": "abc"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("app.js", "text/javascript"), ("kiosk.js", "text/javascript"), ("style.css", "text/css")],
)
async def test_assets_have_their_content_type(client, name, content_type):
    r = await client.get(f"/web/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)
    assert r.content == (WEB_DIR / name).read_bytes()


async def test_pages_reference_only_served_assets(client):
    for page in ("/", "/kiosk"):
        html = (await client.get(page)).text
        for name in ("style.css", "app.js" if page == "/" else "kiosk.js"):
            assert f'"/web/{name}"' in html
            assert (await client.get(f"/web/{name}")).status_code == 200


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
        "/web/../config.py",
        "/web/..%2Fconfig.py",
        "/web/..%2fconfig.py",
        "/web/%2e%2e%2fconfig.py",
        "/web/%2E%2E/config.py",
        "/web/..%5Cconfig.py",
        "/web/%2e%2e%2f%2e%2e%2fcowork%2fconfig.py",
        "/web/....//config.py",
        "/web//work/main/cowork/config.py",
        "/web/%2Fetc%2Fpasswd",
        "/web/.%2Fapp.js",
        "/web/app.js%00.css",
    ],
)
async def test_path_traversal_never_leaves_the_web_dir(server, target):
    status, headers, body = await raw_get(server.url, target)
    assert status in (400, 404)
    assert headers["content-type"].startswith("application/problem+json")
    assert b"class Settings" not in body
    assert CONFIG_SOURCE.encode()[:200] not in body
    assert b"root:" not in body


def test_web_file_names_only_files_of_the_web_dir():
    assert web_file("app.js") == WEB_DIR / "app.js"
    for name in ("../config.py", "..", ".", "", "app", ".hidden.js", "a/b.js", "web.py", "/etc"):
        assert web_file(name) is None
