from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from inspector.forms import RecordingFilter
from inspector.importer import import_paths
from inspector.models import Recording

pytestmark = pytest.mark.django_db

TOOL_TEST = "test_openai_chat_completion_with_tools"


def paths(response) -> list[str]:
    return [row["path"] for row in response.context["rows"]]


def test_it_lists_the_newest_import_first(client, fixture_recordings):
    response = client.get("/")
    assert response.status_code == 200
    expected = list(Recording.objects.order_by("-imported", "-id").values_list("path", flat=True))
    assert paths(response) == expected[:50]


def test_it_finds_a_recording_by_any_part_of_its_test_id(client, fixture_recordings):
    test_id = Recording.objects.exclude(test_id=None).values_list("test_id", flat=True)[0]
    fragment = test_id.split("::")[-1][5:25].upper()  # case does not matter
    found = paths(client.get("/", {"q": fragment}))
    assert found
    assert all(
        fragment.lower() in (r.test_id or "").lower() or fragment.lower() in r.path.lower()
        for r in Recording.objects.filter(path__in=found)
    )


def test_it_narrows_with_every_word(client, fixture_recordings):
    both = paths(client.get("/", {"q": "AGENTS gpt-4o"}))
    assert both
    for path in both:
        rec = Recording.objects.get(path=path)
        haystack = f"{rec.test_id} {rec.path}".lower()
        assert "agents" in haystack
        assert "gpt-4o" in haystack
    assert set(both) < set(paths(client.get("/", {"q": "agents"})))


def test_it_matches_a_hash_prefix_and_a_file_name(client, fixture_recordings):
    rec = Recording.objects.exclude(test_id=None).first()
    assert paths(client.get("/", {"q": rec.request_hash[:10]})) == [rec.path]
    assert paths(client.get("/", {"q": rec.file_name})) == [rec.path]


def test_it_says_when_nothing_matches(client, fixture_recordings):
    response = client.get("/", {"q": "no-such-test-anywhere"})
    assert paths(response) == []
    assert "No recordings match." in response.content.decode()


def test_it_narrows_by_facets_and_counts_them(client, fixture_recordings):
    response = client.get("/", {"suite": "agents", "streaming": "yes"})
    expected = Recording.objects.filter(suite="agents", is_streaming=True)
    assert sorted(paths(response)) == sorted(expected.values_list("path", flat=True))
    # The rows come first; the page loads the facets after them.
    assert response.context["facets"] is None
    assert 'hx-get="/facets?suite=agents&amp;streaming=yes"' in response.content.decode()
    counted = client.get("/facets", {"suite": "agents", "streaming": "yes"}).content.decode()
    assert "<html" not in counted
    facets = facet_counts(counted)
    # A facet counts the selection as narrowed by the *other* facets.
    assert facets["streaming"] == {
        "yes": Recording.objects.filter(suite="agents", is_streaming=True).count(),
        "no": Recording.objects.filter(suite="agents", is_streaming=False).count(),
    }
    chosen = re.findall(r'<li class="chosen"><a href="([^"]+)"[^>]*data-facet="suite"', counted)
    assert len(chosen) == 1
    # Clicking a chosen value again removes it, keeping the rest.
    assert parse_qs(urlsplit(html.unescape(chosen[0])).query) == {"streaming": ["yes"]}


