from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson
import pytest
from django.utils.html import escape

from inspector.conversation import page_path
from inspector.images import request_images
from inspector.importer import import_paths
from inspector.models import Message, Recording, Stream

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VISION = "inference/recordings/24fdb60a1478e90fefb98aca633474b34b9072a6f1bea80f675707cc00f8546c"
REMOTE_VISION = (
    "inference/recordings/384675bbc72a40382411dee77f7e18df8c19e54b42c39ac4c44dfd863ebf84af"
)
AGENTS_TURN_3 = "agents/recordings/93dbdf3fadce9feeca5dd668f3ff05dfb04884dcced695656e8048dcee579f16"
BIGGEST = "responses/recordings/0ea735928993b5a2de3a444256136d53ab666dbfb7582e5562268f809aa8d5f3"
SECTIONS = (
    "conversation", "embeddings", "models", "invocation", "events", "usage", "stream", "chain",
    "tools", "error",
)  # fmt: skip
THUMB = re.compile(r'<img class="thumb" src="([^"]+)"')
XSS = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def key_facts(rec: Recording, document: dict) -> list[str]:
    """What the page of `rec` must show, as HTML-escaped text: where it is, what it asked,
    and what makes its kind worth reading. Taken from the original file where it can be."""
    request, response = document["request"], document["response"]
    facts = [rec.path, rec.request_hash, rec.endpoint]
    if rec.base_url:  # the provider by name, its address apart
        facts += [f"Provider</dt><dd>{escape(rec.provider)}</dd>", rec.base_url]
    if rec.model:
        facts.append(rec.model)
    if rec.is_exception:
        facts.append(rec.exception_message or "(no message)")
    if rec.kind == "tool_invoke":
        facts.append(request["tool_name"])
    if rec.kind == "file_processor":
        facts += [request["file_id"], rec.response_text[:60]]
    if rec.listed_models:
        facts.append(rec.listed_models[0]["id"])
    if rec.embedding_count is not None:
        facts.append(f"Dimensions</dt><dd>{rec.embedding_dims}</dd>")
    body = response.get("body")
    if isinstance(body, list) and body and all(isinstance(line, str) for line in body):
        names = [line.removeprefix("event:").strip() for line in body if line.startswith("event:")]
        facts += [f'<code class="rec-event-name">{escape(n)}</code>' for n in dict.fromkeys(names)]
    if rec.kind in ("inference", "http_passthrough") and not rec.listed_models:
        if rec.response_text and rec.embedding_count is None:
            facts.append(rec.response_text[:60])
        user = next((m for m in rec.messages.all() if m.role == "user" and m.text), None)
        if user:
            facts.append(user.text[:40])
    return [f if f.startswith(("Dimensions", "Provider", "<code")) else escape(f) for f in facts]


def image_positions(rec: Recording) -> set[tuple[int, int]]:
    return {
        (m.index, p)
        for m in Message.objects.filter(recording=rec)
        for p, part in enumerate(m.parts)
        if part.get("type") == "image"
    }


def check_page(client, rec: Recording, document: dict) -> str:
    response = client.get(page_path(rec.path))
    assert response.status_code == 200, rec.path
    html = response.content.decode()
    missing = [fact for fact in key_facts(rec, document) if fact not in html]
    assert missing == [], rec.path
    # Every image the parser saw is found in the original again, at the same place...
    assert set(request_images(rec.kind, document["request"])) == image_positions(rec), rec.path
    # ...and every thumbnail the page shows is served, as an image and nothing else.
    for src in THUMB.findall(html):
        image = client.get(src)
        assert image.status_code == 200, src
        assert image["Content-Type"] in ("image/png", "image/jpeg", "image/gif", "image/webp")
        assert image["Content-Security-Policy"] == "default-src 'none'; sandbox"
    return html


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_shows_every_corpus_recording_with_its_key_facts(client, corpus, manifest):
    report = import_paths([corpus], max_bytes=MAX)
    assert report.failed == 0

    rows = [row for row in manifest if row["path"].endswith(".json")]
    thumbs = 0
    for row in rows:
        rel = row["path"].removeprefix("recordings/")
        rec = Recording.objects.get(path=rel)
        # The manifest marks a passthrough's endpoint `http:/v1/messages`; ours is the path.
        assert (rec.endpoint, rec.model) == (row["endpoint"].removeprefix("http:"), row["model"])
        html = check_page(client, rec, orjson.loads((corpus / rel).read_bytes()))
        thumbs += len(THUMB.findall(html))
        if "vision_b64" in row["tags"]:
            # A 566 KB base64 image stays out of the page: only a thumbnail and a short prefix.
            assert len(html) < 300_000, rel
            assert re.search(r"[A-Za-z0-9+/]{2000}", html) is None, rel
    # Ten inline images in the corpus; three are deliberately broken base64 (shown as text).
    assert thumbs == 7


