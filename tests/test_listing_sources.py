"""The list of exchanges with their files: llama-stack recordings and cassette exchanges side by
side, the format facet, `?group=source` (one row per file), and /recordings.json's `count`."""

from __future__ import annotations

import html
import re
from pathlib import Path

import orjson
import pytest

from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording, Source
from tests.test_import_recordings import GOOD, write

pytestmark = pytest.mark.django_db

CASSETTE = "tests/cassettes/test_mod/test_weather.yaml"
MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4o-mini"]


def interaction(model: str, tokens: int) -> str:
    request = orjson.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    response = orjson.dumps(
        {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hello"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": tokens - 1, "total_tokens": tokens},
        }
    )
    return f"""- request:
    body: '{request.decode()}'
    headers:
      content-type: [application/json]
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    status: {{code: 200, message: OK}}
    headers:
      Content-Type: [application/json]
    body: {{string: '{response.decode()}'}}
"""


def write_cassette(path: Path, models: list[str]) -> Path:
    """A VCR.py cassette (YAML) of one chat completion per model, the nth using 10 * n tokens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(interaction(model, 10 * (n + 1)) for n, model in enumerate(models))
    path.write_text(f"interactions:\n{body}version: 1\n")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two llama-stack recordings and two cassettes (three exchanges, one), imported."""
    write(tmp_path / "agents" / "recordings" / f"{1:064x}.json", GOOD)
    write(
        tmp_path / "agents" / "recordings" / f"{2:064x}.json",
        {**GOOD, "test_id": "tests/integration/agents/test_agents.py::test_other"},
    )
    write_cassette(tmp_path / CASSETTE, MODELS)
    write_cassette(tmp_path / "tests/cassettes/test_mod/test_single.yaml", ["gpt-4o"])
    report = import_paths([tmp_path], max_bytes=10**6)
    assert report.failed == 0, report.failures
    assert Recording.objects.filter(format="vcr").count() == 4
    return tmp_path


def listed(client, **params) -> dict:
    response = client.get("/recordings.json", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_gives_each_row_its_page_its_file_its_format_and_its_place(client, tree):
    rows = {row["path"]: row for row in listed(client)["recordings"]}
    recording = rows[f"agents/recordings/{1:064x}.json"]
    assert {k: recording[k] for k in ("url", "raw_url", "format", "index", "source")} == {
        "url": f"/r/agents/recordings/{1:064x}",
        "raw_url": f"/r/agents/recordings/{1:064x}.json",
        "format": "llama-stack",
        "index": 1,  # the one exchange of its file
        "source": f"agents/recordings/{1:064x}.json",
    }
    second = rows["tests/cassettes/test_mod/test_weather/2"]
    assert second == {
        "path": "tests/cassettes/test_mod/test_weather/2",
        "url": "/r/tests/cassettes/test_mod/test_weather/2",
        "raw_url": f"/r/{CASSETTE}",
        "format": "vcr",
        "index": 2,  # from 1, as in its address
        "source": CASSETTE,
        "test_id": "tests/test_mod.py::test_weather",
        "suite": "tests",
        "kind": "inference",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o",
        "provider": "openai",
        "streaming": False,
        "tool_calls": 0,
        "tokens": 20,
        "size": second["size"],
        "status": "ok",
        "name_verdict": "n/a",
    }
    assert second["size"] == (tree / CASSETTE).stat().st_size


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"format": "vcr"},
        {"format": "llama-stack"},
        {"q": "test_weather"},
        {"q": "TEST_MOD chat"},
        {"q": "gpt", "format": "vcr"},
        {"model": "gpt-4o"},
        {"q": "zzqx9"},
        {"q": "te"},  # too short for the search index
        {"_size": 1, "_sort": "model"},
    ],
)
def test_it_counts_every_match_of_the_selection(client, tree, params):
    body = listed(client, **params)
    expected = Recording.objects.all()
    for word in params.get("q", "").lower().split():
        expected = expected.filter(search__contains=word)
    for name in ("format", "model"):
        if name in params:
            expected = expected.filter(**{name: params[name]})
    assert body["count"] == expected.count()
    assert len(body["recordings"]) == min(expected.count(), params.get("_size", 50))


