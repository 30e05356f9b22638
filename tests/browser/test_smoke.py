from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_it_lists_recordings_and_downloads_the_original(live_server, page: Page, imported):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url)
    expect(page.locator("h1")).to_contain_text("Recordings")
    page_url = page.locator("#recording-list tbody tr").first.get_attribute("data-href")
    raw = page_url.split("?")[0] + ".json"
    response = page.request.get(live_server.url + raw)
    assert response.headers["content-type"] == "application/json"
    assert response.body() == (FIXTURES / raw.removeprefix("/r/")).read_bytes()
    assert errors == []
