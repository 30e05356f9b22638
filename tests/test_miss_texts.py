"""Every message a failed replay prints, as pytest shows it, found and read
(`inspector.explaining.misses`, pure)."""

from __future__ import annotations

import pytest

from inspector.explaining import misses
from inspector.explaining.misses import Similar, find_test_id, looks_like_miss, parse_miss

HASH = "6f1bd3e3d6d4f1b5b9a6cbb8c1d3f2c3e8b1f0a9d8c7b6a5f4e3d2c1b0a99887"
HINT = (
    "Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API "
    "keys to generate."
)
TEST_ID = (
    "tests/integration/inference/test_openai_completion.py::test_openai_chat_completion"
    "[client_with_models-txt=ollama/llama3.2:3b-inference:chat_completion:non_streaming_01]"
)


def pytest_output(message: str) -> str:
    """A failed test's report as pytest prints it: the header, traceback, `E   ` lines, the
    short summary."""
    body = "\n".join(f"E   {line}" if line else "E" for line in message.splitlines())
    first = message.splitlines()[0]
    return (
        "____________ test_openai_chat_completion[client_with_models-txt=ollama] ____________\n"
        "\n"
        "    def test_openai_chat_completion(client_with_models, text_model_id):\n"
        ">       response = client.chat.completions.create(model=text_model_id, messages=m)\n"
        "\n"
        "ogx/testing/api_recorder.py:812: in _patched_inference_method\n"
        f"E   RuntimeError: {body.removeprefix('E   ')}\n"
        "=========================== short test summary info ============================\n"
        f"FAILED {TEST_ID} - RuntimeError: {first}\n"
    )


INFERENCE_TEXT = (
    f"Recording not found for request hash: {HASH}\n"
    "Model: llama3.2:3b | Request: POST http://0.0.0.0:11434/v1/v1/chat/completions\n"
    f"\n{HINT}"
)


@pytest.mark.parametrize(
    "text",
    [
        INFERENCE_TEXT,
        pytest_output(INFERENCE_TEXT),
        INFERENCE_TEXT.replace("\n", ""),  # a search box drops line breaks
        f"RuntimeError({INFERENCE_TEXT!r})",  # a repr: `\n` escapes
        "\x1b[31m" + INFERENCE_TEXT.replace("Model", "\x1b[1mModel") + "\x1b[0m",  # colours
    ],
    ids=["message", "pytest output", "no line breaks", "repr", "colours"],
)
def test_it_reads_the_inference_miss_however_it_was_pasted(text):
    miss = parse_miss(text)
    assert miss is not None
    assert (miss.kind, miss.hash, miss.model, miss.method, miss.url) == (
        misses.INFERENCE,
        HASH,
        "llama3.2:3b",
        "POST",
        "http://0.0.0.0:11434/v1/v1/chat/completions",
    )
    assert looks_like_miss(text)


def test_it_reads_every_message_of_the_recorder():
    cases = {
        f"Recording not found for genai request hash: {HASH}\n"
        "Model: gemini-2.0-flash | Endpoint: /generate_content_stream\n\n" + HINT: {
            "kind": misses.GENAI,
            "hash": HASH,
            "model": "gemini-2.0-flash",
            "endpoint": "/generate_content_stream",
        },
        "Recording not found for httpx POST http://localhost:8000/v1/ranking\n\n" + HINT: {
            "kind": misses.HTTPX,
            "method": "POST",
            "url": "http://localhost:8000/v1/ranking",
        },
        "Recording not found for httpx stream POST https://api.anthropic.com/v1/messages\n\n"
        + HINT: {
            "kind": misses.HTTPX_STREAM,
            "method": "POST",
            "url": "https://api.anthropic.com/v1/messages",
        },
        "Recording not found for rerank request | URL: http://nim:8000/v1/retrieval/rerank\n"
        + HINT: {
            "kind": misses.RERANK,
            "method": "POST",
            "url": "http://nim:8000/v1/retrieval/rerank",
        },
        "Recording not found for tavily-search.web_search | Request: "
        "{'query': 'Who won the 2024 Euro?', 'max_results': 3}\n\n" + HINT: {
            "kind": misses.TOOL,
            "provider": "tavily-search",
            "tool": "web_search",
            "kwargs": {"query": "Who won the 2024 Euro?", "max_results": 3},
        },
    }
    for text, expected in cases.items():
        for pasted in (text, pytest_output(text), text.replace("\n", "")):
            miss = parse_miss(pasted)
            assert miss is not None, pasted
            assert {key: getattr(miss, key) for key in expected} == expected, pasted


