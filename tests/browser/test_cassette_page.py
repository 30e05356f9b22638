from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from inspector.importer import import_paths
from inspector.models import Recording

# A test of the corpus whose cassettes hold two exchanges each, the second one streamed (SSE)
# with text: its folder is imported whole, in place.
FOLDER = "mirascope/tests/e2e/output/cassettes/test_call_with_thinking"
CASSETTE = "anthropic_claude_sonnet_4_0/stream"


@pytest.fixture
def cassette_page(asgi_server, cassette_corpus, page: Page) -> tuple[Page, Recording]:
    report = import_paths([cassette_corpus / FOLDER], max_bytes=64 * 1024 * 1024)
    assert report.failed == 0, report.failures
    exchange = Recording.objects.select_related("stream").get(path=f"{CASSETTE}/2")
    assert exchange.is_streaming
    assert exchange.response_text
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{asgi_server}/r/{CASSETTE}")
    page.errors = errors  # type: ignore[attr-defined]
    return page, exchange


def test_it_follows_an_sse_exchange_from_its_cassette_and_plays_it(cassette_page):
    page, exchange = cassette_page
    exchanges = page.locator("article.cas-exchange")
    expect(exchanges).to_have_count(2)
    expect(exchanges.nth(1)).to_contain_text("streamed")

    exchanges.nth(1).locator("a.cas-n").click()
    expect(page).to_have_url(re.compile(rf"/r/{re.escape(CASSETTE)}/2$"))
    expect(page.locator("#http")).to_contain_text("text/event-stream")
    expect(page.locator(".rec-up")).to_have_attribute("href", f"/r/{CASSETTE}")

    # Opened at the end; Play starts again from the first chunk.
    # At 1x (25 events a second, cassettes keep no times) the text is seen growing; "as fast
    # as possible" could end between two looks.
    page.locator("#pb-speed").select_option("1")
    # The player is redrawn at the new speed first: a click before it lands would race it.
    expect(page).to_have_url(re.compile(r"speed=1\b"))
    # Every text the player shows, seen by the page itself: polling from here missed the
    # frames of a short stream when the machine was busy.
    page.evaluate(
        """() => {
            window.seen = [];
            const look = () => {
                const text = document.querySelector('#pb-text')?.textContent ?? '';
                if (window.seen.at(-1) !== text) window.seen.push(text);
            };
            new MutationObserver(look).observe(document.body, {
                childList: true, characterData: true, subtree: true });
        }"""
    )
    page.get_by_role("button", name="Play").click()
    # Until the page has seen the stream start again and end: the player shows the whole text
    # (and a Play button) before the click lands too, so the text alone cannot tell.
    deadline = time.monotonic() + 30
    states: list[str] = []
    while time.monotonic() < deadline:
        states = [state for state in page.evaluate("window.seen") if state]
        ended = states[-1:] == [exchange.response_text] and page.locator("#pb-play").count()
        if len(states) >= 2 and ended:
            break
        time.sleep(0.05)
    assert all(exchange.response_text.startswith(state) for state in states), states
    assert len(states) >= 2, states  # it grew, it did not appear whole
    # The last frame is the reassembled response, and the player is paused at the end.
    expect(page.locator("#pb-text")).to_have_text(exchange.response_text, use_inner_text=False)
    expect(page.locator("#pb-scrubber")).to_have_value(str(len(exchange.stream.chunks)))
    assert page.errors == []
