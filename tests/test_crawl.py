"""Every view of every recording the importer accepts answers, and never with a 5xx: hostile
recordings (tests/hostile_files.py), the bad-file set (tests/bad_files.py) and the fixtures.
A recording whose page is not 200, or any address that answers 5xx, is listed by the crawl."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from inspector.importer import import_paths
from inspector.models import ImportFailure, Recording
from tests.bad_files import write_bad_files
from tests.hostile_files import XSS, XSS_IMG, write_hostile_files

pytestmark = pytest.mark.django_db
MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Links of a page to follow: values shown whole, inline images, the test's page.
LINKS = re.compile(r'(?:href|hx-get|src)="(/(?:v|i|test|chunk|chunks|play)[/?][^"]*)"')
HTMX = {"HTTP_HX_REQUEST": "true"}
# Hostile files that are valid recordings: the importer must take them, and their pages show.
MUST_IMPORT = [
    "bom.json", "bom-stream.json", "stream-scalar.json", "stream-object.json",
    "deep-request.json", "deep-response.json", "deep-stream.json", "deep-tool.json",
    "bool-index.json", "new\nline.json", "..json", "long-test-id.json", "hostile.json",
]  # fmt: skip


def stream(path: str, query: dict[str, object]) -> tuple[int, bytes]:
    """/stream/ is async: read through Django's async client, to its end."""

    async def read() -> tuple[int, bytes]:
        response = await AsyncClient(HTTP_HOST="127.0.0.1").get(f"/stream/{path}", query)
        if not response.streaming:
            return response.status_code, response.content
        return response.status_code, b"".join([part async for part in response.streaming_content])

    return async_to_sync(read)()


def urls_of(client, rec: Recording) -> list[str]:
    """Every address that shows something of `rec`: its views, and the links its pages hold."""
    page = quote(rec.path.removesuffix(".json"))
    test_id = rec.test_id or ""
    urls = [
        f"/r/{quote(rec.path)}",
        f"/raw/{page}",
        f"/v/{page}?at=",
        f"/v/{page}?at=/request",
        f"/v/{page}?at=/response",
        f"/i/{page}/0/0",
        f"/play/{page}",
        f"/play/{page}?at=0",
        f"/chunk/{page}?n=0",
        f"/chunk/{page}?n={max(rec.chunk_count - 1, 0)}",
        f"/chunks/{page}",
        f"/chunks/{page}?page=1000",
        "/test?" + urlencode({"id": test_id}),
        "/?" + urlencode({"q": test_id}),
        "/recordings.json?" + urlencode({"q": test_id}),
        "/facets?" + urlencode({"q": test_id}),
    ]
    for shown in (f"/r/{page}", f"/raw/{page}", f"/r/{page}?chunk=0"):
        body = client.get(shown).content.decode()
        urls += [html.unescape(link) for link in LINKS.findall(body)]
    return list(dict.fromkeys(urls))


def problem(response, must_show: bool = False) -> int | str | None:
    """What is wrong with a response: a 5xx (or, for a page that `must_show`, any status but
    200), or "unescaped" for HTML that holds a recording's markup as markup."""
    status = response.status_code
    if status >= 500 or (must_show and status != 200):
        return status
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        body = response.content.decode(errors="replace")
        if XSS in body or XSS_IMG in body:
            return "unescaped"
    return None


def crawl(client) -> dict[str, int | str]:
    """Every address of every recording, and the lists: what is wrong with each (`problem`)."""
    failed: dict[str, int | str | None] = {}
    for rec in Recording.objects.order_by("path"):
        page = quote(rec.path.removesuffix(".json"))
        for url in (f"/r/{page}", f"/raw/{page}"):
            failed[url] = problem(client.get(url), must_show=True)
            failed[f"{url} (htmx)"] = problem(client.get(url, **HTMX), must_show=True)
        for url in urls_of(client, rec):
            failed[url] = failed.get(url) or problem(client.get(url))
        for query in ({"speed": "max"}, {"at": 0, "speed": "max"}):
            status, _ = stream(page, query)
            failed[f"/stream/{page}?{urlencode(query)}"] = status if status >= 500 else None
    for url in ("/", "/recordings.json", "/facets", "/errors", "/?_facets=1"):
        failed[url] = problem(client.get(url), must_show=True)
    return {url: found for url, found in failed.items() if found is not None}


def test_it_shows_every_page_of_every_hostile_recording(client, tmp_path):
    written = set(write_hostile_files(tmp_path))
    import_paths([tmp_path], max_bytes=MAX)
    imported = set(Recording.objects.values_list("path", flat=True))
    refused = set(ImportFailure.objects.values_list("path", flat=True))
    assert imported | refused == written
    assert {f"hostile/recordings/{name}" for name in MUST_IMPORT} - imported == set()
    assert crawl(client) == {}


def test_it_shows_every_page_of_every_bad_file_the_importer_takes(client, deep_tmp_path):
    folder = deep_tmp_path / "bad"
    expected = write_bad_files(folder)
    import_paths([folder], max_bytes=MAX)
    imported = set(Recording.objects.values_list("path", flat=True))
    assert {path for path, reason in expected.items() if reason is None} - imported == set()
    assert crawl(client) == {}


def test_it_shows_every_page_of_every_fixture(client, fixture_recordings):
    assert crawl(client) == {}


def test_it_links_a_test_by_a_key_when_its_id_is_too_long_for_an_address(client, tmp_path):
    write_hostile_files(tmp_path)
    import_paths([tmp_path], max_bytes=MAX)
    rec = Recording.objects.get(path="hostile/recordings/long-test-id.json")
    body = client.get("/r/hostile/recordings/long-test-id").content.decode()
    links = re.findall(r'href="(/test\?[^"]*)"', body)
    assert len(links) == 1
    assert re.fullmatch(r"/test\?key=[0-9a-f]{16}", links[0])
    response = client.get(links[0])
    assert response.status_code == 200
    shown = [turn.recording for thread in response.context["threads"] for turn in thread.turns]
    assert shown == [rec]
    # ?id= still works, and short ids keep their readable link.
    assert client.get("/test", {"id": rec.test_id}).status_code == 200
    short = client.get("/r/hostile/recordings/bom").content.decode()
    assert 'href="/test?id=tests%2Ftest_bom.py%3A%3Atest_bom"' in short
    assert client.get("/test", {"key": "0" * 16}).status_code == 404
    assert client.get("/test", {"key": "not-a-key"}).status_code == 400
