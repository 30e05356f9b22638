from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.utils.html import escape

from inspector import playback
from inspector.cassettes.naming import strip_extension
from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording, Source, Stream
from inspector.twins import CASSETTE_KEYS, EXCHANGE_KEYS
from inspector.views.common import find_cassette, find_exchange
from tests.cassette_trees import (
    BASE,
    CHAT,
    FIXTURES,
    OTHER,
    PNG,
    QUERY_KEY,
    SECRET,
    SECRETS,
    VISION,
    write_tree,
)
from tests.test_stream_views import read_events

pytestmark = pytest.mark.django_db

MAX = 64 * 1024 * 1024


@pytest.fixture
def tree(tmp_path) -> Path:
    root = write_tree(tmp_path / "project")
    report = import_paths([root], max_bytes=MAX)
    assert report.failed == 0, report.failures
    return root


def html_of(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.content[:500])
    return response.content.decode()


# --------------------------------------------------------------------------- the resolver


def test_it_resolves_a_page_path_to_a_recording_an_exchange_or_a_cassette(tree):
    rec = find_exchange(f"x/recordings/{Path(VISION).name}")
    assert (rec.path, rec.format) == (f"x/recordings/{Path(VISION).name}.json", "llama-stack")
    exchange = find_exchange(f"{CHAT}/2")
    assert (exchange.path, exchange.index, exchange.format) == (f"{CHAT}/2", 1, "vcr")
    assert find_exchange(CHAT) is None
    assert find_cassette(CHAT).path == f"{CHAT}.yaml"
    assert find_cassette(f"{BASE}/test_json").path == f"{BASE}/test_json.json"
    assert find_cassette(f"{BASE}/test_gz").path == f"{BASE}/test_gz.yaml.gz"
    assert find_cassette(f"{BASE}/nope") is None
    assert find_cassette(f"x/recordings/{Path(VISION).name}") is None  # not a cassette


def test_it_prefers_a_llama_stack_recording_to_an_exchange_at_the_same_page_path(tree):
    # `<cassette>/1.json`, a llama-stack file where the cassette's first exchange is.
    clash = tree / CHAT / "1.json"
    clash.parent.mkdir()
    clash.write_bytes((FIXTURES / f"{VISION}.json").read_bytes())
    assert import_paths([tree], max_bytes=MAX).failed == 0
    assert find_exchange(f"{CHAT}/1").path == f"{CHAT}/1.json"
    assert find_exchange(f"{CHAT}/2").path == f"{CHAT}/2"


def test_it_serves_every_page_and_404s_the_rest(client, tree):
    llama = f"/r/x/recordings/{Path(VISION).name}"
    assert 'class="rec"' in html_of(client, llama)
    assert "rec-http" not in html_of(client, llama)  # no HTTP panel: not an exchange
    assert 'id="http"' in html_of(client, f"/r/{CHAT}/1")
    assert 'class="rec cas"' in html_of(client, f"/r/{CHAT}")
    for missing in (f"/r/{CHAT}/3", f"/r/{CHAT}/0", f"/r/{BASE}/nope", f"/r/{CHAT}.yml"):
        assert client.get(missing).status_code == 404, missing
    assert client.get(f"/r/{CHAT}", {"_format": "xml"}).status_code == 400


def test_it_serves_the_original_bytes_of_every_file_byte_for_byte(client, tree):
    cases = [
        (f"{CHAT}.yaml", "application/yaml"),
        (f"{BASE}/test_json.json", "application/json"),
        (f"{BASE}/test_gz.yaml.gz", "application/gzip"),
        (f"x/recordings/{Path(VISION).name}.json", "application/json"),
    ]
    for path, content_type in cases:
        response = client.get(f"/r/{path}")
        assert response.status_code == 200, path
        assert response.content == (tree / path).read_bytes()
        assert response["Content-Type"] == content_type
        assert response["X-Content-Type-Options"] == "nosniff"


# --------------------------------------------------------------------------- the pages


def test_it_shows_the_cassette_as_the_test_s_conversation_in_order(
    client, tree, django_assert_num_queries
):
    # The cassette (looked up after no exchange is at its path), its exchanges, their
    # messages (and their tool calls, when any has one): whatever the number of exchanges.
    with django_assert_num_queries(4):
        html = html_of(client, f"/r/{CHAT}")
    assert "test_chat" in html
    assert "tests/test_mod.py" in html
    assert f"{CHAT}.yaml" in html
    assert "YAML" in html
    assert "2 exchanges" in html
    links = re.findall(rf'<a class="cas-n" href="/r/{CHAT}/(\d+)">', html)
    assert links == ["1", "2"]
    assert html.index("What is 2+2?") < html.index("3+3?")
    assert html.count("What is 2+2?") == 1  # the second request resends it: not shown again
    assert "Six is the answer." in html
    assert "streamed, 9 chunks" in html
    assert "10 in · 1 out · 11 total tokens" in html
    assert "gpt-4o-mini" in html
    assert "POST" in html
    assert "key=&lt;masked&gt;&amp;v=1" in html
    assert f'href="/r/{CHAT}.yaml"' in html


