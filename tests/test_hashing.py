"""The recorder's hash rules (inspector/llama_stack/hashing.py) against its own files: each rule
reproduces the names it wrote, and each normalization step does what FORMAT.md says."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import orjson
import pytest

from inspector.llama_stack import hashing
from inspector.llama_stack.naming import name_hash

CHAT = {
    "method": "POST",
    "url": "http://localhost:11434/v1/chat/completions",
    "body": {"model": "m", "temperature": 0.7, "messages": [{"role": "user", "content": "hi"}]},
}
TEST = "tests/integration/inference/test_x.py::test_y[m]"


def changed(request: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(request)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def current(request: dict, test_id: str | None = TEST) -> str:
    return hashing.request_hashes(request, test_id)[hashing.CURRENT]


def test_floats_round_to_five_places_today_but_not_before():
    near = changed(CHAT, ("body", "temperature"), 0.7000001)
    assert current(near) == current(CHAT)
    before = hashing.BEFORE_ROUNDING
    assert hashing.request_hashes(near, TEST)[before] != hashing.request_hashes(CHAT, TEST)[before]


def test_decimals_inside_strings_round_too():
    a = changed(CHAT, ("body", "messages", 0, "content"), "pi is 3.1415926535")
    b = changed(CHAT, ("body", "messages", 0, "content"), "pi is 3.14159265")
    assert current(a) == current(b)


def test_file_search_scores_ids_and_citations_are_placeholders_today_only():
    uuid = "0e4d3a1b-1111-2222-3333-444455556666"
    text = f"score: 0.{{}} document_id: {uuid} <|{uuid}|>"
    a = changed(CHAT, ("body", "messages", 0, "content"), text.format("91"))
    b = changed(CHAT, ("body", "messages", 0, "content"), text.format("42").replace("0e4d", "9f9f"))
    assert current(a) == current(b)
    older = hashing.BEFORE_FILE_SEARCH
    assert hashing.request_hashes(a, TEST)[older] != hashing.request_hashes(b, TEST)[older]


def test_project_id_is_dropped_from_extra_body_and_extra_query_only():
    a = changed(CHAT, ("body", "extra_body"), {"project_id": "one", "guided_choice": ["x"]})
    b = changed(CHAT, ("body", "extra_body"), {"project_id": "two", "guided_choice": ["x"]})
    c = changed(CHAT, ("body", "extra_body"), {"project_id": "two", "guided_choice": ["y"]})
    assert current(a) == current(b) != current(c)


def test_stream_options_count_except_on_bedrock():
    with_options = changed(CHAT, ("body", "stream_options"), {"include_usage": True})
    assert current(with_options) != current(CHAT)
    bedrock = changed(CHAT, ("url",), "https://bedrock-runtime.us-east-1.amazonaws.com/v1/chat")
    bedrock_options = changed(bedrock, ("body", "stream_options"), {"include_usage": True})
    assert current(bedrock_options) == current(bedrock)


def test_model_listings_hash_without_the_test_id_and_other_requests_with_it():
    listing = {"method": "GET", "url": "http://localhost:8321/v1/models", "body": {}}
    assert current(listing, "a") == current(listing, "b")
    assert current(CHAT, "a") != current(CHAT, "b")


def test_tool_invocations_hash_without_test_id_or_normalization():
    tool = {
        "test_id": "t",
        "provider": "tavily",
        "tool_name": "web_search",
        "kwargs": {"q": 0.1234567},
    }
    assert hashing.request_hashes(tool, "a") == hashing.request_hashes(tool, "b")
    rounded = changed(tool, ("kwargs", "q"), 0.12346)
    assert current(tool) != current(rounded)


def test_requests_no_rule_hashes_have_no_hashes():
    assert hashing.request_hashes({"provider": "p", "api": "a", "file_id": "f"}, TEST) == {}
    assert (
        hashing.request_hashes({"url": "http://\uff03/x", "body": {}, "method": "POST"}, TEST) == {}
    )


@pytest.mark.corpus
def test_the_rules_reproduce_the_names_of_the_corpus(corpus: Path):
    """Most names are today's rule, some an older one, a few none (FORMAT.md: about 86 / 9 / 5
    percent upstream); the legacy layout's 12-digit names are the legacy index rule."""
    rules = Counter()
    for file in corpus.rglob("*.json"):
        document = orjson.loads(file.read_bytes())
        if not isinstance(document, dict) or "request" not in document:
            continue
        hashes = hashing.request_hashes(document["request"], document.get("test_id"))
        rules[hashing.rule_of_name(name_hash(file.name), hashes)] += 1
    assert rules[hashing.CURRENT] >= 200
    assert rules[hashing.BEFORE_FILE_SEARCH] >= 5
    assert rules[hashing.LEGACY_INDEX] >= 30
    assert 0 < rules[None] <= 15


def test_small_floats_written_with_an_exponent_round_too():
    tiny = changed(CHAT, ("body", "temperature"), 1e-06)
    assert current(tiny) == current(changed(CHAT, ("body", "temperature"), 0.0))
