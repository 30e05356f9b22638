from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from inspector.conversation import COPY_INLINE_MAX
from inspector.highlight import KEEP_CHARS
from inspector.importer import import_paths
from inspector.models import Recording, Source
from tests.test_recording import HOSTILE, XSS, XSS_IMG, write

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AGENTS_TURN_3 = "agents/recordings/93dbdf3fadce9feeca5dd668f3ff05dfb04884dcced695656e8048dcee579f16"
VISION = "inference/recordings/24fdb60a1478e90fefb98aca633474b34b9072a6f1bea80f675707cc00f8546c"
SSE = "messages/recordings/a40816171848c604dc56434afe0aa37976717e8d8ca343d7b7a0044e4cf53ce3"
HTMX = {"HX-Request": "true"}
BLOCK = re.compile(r'<details class="rec-raw-block" id="(raw-\w+)"( open)?>')


@pytest.fixture
def fixtures_imported(db) -> None:
    assert import_paths([FIXTURES], max_bytes=MAX).failed == 0


def blob_reads(client, url: str, **extra) -> tuple[int, int]:
    """(status, how many queries read the stored bytes) of one GET."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url, **extra).status_code
    return status, sum(reads_bytes(q["sql"]) for q in queries.captured_queries)


def reads_bytes(sql: str) -> bool:
    return '"data"' in sql and 'FROM "inspector_source"' in sql


def test_it_loads_the_raw_section_when_it_scrolls_into_view_or_by_its_link(
    client, fixtures_imported
):
    html = client.get(f"/r/{AGENTS_TURN_3}").content.decode()

    section = html.split('<section class="rec-panel rec-raw" id="raw"')[1].split("</section>")[0]
    url = f"/raw/{AGENTS_TURN_3}"
    assert f'hx-get="{url}" hx-trigger="revealed" hx-swap="outerHTML"' in section
    # Without JavaScript, the same URL is a link to a page of its own.
    assert f'<a href="{url}">' in section
    assert f'href="/r/{AGENTS_TURN_3}.json" download=' in section
    assert "rec-raw-block" not in html
    assert 'id="raw-original"' not in html


def test_it_never_reads_the_stored_bytes_for_the_page(client, fixtures_imported):
    streams = Recording.objects.filter(is_streaming=True).exclude(response_type="sse-lines")
    assert streams.count() > 5
    for path in [f"{AGENTS_TURN_3}.json", *streams.values_list("path", flat=True)]:
        page = "/r/" + quote(path.removesuffix(".json"))
        assert blob_reads(client, page) == (200, 0), path
    # The raw section and the original file do read them, once.
    assert blob_reads(client, f"/raw/{AGENTS_TURN_3}", headers=HTMX) == (200, 1)
    assert blob_reads(client, f"/r/{AGENTS_TURN_3}.json") == (200, 1)
    # The page reads them only for what only they hold: an inline image (real, or broken
    # base64?) and the events of a streamed passthrough response.
    assert blob_reads(client, f"/r/{VISION}") == (200, 1)
    assert blob_reads(client, f"/r/{SSE}") == (200, 1)


def test_it_serves_the_raw_section_highlighted_with_links_to_whole_values(
    client, fixtures_imported
):
    document = orjson.loads((FIXTURES / f"{VISION}.json").read_bytes())
    url = document["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]

    response = client.get(f"/raw/{VISION}", headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert "HX-Request" in response["Vary"]
    assert BLOCK.findall(fragment) == [("raw-request", ""), ("raw-response", ""), ("raw-other", "")]
    assert '<pre class="hl"><span class="p">{</span>' in fragment  # Pygments' spans
    at = quote("/request/body/messages/0/content/1/image_url/url", safe="")
    link = f"/v/{VISION}?at={at}"
    assert (
        f'<a class="whole" href="{link}" hx-get="{link}" hx-target="closest .short"'
        f' hx-swap="outerHTML" title="Show the whole value">+{len(url) - KEEP_CHARS:,} chars</a>'
    ) in fragment
    # The file is small: it rides along, hidden, for the copy button, and is the only place
    # the long value is whole.
    assert '<button type="button" data-copy-from="#raw-original">Copy the file</button>' in fragment
    original = fragment.split('<pre id="raw-original" hidden>')[1].split("</pre>")[0]
    assert original == escape((FIXTURES / f"{VISION}.json").read_text())
    assert url not in fragment.replace(original, "")
    assert f'href="/r/{VISION}.json" download="' in fragment

    # Without htmx: the same section on a page of its own, linking back to the recording.
    page = client.get(f"/raw/{VISION}").content.decode()
    assert "<html" in page
    assert f'<a href="/r/{VISION}">' in page
    assert BLOCK.findall(page) == BLOCK.findall(fragment)
    assert f'href="{link}" hx-get="{link}"' in page


@pytest.mark.django_db
def test_it_escapes_everything_the_raw_section_shows(client, tmp_path):
    write(tmp_path / "x" / "recordings" / "hostile.json", HOSTILE)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0

    for headers in (HTMX, {}):
        response = client.get("/raw/x/recordings/hostile", headers=headers)
        html = response.content.decode()
        assert response.status_code == 200
        assert XSS not in html
        assert XSS_IMG not in html
        assert "onerror=alert(1)>" not in html
        assert '"&lt;script&gt;alert(1)&lt;/script&gt;"' in html  # highlighted, escaped
        assert escape(XSS) in html.split('id="raw-original"')[1]  # the copy, escaped
        # No tag the Content-Security-Policy would have to refuse (the recording's own
        # " onerror=" is text here, escaped).
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert re.findall(r"<[a-z][^>]*\s(?:style|on[a-z]+)=", html) == []
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_it_opens_the_first_block_of_a_big_file_of_unknown_shape(client, tmp_path):
    big = {"request": {"blob": "x" * COPY_INLINE_MAX}, "response": {"body": [1, 2]}}
    write(tmp_path / "odd" / "recordings" / "big #1.json", big)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    assert Recording.objects.get().kind == "generic"

    html = client.get("/raw/odd/recordings/big%20%231", headers=HTMX).content.decode()
    assert BLOCK.findall(html) == [("raw-request", " open"), ("raw-response", "")]
    # Too big to ride along for the copy button: the file is a link away.
    assert "Too large to copy from the page" in html
    assert 'id="raw-original"' not in html
    assert 'href="/r/odd/recordings/big%20%231.json"' in html
    assert "/v/odd/recordings/big%20%231?at=%2Frequest%2Fblob" in html


def test_it_404s_unknown_recordings_and_says_when_the_bytes_are_not_stored(
    client, fixtures_imported
):
    assert client.get("/raw/inference/recordings/nope", headers=HTMX).status_code == 404
    assert client.get("/raw/inference/recordings/nope").status_code == 404

    # A recording imported before sources held the bytes, and whose blob was gone (0012).
    Source.objects.filter(path=f"{AGENTS_TURN_3}.json").update(data=b"")
    response = client.get(f"/raw/{AGENTS_TURN_3}", headers=HTMX)
    assert response.status_code == 200
    assert "The original bytes are not stored." in response.content.decode()
    assert client.get(f"/r/{AGENTS_TURN_3}").status_code == 200
