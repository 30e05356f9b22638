from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson
import pytest
from playwright.sync_api import Page, expect

from inspector.conversation import page_path
from inspector.highlight import KEEP_CHARS
from inspector.importer import import_paths
from inspector.models import Recording

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
AGENTS_TURN_3 = "agents/recordings/93dbdf3fadce9feeca5dd668f3ff05dfb04884dcced695656e8048dcee579f16"
VISION = "inference/recordings/24fdb60a1478e90fefb98aca633474b34b9072a6f1bea80f675707cc00f8546c"
# Wait until every image of the page has loaded and decoded (lazy ones too); a broken one
# rejects with its address.
LOAD_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach((image) => { image.loading = "eager"; });
  await Promise.all(images.map((image) =>
    image.decode().catch(() => { throw new Error("image did not load: " + image.src); })));
  return images.length;
}"""


@pytest.fixture
def problems(page: Page) -> list[str]:
    """Console errors, uncaught exceptions, failed requests and error responses."""
    found: list[str] = []
    page.on("console", lambda m: found.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(f"exception: {e}"))
    # A request the browser cancels because the page navigated away (j, k) is not a failure.
    page.on(
        "requestfailed",
        lambda r: None if r.failure == "net::ERR_ABORTED" else found.append(f"failed: {r.url}"),
    )
    page.on("response", lambda r: found.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    return found


def test_it_shows_the_conversation(live_server, page: Page, imported, problems):
    page.goto(f"{live_server.url}/r/{AGENTS_TURN_3}")

    turns = page.locator("#conversation article.turn")
    expect(turns).to_have_count(8)
    expect(turns.locator(".turn-role")).to_have_text(
        ["system", "user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
    )
    expect(page.locator("#response")).to_contain_text("Lisbon: **17 °C**, partly cloudy.")
    expect(page.locator("#m-6 .flag-bad")).to_have_text("looks like an error")
    expect(page.locator("#chain .chain-step")).to_have_count(4)
    expect(page.locator("#usage svg.rec-bar")).to_have_count(3)
    # The long system prompt is folded away, and opens.
    system = page.locator("#m-0 details.turn-fold")
    expect(system.locator(".turn-text")).not_to_be_visible()
    system.locator("summary").click()
    expect(system.locator(".turn-text")).to_contain_text("Always use the provided tools")
    assert problems == []


def test_it_jumps_from_a_tool_call_to_its_result_and_back(
    live_server, page: Page, imported, problems
):
    page.set_viewport_size({"width": 1000, "height": 500})
    page.goto(f"{live_server.url}/r/{AGENTS_TURN_3}")
    expect(page.locator("#m-6")).not_to_be_in_viewport()

    page.locator("#call-2 a.call-result").click()
    expect(page).to_have_url(re.compile(r"#m-6$"))
    expect(page.locator("#m-6")).to_be_in_viewport()

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.locator("#m-6 a.turn-answers").click()
    expect(page).to_have_url(re.compile(r"#call-2$"))
    expect(page.locator("#call-2")).to_be_in_viewport()

    # The chain links to the same places.
    page.locator("#chain a.chain-result").first.click()
    expect(page).to_have_url(re.compile(r"#m-3$"))
    expect(page.locator("#m-3")).to_be_in_viewport()
    assert problems == []


def test_it_moves_through_the_list_with_j_and_k(live_server, page: Page, imported, problems):
    state = {"suite": "agents", "_sort": "size"}
    order = [
        page_path(p)
        for p in Recording.objects.filter(suite="agents")
        .order_by("size", "id")
        .values_list("path", flat=True)
    ]
    from_value = quote(urlencode(state), safe="")
    page.goto(f"{live_server.url}{order[2]}?from={from_value}")

    def at(index: int) -> None:
        expect(page).to_have_url(f"{live_server.url}{order[index]}?from={from_value}")
        page.wait_for_load_state()

    page.keyboard.press("j")
    at(3)
    page.keyboard.press("j")
    at(4)
    page.keyboard.press("j")  # the last one: nowhere to go
    page.wait_for_timeout(200)
    at(4)
    page.keyboard.press("k")
    at(3)
    page.keyboard.press("k")
    at(2)
    page.locator("a.rec-back").click()
    expect(page).to_have_url(f"{live_server.url}/?{urlencode(state)}")
    assert problems == []


def test_it_shows_a_shortened_value_whole_in_place(live_server, page: Page, imported, problems):
    document = orjson.loads((FIXTURES / f"{VISION}.json").read_bytes())
    url = document["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    page.goto(f"{live_server.url}/r/{VISION}")
    expect(page.locator(".turn-image img.thumb")).to_be_visible()
    assert page.evaluate(LOAD_IMAGES) == 1

    page.locator("#raw").scroll_into_view_if_needed()  # the raw JSON loads when seen
    block = page.locator("#raw-request")
    block.locator("summary").click()
    short = block.locator(".short")
    expect(short).to_have_count(1)
    expect(short).to_contain_text(f"+{len(url) - KEEP_CHARS:,} chars")
    short.locator("a.whole").click()
    expect(block.locator(".whole-value")).to_have_count(1)
    expect(block.locator(".short")).to_have_count(0)
    assert block.locator(".whole-value").text_content() == f'"{url}"'
    assert problems == []


def test_it_loads_the_raw_json_when_scrolled_to(live_server, page: Page, imported, problems):
    page.set_viewport_size({"width": 1000, "height": 500})
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if "/raw/" in r.url else None)
    page.goto(f"{live_server.url}/r/{AGENTS_TURN_3}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#raw .rec-raw-block")).to_have_count(0)
    assert loads == []

    page.locator("#raw").scroll_into_view_if_needed()
    expect(page.locator("#raw .rec-raw-block summary")).to_have_text(
        ["Request", "Response", "Other top-level keys"]
    )
    assert loads == [f"{live_server.url}/raw/{AGENTS_TURN_3}"]
    # The copy button came with it, and copies the whole file.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#raw button[data-copy-from]").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == (FIXTURES / f"{AGENTS_TURN_3}.json").read_text()
    assert problems == []


def test_it_shows_the_raw_json_without_javascript(live_server, browser, imported):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/r/{VISION}")
    page.locator("#raw a", has_text="Show the request and response").click()
    expect(page).to_have_url(f"{live_server.url}/raw/{VISION}")
    page.locator("#raw-request summary").click()
    page.locator("#raw-request a.whole").click()  # a plain link: the value on its own page
    expect(page).to_have_url(re.compile(r"/v/inference/recordings/\w+\?at=%2Frequest"))
    expect(page.locator("h1")).to_contain_text("Value at")
    context.close()


def test_it_copies_the_test_id(live_server, page: Page, imported, problems):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server.url}/r/{AGENTS_TURN_3}")

    button = page.locator(".rec-head button[data-copy]").first
    expect(button).to_have_text("Copy test id")
    button.click()
    expect(button).to_have_text("Copied")
    test_id = Recording.objects.get(path=f"{AGENTS_TURN_3}.json").test_id
    assert page.evaluate("navigator.clipboard.readText()") == test_id
    assert problems == []


@pytest.fixture
def corpus_imported(transactional_db, corpus) -> list[str]:
    assert import_paths([corpus], max_bytes=MAX).failed == 0
    return [page_path(p) for p in Recording.objects.order_by("path").values_list("path", flat=True)]


@pytest.mark.corpus
def test_it_opens_every_corpus_page_without_errors(
    live_server, page: Page, corpus_imported, problems
):
    assert len(corpus_imported) == 269
    images = 0
    for url in corpus_imported:
        before = len(problems)
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None
        assert response.status == 200, url
        expect(page.locator("h1")).to_be_visible()
        images += page.evaluate(LOAD_IMAGES)
        assert problems[before:] == [], url
    assert images == 7


def test_it_keeps_the_page_of_a_20000_chunk_stream_small(
    live_server, page: Page, corpus, manifest, tmp_path, transactional_db, problems
):
    """The largest corpus stream grown to 20,000 chunks (as `make bench` does): the page, and
    its raw section once scrolled to and opened, stay at a few thousand elements."""
    streams = [row for row in manifest if row["is_streaming"] == "true"]
    largest = max(streams, key=lambda row: int(row["chunks"]))
    document = orjson.loads((corpus.parent / largest["path"]).read_bytes())
    body = document["response"]["body"]
    middle = body[1:-2]
    body[1:-2] = [middle[i % len(middle)] for i in range(20_000 - 3)]
    rel = "big/recordings/" + "b" * 64 + ".json"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_bytes(orjson.dumps(document))
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (1, [])
    count = "() => document.getElementsByTagName('*').length"

    page.goto(f"{live_server.url}{page_path(rel)}")
    expect(page.locator("#chunk-table tbody tr")).to_have_count(100)
    # Mostly the strip: at most 1,000 columns (a link, a mark and a title each).
    assert page.evaluate(count) < 5000
    page.locator("#raw").scroll_into_view_if_needed()
    expect(page.locator("#raw details.rec-raw-block")).not_to_have_count(0)
    page.evaluate("() => document.querySelectorAll('#raw details').forEach(d => d.open = true)")
    # Highlighted JSON with the 20,000-item array shortened: a few thousand spans, not ~10^6.
    assert page.evaluate(count) < 10_000
    assert problems == []
