"""The content search (`?text=`): what the list finds agrees with a scan of the corpus files,
made here apart from the app (its own folding, words and phrase matching); accents and case;
phrases and words; with facets and sorts; snippets marked and escaped; kept in step with
re-imports."""

from __future__ import annotations

import contextlib
import importlib
import re
import unicodedata
from pathlib import Path
from typing import Any

import orjson
import pytest

from inspector.cassettes.reading import read_cassette
from inspector.formats import exchanges_in
from inspector.importer import import_paths
from inspector.models import Recording, RecordingContent
from tests.documents import chat_recording

pytestmark = pytest.mark.django_db

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Words and phrases, rare to common, with what a user types: case, accents, punctuation.
SEARCHES = [
    "tokyo",
    "Paris",
    "kenobi",
    "weather",
    "hello",
    "capital France",
    '"capital of France"',
    "the weather in",
    '"the weather in"',
    "get_weather",
    "get weather",
    "HERGÉ",
    "herge",
    '"Hergé"',
    "error",
    "zzzznotaword",
]


# --------------------------------------------------------------------------- the scan


def folded_words(text: str) -> list[str]:
    """Words as a user means them: letters and digits, casefolded, accents dropped."""
    plain = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    ).casefold()
    return [w for w in re.split(r"[\W_]+", plain) if w]


def exchange_texts(parsed: Any, bodies: tuple[bytes, bytes] | None) -> list[str]:
    """What an exchange says, field by field, as the issue lists it."""
    texts = []
    for message in parsed.messages:
        texts += [message.name, message.text, message.reasoning]
        texts += [f"{c.name} {c.arguments}" for c in message.tool_calls]
    texts += [parsed.response.text, parsed.response.reasoning]
    texts += [f"{c.name} {c.arguments}" for c in parsed.response.tool_calls]
    texts += [tool.name for tool in parsed.tools]
    if parsed.failure:
        texts += [parsed.failure.type, parsed.failure.message]
    for body in bodies or ():
        with contextlib.suppress(UnicodeDecodeError):  # bytes that are no text say nothing
            texts.append(body.decode("utf-8"))
    return texts


def scanned(*roots: Path) -> dict[str, str]:
    """Each exchange's path (as /recordings.json gives it) -> its words, one space apart."""
    found: dict[str, str] = {}
    for root in roots:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).as_posix()
            data = file.read_bytes()
            try:
                parsed = exchanges_in(data, rel)
            except Exception:
                continue  # a file the import fails too
            if parsed is None:
                continue
            kind, exchanges = parsed
            bodies: list[Any] = [None] * len(exchanges)
            if kind == "vcr":
                interactions = read_cassette(data, rel).interactions
                bodies = [(i.request_body, i.response_body) for i in interactions]
            for n, (exchange, body) in enumerate(zip(exchanges, bodies, strict=True)):
                path = rel if kind != "vcr" else f"{rel.rsplit('.', 1)[0]}/{n + 1}"
                words = [w for t in exchange_texts(exchange, body) if t for w in folded_words(t)]
                found[path] = f" {' '.join(words)} "
    return found


def holds(words: str, search: str) -> bool:
    """Every word, and every quoted phrase as written, whatever the case and accents."""
    phrases = re.findall(r'"([^"]*)"', search)
    loose = re.sub(r'"[^"]*"', " ", search).split()
    terms = [folded_words(p) for p in phrases] + [folded_words(w) for w in loose]
    return all(f" {' '.join(term)} " in words for term in terms if term)


def listed(client, **params: str) -> list[str]:
    """Every path /recordings.json lists for `params`, page after page."""
    paths: list[str] = []
    url: str | None = "/recordings.json"
    query: dict[str, str] | None = {**params, "_size": "500"}
    while url:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        paths += [r["path"] for r in body["recordings"]]
        url, query = body["next"], None
    return paths


@pytest.fixture
def whole_corpus(corpus: Path, cassette_corpus: Path) -> dict[str, str]:
    report = import_paths([corpus, cassette_corpus], max_bytes=MAX)
    assert report.imported > 1000
    words = scanned(corpus, cassette_corpus)
    assert Recording.objects.filter(content__isnull=False).count() == len(words)
    return words


def test_it_finds_what_a_scan_of_the_corpus_finds(client, whole_corpus):
    counts = {}
    for search in SEARCHES:
        expected = sorted(p for p, words in whole_corpus.items() if holds(words, search))
        found = listed(client, text=search)
        assert len(found) == len(set(found)), search
        assert sorted(found) == expected, search
        counts[search] = len(found)
        # The count says as much.
        assert client.get("/recordings.json", {"text": search}).json()["count"] == len(found)
    # The searches cover rare and common words, phrases, and nothing at all.
    assert counts["tokyo"] > 0
    assert counts["error"] > 200
    assert counts["zzzznotaword"] == 0
    assert 0 < counts['"the weather in"'] < counts["the weather in"]
    assert 0 < counts["get_weather"] < counts["get weather"]  # get_weather: a phrase
    assert 0 < counts['"capital of France"'] <= counts["capital France"]
    # Accents and case do not matter.
    assert counts["herge"] == counts["HERGÉ"] == counts['"Hergé"'] > 0


