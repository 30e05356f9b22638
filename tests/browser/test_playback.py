from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from inspector import playback
from inspector.models import Recording, Stream


@pytest.fixture
def stream_page(asgi_server, fixture_recordings, page: Page) -> tuple[Page, Recording, list]:
    rec = (
        Recording.objects.filter(is_streaming=True, kind="inference", has_timing=False)
        .exclude(response_text="")
        .order_by("-chunk_count", "path")
        .first()
    )
    assert rec.chunk_count >= 20
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{asgi_server}/r/{rec.path.removesuffix('.json')}?at=0&speed=1")
    page.errors = errors  # type: ignore[attr-defined]
    return page, rec, Stream.objects.get(recording=rec).chunks


def text(page: Page) -> str:
    return page.locator("#pb-text").text_content() or ""


def test_it_plays_the_stream_as_it_streamed(stream_page):
    page, rec, _ = stream_page
    expect(page.locator("#playback-output")).to_be_visible()
    assert text(page) == ""
    page.get_by_role("button", name="Play").click()
    states: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = text(page)
        if current and (not states or states[-1] != current):
            states.append(current)
        if current == rec.response_text and page.locator("#pb-play").count():
            break
        time.sleep(0.02)
    intermediate = [s for s in states if s != rec.response_text]
    assert len(intermediate) >= 3, states
    assert all(rec.response_text.startswith(s) for s in intermediate)
    # The final frame is the reassembled response, and the player is paused at the end.
    expect(page.locator("#pb-text")).to_have_text(rec.response_text, use_inner_text=False)
    expect(page.locator("#pb-scrubber")).to_have_value(str(rec.chunk_count))
    assert page.errors == []


def test_it_pauses_steps_and_restarts(stream_page):
    page, _, chunks = stream_page
    page.locator("#pb-speed").select_option("0.25")
    expect(page).to_have_url(re.compile(r"speed=0\.25"))
    page.get_by_role("button", name="Play").click()
    deadline = time.monotonic() + 20
    while int(page.locator("#pb-scrubber").input_value()) < 3:
        assert time.monotonic() < deadline, "playback did not advance"
        time.sleep(0.05)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    paused = text(page)
    at = int(page.locator("#pb-scrubber").input_value())
    time.sleep(0.5)
    assert text(page) == paused  # nothing grows while paused
    assert paused == playback.frame_at(chunks, at).text
    expect(page).to_have_url(re.compile(rf"\?at={at}&speed=0\.25"))

    page.get_by_role("button", name="Step").click()
    expect(page.locator("#pb-scrubber")).to_have_value(str(at + 1))
    assert text(page) == playback.frame_at(chunks, at + 1).text

    page.get_by_role("button", name="Restart").click()
    expect(page.locator("#pb-scrubber")).to_have_value("0")
    assert text(page) == ""
    assert page.errors == []


def test_it_seeks_with_the_scrubber(stream_page):
    page, _, chunks = stream_page
    middle = len(chunks) // 2
    page.locator("#pb-scrubber").fill(str(middle))
    expect(page).to_have_url(re.compile(rf"\?at={middle}&"))
    assert text(page) == playback.frame_at(chunks, middle).text
    assert page.errors == []
