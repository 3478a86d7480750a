"""The interactive docs work offline: every file they load comes from this server."""

import hashlib
import re
from pathlib import Path

import pytest

from backupjobs.api import docs

CONTENT_TYPES = {".js": "javascript", ".css": "text/css"}


def references(html: str) -> list[str]:
    """What a browser loads for the page: its src and href attributes."""
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/docs/swagger"])
async def test_the_docs_pages_load_only_their_own_files(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    found = references(response.text)
    assert len(found) >= 2, response.text  # a script and a style sheet at least
    for url in found:
        assert url.startswith("/docs/assets/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert CONTENT_TYPES[Path(url).suffix] in asset.headers["content-type"], url
        assert len(asset.content) > 100, url
    assert not re.search(r"cdn\.|unpkg|jsdelivr|fonts\.googleapis", response.text)


async def test_scalar_is_told_to_load_no_fonts_or_services_of_its_own(client):
    html = (await client.get("/docs")).text
    assert '"withDefaultFonts":false' in html and '"telemetry":false' in html


async def test_an_asset_that_is_not_there_is_a_404(client):
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404
    assert (await client.get("/docs/assets/../app.py")).status_code == 404


def test_the_vendored_files_are_those_the_readme_lists():
    readme = (docs.ASSETS / "README.md").read_text()
    listed = dict(re.findall(r"\| `([^`]+)` \|[^|]*\| `([0-9a-f]{64})` \|", readme))
    shipped = {
        str(path.relative_to(docs.ASSETS))
        for path in docs.ASSETS.rglob("*")
        if path.is_file() and path.parent != docs.ASSETS and path.parent.name != "backupjobs"
    }
    assert set(listed) == shipped
    for name, digest in listed.items():
        assert hashlib.sha256((docs.ASSETS / name).read_bytes()).hexdigest() == digest, name
    for package in (docs.SCALAR, docs.SWAGGER):
        assert (docs.ASSETS / package / "LICENSE").exists()
        assert package.rsplit("-", 1)[1] in readme
