"""A content search's hit opens its recording at the first match, marked (static/inspector/
find.js), with no console errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from inspector.importer import import_paths
from tests.test_content_search import chat, write

MAX = 64 * 1024 * 1024


@pytest.fixture
def long_chat(transactional_db, tmp_path: Path) -> Path:
    """A conversation whose one mention of Zanzibar comes after screens of other turns."""
    document = chat("Plan a trip.", "Enjoy the <b>ZANZIBAR</b> beaches!")
    filler = [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"Turn {n}: " + "words " * 80}
        for n in range(40)
    ]
    messages = document["request"]["body"]["messages"]
    document["request"]["body"]["messages"] = [
        *filler,
        *messages,
        {"role": "assistant", "content": "First the ferry to Zanzibar, then the spice farms."},
        {"role": "user", "content": "And then?"},
    ]
    write(tmp_path / "inference" / "recordings" / ("c" * 64 + ".json"), document)
    write(tmp_path / "inference" / "recordings" / ("d" * 64 + ".json"), chat("Hi", "Hello"))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    return tmp_path


@pytest.fixture
def problems(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(f"exception: {e}"))
    page.on("response", lambda r: found.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    return found


def test_a_hit_opens_its_recording_scrolled_to_the_first_match(
    live_server, page: Page, long_chat, problems
):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server.url}/?text=zanzibar")
    rows = page.locator("#recording-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".snippet mark").first).to_have_text("Zanzibar")
    rows.first.locator("a.open").click()
    expect(page).to_have_url(re.compile(r"/r/inference/recordings/c{64}\?.*text=zanzibar"))
    marks = page.locator("mark.found")
    expect(marks.first).to_have_text("Zanzibar")
    expect(marks.first).to_be_in_viewport()
    # Every mention is marked, whatever its case; markup in the recording stays text.
    assert marks.count() >= 2
    assert "ZANZIBAR" in marks.all_inner_texts()
    assert page.locator("#main b").count() == 0
    assert page.evaluate("window.scrollY") > 500  # it did scroll: the match is far down
    assert problems == []


def test_a_recording_opened_without_text_marks_nothing(
    live_server, page: Page, long_chat, problems
):
    page.goto(f"{live_server.url}/r/inference/recordings/{'c' * 64}")
    expect(page.locator("#main")).to_contain_text("Zanzibar")
    assert page.locator("mark.found").count() == 0
    assert page.evaluate("window.scrollY") == 0
    assert problems == []
