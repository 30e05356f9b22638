"""Every address answers hostile parameters, paths and methods with a 4xx, never a 5xx: huge
numbers are a 400, a NUL a 400 on SQLite as on PostgreSQL, unsafe methods a 405, and
`/static/` serves nothing outside its folders, with the pages' headers."""

from __future__ import annotations

import http.client
from urllib.parse import urlencode, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import AsyncClient, Client
from django.urls import path

from inspector.forms import RecordingFilter
from inspector.importer import import_paths
from inspector.middleware import accepts_unsafe_methods
from inspector.models import Recording
from tests.hostile_files import write_hostile_files

MAX = 64 * 1024 * 1024
STREAM = "hostile/recordings/stream-odd-chunks"
PLAIN = "hostile/recordings/bom"
HUGE = [str(2**64), str(2**70), str(-(2**64)), "9" * 5000]
VALUES = [
    *HUGE, "-1", "0", "1.5", "1e3", "0x10", " 1 ", "", "on", "[]", "{}", "%00", "x" * 100_000,
    "../", "../../etc/passwd", "/..", "ü✓\u202e", "\uffff\U0010ffff", "<script>alert(1)</script>",
]  # fmt: skip
PLAYER = ["at", "speed", "play", "step"]
# Every address, with every parameter it reads.
ROUTES = {
    "/": [*RecordingFilter.base_fields],
    "/recordings.json": [*RecordingFilter.base_fields],
    "/facets": [*RecordingFilter.base_fields],
    "/test": ["id", "key"],
    "/errors": [],
    f"/r/{STREAM}": ["from", *PLAYER, "chunks", "chunk"],
    f"/r/{PLAIN}.json": [],
    f"/raw/{STREAM}": [],
    f"/v/{STREAM}": ["at"],
    f"/i/{PLAIN}/0/0": [],
    f"/play/{STREAM}": PLAYER,
    f"/stream/{STREAM}": PLAYER,
    f"/chunk/{STREAM}": ["n"],
    f"/chunks/{STREAM}": ["page"],
}
# The integer parameters, and where: beyond 64 bits each is a 400.
NUMBERS = [
    ("/", "_next"),
    ("/recordings.json", "_next"),
    ("/facets", "_next"),
    ("/", "_size"),
    (f"/play/{STREAM}", "at"),
    (f"/stream/{STREAM}", "at"),
    (f"/chunk/{STREAM}", "n"),
    (f"/chunks/{STREAM}", "page"),
]
UNSAFE = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


@pytest.fixture
def hostile(db, tmp_path) -> None:
    write_hostile_files(tmp_path)
    import_paths([tmp_path], max_bytes=MAX)
    # The addresses probed exist: a hostile parameter meets the view, not a 404.
    assert Recording.objects.filter(path=f"{STREAM}.json", stream__isnull=False).exists()
    assert Recording.objects.filter(path=f"{PLAIN}.json").exists()


def get(client, url: str, query: dict[str, str] | None = None) -> int:
    """The status of a GET; /stream/ (an async view) through Django's async client."""
    if url.startswith("/stream/"):

        async def read() -> int:
            response = await AsyncClient(HTTP_HOST="127.0.0.1").get(url, query or {})
            if response.streaming:
                _ = [part async for part in response.streaming_content]
            return response.status_code

        return async_to_sync(read)()
    return client.get(url, query or {}).status_code


def test_it_answers_every_hostile_parameter_of_every_address_without_a_5xx(client, hostile):
    failed = {}
    for url, names in ROUTES.items():
        probes = [{name: value} for name in [*names, "unknown", "\x00"] for value in VALUES]
        probes += [{name: "1" for name in names}, {"x" * 10_000: "1"}]
        for query in probes:
            status = get(client, url, query)
            if status >= 500:
                failed[f"{url}?{urlencode(query)[:80]}"] = status
    assert failed == {}