@pytest.mark.django_db
def test_it_shows_every_fixture_recording_with_its_key_facts(client):
    report = import_paths([FIXTURES], max_bytes=MAX)
    assert report.failed == 0

    listed = [
        line.split("\t")[0]
        for line in (FIXTURES / "generated.txt").read_text().splitlines()
        if line.split("\t")[0].endswith(".json")
    ]
    assert Recording.objects.count() == len(listed)
    views = set()
    for rel in listed:
        rec = Recording.objects.get(path=rel)
        html = check_page(client, rec, orjson.loads((FIXTURES / rel).read_bytes()))
        views |= {v for v in SECTIONS if f'id="{v}"' in html}
    # The demo set alone shows every kind of section.
    assert views == set(SECTIONS)


@pytest.fixture
def fixtures_imported(db) -> None:
    report = import_paths([FIXTURES], max_bytes=MAX)
    assert report.failed == 0


def test_it_shows_a_tool_conversation_with_calls_linked_to_their_results(client, fixtures_imported):
    html = client.get(f"/r/{AGENTS_TURN_3}").content.decode()

    # Both ways: the call points at the message answering it, the message back at the call.
    assert re.search(r'<li class="call call-failed" id="call-2">', html)
    assert 'href="#m-6" data-result="m-6"' in html
    assert re.search(r'<article class="turn turn-tool turn-error" id="m-6">', html)
    assert 'href="#call-2" data-call="call-2"' in html
    assert '<article class="turn turn-assistant turn-response" id="response">' in html
    assert 'get_local_time</code> <span class="rec-tool-count">not called</span>' in html
    assert 'get_weather</code> <span class="rec-tool-count">called 2 times</span>' in html
    assert escape("Lisbon: **17 °C**") in html
    test_id = Recording.objects.get(path=f"{AGENTS_TURN_3}.json").test_id
    assert f'href="/test?id={quote(test_id, safe="")}"' in html


