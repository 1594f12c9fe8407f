"""/docs and /redoc load every asset from the service itself: they work offline."""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r"""(?:src|href)=["']?([^"' >]+)""")
# FastAPI's Swagger page links its own site in the page text, which needs no network to render.
NOT_LOADED = ("https://fastapi.tiangolo.com",)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_their_assets_from_the_service(service, page):
    response = await service.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = [url for url in ASSET.findall(response.text) if not url.startswith(NOT_LOADED)]
    assert any(url.endswith(".js") for url in assets), response.text
    for url in assets:
        assert url.startswith("/"), f"{page} loads {url} from outside the service"
        asset = await service.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "cdn" not in response.text.lower()