def test_it_shows_an_exchange_with_its_http_and_its_place_in_the_cassette(client, tree):
    html = html_of(client, f"/r/{CHAT}/2")
    assert f'href="/r/{CHAT}" class="rec-up"' in html
    assert f'href="/r/{CHAT}/1">\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK} exchange 1' in html
    assert 'data-exchange="next"' not in html
    assert "exchange 2 of 2" in html
    assert f'<a class="rec-button" href="/r/{CHAT}.yaml" download="test_chat.yaml">' in html
    assert "text/event-stream; charset=utf-8" in html
    assert "200</span> OK" in html
    assert "<code>&lt;masked&gt;</code>" in html  # authorization, x-api-key, cookie...
    assert "Six is the answer." in html  # the response, assembled
    first = html_of(client, f"/r/{CHAT}/1")
    assert f'data-exchange="next" href="/r/{CHAT}/2">exchange 2' in first
    assert 'data-exchange="prev"' not in first


def test_it_shows_what_is_no_llm_call_as_what_it_is(client, tree):
    cassette = html_of(client, f"/r/{OTHER}")
    assert len(re.findall(r'<a class="cas-n"', cassette)) == 4
    assert "websocket" in cassette
    assert "text/html" in cassette
    assert "503" in cassette
    assert "<script>alert(1)</script>" not in cassette
    html = html_of(client, f"/r/{OTHER}/1")  # an HTML page: its start, escaped
    assert escape("<title>Status</title>") in html
    assert "<script>alert" not in html
    image = html_of(client, f"/r/{OTHER}/2")
    assert "image/png" in image
    assert "33 bytes" in image
    socket = html_of(client, f"/r/{OTHER}/3")
    assert "websocket" in socket
    telemetry = html_of(client, f"/r/{OTHER}/4")
    assert "503" in telemetry
    assert "(32 bytes, not text)" in telemetry
    for n in range(1, 5):
        assert client.get(f"/raw/{OTHER}/{n}").status_code == 200
        assert client.get(f"/r/{OTHER}/{n}", {"_format": "json"}).status_code == 200


def test_it_shows_the_raw_exchange_and_its_values_from_the_cassette(client, tree):
    raw = html_of(client, f"/raw/{CHAT}/1")
    assert "Raw JSON" in raw
    assert "What is 2+2?" in raw
    assert 'id="raw-original"' not in raw  # the cassette's text is never in a page
    value = client.get(f"/v/{CHAT}/1", {"at": "/request/body/messages/0/content"})
    assert value.status_code == 200
    assert "What is 2+2?" in value.content.decode()
    assert client.get(f"/v/{CHAT}/1", {"at": "/nope"}).status_code == 404


def test_it_serves_an_inline_image_of_an_exchange_s_request(client, tree):
    html = html_of(client, f"/r/{BASE}/test_vision/1")
    sources = re.findall(r'<img class="thumb" src="([^"]+)"', html)
    assert sources == [f"/i/{BASE}/test_vision/1/0/1"]
    image = client.get(sources[0])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image.content == PNG


# --------------------------------------------------------------------------- JSON twins


def test_it_gives_a_llama_stack_recording_s_json_twin(client, tree):
    rec = Recording.objects.get(format="llama-stack")
    response = client.get(f"/r/{rec.path.removesuffix('.json')}", {"_format": "json"})
    assert response["Content-Type"] == "application/json"
    twin = response.json()
    assert tuple(twin) == EXCHANGE_KEYS
    messages = list(rec.messages.order_by("index"))
    assert twin | {"messages": None, "response": None, "usage": None, "tool_calls": None} == {
        "path": rec.path, "index": 0, "test_id": rec.test_id, "test_file": rec.test_file,
        "test_class": rec.test_class, "test_function": rec.test_function,
        "test_params": rec.test_params, "suite": "x", "format": "llama-stack",
        "kind": "inference", "provider": rec.provider, "base_url": rec.base_url,
        "method": rec.method, "endpoint": rec.endpoint, "model": rec.model,
        "streaming": rec.is_streaming, "status": rec.status, "chunk_count": rec.chunk_count,
        "name_verdict": rec.name_verdict, "name_reason": rec.name_reason,
        "messages": None, "tool_calls": None, "response": None, "usage": None,
    }  # fmt: skip
    assert twin["messages"] == [
        {"role": m.role, "text": m.text, "tool_call_id": m.tool_call_id} for m in messages
    ]
    assert twin["response"]["text"] == rec.response_text
    assert set(twin["usage"]) == {
        "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens",
    }  # fmt: skip