def test_it_serves_the_inline_image_with_a_sandbox_policy(client, fixtures_imported):
    document = orjson.loads((FIXTURES / f"{VISION}.json").read_bytes())
    url = document["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    expected = base64.b64decode(url.split(",", 1)[1])

    html = client.get(f"/r/{VISION}").content.decode()
    assert THUMB.findall(html) == [f"/i/{VISION}/0/1"]

    response = client.get(f"/i/{VISION}/0/1")
    assert response.status_code == 200
    assert response.content == expected
    assert expected.startswith(b"\x89PNG")
    assert (
        response["Content-Type"],
        response["Content-Security-Policy"],
        response["X-Content-Type-Options"],
    ) == ("image/png", "default-src 'none'; sandbox", "nosniff")
    # The text part, a part that is not there, a message that is not there.
    for other in ("0/0", "0/9", "7/1"):
        assert client.get(f"/i/{VISION}/{other}").status_code == 404


def test_it_never_fetches_a_remote_image_until_asked(client, fixtures_imported):
    html = client.get(f"/r/{REMOTE_VISION}").content.decode()

    url = "https://assets.recinspect-demo.dev/images/red_bicycle.jpg"
    assert f'<button type="button" data-load-image="{url}"' in html
    assert "Load image from host" in html
    assert f'src="{url}"' not in html
    assert client.get(f"/i/{REMOTE_VISION}/0/1").status_code == 404


def write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return path


CALLS = [
    {
        "id": "call_a",
        "type": "function",
        "function": {"name": XSS_IMG, "arguments": orjson.dumps({"q": XSS}).decode()},
    },
    {"id": "call_b", "type": "function", "function": {"name": "raw", "arguments": f"{{{XSS}"}},
]
REMOTE = {"type": "image_url", "image_url": {"url": f"https://x.test/a.png?{XSS}"}}
TOOL = {"name": XSS, "description": XSS_IMG, "parameters": {XSS: XSS_IMG}}
ANSWER = {"role": "assistant", "content": XSS_IMG, "reasoning_content": XSS}
HOSTILE = {
    "test_id": f"tests/integration/x/test_x.py::TestX::test_x[{XSS}]",
    "request": {
        "method": "POST",
        "url": "http://localhost/v1/chat/completions",
        "headers": {},
        "body": {
            "model": f"model-{XSS_IMG}",
            "messages": [
                {"role": "system", "content": XSS},
                {"role": "user", "content": [{"type": "text", "text": XSS_IMG}]},
                {"role": "assistant", "content": None, "tool_calls": CALLS},
                {"role": "tool", "tool_call_id": "call_a", "content": XSS},
                {"role": "tool", "tool_call_id": "call_b", "content": f'{{"html": "{XSS_IMG}"}}'},
                {"role": "user", "content": [REMOTE]},
            ],
            "tools": [{"type": "function", "function": TOOL}],
        },
        "endpoint": "/v1/chat/completions",
        "model": f"model-{XSS_IMG}",
    },
    "response": {
        "body": {
            "__type__": "openai.types.chat.chat_completion.ChatCompletion",
            "__data__": {
                "choices": [{"finish_reason": XSS, "index": 0, "message": ANSWER}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        },
        "is_streaming": False,
    },
}


@pytest.mark.django_db
def test_it_escapes_everything_a_recording_holds(client, tmp_path):
    write(tmp_path / "x" / "recordings" / "hostile.json", HOSTILE)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0

    response = client.get("/r/x/recordings/hostile")
    html = response.content.decode()
    assert response.status_code == 200
    assert XSS not in html
    assert XSS_IMG not in html
    assert "onerror=alert(1)>" not in html
    assert escape(XSS) in html  # test id, system prompt, tool result, reasoning...
    assert escape(XSS_IMG) in html  # user message, call name, answer...
    assert html.count(escape(XSS)) >= 5
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Shortened and "show whole" values escape too.
    value = client.get("/v/x/recordings/hostile", {"at": "/request/body/tools"}).content.decode()
    assert XSS not in value
    assert XSS_IMG not in value
    assert '"&lt;script&gt;alert(1)&lt;/script&gt;"' in value


def test_it_forbids_inline_script_and_style(client, fixtures_imported):
    response = client.get(f"/r/{AGENTS_TURN_3}")
    html = response.content.decode()

    policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["script-src"] == "'self'"
    # Nothing in the page would need them.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert re.findall(r"\sstyle=", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []


def test_it_reads_a_big_recording_in_a_fixed_number_of_queries(
    client, fixtures_imported, django_assert_num_queries
):
    # The recording (with its chunks), its messages, tool calls and tools; never its bytes.
    with django_assert_num_queries(4):
        assert client.get(f"/r/{AGENTS_TURN_3}").status_code == 200
    # From a list: one more, for the list's page around it.
    with django_assert_num_queries(5):
        assert client.get(f"/r/{AGENTS_TURN_3}", {"from": "suite=agents"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_reads_the_biggest_corpus_recording_in_a_fixed_number_of_queries(
    client, corpus, django_assert_num_queries
):
    import_paths([corpus / f"{BIGGEST}.json"], max_bytes=MAX)
    rec = Recording.objects.get()
    assert (rec.chunk_count, len(Stream.objects.get(recording=rec).chunks)) == (1399, 1399)

    with django_assert_num_queries(2):  # the recording with its chunks; its one message
        response = client.get(page_path(rec.path))
    html = response.content.decode()
    assert "1399 chunks" in html
    assert len(html) < 400_000
    assert html.count('<li class="rec-event') == 0  # a summary, not 1,399 rows


def test_it_links_to_the_next_and_previous_recording_of_the_list(client, fixtures_imported):
    state = {"suite": "agents", "_sort": "size"}
    order = list(
        Recording.objects.filter(suite="agents")
        .order_by("size", "id")
        .values_list("path", flat=True)
    )
    assert len(order) == 5
    from_value = urlencode(state)

    def nav(path: str, from_value: str = from_value) -> dict[str, str | None]:
        html = client.get(page_path(path), {"from": from_value}).content.decode()
        found = dict(re.findall(r'<a data-nav="(prev|next)" rel="\w+" href="([^"]+)"', html))
        back = re.search(r'<a href="([^"]*)" class="rec-back">', html)
        return {
            "prev": found.get("prev"),
            "next": found.get("next"),
            "back": back[1].replace("&amp;", "&") if back else None,
        }

    carried = quote(from_value, safe="")
    assert nav(order[2]) == {
        "prev": f"{page_path(order[1])}?from={carried}".replace("&", "&amp;"),
        "next": f"{page_path(order[3])}?from={carried}".replace("&", "&amp;"),
        "back": "/?" + from_value,
    }
    assert nav(order[0])["prev"] is None
    assert nav(order[4])["next"] is None
    # A page of two: the next recording is on the next page, and its links say so.
    small = urlencode({**state, "_size": 2})
    assert nav(order[1], small)["next"] == (
        f"{page_path(order[2])}?from={quote(urlencode({**state, '_size': 2, '_next': 2}), safe='')}"
    ).replace("&", "&amp;")
    # Not on the page `from` names (the list moved on): found in the whole list all the same.
    assert nav(order[4], small)["prev"].startswith(page_path(order[3]))
    # Not in the list at all: no neighbours, still a page. A list that makes no sense is a bad
    # parameter like any other: a 400 (tests/test_hostile_requests.py).
    assert nav(order[0], "suite=nope") == {"prev": None, "next": None, "back": "/?suite=nope"}
    response = client.get(page_path(order[0]), {"from": "_size=banana"})
    assert response.status_code == 400


def test_it_shows_one_value_whole_in_place_or_on_its_own_page(client, fixtures_imported):
    at = "/request/body/messages/0/content/1/image_url/url"
    document = orjson.loads((FIXTURES / f"{VISION}.json").read_bytes())
    whole = document["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]

    assert whole not in client.get(f"/r/{VISION}").content.decode()
    # The raw JSON section, which the page loads on demand, links the shortened value.
    section = client.get(f"/raw/{VISION}", headers={"HX-Request": "true"}).content.decode()
    link = f"/v/{VISION}?at={quote(at, safe='')}"
    assert f'href="{link}" hx-get="{link}" hx-target="closest .short"' in section
    assert whole not in section.split('id="raw-original"')[0]  # shortened where it is shown

    fragment = client.get(link, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert f'"{whole}"' in fragment.content.decode()
    full = client.get(link)
    assert "<html" in full.content.decode()
    assert f'"{whole}"' in full.content.decode()

    assert client.get(f"/v/{VISION}", {"at": "/request/nope"}).status_code == 404
    assert client.get(f"/v/{VISION}", {"at": "no-slash"}).status_code == 400


def test_it_still_serves_the_original_bytes_and_404s_the_unknown(client, fixtures_imported):
    response = client.get(f"/r/{VISION}.json")
    assert response.content == (FIXTURES / f"{VISION}.json").read_bytes()
    assert response["Content-Type"] == "application/json"
    assert client.get("/r/inference/recordings/nope").status_code == 404
    assert client.get("/i/inference/recordings/nope/0/1").status_code == 404
    assert client.get("/v/inference/recordings/nope", {"at": "/request"}).status_code == 404


def test_it_shows_a_model_listing_and_the_other_files_of_the_same_listing(
    client, fixtures_imported
):
    listing = (
        "common/recordings/models-3a641f25d65695766fb77e424273f716b852f371e1e87f6e14fd5672b1ab6005"
    )
    part_1, part_2 = f"{listing}-abd54ea0", f"{listing}-dc662f69"
    html = client.get(f"/r/{part_1}").content.decode()

    rec = Recording.objects.get(path=f"{part_1}.json")
    rows = re.findall(r"<tr><td><code>([^<]+)</code></td>", html)
    assert rows == [m["id"] for m in rec.listed_models]
    assert f'href="/r/{part_2}"' in html


@pytest.mark.django_db
def test_it_links_a_recording_whose_name_needs_quoting(client, tmp_path):
    document = orjson.loads((FIXTURES / f"{VISION}.json").read_bytes())
    write(tmp_path / "odd" / "recordings" / "a #1?.json", document)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0

    url = page_path("odd/recordings/a #1?.json")
    assert url == "/r/odd/recordings/a%20%231%3F"
    html = client.get(url).content.decode()
    assert 'href="/r/odd/recordings/a%20%231%3F.json"' in html
    assert THUMB.findall(html) == ["/i/odd/recordings/a%20%231%3F/0/1"]
    assert client.get("/i/odd/recordings/a%20%231%3F/0/1")["Content-Type"] == "image/png"
    assert (
        client.get("/r/odd/recordings/a%20%231%3F.json").content
        == orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    )


@pytest.mark.django_db
def test_it_shows_the_root_imported_last_when_two_hold_the_same_path(client, tmp_path):
    from tests.test_import_recordings import GOOD, write

    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "s" / "recordings" / "same.json", GOOD)
    write(second / "s" / "recordings" / "same.json", {**GOOD, "test_id": "t.py::test_second"})
    import_paths([first], max_bytes=10**6)
    import_paths([second], max_bytes=10**6)
    response = client.get("/r/s/recordings/same.json")
    assert response.content == (second / "s" / "recordings" / "same.json").read_bytes()
    assert "test_second" in client.get("/r/s/recordings/same").content.decode()