def test_its_count_follows_an_import(client, tree):
    assert listed(client, format="vcr")["count"] == 4
    write_cassette(tree / "tests/cassettes/test_mod/test_more.yaml", ["gpt-4o", "gpt-4o"])
    import_paths([tree], max_bytes=10**6)
    assert listed(client, format="vcr")["count"] == 6


def test_it_facets_and_filters_by_format(client, tree):
    body = client.get("/facets").content.decode()
    counts = dict(
        (html.unescape(value), int(n))
        for value, n in re.findall(
            r'data-facet="format" title="([^"]*)">[^<]*</a> <span class="count">(\d+)</span>', body
        )
    )
    assert counts == {"vcr": 4, "llama-stack": 2}
    assert ">VCR.py cassette</a>" in body  # the format's name, its value the tooltip
    response = client.get("/", {"format": "vcr"})
    assert {row["format"] for row in response.context["rows"]} == {"vcr"}
    assert len(response.context["rows"]) == 4
    assert client.get("/", {"format": "zip"}).status_code == 400
    assert client.get("/recordings.json", {"format": "zip"}).json()["fields"].keys() == {"format"}


def test_it_shows_which_exchange_of_its_cassette_a_row_is(client, tree):
    body = client.get("/", {"q": "test_weather"}).content.decode()
    rows = re.findall(r"<tr data-href=.*?</tr>", body, re.S)
    assert len(rows) == 3
    second = next(row for row in rows if "test_weather/2?" in row)
    assert 'href="/r/tests/cassettes/test_mod/test_weather/2?from=q%3Dtest_weather"' in second
    assert ">#2 of 3</span>" in second
    plain = client.get("/", {"format": "llama-stack"}).content.decode()
    assert 'class="exchange-of"' not in plain


def test_it_lists_one_row_per_file_when_grouped(client, tree):
    response = client.get("/", {"group": "source"})
    assert response.status_code == 200
    files = response.context["rows"]
    assert len(files) == 4
    chat = next(f for f in files if f["path"] == CASSETTE)
    assert (chat["exchange_count"], chat["matched"], chat["tokens"]) == (3, None, 60)
    assert (chat["models"], chat["providers"]) == (["gpt-4o", "gpt-4o-mini"], ["openai"])
    body = response.content.decode()
    assert 'href="/r/tests/cassettes/test_mod/test_weather"' in body  # the cassette's page
    assert "3 exchanges</span>" in body
    # A llama-stack file is its one exchange, shown as in the list of exchanges.
    assert f'href="/r/agents/recordings/{1:064x}?from=group%3Dsource"' in body
    # The toggle: back to the exchanges, with the rest of the state.
    assert 'href="?"' in body
    assert 'href="?group=source"' in client.get("/").content.decode()
    narrowed = client.get("/", {"group": "source", "q": "test_weather", "_sort": "imported"})
    assert [(f["path"], f["matched"]) for f in narrowed.context["rows"]] == [(CASSETTE, 3)]


def test_its_json_lists_files_when_grouped(client, tree):
    body = listed(client, group="source", model="gpt-4o", format="vcr")
    assert body["count"] == 2  # the cassettes holding a gpt-4o exchange
    # Newest import first (the walk imports test_single before test_weather).
    assert [f["path"] for f in body["sources"]] == [
        CASSETTE,
        "tests/cassettes/test_mod/test_single.yaml",
    ]
    chat = body["sources"][0]
    assert chat == {
        "path": CASSETTE,
        "url": "/r/tests/cassettes/test_mod/test_weather",
        "raw_url": f"/r/{CASSETTE}",
        "format": "vcr",
        "exchanges": 3,
        "matched": 1,
        "test_id": "tests/test_mod.py::test_weather",
        "suite": "tests",
        "providers": ["openai"],
        "models": ["gpt-4o", "gpt-4o-mini"],
        "tokens": 60,
        "size": (tree / CASSETTE).stat().st_size,
        "status": "ok",
        "name_verdict": "n/a",
    }
    oldest_first = listed(client, group="source", _sort="imported", _size=1)
    assert oldest_first["sources"][0]["format"] == "llama-stack"
    assert oldest_first["count"] == 4
    assert oldest_first["next"].endswith("_next=1")


@pytest.mark.parametrize(
    "params", [{"group": "tests"}, {"group": "source", "_sort": "model"}, {"group": ["x"] * 2}]
)
def test_it_refuses_a_grouping_it_cannot_list(client, tree, params):
    assert client.get("/", params).status_code == 400
    assert client.get("/recordings.json", params).status_code == 400