def test_it_gives_an_exchange_s_json_twin(client, tree):
    twin = client.get(f"/r/{CHAT}/2", {"_format": "json"}).json()
    assert tuple(twin) == EXCHANGE_KEYS
    assert twin == {
        "path": f"{CHAT}/2", "index": 1, "test_id": "tests/test_mod.py::test_chat",
        "test_file": "tests/test_mod.py", "test_class": "", "test_function": "test_chat",
        "test_params": "", "suite": "tests", "format": "vcr", "kind": "inference",
        "provider": "openai", "base_url": "https://api.openai.com", "method": "POST",
        "endpoint": "/v1/chat/completions", "model": "gpt-4o-mini", "streaming": True,
        "status": 200, "chunk_count": 9,
        "name_verdict": "n/a", "name_reason": "a cassette: VCR matches requests, not names",
        "messages": [
            {"role": "user", "text": "What is 2+2?", "tool_call_id": ""},
            {"role": "assistant", "text": "4", "tool_call_id": ""},
            {"role": "user", "text": "3+3?", "tool_call_id": ""},
        ],
        "tool_calls": [],
        "response": {"text": "Six is the answer.", "reasoning": "", "finish_reason": "stop",
                     "tool_calls": []},
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25,
                  "cached_tokens": None, "reasoning_tokens": None},
    }  # fmt: skip


def test_it_gives_a_cassette_s_json_twin_with_its_exchanges(
    client, tree, django_assert_num_queries
):
    with django_assert_num_queries(4):
        twin = client.get(f"/r/{CHAT}", {"_format": "json"}).json()
    assert tuple(twin) == CASSETTE_KEYS
    assert {k: v for k, v in twin.items() if k != "exchanges"} == {
        "path": f"{CHAT}.yaml", "format": "vcr", "test_id": "tests/test_mod.py::test_chat",
        "test_file": "tests/test_mod.py", "test_class": "", "test_function": "test_chat",
        "test_params": "",
    }  # fmt: skip
    assert twin["exchanges"] == [
        client.get(f"/r/{CHAT}/{n}", {"_format": "json"}).json() for n in (1, 2)
    ]


# --------------------------------------------------------------------------- secrets


def test_it_never_shows_a_cassette_s_secrets_but_in_its_original_bytes(client, tree):
    pages = [f"/r/{CHAT}", f"/r/{CHAT}?_format=json", f"/r/{OTHER}", f"/r/{OTHER}?_format=json"]
    for n in (1, 2):
        page = f"{CHAT}/{n}"
        pages += [f"/r/{page}", f"/r/{page}?_format=json", f"/raw/{page}"]
        pages += [f"/v/{page}?at={quote(at)}" for at in ("", "/request", "/request/headers")]
        pages += [f"/v/{page}?at=/response/headers"]
    pages += [
        f"/play/{CHAT}/2",
        f"/chunk/{CHAT}/2?n=1",
        f"/chunks/{CHAT}/2",
        f"/r/{CHAT}/2?chunk=1",
    ]
    for n in range(1, 5):
        pages += [f"/r/{OTHER}/{n}", f"/raw/{OTHER}/{n}", f"/v/{OTHER}/{n}?at="]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        for secret in SECRETS:
            assert secret not in body, (page, secret)
    assert SECRET.encode() in client.get(f"/r/{CHAT}.yaml").content
    assert QUERY_KEY.encode() in client.get(f"/r/{CHAT}.yaml").content


# --------------------------------------------------------------------------- playback


def test_it_plays_an_sse_exchange_to_the_reassembled_response(client, tree):
    rec = Recording.objects.get(path=f"{CHAT}/2")
    chunks = Stream.objects.get(recording=rec).chunks
    assert playback.frame_at(chunks, len(chunks)).text == rec.response_text == "Six is the answer."
    paused = client.get(f"/play/{CHAT}/2", {"at": 3}, HTTP_HX_REQUEST="true")
    assert paused.status_code == 200
    assert paused["HX-Replace-Url"] == f"/r/{CHAT}/2?at=3&speed=1#player"
    assert escape(playback.frame_at(chunks, 3).text) in paused.content.decode()
    end = client.get(f"/play/{CHAT}/2", {"at": len(chunks)}, HTTP_HX_REQUEST="true")
    assert "Six is the answer." in end.content.decode()
    table = html_of(client, f"/chunks/{CHAT}/2")
    assert "answer" in table
    chunk = html_of(client, f"/chunk/{CHAT}/2?n=2")
    assert "Six" in chunk
    assert "data:" in chunk


