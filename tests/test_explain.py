"""/explain, /explain.json and `manage.py explain_miss`: a request changed from a corpus
recording, pasted as the harness would print its miss, finds that recording first and names
what changed."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.test import Client

from inspector.importer import import_paths
from inspector.llama_stack import hashing

pytestmark = pytest.mark.django_db
MAX = 64 * 1024 * 1024
HINT = (
    "Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API "
    "keys to generate."
)


@pytest.fixture
def recordings(corpus) -> Path:
    report = import_paths([corpus], max_bytes=MAX)
    assert report.failed == 0, report.failures
    return corpus


def chat_recordings(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    """The corpus's chat completions of a test, current layout, in path order."""
    found = []
    for path in sorted(corpus.rglob("*.json")):
        rel = path.relative_to(corpus).as_posix()
        if rel.startswith("legacy/"):
            continue
        document = orjson.loads(path.read_bytes())
        body = document["request"].get("body")
        if document.get("test_id") and isinstance(body, dict) and body.get("messages"):
            found.append((rel, document))
    return found


def pick(corpus: Path, wanted: str) -> tuple[str, dict[str, Any]]:
    for rel, document in chat_recordings(corpus):
        body = document["request"]["body"]
        last = body["messages"][-1]
        if wanted == "text" and last.get("role") == "user" and isinstance(last["content"], str):
            return rel, document
        if wanted == "temperature" and isinstance(body.get("temperature"), float | int):
            return rel, document
        temperature = body.get("temperature")
        warm = isinstance(temperature, float | int) and temperature >= 0.1
        if wanted == "warm" and warm and last.get("role") == "user":
            return rel, document
        tool = (body.get("tools") or [{}])[0].get("function") or {}
        if wanted == "tools" and isinstance(tool.get("description"), str):
            return rel, document
    raise AssertionError(f"no corpus recording to change its {wanted}")


def changed(document: dict[str, Any], change: str) -> tuple[dict[str, Any], str]:
    """The recorded request with one thing changed, and the JSON path of that thing."""
    request = copy.deepcopy(document["request"])
    body = request["body"]
    last = len(body["messages"]) - 1
    if change == "text":
        body["messages"][last]["content"] += " Answer in French."
        return request, f"messages[{last}].content"
    if change == "temperature":
        body["temperature"] = float(body["temperature"]) + 0.25
        return request, "temperature"
    if change == "tools":
        body["tools"][0]["function"]["description"] += " (and more)"
        return request, "tools[0].function.description"
    if change == "model":
        body["model"] = "some-other-model:7b"
        return request, "model"
    raise AssertionError(change)


def miss_text(request: dict[str, Any], test_id: str) -> str:
    """What the harness prints when no file has this request's name."""
    wanted = hashing.request_hashes(request, test_id)[hashing.CURRENT]
    model = request["body"].get("model", "unknown")
    return (
        f"Recording not found for request hash: {wanted}\n"
        f"Model: {model} | Request: {request['method']} {request['url']}\n\n{HINT}\n"
    )


def pytest_output(text: str, test_id: str) -> str:
    quoted = "\n".join(f"E   {line}" if line else "E" for line in text.splitlines())
    return (
        f"____________________ {test_id.split('::')[-1]} ____________________\n"
        ">       response = client.chat.completions.create(**params)\n\n"
        "ogx/testing/api_recorder.py:812: in _patched_inference_method\n"
        "    raise RuntimeError(\n"
        f"E   RuntimeError: {quoted.removeprefix('E   ')}\n"
        "=========================== short test summary info ============================\n"
        f"FAILED {test_id} - RuntimeError: {text.splitlines()[0]}\n"
        "1 failed, 3 passed in 2.31s\n"
    )


