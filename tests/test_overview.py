"""/overview and /overview.json: totals and breakdowns of a selection, checked against what the
corpus's own files say; every figure and bar links to a list that holds it; and the list's
exact count ("1-50 of N")."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from inspector.importer import import_paths
from tests.test_import_recordings import GOOD, write

pytestmark = pytest.mark.django_db

MAX = 64 * 1024 * 1024
# A part of the cassette corpus (20 cassettes, 72 exchanges, half of them streamed): the whole
# one takes half a minute to import.
TOOL_CASSETTES = "mirascope/tests/e2e/output/cassettes/test_call_with_tools"
JSON_KEYS = {
    "recordings", "tests", "streaming", "with_tool_calls", "exceptions", "total_tokens",
    "by_suite", "by_provider", "by_model", "by_endpoint",
}  # fmt: skip


def overview(client, **params) -> dict:
    response = client.get("/overview.json", params)
    assert response.status_code == 200, response.content
    return response.json()


def recording_files(manifest: list[dict[str, str]]) -> list[dict[str, str]]:
    """The corpus's recordings (a legacy index.sqlite is not one)."""
    return [row for row in manifest if row["kind"] != "legacy_index"]


def suite_of(path: str) -> str:
    """A recording's suite, from its place: the folder holding `recordings/`; a legacy file's,
    the folder holding `responses/`."""
    rest = path.removeprefix("recordings/")
    if "/recordings/" in rest:
        return rest.split("/recordings/")[0]
    return rest.split("/responses/")[0]


def test_it_totals_the_corpus_as_its_files_say(client, corpus, manifest):
    import_paths([corpus], max_bytes=MAX)
    files = recording_files(manifest)
    documents = [json.loads((corpus.parent / row["path"]).read_bytes()) for row in files]
    found = overview(client)
    tests = {d.get("test_id") or d["request"].get("test_id") for d in documents} - {None}
    assert found["recordings"] == len(files)
    assert found["tests"] == len(tests)
    assert found["streaming"] == sum(row["is_streaming"] == "true" for row in files)
    # A failure: one the recorder caught, or an HTTP error a passthrough recorded.
    failed = [
        d["response"].get("is_exception") or (d["response"].get("status") or 0) >= 400
        for d in documents
    ]
    assert found["exceptions"] == sum(failed)
    assert found["total_bytes"] == sum(int(row["bytes"]) for row in files)
    assert found["by_suite"] == dict(Counter(suite_of(row["path"]) for row in files))
    assert found["suites"] == len(found["by_suite"])
    assert found["by_model"] == dict(Counter(row["model"] for row in files if row["model"]))
    # The manifest marks passthrough endpoints with their kind ("http:/v1/messages").
    endpoints = Counter(row["endpoint"].removeprefix("http:") for row in files)
    assert found["by_endpoint"] == dict(endpoints)
    # Most first, and the largest files and longest streams are the manifest's.
    assert list(found["by_suite"].values()) == sorted(found["by_suite"].values(), reverse=True)
    sizes = sorted((int(row["bytes"]) for row in files), reverse=True)
    assert [row["size"] for row in found["largest"]] == sizes[:10]
    chunks = sorted((int(r["chunks"]) for r in files if r["is_streaming"] == "true"), reverse=True)
    assert [row["chunk_count"] for row in found["longest_streams"]] == chunks[:10]
    assert sum(b["count"] for b in found["sizes"]) == len(files)
    assert sum(b["count"] for b in found["chunks"]) == found["streaming"]


def cassettes_under(cassette_corpus: Path, folder: str) -> list[dict[str, str]]:
    """The cassette manifest's rows of the cassettes under `folder`."""
    with open(cassette_corpus / "MANIFEST.tsv") as handle:
        header, *rows = [line.rstrip("\n").split("\t") for line in handle]
    cassettes = [dict(zip(header, row, strict=True)) for row in rows]
    return [c for c in cassettes if c["path"].startswith(folder + "/")]


def test_it_counts_the_cassettes_as_their_manifest_says(client, cassette_corpus):
    import_paths([cassette_corpus / TOOL_CASSETTES], max_bytes=MAX)
    cassettes = cassettes_under(cassette_corpus, TOOL_CASSETTES)
    found = overview(client)
    exchanges = sum(int(c["exchanges"]) for c in cassettes)
    assert found["recordings"] == exchanges
    assert found["by_format"] == {"vcr": exchanges}
    assert found["streaming"] == sum(int(c["sse_exchanges"]) for c in cassettes)
    assert exchanges == 72
    assert sum(found["by_endpoint"].values()) == exchanges


def test_it_answers_json_with_every_key(client, fixture_recordings):
    found = overview(client)
    assert set(found) >= JSON_KEYS
    for key in ("by_suite", "by_provider", "by_model", "by_endpoint"):
        assert found[key]
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in found[key].items())
    assert found["total_tokens"] > 0


def test_it_narrows_to_the_list_s_selection(client, corpus, manifest):
    import_paths([corpus], max_bytes=MAX)
    files = recording_files(manifest)
    agents = [row for row in files if suite_of(row["path"]) == "agents"]
    found = overview(client, suite="agents")
    assert found["recordings"] == len(agents)
    assert found["by_suite"] == {"agents": len(agents)}
    assert found["by_model"] == dict(Counter(r["model"] for r in agents if r["model"]))
    # Two values of one facet: either.
    both = overview(client, suite=["agents", "safety"])
    assert both["by_suite"] == {
        "agents": len(agents),
        "safety": sum(suite_of(r["path"]) == "safety" for r in files),
    }
    streamed = overview(client, suite="agents", streaming="yes")
    assert (
        streamed["recordings"]
        == streamed["streaming"]
        == sum(r["is_streaming"] == "true" for r in agents)
    )
    assert overview(client, q="no-such-test-anywhere")["recordings"] == 0


