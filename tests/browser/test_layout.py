"""The list fits the screen (no sideways scroll at 1280 and 1440 pixels with the real corpus; a
phone sees results first), a row opens what it lists, the picked chunk is marked, and unknown
addresses get the app's own page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from inspector.importer import import_paths
from inspector.models import Recording

MAX = 64 * 1024 * 1024
SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth"
IN_TABLE_BOX = """(id) => {
  const box = document.getElementById("chunk-table").getBoundingClientRect();
  const row = document.getElementById(id).getBoundingClientRect();
  return row.top >= box.top && row.bottom <= box.bottom;
}"""
FIRST_ROW_TOP = "document.querySelector('#recording-list tbody tr').getBoundingClientRect().top"


@pytest.fixture
def whole_corpus(transactional_db, corpus: Path, cassette_corpus: Path) -> None:
    """The shared corpus as a user imports it: llama-stack recordings and the cassettes."""
    report = import_paths([corpus, cassette_corpus], max_bytes=MAX)
    assert report.failed == 0, report.failures


def facets_loaded(page: Page) -> None:
    """The facets come after the rows (/facets); their long values must fit too."""
    expect(page.locator("#facets .facet").first).to_be_attached()


def pages_of(page: Page, base: str, first: str) -> list[str]:
    """Every page of a listing, following its "next" links from `first`."""
    seen = [first]
    while True:
        page.goto(base + seen[-1])
        following = page.locator("a[rel=next]")
        if not following.count():
            return seen
        seen.append(following.get_attribute("href"))


def test_it_fits_1280_and_1440_pixels_without_a_sideways_scroll(
    live_server, page: Page, whole_corpus, errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    facets_loaded(page)
    # Every row of the corpus, as exchanges and as files, and sorted by the long-named columns
    # (each sort puts other names first).
    addresses = [
        *pages_of(page, live_server.url, "/?_size=500"),
        *pages_of(page, live_server.url, "/?group=source&_size=500"),
        *(f"/?_sort={key}&_size=100" for key in ("test", "-test", "suite", "endpoint", "model")),
        "/?text=weather&_size=100",  # a content search: each row with its snippet
    ]
    wide = []
    for address in ["/", *addresses]:
        page.goto(live_server.url + address)
        facets_loaded(page)
        for width in (1280, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            if page.evaluate(SCROLLS_SIDEWAYS):
                scrolled = page.evaluate("document.documentElement.scrollWidth")
                wide.append((address, width, scrolled))
    assert wide == []
    assert errors == []


def test_it_shows_the_first_results_on_a_phone_with_the_facets_folded(
    live_server, page: Page, whole_corpus, errors
):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    facets_loaded(page)
    fold = page.locator("#facet-fold")
    expect(fold).not_to_have_attribute("open", re.compile(".*"))
    expect(page.locator("#facets")).to_be_hidden()
    first_row = page.locator("#recording-list tbody tr").first
    expect(first_row).to_be_visible()
    assert 0 <= page.evaluate(FIRST_ROW_TOP) < 844
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    # Unfolded on demand; a facet picked there narrows the list, and the facets stay open.
    page.locator("#facet-fold > summary").click()
    expect(page.locator("#facets")).to_be_visible()
    page.locator("a[data-facet=suite]", has_text=re.compile("^agents$")).click()
    expect(page).to_have_url(re.compile(r"suite=agents"))
    expected = Recording.objects.filter(suite="agents").count()
    expect(page.locator("#recording-list tbody tr")).to_have_count(expected)
    expect(page.locator("#facets")).to_be_visible()
    assert errors == []


def test_it_follows_the_system_dark_and_light_setting(live_server, page: Page, imported):
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) != light


def test_it_opens_a_recording_from_anywhere_on_its_row(live_server, page: Page, imported, errors):
    page.goto(live_server.url + "/?suite=agents")
    row = page.locator("#recording-list tbody tr").nth(1)
    target = row.get_attribute("data-href").split("?")[0]
    row.locator("td.suite").click()
    expect(page).to_have_url(re.compile(re.escape(target) + r"\?"))
    # The link itself still opens it, and is what the keyboard reaches.
    page.go_back()
    link = page.locator("#recording-list tbody tr").nth(1).locator("a.open")
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + r"\?"))
    assert errors == []


@pytest.fixture
def long_stream(transactional_db, corpus: Path) -> Recording:
    """A llama-stack stream of more chunks than a page of the chunk table holds (100)."""
    assert import_paths([corpus], max_bytes=MAX).failed == 0
    found = (
        Recording.objects.filter(is_streaming=True, chunk_count__gt=100, chunk_count__lt=400)
        .exclude(format="vcr")
        .order_by("chunk_count", "path")
        .first()
    )
    assert found is not None
    return found


def test_it_marks_the_chunk_picked_on_the_timeline_and_shows_its_table_page(
    live_server, page: Page, long_stream, errors
):
    page.goto(f"{live_server.url}/r/{long_stream.path.removesuffix('.json')}")
    table = page.locator("#chunk-table")
    expect(table).to_contain_text("page 1 of")
    # A mark of the last chunks: on the table's last page.
    last = long_stream.chunk_count - 1
    mark = page.locator("svg.strip a").filter(has=page.locator("title", has_text=f"chunk {last}:"))
    mark.first.click()
    expect(page.locator("#chunk-detail h3")).to_contain_text(f"Chunk {last}")
    expect(table).to_contain_text(f"page {last // 100 + 1} of")
    picked = page.locator(f"#chunk-{last}")
    expect(picked).to_have_class(re.compile(r"\bpicked\b"))
    expect(picked).to_have_attribute("aria-current", "true")
    # Scrolled to within the table's own box.
    page.wait_for_function(IN_TABLE_BOX, arg=f"chunk-{last}")
    expect(page.locator("#chunk-table tr.picked")).to_have_count(1)
    expect(mark.first.locator(".mark")).to_have_class(re.compile(r"\bpicked\b"))
    # A whole row of the table shows its chunk too, and becomes the marked one.
    row = page.locator("#chunk-table tbody tr").nth(2)
    number = int(row.locator("td.num a").text_content())
    row.locator("td").nth(1).click()
    expect(page.locator("#chunk-detail h3")).to_contain_text(f"Chunk {number}")
    expect(page.locator(f"#chunk-{number}")).to_have_class(re.compile(r"\bpicked\b"))
    expect(page.locator("#chunk-table tr.picked")).to_have_count(1)
    assert errors == []


def test_it_answers_an_unknown_address_with_its_own_page(live_server, page: Page, imported):
    response = page.goto(live_server.url + "/no/such/page")
    assert response.status == 404
    expect(page.locator("header.top .brand")).to_have_text("Recording Inspector")
    expect(page.locator("h1")).to_have_text("Nothing here")
    expect(page.locator("main")).to_contain_text("/no/such/page")
    # Its search box searches the list.
    page.locator("#search").fill("agents")
    page.locator("#search").press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=agents"))
    expect(page.locator("#recording-list tbody tr").first).to_be_visible()


def test_it_serves_a_favicon(live_server, page: Page):
    response = page.request.get(live_server.url + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.body()
