"""The search boxes and the browser's history: one entry per search (not one per letter), Esc
keeps what was typed, "next" shows the new page from its top, and no console error comes from
paging, going back or playing a stream."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from inspector.models import Recording

# Slower than the boxes' 250 ms debounce: every letter sends its own request, as a slow typist's.
LETTER_MS = 350
PAUSE_S = 1.5  # longer than the pause that ends a search (app.js: TYPING_PAUSE_MS)


def rows(page: Page):
    return page.locator("#recording-list tbody tr")


def history_length(page: Page) -> int:
    return page.evaluate("history.length")


@pytest.mark.parametrize(("box", "parameter"), [("#search", "q"), ("#search-text", "text")])
def test_it_adds_one_history_entry_per_search(
    live_server, page: Page, imported, errors, box, parameter
):
    page.goto(live_server.url + "/?suite=agents")
    before = rows(page).count()
    entries = history_length(page)
    page.locator(box).press_sequentially("turn", delay=LETTER_MS)
    expect(page).to_have_url(re.compile(rf"[?&]{parameter}=turn(&|$)"))
    expect(page).to_have_url(re.compile(r"suite=agents"))
    time.sleep(PAUSE_S)
    assert history_length(page) == entries + 1  # not one per letter
    # A second search after the pause is a second entry.
    page.locator(box).press_sequentially("s", delay=LETTER_MS)
    expect(page).to_have_url(re.compile(rf"[?&]{parameter}=turns(&|$)"))
    time.sleep(PAUSE_S)
    assert history_length(page) == entries + 2
    page.go_back()
    expect(page).to_have_url(re.compile(rf"[?&]{parameter}=turn(&|$)"))
    page.go_back()
    expect(page).to_have_url(live_server.url + "/?suite=agents")
    expect(page.locator(box)).to_have_value("")
    expect(rows(page)).to_have_count(before)
    assert errors == []


@pytest.mark.parametrize(("box", "word"), [("#search", "agents"), ("#search-text", "Lisbon")])
def test_it_leaves_a_search_box_on_esc_without_clearing_it(
    live_server, page: Page, imported, errors, box, word
):
    page.goto(live_server.url + "/")
    page.locator(box).fill(word)
    expect(page).to_have_url(re.compile(rf"={word}(&|$)"))
    expect(rows(page).first).to_be_visible()
    shown = rows(page).count()
    page.locator(box).press("Escape")
    expect(page.locator(box)).not_to_be_focused()
    expect(page.locator(box)).to_have_value(word)
    time.sleep(0.5)  # longer than the debounce: a cleared box would have sent its request
    expect(page).to_have_url(re.compile(rf"={word}(&|$)"))
    expect(rows(page)).to_have_count(shown)
    # The keys work again at once: j highlights the first row.
    page.keyboard.press("j")
    expect(rows(page).first).to_have_class(re.compile("current"))
    assert errors == []


def test_next_shows_the_new_page_from_its_top(live_server, page: Page, imported, errors):
    page.set_viewport_size({"width": 1280, "height": 600})
    page.goto(live_server.url + "/?_size=10")
    first_page = rows(page).first.get_attribute("data-href")
    page.locator("a[rel=next]").click()  # scrolled down to, below the rows
    expect(page).to_have_url(re.compile(r"_next=10"))
    expect(rows(page).first).not_to_have_attribute("data-href", first_page)
    first_row_on_screen(page)
    assert page.evaluate("document.querySelector('#results').getBoundingClientRect().top") > -2
    page.locator("a[rel=prev]").click()
    expect(rows(page).first).to_have_attribute("data-href", first_page)
    first_row_on_screen(page)
    assert errors == []


def first_row_on_screen(page: Page) -> None:
    """The list's first row comes into the window: htmx scrolls (`show:#results:top`) once the
    new rows have settled, a moment after they are in the page. Fails after 5 s."""
    page.wait_for_function(
        """() => {
            const row = document.querySelector('#recording-list tbody tr');
            const top = row.getBoundingClientRect().top;
            return top >= 0 && top < window.innerHeight;
        }""",
        timeout=5000,
    )


def test_no_console_error_while_paging_and_going_back(live_server, page: Page, imported, errors):
    page.goto(live_server.url + "/?_size=10")
    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"_next=10"))
    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"_next=20"))
    page.locator("a[rel=prev]").click()
    expect(page).to_have_url(re.compile(r"_next=10"))
    page.locator("a[data-facet=suite]").first.click()
    expect(page).to_have_url(re.compile(r"suite="))
    # History: back through each state (htmx asks the server for the page again), and forward.
    for expected in (r"_next=10$", r"_next=20$", r"_next=10$", r"_size=10$"):
        page.go_back()
        expect(page).to_have_url(re.compile(expected))
        expect(rows(page).first).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"_next=10$"))
    # Out to a recording and back.
    rows(page).first.locator("a.open").click()
    expect(page).to_have_url(re.compile(r"/r/"))
    page.go_back()
    expect(rows(page).first).to_be_visible()
    assert errors == []


def test_no_console_error_while_playing_a_stream(
    asgi_server, page: Page, fixture_recordings, errors
):
    rec = (
        Recording.objects.filter(is_streaming=True, kind="inference", has_timing=False)
        .exclude(response_text="")
        .order_by("-chunk_count", "path")
        .first()
    )
    page.goto(f"{asgi_server}/r/{rec.path.removesuffix('.json')}?at=0&speed=max")
    page.get_by_role("button", name="Play").click()
    expect(page.locator("#pb-play")).to_be_visible(timeout=30_000)  # played to the end
    expect(page.locator("#pb-text")).to_have_text(rec.response_text, use_inner_text=False)
    page.locator("#pb-scrubber").fill("3")
    expect(page).to_have_url(re.compile(r"\?at=3&"))
    page.get_by_role("button", name="Step").click()
    expect(page.locator("#pb-scrubber")).to_have_value("4")
    page.locator("svg.strip a").nth(2).click()
    expect(page.locator("#chunk-detail h3")).to_be_visible()
    # Away and back: the page comes back whole.
    page.goto(asgi_server + "/")
    page.go_back()
    expect(page.locator("#player")).to_be_visible()
    page.get_by_role("button", name="Play").click()
    expect(page.locator("#pb-play")).to_be_visible(timeout=30_000)
    assert errors == []
