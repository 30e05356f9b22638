"""The list's facets show every value (the first 12, then "show all"), take several values of
one facet at once (any of them matches), and count exactly however many recordings match."""

from __future__ import annotations

import html
import re
from copy import copy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.utils import timezone

from inspector.forms import RecordingFilter
from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording
from tests.test_import_recordings import GOOD, write
from tests.test_index import facet_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def one(tmp_path: Path) -> Recording:
    """One imported recording, to copy."""
    write(tmp_path / "s" / "recordings" / ("a" * 64 + ".json"), GOOD)
    import_paths([tmp_path], max_bytes=10**6)
    return Recording.objects.get()


def copies(base: Recording, count: int, **columns) -> None:
    """`count` copies of `base` made cheaply (bulk_create, no import), each column in `columns`
    set by a function of the copy's number; then the data's version moves, as an import's end
    moves it."""
    rows = []
    for number in range(count):
        row = copy(base)
        row.pk = None
        row.path = f"s/recordings/{number:064x}.json"
        for column, value_of in columns.items():
            setattr(row, column, value_of(number))
        rows.append(row)
    Recording.objects.bulk_create(rows, batch_size=2000)
    base.delete()
    ImportRoot.objects.update(last_import=timezone.now())


def model_of(number: int) -> str:
    """Model k (from 0) for k + 1 copies: numbers 0, 1-2, 3-5, ... (counts all differ)."""
    k = 0
    while number > k:
        number -= k + 1
        k += 1
    return f"model-{k:02d}"


def count_of(client, **params) -> int:
    response = client.get("/recordings.json", {**params, "_size": "1"})
    assert response.status_code == 200, response.content
    return response.json()["count"]


def model_links(body: str) -> dict[str, str]:
    found = re.findall(r'<a href="([^"]+)"[^>]*data-facet="model" title="([^"]*)"', body)
    return {html.unescape(value): html.unescape(url) for url, value in found}


def test_it_shows_every_value_past_the_first_twelve(client, one):
    copies(one, sum(range(1, 31)), model=model_of)  # 30 models, 1 to 30 copies each
    body = client.get("/facets").content.decode()
    expected = {f"model-{k:02d}": k + 1 for k in range(30)}
    assert facet_counts(body)["model"] == expected
    assert "<summary>show all 30</summary>" in body
    # The twelve most frequent at once, the other eighteen behind "show all".
    section = body[body.index("<h3>model</h3>") :]
    shown, rest = section.split("<details", 1)
    assert list(model_links(shown)) == [f"model-{k:02d}" for k in range(29, 17, -1)]
    assert len(model_links(rest[: rest.index("</details>")])) == 18
    # Each value's link lists its recordings, however far down it is.
    for value, url in model_links(section).items():
        params = parse_qs(urlsplit(url).query)
        assert params == {"model": [value]}
        assert count_of(client, **params) == expected[value]


def test_two_values_of_one_facet_select_either(client, one):
    copies(one, sum(range(1, 31)), model=model_of, is_streaming=lambda n: n % 2 == 0)
    chosen = {"model": ["model-03", "model-29"]}
    assert count_of(client, **chosen) == 4 + 30
    page = client.get("/", {**chosen, "_size": "500"})
    assert {row["model"] for row in page.context["rows"]} == {"model-03", "model-29"}
    # The state carries every value, in the page's hidden inputs and in its links.
    body = page.content.decode()
    state = body[body.index('<div id="list-state"') :]
    state = state[: state.index("</div>")]
    assert '<input type="hidden" name="model" value="model-03">' in state
    assert '<input type="hidden" name="model" value="model-29">' in state
    assert "model=model-03&amp;model=model-29" in body
    facets = client.get("/facets", chosen).content.decode()
    # Other facets count the union; the model facet counts without its own choice.
    assert facet_counts(facets)["streaming"] == {
        "yes": Recording.objects.filter(model__in=chosen["model"], is_streaming=True).count(),
        "no": Recording.objects.filter(model__in=chosen["model"], is_streaming=False).count(),
    }
    assert len(facet_counts(facets)["model"]) == 30
    marked = re.findall(r'<li class="chosen"><a [^>]*data-facet="model" title="([^"]*)"', facets)
    assert sorted(marked) == ["model-03", "model-29"]
    # model-03 is past the first twelve: "show all" opens to show it chosen.
    assert '<details class="more" open>' in facets
    links = model_links(facets)
    assert parse_qs(urlsplit(links["model-03"]).query) == {"model": ["model-29"]}  # taken away
    added = parse_qs(urlsplit(links["model-10"]).query)
    assert added == {"model": ["model-03", "model-29", "model-10"]}
    assert count_of(client, **added) == 4 + 30 + 11


def test_its_counts_stay_exact_past_ten_thousand(client, one):
    total = 12_345
    copies(
        one,
        total,
        model=lambda n: "big" if n % 3 else "small",
        suite=lambda n: f"suite-{n % 7}",
        is_streaming=lambda n: n % 4 == 0,
    )
    small = len(range(0, total, 3))
    body = client.get("/facets").content.decode()
    assert "Counts over the newest" not in body
    counts = facet_counts(body)
    assert counts["model"] == {"big": total - small, "small": small}
    assert counts["suite"] == {f"suite-{k}": len(range(k, total, 7)) for k in range(7)}
    assert counts["streaming"] == {
        "yes": len(range(0, total, 4)),
        "no": total - len(range(0, total, 4)),
    }
    # Narrowed by another facet, and the list's own count.
    narrowed = facet_counts(client.get("/facets", {"streaming": "yes"}).content.decode())
    assert narrowed["model"] == {
        "big": sum(1 for n in range(0, total, 4) if n % 3),
        "small": sum(1 for n in range(0, total, 4) if not n % 3),
    }
    assert count_of(client) == total
    assert count_of(client, model=["big", "small"]) == total


@pytest.mark.parametrize(
    "params",
    [
        {"format": "nope"},
        {"verdict": "nope"},
        {"format": ["vcr", "nope"]},
        {"model": [f"m{n}" for n in range(101)]},
        {"model": "x" * 1001},
        {"suite": ["ok", "bad\x00"]},
    ],
)
@pytest.mark.parametrize("url", ["/", "/facets", "/recordings.json", "/overview"])
def test_it_refuses_bad_values_with_a_400(client, one, url, params):
    assert client.get(url, params).status_code == 400


def test_a_single_value_reads_and_writes_as_before():
    form = RecordingFilter(QueryDict("model=a&model=b&model=a&suite=s&streaming=yes"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["model"] == ["a", "b"]  # repeats dropped
    assert form.query_string() == "?suite=s&model=a&model=b&streaming=yes"
    assert form.query_string(model="c") == "?suite=s&model=c&streaming=yes"
    assert form.query_string(model=None, suite=[]) == "?streaming=yes"
    made_from_a_dict = RecordingFilter({"suite": "s"})
    assert made_from_a_dict.is_valid()
    assert made_from_a_dict.state() == {"suite": ["s"]}
    assert made_from_a_dict.state_pairs() == [("suite", "s")]
