from __future__ import annotations

import pytest

from inspector.models import Recording

pytestmark = pytest.mark.django_db


def test_it_returns_the_matching_recordings_metadata(client, fixture_recordings):
    response = client.get("/recordings.json", {"suite": "agents", "_size": 2})
    assert response["Content-Type"] == "application/json"
    body = response.json()
    first = Recording.objects.filter(suite="agents").order_by("-imported", "-id").first()
    assert body["recordings"][0] == {
        "path": first.path,
        "url": "/r/" + first.path.removesuffix(".json"),
        "raw_url": "/r/" + first.path,
        "format": "llama-stack",
        "index": 1,
        "source": first.path,
        "test_id": first.test_id,
        "suite": "agents",
        "kind": first.kind,
        "endpoint": first.endpoint,
        "model": first.model,
        "provider": first.provider,
        "streaming": first.is_streaming,
        "tool_calls": first.tool_call_count,
        "tokens": first.total_tokens,
        "size": first.size,
        "status": "ok",
        "name_verdict": first.name_verdict,
    }
    assert len(body["recordings"]) == 2
    assert body["count"] == Recording.objects.filter(suite="agents").count()


def test_it_links_to_the_next_page_until_the_end(client, fixture_recordings):
    seen = []
    url = "/recordings.json?_size=5&_sort=test"
    while url:
        body = client.get(url).json()
        seen += [r["path"] for r in body["recordings"]]
        url = body["next"]
    assert seen == list(Recording.objects.order_by("test_id", "id").values_list("path", flat=True))


def test_it_answers_bad_parameters_with_a_400_in_json(client, fixture_recordings):
    response = client.get("/recordings.json", {"streaming": "maybe"})
    assert response.status_code == 400
    assert response.json()["fields"].keys() == {"streaming"}


def test_a_search_lists_what_the_filters_list_with_the_same_types(client, fixture_recordings):
    """Words alone, in the default order, read their rows through the search index's own
    statement (listing.select): the same values, and JSON's true and false rather than
    SQLite's 1 and 0, and the same count."""

    def listed(params):
        body = client.get("/recordings.json", {"q": "agents", "_size": 200, **params}).json()
        return {
            row["path"]: [(key, type(value), value) for key, value in row.items()]
            for row in body["recordings"]
        }

    searched = listed({})
    assert searched == listed({"_sort": "test"})  # the filter's rows, in another order
    counts = [
        client.get("/recordings.json", {"q": "agents", **params}).json()["count"]
        for params in ({}, {"_sort": "test"}, {"_size": 1})
    ]
    assert counts == [len(searched)] * 3
    streaming = [dict((k, v) for k, _, v in row)["streaming"] for row in searched.values()]
    assert set(streaming) == {True, False}
    assert {type(value) for value in streaming} == {bool}