def explain(client: Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/explain.json", fields, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.corpus
@pytest.mark.parametrize("change", ["text", "temperature", "tools", "model"])
def test_it_finds_the_recording_a_changed_request_meant(client, recordings, change):
    rel, document = pick(recordings, "text" if change == "model" else change)
    request, path = changed(document, change)
    test_id = document["test_id"]
    text = miss_text(request, test_id)
    answer = explain(client, text=text, test_id=test_id, body=request["body"])
    wanted = hashing.request_hashes(request, test_id)[hashing.CURRENT]
    assert answer["looked_for"] == wanted
    assert answer["computed"][hashing.CURRENT] == wanted
    assert set(answer["computed"]) == {*hashing.RULE_NAMES, hashing.LEGACY_INDEX}
    assert answer["found"] == []
    first = answer["candidates"][0]
    assert first["path"] == rel
    assert first["url"] == "/r/" + rel.removesuffix(".json")
    assert [(d["path"], d["changes_hash"]) for d in first["differences"]] == [(path, True)]
    assert answer["rerecord"] == (f"pytest '{test_id}' --inference-mode record-if-missing")


@pytest.mark.corpus
def test_it_reads_the_miss_from_a_whole_pytest_output(client, recordings):
    rel, document = pick(recordings, "text")
    request, path = changed(document, "text")
    test_id = document["test_id"]
    output = pytest_output(miss_text(request, test_id), test_id)
    # The test id comes from the FAILED line; the URL from the miss.
    answer = explain(client, text=output, body=json.dumps(request["body"]))
    assert answer["test_id"] == test_id
    assert answer["test_id_source"] == "the pasted text"
    assert answer["looked_for"] == hashing.request_hashes(request, test_id)[hashing.CURRENT]
    assert answer["candidates"][0]["path"] == rel
    assert [d["path"] for d in answer["candidates"][0]["differences"]] == [path]


@pytest.mark.corpus
def test_it_says_a_float_that_rounds_alike_does_not_change_the_hash(client, recordings):
    rel, document = pick(recordings, "warm")
    request, path = changed(document, "text")
    body = request["body"]
    body["temperature"] = float(body["temperature"]) + 0.000001  # rounds to 5 places alike
    test_id = document["test_id"]
    answer = explain(client, text=miss_text(request, test_id), test_id=test_id, body=body)
    first = answer["candidates"][0]
    assert first["path"] == rel
    effects = {d["path"]: d["changes_hash"] for d in first["differences"]}
    assert effects == {path: True, "temperature": False}


@pytest.mark.corpus
def test_it_finds_the_file_when_only_a_float_changed(client, recordings):
    rel, document = pick(recordings, "warm")
    request = copy.deepcopy(document["request"])
    request["body"]["temperature"] = float(request["body"]["temperature"]) + 0.000001
    test_id = document["test_id"]
    answer = explain(client, test_id=test_id, body=request["body"], url=request["url"])
    assert answer["computed"][hashing.CURRENT] == Path(rel).stem  # the file's own name
    assert answer["found"] == [rel]
    assert "where the harness looks" in answer["found_details"][0]["reason"]


@pytest.mark.corpus
def test_it_says_why_a_file_of_that_name_was_not_found(client, recordings, tmp_path):
    """The same file copied into another suite's folder: the harness never looks there."""
    rel, document = pick(recordings, "text")
    moved = tmp_path / "safety" / "recordings" / Path(rel).name
    moved.parent.mkdir(parents=True)
    moved.write_bytes((recordings / rel).read_bytes())
    import_paths([tmp_path], max_bytes=MAX)
    text = miss_text(document["request"], document["test_id"])
    answer = explain(client, text=text, test_id=document["test_id"])
    reasons = {f["path"]: f["reason"] for f in answer["found_details"]}
    moved_rel = moved.relative_to(tmp_path).as_posix()
    assert moved_rel in reasons
    assert "another suite's folder" in reasons[moved_rel]


@pytest.mark.corpus
def test_it_ranks_the_same_test_first_from_a_test_id_alone(client, recordings):
    rel, document = pick(recordings, "text")
    answer = explain(client, test_id=document["test_id"])
    assert answer["looked_for"] is None
    assert rel in [c["path"] for c in answer["candidates"]]
    assert all(c["differences"] == [] for c in answer["candidates"])
    assert answer["candidates"][0]["test_id"] == document["test_id"]


@pytest.mark.corpus
def test_it_computes_a_tool_calls_hash_from_its_printed_arguments(client, recordings):
    tool = next(
        (rel, orjson.loads((recordings / rel).read_bytes()))
        for rel in sorted(p.relative_to(recordings).as_posix() for p in recordings.rglob("*.json"))
        if '"tool_name"' in (recordings / rel).read_text()
    )
    rel, document = tool
    request = document["request"]
    text = (
        f"Recording not found for {request['provider']}.{request['tool_name']} | Request: "
        f"{request['kwargs']!r}\n\n{HINT}"
    )
    answer = explain(client, text=text)
    assert answer["looked_for"] == Path(rel).stem
    assert rel in answer["found"]


@pytest.mark.corpus
def test_it_finds_the_cassette_vcr_could_not_overwrite(client, cassette_corpus):
    import_paths([cassette_corpus], max_bytes=MAX)
    rel = (
        "mirascope/tests/e2e/input/cassettes/test_caching_multi_turn_conversation/"
        "anthropic_claude_sonnet_4_0.yaml"
    )
    from inspector.cassettes.reading import read_cassette

    interactions = read_cassette((cassette_corpus / rel).read_bytes(), rel).interactions
    second = interactions[1]
    body = copy.deepcopy(second.request_json)
    body["max_tokens"] = body.get("max_tokens", 0) + 1
    text = (
        "E   vcr.errors.CannotOverwriteExistingCassetteException: Can't overwrite existing "
        f"cassette ('/home/me/src/{rel}') in your current record mode "
        "(<RecordMode.NONE: 'none'>).\n"
        f"E   No match for the request (<Request (POST) {second.url}>) was found.\n"
        "E   Found 1 similar requests with 1 different matcher(s) :\n"
        f"E   1 - (<Request (POST) {second.url}>).\n"
        "E   Matchers succeeded : ['method', 'scheme', 'host', 'port', 'path', 'query']\n"
        "E   Matchers failed :\nE   body - assertion failure :\n"
    )
    answer = explain(client, text=text, body=body)
    assert answer["cassette"] == rel
    assert answer["looked_for"] is None
    assert answer["computed"] == {}
    first = answer["candidates"][0]
    assert first["path"] == rel.removesuffix(".yaml") + "/2"
    assert [(d["path"], d["changes_hash"]) for d in first["differences"]] == [("max_tokens", True)]
    assert answer["rerecord"].endswith("--record-mode=rewrite")
    assert any("--record-mode=once" in note for note in answer["notes"])


# --------------------------------------------------------------------------- the views


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")


def test_it_answers_a_json_post_without_a_csrf_token(csrf_client, fixture_recordings):
    response = csrf_client.post(
        "/explain.json", {"test_id": "tests/nothing.py::test_x"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["rerecord"] == (
        "pytest 'tests/nothing.py::test_x' --inference-mode record-if-missing"
    )


def test_it_refuses_a_form_post_without_a_csrf_token(csrf_client, fixture_recordings):
    for url in ("/explain", "/explain.json"):
        assert csrf_client.post(url, {"test_id": "tests/x.py::test_y"}).status_code == 403


def test_it_takes_a_form_post_with_its_token(csrf_client, fixture_recordings):
    page = csrf_client.get("/explain")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(
        "/explain", {"test_id": "tests/x.py::test_y", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    assert "pytest &#x27;tests/x.py::test_y&#x27; --inference-mode record-if-missing" in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": "{not json"}, "body"),
        ({"body": "[1, 2", "test_id": "t"}, "body"),
        ({"test_id": "t", "method": "PO ST"}, "method"),
        ({}, "__all__"),
        ({"text": 12}, "text"),
        ({"test_id": "t", "what": "x"}, "__all__"),
    ],
)
def test_it_answers_bad_input_with_a_400_that_says_why(client, db, fields, field):
    response = client.post("/explain.json", fields, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_it_answers_bad_input_on_the_page_with_a_400(client, db):
    assert client.get("/explain", {"body": "{oops"}).status_code == 400
    assert client.get("/explain.json", {"body": "{oops"}).status_code == 400
    assert (
        client.post("/explain.json", b"{oops", content_type="application/json").status_code == 400
    )
    assert client.post("/explain.json", b"[1]", content_type="application/json").status_code == 400
    assert client.get("/explain").status_code == 200  # nothing asked: the form alone
    assert client.put("/explain.json").status_code == 405


def test_it_survives_hostile_bodies(client, db):
    deep = "[" * 5000 + "]" * 5000
    nul = json.dumps({"model": "a\u0000b", "messages": [{"role": "user", "content": "x"}]})
    for body in (deep, nul, json.dumps({"request": {"body": {}, "url": 3}, "test_id": 7})):
        response = client.post(
            "/explain.json", {"body": body, "test_id": "t"}, content_type="application/json"
        )
        assert response.status_code in (200, 400), body[:50]


def test_it_escapes_what_was_pasted(client, db):
    text = (
        "Recording not found for request hash: " + "a" * 64 + "\n"
        "Model: <script>alert(1)</script> | Request: POST http://x/<img src=x onerror=alert(1)>\n"
    )
    response = client.get("/explain", {"text": text, "test_id": "t<b>x</b>.py::test_<i>"})
    html = response.content.decode()
    assert response.status_code == 200
    for raw in ("<script>alert(1)", "<img src=x", "<b>x</b>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_explains_a_miss_typed_into_the_search_box(client, db):
    text = "Recording not found for request hash: " + "b" * 64
    response = client.get("/", {"q": text})
    assert response.status_code == 302
    assert response["Location"].startswith("/explain?text=Recording+not+found")
    htmx = client.get("/", {"q": text}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/explain?text=")
    assert client.get("/", {"q": "b" * 64}).status_code == 200  # a hash alone is searched


@pytest.mark.corpus
def test_it_prints_the_explanation_from_the_command(recordings, tmp_path):
    rel, document = pick(recordings, "text")
    request, path = changed(document, "text")
    test_id = document["test_id"]
    miss = tmp_path / "out.txt"
    miss.write_text(pytest_output(miss_text(request, test_id), test_id))
    body = tmp_path / "body.json"
    body.write_text(json.dumps(request["body"]))
    out = io.StringIO()
    call_command("explain_miss", str(miss), "--body", str(body), stdout=out)
    text = out.getvalue()
    assert f"1. {rel}" in text
    assert f"     {path}: " in text
    assert "(changes the hash)" in text
    assert f"Re-record: pytest '{test_id}' --inference-mode record-if-missing" in text
    out = io.StringIO()
    call_command("explain_miss", str(miss), "--body", str(body), "--json", stdout=out)
    assert json.loads(out.getvalue())["candidates"][0]["path"] == rel