def hostile_rows() -> None:
    """A cassette exchange whose test id and path hold markup, made directly (no cassette file
    of a real project names its tests so)."""
    root = ImportRoot.objects.create(path="/hostile")
    evil = "<script>alert(1)</script>"
    cassette = "tests/cassettes/m/test_<img src=x onerror=alert(1)>.yaml"
    source = Source.objects.create(
        root=root, path=cassette, format="vcr", size=10, sha256="0" * 64, mtime_ns=0,
        exchange_count=2, data=b"",
    )  # fmt: skip
    for index in range(2):
        path = f"tests/cassettes/m/test_<img src=x onerror=alert(1)>/{index + 1}"
        Recording.objects.create(
            root=root, source=source, index=index, format="vcr", path=path,
            file_name="test_<img src=x onerror=alert(1)>.yaml", request_hash="", size=10,
            sha256="0" * 64, mtime_ns=0, kind="inference", test_id=f"m.py::test_{evil}[{evil}]",
            test_file=f"m{evil}.py", test_function=f"test_{evil}", test_params=evil,
            suite=evil, endpoint=evil, model=evil, provider=evil, search=path.lower(),
        )  # fmt: skip


@pytest.mark.parametrize("params", [{}, {"group": "source"}])
def test_it_shows_hostile_test_ids_as_text(client, params):
    hostile_rows()
    body = client.get("/", params).content.decode()
    rows = body[body.index("<tbody>") : body.index("</tbody>")]
    assert "<script>" not in body
    assert "<img" not in body
    assert "test_&lt;script&gt;alert(1)&lt;/script&gt;" in rows  # the test's name, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in rows
    assert rows.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # suite, model, ...


def test_the_list_costs_a_bounded_number_of_queries(
    client, tmp_path, django_assert_max_num_queries
):
    for n in range(30):
        write_cassette(tmp_path / f"tests/cassettes/test_mod/test_{n}.yaml", ["gpt-4o"] * 3)
        write(tmp_path / "s" / "recordings" / f"{n:064x}.json", GOOD)
    import_paths([tmp_path], max_bytes=10**6)
    client.get("/", {"q": "test_"})  # the first search looks for the index once
    # The rows, the cassettes' paths and exchange counts, the import-error count.
    with django_assert_max_num_queries(3):
        response = client.get("/")
    assert len(response.context["rows"]) == 50
    with django_assert_max_num_queries(3):
        client.get("/", {"q": "test_"})
    # The page's files, the files, their exchanges, how many match, the import-error count;
    # on SQLite the filter's probe of a word's matches (search.contains).
    with django_assert_max_num_queries(6):
        response = client.get("/", {"group": "source", "q": "test_"})
    assert len(response.context["rows"]) == 50  # of 60 files
    # The rows, their paths, the data's version and the count, and (SQLite) the word's probe.
    with django_assert_max_num_queries(5):
        client.get("/recordings.json", {"q": "test_", "format": "vcr"})
    with django_assert_max_num_queries(4):  # the count kept: the data's version instead
        client.get("/recordings.json", {"q": "test_", "format": "vcr"})


def test_it_never_reads_the_files_bytes_for_the_list(client, tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for params in ({}, {"group": "source"}):
            client.get("/", params)
            client.get("/recordings.json", params)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert '"inspector_source"' in sql  # the cassettes' paths
    assert '"inspector_source"."data"' not in sql
    assert "response_text" not in sql


def test_it_lists_the_corpus_cassettes_in_place(client, cassette_corpus):
    """A folder of real cassettes, read where it is: as many exchanges and files as the
    manifest says."""
    import csv

    folder = "mirascope/tests/e2e/input/cassettes/test_call_with_image_url"
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        manifest = [
            row for row in csv.DictReader(handle, delimiter="\t")
            if row["path"].startswith(folder + "/")
        ]  # fmt: skip
    import_paths([cassette_corpus / folder], max_bytes=64 * 1024 * 1024)
    exchanges = sum(int(row["exchanges"]) for row in manifest)
    assert listed(client, format="vcr", _size=500)["count"] == exchanges
    files = listed(client, group="source")
    assert files["count"] == len(manifest)
    assert sorted(f["exchanges"] for f in files["sources"]) == sorted(
        int(row["exchanges"]) for row in manifest
    )
