"""`/diff` and `/diff.json` between two llama-stack recordings: two copies of corpus files in
two import roots, the second edited in each way a re-recording changes a file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils.html import escape

from inspector.chunks import Chunks
from inspector.diffing.classify import (
    NOISE_ONLY,
    REQUEST_CHANGED,
    RESPONSE_CHANGED,
    UNCHANGED,
    classify,
    summary_of,
)
from inspector.diffing.exchanges import shown_request_differences
from inspector.diffing.responses import chunk_differences, tool_call_changes
from inspector.diffing.text import word_ops
from inspector.importer import import_paths
from inspector.models import Recording, ToolCall

MAX = 64 * 1024 * 1024
TOOLS = "inference/recordings/12b4c92fd0d85cf140cb3ae3c1f79a6f684b20f57519011742a8b9088e92130a"
STREAM = "agents/recordings/8533deab326aea070d886bbf142e4d453636f1ae19c3bbb17de0a4c4d8b981e5"
PLAIN = "agents/recordings/06fbd886c2452ec541ae4bf9f29ae579d67d2101bce9c9a608c3455cb0bc4b29"
FILES = (TOOLS, STREAM, PLAIN)
XSS = "<script>alert(1)</script>"


def copy_root(corpus: Path, folder: Path) -> Path:
    for name in FILES:
        target = folder / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / f"{name}.json", target)
    return folder


def edit(folder: Path, name: str, change) -> None:
    """Rewrite `<folder>/<name>.json` after `change(document)`, as the recorder writes files."""
    path = folder / f"{name}.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2) + "\n")


@pytest.fixture
def roots(corpus, tmp_path, db):
    """`before` and `after`: the same files; the test edits `after` before `imported`."""
    return copy_root(corpus, tmp_path / "before"), copy_root(corpus, tmp_path / "after")


def imported(roots) -> None:
    for folder in roots:
        report = import_paths([folder], max_bytes=MAX)
        assert report.failed == 0, report.failures


def diff_json(client, name: str, b: str | None = None) -> dict:
    query = urlencode({"a": f"before/{name}", "b": b or f"after/{name}"})
    response = client.get(f"/diff.json?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def diff_html(client, name: str) -> str:
    response = client.get("/diff?" + urlencode({"a": f"before/{name}", "b": f"after/{name}"}))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def body(document: dict) -> dict:
    return document["response"]["body"]["__data__"]


def chunk_data(document: dict, i: int) -> dict:
    return document["response"]["body"][i]["__data__"]


# --------------------------------------------------------------------------- by class of change


def test_it_names_the_path_of_a_changed_message(client, roots):
    def change(d):
        d["request"]["body"]["messages"][4]["content"] = "Message C: And Portugal?"

    edit(roots[1], STREAM, change)
    imported(roots)
    found = diff_json(client, STREAM)
    assert found["class"] == REQUEST_CHANGED
    assert found["request"] == [
        {
            "path": "messages[4].content",
            "kind": "changed",
            "a": "Message C: And Italy?",
            "b": "Message C: And Portugal?",
            "changes_hash": True,
        }
    ]
    html = diff_html(client, STREAM)
    assert "<code>messages[4].content</code>" in html
    assert "<del>Italy</del>" in html
    assert "<ins>Portugal</ins>" in html
    assert "changes the hash" in html


def test_it_shows_no_difference_when_only_noise_changed(client, roots):
    def change(d):
        for i in range(len(d["response"]["body"])):
            chunk_data(d, i)["id"] = "rec-0123456789ab"
            chunk_data(d, i)["created"] = 1770674968
            chunk_data(d, i)["system_fingerprint"] = "fp_other"
            chunk_data(d, i)["eval_duration"] = 1234

    edit(roots[1], STREAM, change)
    imported(roots)
    found = diff_json(client, STREAM)
    assert found["class"] == NOISE_ONLY
    assert found["request"] == []
    response = found["response"]
    assert [op["op"] for op in response["text"]] == ["equal"]
    assert response["tool_calls"] == {"added": [], "removed": [], "changed": []}
    assert (response["finish_reason"], response["usage"]) == (None, {})
    assert found["chunks"]["same"] is True
    html = diff_html(client, STREAM)
    assert "The requests are the same" in html
    assert "The assembled responses are the same" in html
    assert "<del>" not in html
    assert "<ins>" not in html


def test_it_marks_the_words_of_a_changed_response(client, roots):
    def change(d):
        chunk_data(d, 1)["choices"][0]["delta"]["content"] = " largest city"

    edit(roots[1], STREAM, change)
    imported(roots)
    found = diff_json(client, STREAM)
    assert found["class"] == RESPONSE_CHANGED
    text = found["response"]["text"]
    assert text[:4] == [
        {"op": "equal", "text": "The "},
        {"op": "delete", "text": "capital "},
        {"op": "insert", "text": "largest city "},
        {"op": "equal", "text": text[3]["text"]},
    ]
    assert [op["op"] for op in text[3:]] == ["equal"]
    html = diff_html(client, STREAM)
    assert "<del>capital </del>" in html
    assert "<ins>largest city </ins>" in html


def test_it_lists_a_tool_call_whose_arguments_changed(client, roots):
    def change(d):
        call = body(d)["choices"][0]["message"]["tool_calls"][0]
        call["function"]["arguments"] = '{"data": "[1, 2, 3]"}'
        call["id"] = "call_other"  # ids differ on every recording: not a change

    edit(roots[1], TOOLS, change)
    imported(roots)
    found = diff_json(client, TOOLS)
    assert found["class"] == RESPONSE_CHANGED
    assert found["response"]["tool_calls"] == {
        "added": [],
        "removed": [],
        "changed": [
            {
                "index_a": 0,
                "index_b": 0,
                "name": {"a": "process_data", "b": "process_data"},
                "arguments": {"a": {"data": "[1, 2, 3, 4, 5]"}, "b": {"data": "[1, 2, 3]"}},
                "differences": [
                    {"path": "data", "kind": "changed", "a": "[1, 2, 3, 4, 5]", "b": "[1, 2, 3]"}
                ],
            }
        ],
    }
    html = diff_html(client, TOOLS)
    assert "Tool calls" in html
    assert "<code>data</code> changed" in html


def test_it_compares_arguments_as_json(client, roots):
    def change(d):
        call = body(d)["choices"][0]["message"]["tool_calls"][0]
        call["function"]["arguments"] = '{ "data" : "[1, 2, 3, 4, 5]" }'

    edit(roots[1], TOOLS, change)
    imported(roots)
    found = diff_json(client, TOOLS)
    assert found["response"]["tool_calls"]["changed"] == []
    assert found["class"] == NOISE_ONLY


def test_it_shows_changed_usage_and_finish_reason(client, roots):
    def change(d):
        body(d)["usage"]["prompt_tokens"] = 177
        body(d)["usage"]["total_tokens"] = 207
        body(d)["choices"][0]["finish_reason"] = "stop"

    edit(roots[1], TOOLS, change)
    imported(roots)
    found = diff_json(client, TOOLS)
    assert found["class"] == RESPONSE_CHANGED
    assert found["response"]["usage"] == {
        "prompt": {"a": 176, "b": 177},
        "total": {"a": 206, "b": 207},
    }
    assert found["response"]["finish_reason"] == {"a": "tool_calls", "b": "stop"}
    html = diff_html(client, TOOLS)
    assert "prompt tokens" in html
    assert "<ins>177</ins>" in html
    assert "<del>tool_calls</del>" in html
    assert "<ins>stop</ins>" in html


def test_it_shows_where_two_streams_are_chunked_differently(client, roots):
    def change(d):
        # The second chunk's text joins the first's: the same text in one chunk fewer.
        first, second = chunk_data(d, 0), chunk_data(d, 1)
        first["choices"][0]["delta"]["content"] += second["choices"][0]["delta"]["content"]
        del d["response"]["body"][1]

    edit(roots[1], STREAM, change)
    imported(roots)
    found = diff_json(client, STREAM)
    assert found["class"] == NOISE_ONLY
    # /compare, classing in bulk from stored columns, says the same (one rule for both).
    compared = client.get("/compare.json", {"a": "before", "b": "after"}).json()
    assert [(c["class"], c["b"]) for c in compared["changed"]] == [("noise", f"after/{STREAM}")]
    assert [op["op"] for op in found["response"]["text"]] == ["equal"]
    chunks = found["chunks"]
    assert chunks["count"] == {"a": 8, "b": 7}
    assert chunks["same"] is False
    assert chunks["first_boundary"] == {
        "offset": 3,
        "a": {"chunk": 0, "end": 3, "text": "The"},
        "b": {"chunk": 0, "end": 11, "text": "The capital"},
    }
    assert chunks["kinds"]["content"]["a"] == chunks["kinds"]["content"]["b"] + 1
    html = diff_html(client, STREAM)
    assert "first cut differently at character 3" in html


def test_it_escapes_recorded_text(client, roots):
    def change(d):
        chunk_data(d, 1)["choices"][0]["delta"]["content"] = XSS
        d["request"]["body"]["messages"][4]["content"] = XSS

    edit(roots[1], STREAM, change)
    imported(roots)
    html = diff_html(client, STREAM)
    assert XSS not in html
    assert escape("<script>") in html
    assert "<ins>" in html


def test_it_diffs_identical_recordings_as_unchanged(client, roots):
    imported(roots)
    found = diff_json(client, PLAIN)
    assert (found["class"], found["request"], found["chunks"]) == (UNCHANGED, [], None)
    assert found["a"] == found["b"] == f"{PLAIN}.json"


# --------------------------------------------------------------------------- addresses


def test_it_takes_every_way_of_naming_a_recording(client, roots):
    imported(roots)
    rec = Recording.objects.filter(path=f"{PLAIN}.json").order_by("id").first()
    for given in (
        f"before/{PLAIN}",
        f"before/{PLAIN}.json",
        f"/before/r/{PLAIN}",
        f"http://127.0.0.1:8000/before/r/{PLAIN}",
    ):
        found = diff_json(client, PLAIN, b=given)
        assert found["b"] == rec.path, given
        assert found["b_url"] == f"/before/r/{PLAIN}"
    assert diff_json(client, PLAIN, b=PLAIN)["class"] == UNCHANGED  # newest root's


def test_it_answers_bad_and_unknown_paths(client, roots):
    imported(roots)
    assert client.get("/diff").status_code == 200  # the empty form
    assert client.get("/diff?" + urlencode({"a": PLAIN})).status_code == 200  # what to compare
    assert client.get("/diff?" + urlencode({"a": "no/such"})).status_code == 404
    assert client.get("/diff?" + urlencode({"a": "x" * 9000})).status_code == 400
    assert client.get("/diff.json?" + urlencode({"a": PLAIN})).status_code == 400
    assert client.get("/diff?" + urlencode({"a": PLAIN, "b": "no/such"})).status_code == 404
    missing = client.get("/diff.json?" + urlencode({"a": "no/such", "b": PLAIN}))
    assert missing.status_code == 404
    assert "error" in missing.json()
    assert client.get("/diff?" + urlencode({"a": PLAIN, "b": "x" * 9000})).status_code == 400


def choices_of(client, a: str) -> str:
    """What the "Compare with" block loads when it is shown (htmx): a part of a page."""
    response = client.get("/diff?" + urlencode({"a": a}), headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    assert "<html" not in html
    return html


def test_it_links_a_recording_page_to_its_diffs(client, roots):
    imported(roots)
    rec = Recording.objects.get(path=f"{STREAM}.json", root__path=str(roots[0]))
    html = client.get(f"/before/r/{STREAM}").content.decode()
    assert "Compare with" in html
    a = f"before/{rec.path}"
    assert 'action="/diff"' in html
    assert f'value="{a}"' in html
    assert f'hx-get="/diff?{urlencode({"a": a})}"' in html
    other_root = "/diff?" + urlencode({"a": a, "b": f"after/{STREAM}.json"})
    # The test's other recordings: none in this root, so the other root's copy only.
    choices = choices_of(client, a)
    assert f'href="{escape(other_root)}"' in choices
    assert "Other recordings of this test" not in choices
    page = client.get("/diff?" + urlencode({"a": a})).content.decode()  # without htmx
    assert f'href="{escape(other_root)}"' in page
    assert "<html" in page
    # /test: the two roots' copies are two threads (neither continues the other), and a
    # thread's requests link to their diffs (tests/test_threads.py); this test's one request
    # has none before it.
    by_test = client.get("/test?" + urlencode({"id": rec.test_id})).content.decode()
    assert "2 recordings in 2 threads" in by_test


# --------------------------------------------------------------------------- pure helpers


def summary(request="k", text="hi", calls=(), usage=None, raw="x", finish="stop") -> dict:
    return {
        "request": request,
        "response": {
            "text": text,
            "reasoning": "",
            "finish_reason": finish,
            "tool_calls": list(calls),
            "usage": usage or {"prompt": 1},
            "status": None,
            "exception": "",
        },
        "raw": raw,
    }


def test_it_classifies_exactly():
    base = summary()
    assert classify(base, summary()) == UNCHANGED
    assert classify(base, summary(raw="y")) == NOISE_ONLY
    assert classify(base, summary(text="ho", raw="y")) == RESPONSE_CHANGED
    assert classify(base, summary(usage={"prompt": 2})) == RESPONSE_CHANGED
    assert classify(base, summary(finish="length")) == RESPONSE_CHANGED
    assert classify(base, summary(request="other", text="ho")) == REQUEST_CHANGED
    calls_a = summary(calls=[("f", '{"a": 1, "b": 2}')])
    assert classify(calls_a, summary(calls=[("f", '{"b":2,"a":1}')], raw="y")) == NOISE_ONLY
    assert classify(calls_a, summary(calls=[("f", '{"a": 2, "b": 2}')])) == RESPONSE_CHANGED
    assert classify(calls_a, summary(calls=[("g", '{"a": 1, "b": 2}')])) == RESPONSE_CHANGED


def test_it_summarizes_a_recording_row(roots):
    imported(roots)
    a, b = Recording.objects.filter(path=f"{TOOLS}.json").order_by("id")
    calls_a, calls_b = (list(ToolCall.objects.filter(recording=r)) for r in (a, b))
    assert summary_of(a, calls_a)["response"]["tool_calls"] == [
        ("process_data", '{"data":"[1, 2, 3, 4, 5]"}')
    ]
    assert classify(summary_of(a, calls_a), summary_of(b, calls_b)) == UNCHANGED
    request = {"method": "POST", "url": "http://x/v1/chat/completions", "body": {"a": 1}}
    later = {**request, "body": {"a": 1, "previous_response_id": "rec-0123456789ab"}}
    other = {**request, "body": {"a": 1, "previous_response_id": "rec-ba9876543210"}}
    assert summary_of(a, calls_a, later)["request"] == summary_of(a, calls_a, other)["request"]
    assert summary_of(a, calls_a, later)["request"] != summary_of(a, calls_a, request)["request"]


def test_it_leaves_request_noise_out_and_shows_a_new_host():
    a = {"method": "POST", "url": "http://0.0.0.0:11434/v1/chat/completions", "body": {}}
    a["body"] = {"previous_response_id": "rec-0123456789ab", "temperature": 0.1234561}
    b = {**a, "url": "http://localhost:11434/v1/chat/completions"}
    b["body"] = {"previous_response_id": "rec-ba9876543210", "temperature": 0.1234559}
    shown, noise = shown_request_differences(a, b, "t", "t")
    assert [(d.path, d.changes_hash) for d in shown] == [("url", False), ("temperature", False)]
    assert noise == ["previous_response_id"]


def test_it_diffs_words():
    assert word_ops("", "") == []
    assert word_ops("a b c", "a x c") == [
        {"op": "equal", "text": "a "},
        {"op": "delete", "text": "b "},
        {"op": "insert", "text": "x "},
        {"op": "equal", "text": "c"},
    ]
    assert word_ops("same.", "same.") == [{"op": "equal", "text": "same."}]
    long_a = " ".join(f"w{i}" for i in range(20_000))
    long_b = long_a.replace("w10000", "changed")
    ops = word_ops(long_a, long_b)
    assert [op["op"] for op in ops] == ["equal", "delete", "insert", "equal"]


def test_it_aligns_tool_calls_by_name():
    a = [("weather", '{"city": "Paris"}')]
    b = [("time", "{}"), ("weather", '{"city":"Paris"}')]
    assert tool_call_changes(a, b) == {
        "added": [{"index": 0, "name": "time", "arguments": {}}],
        "removed": [],
        "changed": [],
    }
    assert tool_call_changes(b, a)["removed"] == [{"index": 0, "name": "time", "arguments": {}}]


def test_it_reports_a_stream_that_ends_first():
    a = Chunks.of([{"k": ["role"], "role": "assistant"}, {"k": ["content"], "content": "Hi"}])
    b = Chunks.of([{"k": ["content"], "content": "Hi"}, {"k": ["finish"], "finish": "stop"}])
    found = chunk_differences(a, b)
    assert found["first_boundary"] is None
    assert found["first_kind"] == {"chunk": 0, "a": ["role"], "b": ["content"]}
    assert found["kinds"] == {
        "content": {"a": 1, "b": 1},
        "finish": {"a": 0, "b": 1},
        "role": {"a": 1, "b": 0},
    }


def test_it_says_when_requests_are_too_deep_to_compare():
    deep: dict = {}
    inner = deep
    for _ in range(5_000):
        inner["x"] = {}
        inner = inner["x"]
    a = {"method": "POST", "url": "http://x/v1/chat/completions", "body": {"d": deep}}
    b = {**a, "body": {"d": deep, "e": 1}}
    shown, noise = shown_request_differences(a, b, "t", "t")
    assert [(d.path, d.a) for d in shown] in (
        [("", "(too deeply nested to compare)")],
        [("e", None)],
    )
    assert noise == []