def test_it_streams_an_sse_exchange_like_a_llama_stack_stream(asgi_server, tmp_path):
    root = write_tree(tmp_path / "project")
    assert import_paths([root], max_bytes=MAX).failed == 0
    events = read_events(f"{asgi_server}/stream/{CHAT}/2?at=0&speed=max")
    text = "".join(re.sub(r"</?span>", "", data) for _, name, data in events if name == "text")
    assert text == "Six is the answer."
    assert events[-1][1] == "done"
    assert "Six is the answer." in events[-1][2]


# --------------------------------------------------------------------------- the corpus


@pytest.fixture
def corpus_imported(cassette_corpus) -> list[dict[str, str]]:
    report = import_paths([cassette_corpus], max_bytes=MAX)
    assert report.failed == 0, report.failures[:5]
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def page_of(source: Source) -> str:
    return "/r/" + quote(strip_extension(source.path))


@pytest.mark.corpus
def test_it_shows_every_corpus_cassette_with_its_exchanges(client, corpus_imported):
    sources = {s.path: s for s in Source.objects.filter(format="vcr").defer("data")}
    assert len(sources) == len(corpus_imported)
    for row in corpus_imported:
        source = sources[row["path"]]
        assert source.exchange_count == int(row["exchanges"]), row["path"]
        html = html_of(client, page_of(source))
        assert len(re.findall(r'<a class="cas-n"', html)) == int(row["exchanges"]), row["path"]


@pytest.mark.corpus
def test_it_shows_every_corpus_exchange_and_its_twin(client, corpus_imported):
    for rec in Recording.objects.filter(format="vcr").only("path", "response_text"):
        twin = client.get(f"/r/{quote(rec.path)}", {"_format": "json"})
        assert twin.status_code == 200
        assert twin.json()["path"] == rec.path
    # The page of one exchange of each kind, provider and response type (all of them took a
    # minute, most of it drawing the same timelines).
    kinds: dict[tuple, Recording] = {}
    for rec in Recording.objects.filter(format="vcr").order_by("-chunk_count", "id"):
        kinds.setdefault((rec.kind, rec.provider, rec.response_type, rec.is_streaming), rec)
    assert len(kinds) > 10
    for rec in kinds.values():
        html = html_of(client, f"/r/{quote(rec.path)}")
        assert 'id="http"' in html, rec.path
        assert client.get(f"/raw/{quote(rec.path)}").status_code == 200, rec.path


@pytest.mark.corpus
def test_it_plays_every_corpus_sse_exchange_to_its_response(corpus_imported):
    played = 0
    for rec in Recording.objects.filter(format="vcr", is_streaming=True).select_related("stream"):
        chunks = rec.stream.chunks
        assert playback.frame_at(chunks, len(chunks)).text == rec.response_text, rec.path
        played += bool(rec.response_text)
    assert played > 100


@pytest.mark.corpus
def test_it_shows_the_largest_corpus_cassette_in_a_fixed_number_of_queries(
    client, corpus_imported, django_assert_num_queries
):
    largest = max(corpus_imported, key=lambda row: int(row["bytes"]))
    source = Source.objects.defer("data").get(path=largest["path"])
    assert source.size > 200_000
    # The budget is 200 ms (README); measured ~6 ms on SQLite. Counted here, not timed.
    with django_assert_num_queries(5):
        html = html_of(client, page_of(source))
    assert len(re.findall(r'<a class="cas-n"', html)) == int(largest["exchanges"])
    with django_assert_num_queries(2):  # the file, its bytes
        assert len(client.get(f"/r/{quote(source.path)}").content) == source.size


def test_it_keeps_pages_of_two_roots_apart_newest_first(client, tmp_path):
    first = write_tree(tmp_path / "one")
    second = write_tree(tmp_path / "two")
    assert import_paths([first], max_bytes=MAX).failed == 0
    assert import_paths([second], max_bytes=MAX).failed == 0
    newest = ImportRoot.objects.get(path=str(second))
    assert find_cassette(CHAT).root_id == newest.pk
    assert find_exchange(f"{CHAT}/1").root_id == newest.pk
