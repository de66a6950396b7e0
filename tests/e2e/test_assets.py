"""Every page loads only from the app's own server: no font host, CDN or metrics endpoint (issue 16)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e
PAGES = ("", "knowledge", "memory", "settings")


def test_every_page_loads_only_local_assets(page, app):
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    for path in PAGES:
        page.goto(f"{app.url}/{path}")
        page.locator('[data-testid="stSidebarNav"]').wait_for()
        page.locator(
            '[data-testid="stMainBlockContainer"] h1, [data-testid="stChatInput"]'
        ).first.wait_for()
        time.sleep(1.0)  # the favicon and lazy chunks are requested after the first paint
    icon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
    outside = sorted(
        {
            url
            for url in seen
            if urlsplit(url).scheme not in ("data", "blob")
            and urlsplit(url).hostname not in ("127.0.0.1", "localhost")
        }
    )
    assert len(seen) > 10, seen  # the log did record the page's requests
    assert outside == [], outside
    assert icon.startswith(("data:", app.url, "./", "/")), icon