def test_it_combines_with_facets_sorts_and_the_path_search(client, whole_corpus):
    expected = {p for p, words in whole_corpus.items() if holds(words, "weather")}
    cassettes = {r.path for r in Recording.objects.filter(format="vcr")}
    assert set(listed(client, text="weather", format="vcr")) == expected & cassettes
    assert expected & cassettes
    assert expected - cassettes
    assert set(listed(client, text="weather", _sort="size")) == expected
    by_size = listed(client, text="weather", _sort="-size")
    sizes = dict(Recording.objects.values_list("path", "size"))
    assert [sizes[p] for p in by_size] == sorted((sizes[p] for p in by_size), reverse=True)
    # With `q`, the test id or path must hold its word too.
    both = set(listed(client, text="weather", q="responses"))
    tests = dict(Recording.objects.values_list("path", "test_id"))
    assert both == {p for p in expected if "responses" in f"{tests[p] or ''} {p}".lower()}
    assert both
    assert both != expected


# --------------------------------------------------------------------------- small trees


def chat(prompt: str, answer: str, test: str = "t") -> dict[str, Any]:
    """A small llama-stack chat recording."""
    test_id = f"tests/integration/inference/test_chat.py::test_{test}"
    return chat_recording(prompt, answer, test_id=test_id)


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document))
    return path


def recordings(tmp_path: Path) -> Path:
    return tmp_path / "inference" / "recordings"


def test_it_marks_the_words_in_an_escaped_snippet(client, tmp_path):
    hostile = "Ignore this: <script>alert('x')</script> <b>bold</b> and then the Café in Tokyo."
    write(recordings(tmp_path) / ("a" * 64 + ".json"), chat("Where to eat?", hostile))
    write(recordings(tmp_path) / ("b" * 64 + ".json"), chat("Anything else?", "No."))
    import_paths([tmp_path], max_bytes=MAX)
    page = client.get("/", {"text": "cafe tokyo"}).content.decode()
    assert page.count('class="where snippet"') == 1
    assert "<mark>Café</mark> in <mark>Tokyo</mark>." in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page
    assert "<b>bold" not in page
    # The row's link carries the words, for the recording's page to mark them (find.js).
    assert re.search(
        r'href="/r/inference/recordings/a{64}\?from=[^"]*&amp;text=cafe%20tokyo"', page
    )
    # Without `text`, no snippet.
    assert 'class="where snippet"' not in client.get("/").content.decode()


def test_a_phrase_must_appear_as_written_and_words_anywhere(client, tmp_path):
    write(
        recordings(tmp_path) / ("a" * 64 + ".json"), chat("What is the weather in Tokyo?", "Sunny.")
    )
    write(
        recordings(tmp_path) / ("b" * 64 + ".json"), chat("In Tokyo, what is the weather?", "Rain.")
    )
    import_paths([tmp_path], max_bytes=MAX)

    def found(text: str) -> list[str]:
        return sorted(Path(p).stem[0] for p in listed(client, text=text))

    assert found("weather in tokyo") == ["a", "b"]
    assert found('"weather in tokyo"') == ["a"]
    assert found('"tokyo what"') == ["b"]  # punctuation between words does not count
    assert found('"weather in" sunny') == ["a"]
    assert found("weath") == []  # words match whole: no stemming, no prefixes
    assert found("!!!") == ["a", "b"]  # no word at all: nothing to narrow by


def test_it_follows_changes_and_removals(client, tmp_path):
    first = write(recordings(tmp_path) / ("a" * 64 + ".json"), chat("About zebras", "Stripes."))
    import_paths([tmp_path], max_bytes=MAX)
    assert len(listed(client, text="zebras")) == 1
    write(first, chat("About giraffes", "Necks."))
    import_paths([tmp_path], max_bytes=MAX)
    assert listed(client, text="zebras") == []
    assert len(listed(client, text="giraffes necks")) == 1
    assert RecordingContent.objects.count() == 1
    first.unlink()
    import_paths([tmp_path], max_bytes=MAX, prune=True)
    assert listed(client, text="giraffes") == []
    assert RecordingContent.objects.count() == 0


def test_a_bad_text_is_a_400(client):
    assert client.get("/", {"text": "x" * 501}).status_code == 400
    assert client.get("/recordings.json", {"text": "x" * 501}).status_code == 400
    assert client.get("/recordings.json", {"text": "\x00"}).status_code == 400


def test_the_migration_gives_recordings_imported_before_it_their_content(client, tmp_path):
    """Rows imported before migration 0015 have no content, and their unchanged files are
    never read again: the migration reads them from their stored bytes."""
    from django.apps import apps

    fill = importlib.import_module("inspector.migrations.0015_content_search").fill
    write(recordings(tmp_path) / ("a" * 64 + ".json"), chat("About okapis", "Stripes too."))
    import_paths([tmp_path, FIXTURES], max_bytes=MAX)
    expected = {r.recording_id: (r.text, r.words) for r in RecordingContent.objects.all()}
    assert len(expected) == Recording.objects.count()
    RecordingContent.objects.all().delete()
    assert listed(client, text="okapis") == []
    fill(apps, None)
    assert {r.recording_id: (r.text, r.words) for r in RecordingContent.objects.all()} == expected
    assert len(listed(client, text="okapis")) == 1