def links(body: str) -> list[tuple[str, int | None]]:
    """Every link of the page's figures and charts, and the count it says its list holds."""
    found = []
    for attributes in re.findall(r"<a (href=\"[^\"]*\"[^>]*)>", body):
        url = html.unescape(re.search(r'href="([^"]*)"', attributes).group(1))
        count = re.search(r'data-count="(\d+)"', attributes)
        found.append((url, int(count.group(1)) if count else None))
    return found


def test_every_figure_and_bar_links_to_a_list_that_holds_it(client, corpus, cassette_corpus):
    import_paths([corpus, cassette_corpus / TOOL_CASSETTES], max_bytes=MAX)
    body = client.get("/overview", {"format": ["llama-stack", "llama-stack-legacy"]}).content
    body = body.decode()
    main = body[body.index('<dl class="totals">') : body.index('<div class="tops">')]
    figures = links(main)
    counted = [(url, n) for url, n in figures if n is not None]
    assert len(counted) > 40  # totals, and every bar of the count charts
    for url, n in figures:
        assert url.startswith("/?"), url
        params = parse_qs(urlsplit(url).query)
        # The selection kept (or, for a bar of the format chart, narrowed to its value).
        assert set(params["format"]) <= {"llama-stack", "llama-stack-legacy"}, url
        # The list's own count, from its JSON twin (a page of one row: the count is all).
        listed = client.get("/recordings.json", {**params, "_size": "1"})
        assert listed.status_code == 200, url
        if n is not None:
            assert listed.json()["count"] == n, url
    # A histogram's bar opens the list sorted by its measure at the bucket's first row.
    sizes = overview(client, format=["llama-stack", "llama-stack-legacy"])["sizes"]
    bucket = max(range(len(sizes)), key=lambda i: sizes[i]["count"])
    chart = body[body.index('id="sizes"') :]
    bars = [url for url, _ in links(chart[: chart.index("</figure>")])]
    rows = client.get("/recordings.json", parse_qs(urlsplit(bars[bucket]).query)).json()
    assert len(rows["recordings"]) == sizes[bucket]["count"]
    low, high = sizes[bucket]["from"], sizes[bucket]["to"]
    assert all(low <= r["size"] < high for r in rows["recordings"])
    # The largest files link to their pages.
    top = body[body.index('<div class="tops">') :]
    for url, _ in links(top):
        assert client.get(url).status_code == 200, url


def test_it_shows_names_as_text_never_as_markup(client, tmp_path: Path):
    hostile = '<script>alert("x")</script>'
    document = {**GOOD, "request": {**GOOD["request"], "model": hostile}}
    write(tmp_path / "s" / "recordings" / ("a" * 64 + ".json"), document)
    import_paths([tmp_path], max_bytes=MAX)
    body = client.get("/overview").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body  # the bar's <title>
    assert overview(client)["by_model"] == {hostile: 1}


def test_it_refuses_bad_parameters_with_400s(client, fixture_recordings):
    assert client.get("/overview", {"format": "nope"}).status_code == 400
    response = client.get("/overview.json", {"streaming": "maybe"})
    assert response.status_code == 400
    assert "streaming" in response.json()["fields"]
    assert client.get("/overview", {"model": "x\x00"}).status_code == 400
    assert client.post("/overview").status_code == 405


def test_it_counts_a_selection_once_per_data_version(
    client, fixture_recordings, django_assert_num_queries
):
    first = client.get("/overview.json", {"suite": "agents"}).content
    with django_assert_num_queries(1):  # the data's version
        again = client.get("/overview", {"suite": "agents", "_sort": "size"})
    assert again.status_code == 200
    assert json.loads(first)["recordings"] > 0


def test_the_header_links_to_it(client, fixture_recordings):
    assert '<a href="/overview">Overview</a>' in client.get("/").content.decode()


# --------------------------------------------------------------------------- the list's count


def test_the_list_says_how_many_match(client, corpus):
    import_paths([corpus], max_bytes=MAX)
    params = {"suite": "responses", "_size": "7"}
    page = client.get("/", params).content.decode()
    # The rows do not wait for the count: /facets brings it, out of band.
    assert '<span id="match-count">more</span>' in page
    facets = client.get("/facets", params).content.decode()
    count = client.get("/recordings.json", params).json()["count"]
    assert count == 100
    assert f'<span id="match-count" hx-swap-oob="innerHTML">{count}</span>' in facets
    assert f'<span id="export-count" hx-swap-oob="innerHTML"> of {count}</span>' in facets
    # Without JavaScript the page counts with its facets; the last page knows it at once.
    with_facets = client.get("/", {**params, "_facets": "on"}).content.decode()
    assert f'Showing 1\N{EN DASH}7 of <span id="match-count">{count}</span>' in with_facets
    last = client.get("/", {**params, "_next": "98"}).content.decode()
    assert f'Showing 99\N{EN DASH}100 of <span id="match-count">{count}</span>' in last
    assert 'href="/export.zip?suite=responses&amp;_size=7"' in page
    assert 'href="/recordings.jsonl?suite=responses&amp;_size=7"' in page


def test_the_count_reads_with_thousands_separated(client, fixture_recordings, monkeypatch):
    monkeypatch.setattr("inspector.views.listing.match_count", lambda form: 1433)
    facets = client.get("/facets").content.decode()
    assert '<span id="match-count" hx-swap-oob="innerHTML">1,433</span>' in facets