def test_it_refuses_numbers_beyond_64_bits_with_a_400(client, hostile):
    statuses = {
        (url, name, value): get(client, url, {name: value})
        for url, name in NUMBERS
        for value in HUGE
    }
    statuses |= {
        (f"/r/{STREAM}", "from", value): get(
            client, f"/r/{STREAM}", {"from": urlencode({"_next": value})}
        )
        for value in HUGE
    }
    assert {key: s for key, s in statuses.items() if s != 400} == {}


def test_it_refuses_a_nul_in_a_path_or_a_parameter_with_a_400(client, hostile):
    statuses = {}
    for url, names in ROUTES.items():
        for name in [*names, "unknown"]:
            statuses[url, name] = get(client, url, {name: "a\x00b"})
            statuses[url, name, "key"] = get(client, url, {f"{name}\x00": "1"})
        if url.count("/") > 1:
            head, _, tail = url.rpartition("/")
            statuses[url, "path"] = get(client, f"{head}/%00{tail}")
    # A NUL inside `from`, the list state a recording page passes on.
    statuses[f"/r/{STREAM}", "from", "q"] = get(client, f"/r/{STREAM}", {"from": "q=%00"})
    assert {key: s for key, s in statuses.items() if s != 400} == {}


@pytest.fixture
def csrf_client(client) -> Client:
    """The test client, checking CSRF as a server does (Django's skips it by default)."""
    return Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")


def test_it_refuses_unsafe_methods_with_a_405_on_every_address(csrf_client, hostile):
    client = csrf_client
    allowed = {}
    for url in [*ROUTES, "/r/no/such/recording"]:
        for method in UNSAFE:
            response = client.generic(method, url)
            allowed[url, method] = (response.status_code, response.get("Allow"))
    assert set(allowed.values()) == {(405, "GET, HEAD")}, allowed
    # An address nothing serves is not found, whatever the method.
    assert client.post("/nothing/here").status_code == 404


def write_view(request):
    return HttpResponse("written")


urlpatterns = [path("write", accepts_unsafe_methods(write_view))]


def test_it_lets_a_view_accept_unsafe_methods_with_the_csrf_check(csrf_client, client, settings):
    settings.ROOT_URLCONF = __name__
    assert csrf_client.post("/write").status_code == 403  # CSRF: no token
    assert client.post("/write").status_code == 200


def raw_request(base: str, method: str, target: str) -> http.client.HTTPResponse:
    """One request with `target` sent as it is (urllib would normalise it)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest(method, target, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
)


def test_it_serves_static_files_with_the_pages_headers_and_nothing_outside(asgi_server):
    page = raw_request(asgi_server, "GET", "/")
    css = raw_request(asgi_server, "GET", "/static/inspector/app.css")
    assert (page.status, css.status) == (200, 200)
    assert css.getheader("Content-Type").startswith("text/css")
    headers = {name: page.getheader(name) for name in SECURITY_HEADERS}
    assert None not in headers.values()
    assert {name: css.getheader(name) for name in SECURITY_HEADERS} == headers
    outside = [
        "/static/../inspector/settings.py",
        "/static/%2e%2e/inspector/settings.py",
        "/static/inspector/..%2f..%2finspector%2fsettings.py",
        "/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/%00",
        "/static/inspector/app.css%00.js",
    ]
    statuses = {url: raw_request(asgi_server, "GET", url).status for url in outside}
    assert statuses == dict.fromkeys(outside, 404)
    missing = raw_request(asgi_server, "GET", "/static/nothing.css")
    assert missing.status == 404
    assert missing.getheader("Content-Security-Policy") == headers["Content-Security-Policy"]
    posted = raw_request(asgi_server, "POST", "/static/inspector/app.css")
    assert (posted.status, posted.getheader("Allow")) == (405, "GET, HEAD")


def test_it_refuses_a_nul_and_unsafe_methods_through_the_server(asgi_server):
    assert raw_request(asgi_server, "GET", "/r/x%00y").status == 400
    assert raw_request(asgi_server, "GET", "/?q=%00").status == 400
    assert raw_request(asgi_server, "GET", "/r/%ff%fe").status == 404
    posted = raw_request(asgi_server, "POST", "/")
    assert (posted.status, posted.getheader("Allow")) == (405, "GET, HEAD")