def test_it_leaves_a_tool_call_whose_arguments_are_no_literal_unevaluated():
    miss = parse_miss(
        "Recording not found for tavily.web_search | Request: {'q': __import__('os')}\n"
    )
    assert (miss.kind, miss.kwargs, miss.kwargs_text) == (
        misses.TOOL,
        None,
        "{'q': __import__('os')}",
    )


VCR_TEXT = """\
E           vcr.errors.CannotOverwriteExistingCassetteException: Can't overwrite existing \
cassette ('/home/me/proj/tests/cassettes/test_chat/test_multi_turn[gpt-4o].yaml') in your \
current record mode (<RecordMode.NONE: 'none'>).
E           No match for the request (<Request (POST) https://api.openai.com/v1/chat/completions>) \
was found.
E           Found 2 similar requests with 1 different matcher(s) :
E
E           1 - (<Request (POST) https://api.openai.com/v1/chat/completions>).
E           Matchers succeeded : ['method', 'scheme', 'host', 'port', 'path', 'query']
E           Matchers failed :
E           body - assertion failure :
E           b'{"model":"gpt-4o"}' != b'{"model":"gpt-4o-mini"}'
E
E           2 - (<Request (POST) https://api.openai.com/v1/embeddings>).
E           Matchers succeeded : ['method', 'scheme', 'host', 'port', 'query']
E           Matchers failed :
E           path - assertion failure :
E           /v1/embeddings != /v1/chat/completions
E           body - assertion failure :
E           b'{}' != b'{"model":"gpt-4o-mini"}'
"""


def test_it_reads_vcrs_cannot_overwrite_message():
    miss = parse_miss(VCR_TEXT)
    assert miss is not None
    assert miss.kind == misses.VCR
    assert miss.cassette == "/home/me/proj/tests/cassettes/test_chat/test_multi_turn[gpt-4o].yaml"
    assert miss.record_mode == "none"
    assert (miss.method, miss.url) == ("POST", "https://api.openai.com/v1/chat/completions")
    succeeded = ("method", "scheme", "host", "port")
    assert miss.similar == [
        Similar(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            ("body",),
            (*succeeded, "path", "query"),
        ),
        Similar(
            "POST", "https://api.openai.com/v1/embeddings", ("path", "body"), (*succeeded, "query")
        ),
    ]
    assert looks_like_miss(VCR_TEXT)


def test_it_reads_an_older_vcrs_message_with_a_plain_record_mode():
    text = (
        "Can't overwrite existing cassette ('tests/cassettes/a.yaml') in your current record "
        "mode ('none').\nNo match for the request (<Request (GET) https://x.test/a?b=1>) was "
        "found.\nNo similar requests, that have not been played, found."
    )
    miss = parse_miss(text)
    assert (miss.cassette, miss.record_mode, miss.method, miss.url, miss.similar) == (
        "tests/cassettes/a.yaml",
        "none",
        "GET",
        "https://x.test/a?b=1",
        [],
    )


def test_it_finds_the_test_id_in_a_pytest_output():
    assert find_test_id(pytest_output(INFERENCE_TEXT)) == TEST_ID
    assert find_test_id(f"{TEST_ID} FAILED [ 50%]") == TEST_ID
    assert find_test_id("ERROR tests/x/test_y.py::TestZ::test_w - boom") == (
        "tests/x/test_y.py::TestZ::test_w"
    )
    assert find_test_id("ogx/testing/api_recorder.py:812: in _patched") is None


def test_it_tells_a_miss_from_words_to_search_for():
    assert not looks_like_miss(HASH)
    assert not looks_like_miss("ordering gpt-4o")
    assert parse_miss("nothing to see here") is None
    assert parse_miss("") is None