def facet_counts(body: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for name, value, count in re.findall(
        r'data-facet="([^"]+)" title="([^"]*)">[^<]*</a> <span class="count">(\d+)</span>', body
    ):
        found.setdefault(name, {})[html.unescape(value)] = int(count)
    return found


@pytest.mark.parametrize(
    ("params", "condition"),
    [
        ({"tools": "yes"}, {"tool_call_count__gt": 0}),
        ({"exception": "yes"}, {"is_exception": True}),
        ({"status": "exception"}, {"is_exception": True}),
        ({"endpoint": "/v1/embeddings"}, {"endpoint": "/v1/embeddings"}),
    ],
)
def test_it_filters_on_flags(client, fixture_recordings, params, condition):
    found = paths(client.get("/", params))
    assert found
    assert sorted(found) == sorted(
        Recording.objects.filter(**condition).values_list("path", flat=True)
    )


def test_it_sorts_by_whitelisted_columns_and_refuses_others(client, fixture_recordings):
    by_size = paths(client.get("/", {"_sort": "-size"}))
    assert by_size == list(
        Recording.objects.order_by("-size", "-id").values_list("path", flat=True)[:50]
    )
    assert client.get("/", {"_sort": "path; DROP TABLE"}).status_code == 400
    assert client.get("/", {"_size": "100000"}).status_code == 400
    assert client.get("/recordings.json", {"_next": "-1"}).status_code == 400


def test_it_answers_head_for_monitors_and_refuses_writes(client, fixture_recordings):
    path = Recording.objects.filter(is_streaming=True).values_list("path", flat=True).first()
    page = path.removesuffix(".json")
    for url in ("/", "/recordings.json", "/errors", f"/r/{page}", f"/play/{page}"):
        response = client.head(url)
        assert response.status_code == 200, url
        assert response.content == b""
        assert client.post(url).status_code == 405
    # A replay would run its whole length for a HEAD.
    assert client.head(f"/stream/{page}").status_code == 405


def test_it_says_sizes_as_django_does(client, fixture_recordings):
    from django.template.defaultfilters import filesizeformat

    response = client.get("/")
    body = response.content.decode()
    for row in response.context["rows"]:
        assert f'<td class="num">{filesizeformat(row["size"])}</td>' in body


def test_its_form_shares_its_fields_between_requests_and_nothing_else():
    """Django deep-copies a form's fields for each instance: ~0.6 ms a request for the list's."""
    from inspector.forms import RecordingFilter

    first, second = RecordingFilter({"q": "alpha", "_size": "5"}), RecordingFilter({"_size": "x"})
    assert first.fields["q"] is second.fields["q"] is RecordingFilter.base_fields["q"]
    assert first.is_valid()
    assert first.cleaned_data["_size"] == 5
    assert not second.is_valid()
    assert list(second.errors) == ["_size"]


def test_it_pages_without_counting(client, fixture_recordings, django_assert_num_queries):
    total = Recording.objects.count()
    seen: list[str] = []
    url = "/?_size=7"
    while url:
        response = client.get(url)
        seen += paths(response)
        url = response.context["next_url"]
        url = f"/{url}" if url else None
    assert len(seen) == total == len(set(seen))


def test_it_renders_only_the_results_for_htmx(client, fixture_recordings):
    response = client.get("/", {"q": "agents"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="results"' in body
    assert response["Vary"] == "HX-Request"


def test_it_keeps_the_list_query_count_fixed(client, django_assert_num_queries, tmp_path):
    # However many recordings there are, the page costs the same queries: one for the rows,
    # one per facet, one for the import-error count.
    import_paths([tmp_path], max_bytes=1)
    from tests.test_import_recordings import GOOD, write

    for number in range(30):
        write(tmp_path / "s" / "recordings" / f"{number:064x}.json", GOOD)
    import_paths([tmp_path], max_bytes=10**6)
    with django_assert_num_queries(2):  # the rows, the import-error count
        response = client.get("/", {"suite": "s"})
    assert len(response.context["rows"]) == 30
    # The data's version, then the whole selection grouped by every facet, the chosen facets'
    # own counts (the suite's, without its choice), and the list's count for the summary line
    # (tests/test_facet_cache.py: a repeat is the version alone).
    with django_assert_num_queries(4):
        client.get("/facets", {"suite": "s"})
    client.get("/facets", {"q": "hello"})  # the first search looks for the index once
    with django_assert_num_queries(1):
        client.get("/facets", {"q": "hello"})
    # A search: its page of ids and their rows in one statement, and the import-error count.
    with django_assert_num_queries(2):
        response = client.get("/", {"q": "hello"})
    assert len(response.context["rows"]) == 30


@pytest.mark.parametrize("params", [{}, {"q": "test_"}, {"q": "inference", "streaming": "yes"}])
def test_it_counts_facets_exactly_over_every_match(client, fixture_recordings, params):
    qs = Recording.objects.all()
    for word in params.get("q", "").split():
        qs = qs.filter(search__contains=word)
    matches = list(qs)  # streaming's own counts leave its choice out
    body = client.get("/facets", params).content.decode()
    assert "Counts over the newest" not in body
    counts = facet_counts(body)
    assert counts["streaming"] == {
        "yes": sum(r.is_streaming for r in matches),
        "no": sum(not r.is_streaming for r in matches),
    }
    if "streaming" not in params:
        assert counts["suite"] == dict(Counter(r.suite for r in matches if r.suite))


def test_it_shows_the_facets_in_the_page_without_javascript(client, fixture_recordings):
    response = client.get("/", {"suite": "agents", "_facets": "on"})
    names = [f["name"] for f in response.context["facets"]["groups"]]
    assert names == [
        "format",
        "suite",
        "file",
        "endpoint",
        "model",
        "provider",
        "verdict",
        "streaming",
        "tools",
        "exception",
    ]
    assert 'data-facet="suite"' in response.content.decode()


def test_it_never_reads_the_stored_bytes_for_the_list(
    client, fixture_recordings, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert 'FROM "inspector_source"' not in sql  # no cassette shown: no file looked up
    assert "inspector_stream" not in sql
    assert "response_text" not in sql


@pytest.mark.parametrize(
    "test_id",
    [
        "t.py::test_x[<script>alert(1)</script>]",  # in the test's parameters
        "t<script>alert(1)</script>.py::C<script>alert(1)</script>::test_<script>alert(1)</script>",
        None,  # no test id: the file name and path show instead
    ],
)
def test_it_escapes_everything_a_row_shows(client, tmp_path, test_id):
    """The list's rows (templates/inspector/_row.html): every value from the file is escaped by
    the template, wherever the row shows it."""
    from tests.test_import_recordings import GOOD, write

    evil = "<script>alert(1)</script>"
    request = {**GOOD["request"], "endpoint": f"/v1{evil}", "model": f"m{evil}"}
    request["url"] = f"https://h{evil}.example/v1/chat/completions"
    named = "<img src=x onerror=alert(1)>"  # no slash: a folder's and a file's name
    write(
        tmp_path / f"s{named}" / "recordings" / f"e{named}.json",
        {**GOOD, "test_id": test_id, "request": request},
    )
    import_paths([tmp_path], max_bytes=10**6)
    response = client.get("/")
    body = response.content.decode()
    assert "<script>" not in body
    assert "<img" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    row = body[body.index("<tr data-href") : body.index("</tbody>")]
    assert row.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # endpoint, model
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1]


def test_its_pages_set_no_cookie(client, fixture_recordings):
    """Nothing in the dashboard writes: no page carries a CSRF token, so none sets a cookie
    (a shared cache may keep them, and a token cost every page ~0.2 ms to make)."""
    from inspector.views.common import page_path

    recording = Recording.objects.order_by("-size").first()
    for path in ("/", "/?q=agents", "/errors", page_path(recording.path)):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not response.cookies, path
        assert "Cookie" not in response.get("Vary", ""), path


def test_its_pages_link_static_files_that_exist(client, fixture_recordings):
    """Each static URL a page names is Django's for a file there is."""
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import StaticFilesStorage, staticfiles_storage

    for _ in range(2):
        body = client.get("/").content.decode()
        links = re.findall(r'(?:href|src)="/static/([^"]+)"', body)
        assert len(links) >= 6
        for link in links:
            assert finders.find(link), link
            assert staticfiles_storage.url(link) == StaticFilesStorage().url(link)


def test_it_sends_the_policy_under_asgi_too(asgi_server, fixture_recordings):
    """`make serve` runs the app under uvicorn, where the middleware runs as a coroutine."""
    from urllib.request import urlopen

    from inspector.middleware import POLICY

    for path in ("/", "/recordings.json", "/errors"):
        with urlopen(f"{asgi_server}{path}") as response:
            assert response.headers["Content-Security-Policy"] == POLICY
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"  # Django's middleware too


def settled(condition, seconds=5.0):
    """Wait for the server thread to get there."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.005)


def test_it_keeps_database_connections_from_request_to_request_under_asgi(
    asgi_server, fixture_recordings, monkeypatch
):
    """Under ASGI Django opened a connection per request (each ran in a new thread): ~1 ms for
    SQLite, and a cold page cache. inspector.asgi.Handler hands its threads on, and with them
    their connections."""
    from urllib.request import urlopen

    from django.db import connection, connections

    from inspector.asgi import Handler, application

    made, opened = [], []
    wrapper = type(connections["default"])
    create, connect = type(connections).create_connection, wrapper.get_new_connection
    monkeypatch.setattr(
        type(connections),
        "create_connection",
        lambda self, alias: made.append(alias) or create(self, alias),
    )
    monkeypatch.setattr(
        wrapper,
        "get_new_connection",
        lambda self, params: opened.append(1) or connect(self, params),
    )
    handler = application
    while not isinstance(handler, Handler):
        handler = handler.application  # under the static files' handler
    idle = max(len(handler.threads), 1)
    for _ in range(4):
        with urlopen(f"{asgi_server}/recordings.json?q=chat") as response:
            assert response.status == 200
        # A request gives its thread back once its response is closed, after sending it.
        settled(lambda: len(handler.threads) == idle)
    assert len(made) <= 1  # none when an earlier test's server left one idle
    if connection.vendor == "sqlite":  # PostgreSQL takes it from its pool each time
        assert len(opened) <= 1


def postgres_options(monkeypatch, **env: str) -> dict:
    """The database OPTIONS inspector/settings.py makes for a PostgreSQL URL and `env`."""
    import runpy

    import inspector.settings

    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@127.0.0.1:5432/db")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    made = runpy.run_path(inspector.settings.__file__)
    return made["DATABASES"]["default"]["OPTIONS"]


def test_postgresql_prepares_the_statements_a_connection_repeats(
    client, fixture_recordings, monkeypatch
):
    """PostgreSQL: parameters go apart from the statement (settings: server-side binding), so
    psycopg prepares a statement the fifth time a connection runs it and a search page's
    statements are no longer planned each time; INSPECTOR_DB_PREPARE=0 (PgBouncer) turns both
    off."""
    options = postgres_options(monkeypatch)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5
    off = postgres_options(monkeypatch, INSPECTOR_DB_PREPARE="0")
    assert "server_side_binding" not in off
    assert "prepare_threshold" not in off
    if connection.vendor == "postgresql":  # and the server this suite runs on does so
        for word in ["chat", "chat", "tool", "stream", "chat", "gpt"]:  # one statement
            assert client.get("/", {"q": word}).status_code == 200
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement FROM pg_prepared_statements WHERE NOT from_sql"
                " AND statement LIKE %s",
                ["%inspector_recording_search_newest%"],
            )
            prepared = [row[0] for row in cursor.fetchall()]
        assert len(prepared) == 1, prepared
        assert "chat" not in prepared[0]  # the words are its parameters


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["test", "-test", "model", "-endpoint", "provider"])
def test_it_sorts_long_texts_by_the_index_of_their_prefix(fixture_recordings, key):
    """Test ids, models, endpoints and hosts are indexed by a prefix (models.LongText); the list
    sorted by one of them must walk that index, not sort the whole table (SQLite at 100,000
    recordings: 290 ms by test otherwise)."""
    form = RecordingFilter({"_sort": key})
    assert form.is_valid()
    query = form.ordered(Recording.objects.all()).values_list("id")[:51]
    sql, params = query.query.sql_with_params()
    column = {"test": "test_id"}.get(key.lstrip("-"), key.lstrip("-"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: it would scan them
        explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
        cursor.execute(f"{explain} {sql}", params)
        plan = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert f"recording_{column}_prefix_idx" in plan
    ordered = [value for value in query.values_list(column, flat=True) if value is not None]
    assert len(ordered) > 10
    assert ordered == sorted(ordered, reverse=key.startswith("-"))
