"""The search box finds a file from what a user pastes: a quoted hash, a `<hash>.json` file
name, an absolute path; a full hash that one recording has opens it (inspector/finding.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.finding import unquoted
from inspector.importer import import_paths
from inspector.models import Recording

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HASH = "93dbdf3fadce9feeca5dd668f3ff05dfb04884dcced695656e8048dcee579f16"
FILE = f"agents/recordings/{HASH}.json"
PAGE = f"/r/agents/recordings/{HASH}"
# Two files of one request hash (common/recordings/models-<hash>-<digest>.json).
SHARED = "3a641f25d65695766fb77e424273f716b852f371e1e87f6e14fd5672b1ab6005"


def listed(response) -> list[str]:
    assert response.status_code == 200
    return sorted(row["path"] for row in response.context["rows"])


@pytest.mark.parametrize("pasted", [HASH, f"'{HASH}'", f'"{HASH}"', f"`{HASH}`", f"  '{HASH}'  "])
def test_it_opens_the_one_recording_a_full_hash_names(client, fixture_recordings, pasted):
    response = client.get("/", {"q": pasted})
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "pasted",
    [
        f"{HASH}.json",
        f"'{HASH}.json'",
        str(FIXTURES / FILE),  # the file where it was imported from
        f"/home/ci/llama-stack/tests/integration/{FILE}",  # the same tree on a CI machine
        f"/home/ci/llama-stack/tests/integration/recordings/{HASH}.json",  # a layout we lack
        f"~/src/llama-stack/tests/integration/{FILE}",
    ],
)
def test_it_lists_the_file_a_pasted_file_name_or_path_names(client, fixture_recordings, pasted):
    assert listed(client.get("/", {"q": pasted})) == [FILE]


def test_it_opens_a_legacy_recording_by_its_quoted_12_digit_hash(client, fixture_recordings):
    legacy = Recording.objects.get(path="agents/recordings/f455f3046fc9.json")
    response = client.get("/", {"q": f"'{legacy.request_hash}'"})
    assert response.status_code == 302
    assert response["Location"] == "/r/agents/recordings/f455f3046fc9"
    # Bare, 12 digits are also the start of a sha256 being typed: listed, not opened.
    assert listed(client.get("/", {"q": legacy.request_hash})) == [legacy.path]


def test_it_tells_htmx_to_load_the_recording_instead_of_listing_it(client, fixture_recordings):
    response = client.get("/", {"q": f"'{HASH}'"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == PAGE


def test_it_lists_every_file_of_a_hash_that_several_have(client, fixture_recordings):
    expected = sorted(Recording.objects.filter(request_hash=SHARED).values_list("path", flat=True))
    assert len(expected) == 2
    assert listed(client.get("/", {"q": f"'{SHARED}'"})) == expected
    assert listed(client.get("/", {"q": SHARED})) == expected


def test_it_lists_what_a_part_of_a_hash_matches_without_opening_it(client, fixture_recordings):
    assert listed(client.get("/", {"q": f"'{HASH[:20]}'"})) == [FILE]


def test_it_reduces_a_path_nothing_imported_holds_to_its_file_name(client, fixture_recordings):
    response = client.get("/", {"q": "/tmp/elsewhere/no-such-recording.json"})
    assert listed(response) == []
    assert response.context["form"].cleaned_data["q"] == "no-such-recording"


def test_it_searches_a_path_that_names_no_file_as_typed(client, fixture_recordings):
    response = client.get("/", {"q": "/recordings/"})
    assert response.context["form"].cleaned_data["q"] == "/recordings/"
    assert len(listed(response)) == Recording.objects.filter(path__contains="/recordings/").count()


def test_it_finds_a_cassette_from_its_absolute_path_on_another_machine(client, cassette_corpus):
    assert import_paths([cassette_corpus], max_bytes=64 * 1024 * 1024).failed == 0
    cassette = "mirascope/tests/e2e/input/cassettes/test_authentication_error/anthropic_claude_sonnet_4_0.yaml"  # noqa: E501
    response = client.get("/", {"q": f"/home/someone/src/{cassette}"})
    rows = response.context["rows"]
    assert [row["source_path"] for row in rows] == [cassette]
    assert rows[0]["page"] == "/r/" + cassette.removesuffix(".yaml") + "/1"


def test_it_searches_quoted_words_with_spaces_as_typed(client, fixture_recordings):
    response = client.get("/", {"q": "'multi turn'"})
    assert response.status_code == 200
    assert response.context["form"].cleaned_data["q"] == "'multi turn'"


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("'abc'", "abc"),
        ('"abc"', "abc"),
        ("`abc`", "abc"),
        ("'abc", "'abc"),  # still typing: no closing quote yet
        ("'a b'", "'a b'"),
        ("''", ""),
        ("'", "'"),
    ],
)
def test_it_takes_the_quotes_off_a_single_quoted_token(typed, found):
    assert unquoted(typed) == found
