"""Properties of inspector.parsing over inputs no one would write by hand.

Any JSON, bare or in a recording's envelope, parses or is refused with a RecordingError: never
another exception. Any text streamed in any pieces reassembles to the text. Derandomized and
without an example database, so that a run is the same run everywhere."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector import parsing

# Modest: the suite runs on both databases, on two cores (each property ~1-3 s).
PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def shaped(schema: Any) -> st.SearchStrategy[Any]:
    """Values of the shape `schema` describes, any part of which may be any JSON instead: a
    dict schema is an object of a few of its keys, `[x]` a list of x, a str a text (or one of
    the listed words, for `"a|b"`), `...` any JSON. Small: every example has a few keys on
    the path to one value, so that few examples reach deep into the parser."""
    if schema is ...:
        return json_values
    if isinstance(schema, str):
        words = [w for w in schema.split("|") if w]
        right = st.sampled_from(words) | st.text(max_size=10) if words else st.text(max_size=10)
    elif isinstance(schema, list):
        right = st.lists(st.deferred(lambda: shaped(schema[0])), max_size=3)
    else:
        values = {key: st.deferred(lambda v=v: shaped(v)) for key, v in schema.items()}
        right = st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({key: values[key] for key in keys})
        )
    return st.one_of(right, right, right, right, scalars, json_values)


# The shapes FORMAT.md describes, with the keys parsing.py reads.
CALL = {"id": "", "index": ..., "type": "function", "function": {"name": "", "arguments": ...}}
PART = {
    "type": "text|image_url|input_image|image|tool_result|tool_use|thinking|input_text|x",
    "text": "",
    "image_url": {"url": "data:image/png;base64,AAAA|https://x/y.png"},
    "source": {"type": "base64|url", "data": "", "media_type": "image/png", "url": ""},
    "b64": "",
    "content": ...,
    "id": "",
    "name": "",
    "input": ...,
    "tool_use_id": "",
    "thinking": "",
}
GEMINI_PART = {
    "text": "",
    "thought": ...,
    "inline_data": {"mime_type": "image/png", "data": ""},
    "inlineData": {"mimeType": "", "data": ""},
    "function_call": {"name": "", "args": ..., "id": ""},
    "functionCall": {"name": "", "args": ...},
    "function_response": {"name": "", "response": ...},
    "functionResponse": {"name": "", "response": ...},
}
MESSAGE = {
    "role": "user|assistant|system|tool|function",
    "content": [PART],
    "name": "",
    "tool_name": "",
    "tool_call_id": "",
    "tool_calls": [CALL],
    "images": [""],
    "reasoning_content": "",
    "reasoning": "",
}
TOOL = {
    "type": "function",
    "function": {"name": "", "description": "", "parameters": ...},
    "name": "",
    "input_schema": ...,
    "function_declarations": [{"name": "", "parameters": ...}],
}
BODY = {
    "model": "",
    "messages": [MESSAGE],
    "tools": [TOOL],
    "prompt": ...,
    "images": [""],
    "input": ...,
    "contents": [{"role": "user|model", "parts": [GEMINI_PART]}],
    "system": ...,
    "system_instruction": ...,
    "config": {"system_instruction": ..., "tools": [TOOL]},
    "stream": ...,
}
REQUEST = {
    "method": "POST|GET",
    "url": "https://api.openai.com/v1/chat/completions|vertexai:///x|http://[::1:bad/",
    "endpoint": "/v1/chat/completions|/v1/embeddings|/api/generate",
    "model": "",
    "body": BODY,
    "payload": BODY,
    "provider": "",
    "tool_name": "",
    "kwargs": ...,
    "file_id": "",
    "api": "",
    "test_id": "",
}
USAGE = {
    "prompt_tokens": ...,
    "completion_tokens": ...,
    "total_tokens": ...,
    "prompt_tokens_details": {"cached_tokens": ...},
    "completion_tokens_details": {"reasoning_tokens": ...},
    "input_tokens": ...,
    "output_tokens": ...,
}
DATA = {
    "object": "list|chat.completion.chunk|",
    "choices": [
        {
            "index": ...,
            "delta": {**MESSAGE, "parts": [GEMINI_PART]},
            "message": MESSAGE,
            "text": "",
            "finish_reason": "stop|",
        }
    ],
    "candidates": [{"content": {"role": "model", "parts": [GEMINI_PART]}, "finish_reason": ""}],
    "usage": USAGE,
    "usage_metadata": ...,
    "message": MESSAGE,
    "response": "",
    "thinking": "",
    "done": ...,
    "done_reason": "",
    "created_at": "",
    "prompt_filter_results": ...,
    "data": [{"embedding": ...}],
    "embedding": ...,
    "embeddings": ...,
    "type": "message|",
    "content": [PART],
    "outputs": [PART],
    "status": "",
    "chunks": [{"content": ...}],
    "metadata": ...,
    "models": [...],
    "error": ...,
    "prompt_eval_count": ...,
    "eval_count": ...,
}
WRAPPED = {
    "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk|x.Model|"
    "x.ListResponse|ollama._types.ProcessResponse|x.ToolInvocationResult",
    "__data__": DATA,
}
EVENT = {
    "type": "message_start|content_block_start|content_block_delta|message_delta|error|"
    "content.start|interaction.complete",
    "index": ...,
    "message": {"role": "", "usage": USAGE, "status": ""},
    "content_block": {"type": "text|tool_use|function_call", "id": "", "name": ""},
    "delta": {
        "type": "text_delta|thinking_delta|input_json_delta|function_call|text|thought",
        "text": "",
        "thinking": ...,
        "partial_json": ...,
        "stop_reason": "",
        "name": "",
        "arguments": ...,
    },
    "usage": USAGE,
    "error": ...,
}
sse_lines = st.lists(
    st.sampled_from(["", "event: message_start", "data: [DONE]", "data: {", ": comment"])
    | shaped(EVENT).map(lambda value: f"data: {json.dumps(value)}"),
    max_size=8,
)
RESPONSE = {
    "body": [WRAPPED],
    "is_streaming": ...,
    "is_exception": ...,
    "exception_data": {"type": "", "status_code": ..., "message": "", "category": ""},
    "exception_message": ...,
    "status": ...,
}
CHAT = "https://api.openai.com/v1/chat/completions"
OK = {"body": {"__type__": "x.ChatCompletion", "__data__": {"choices": []}}}


def request_with(body: Any) -> dict[str, Any]:
    return {"request": {"method": "POST", "url": CHAT, "body": body}, "response": OK}


def response_with(response: Any, request: Any = None) -> dict[str, Any]:
    return {"request": request or {"method": "POST", "url": CHAT, "body": {}}, "response": response}


# Recordings right but for one part, which is anything of its shape: one property each, so
# that each part of the parser is reached within a few hundred examples.
PARTS = {
    "envelope": st.fixed_dictionaries(
        {"request": shaped(REQUEST), "response": shaped(RESPONSE)},
        optional={"test_id": json_values, "id_normalization_mapping": json_values},
    ),
    "request": shaped(REQUEST).map(lambda request: {"request": request, "response": OK}),
    "body": shaped(BODY).map(request_with),
    "message": shaped(MESSAGE).map(lambda message: request_with({"messages": [message]})),
    "content part": shaped(PART).map(
        lambda part: request_with({"messages": [{"role": "user", "content": [part]}]})
    ),
    "gemini part": shaped(GEMINI_PART).map(
        lambda part: request_with({"contents": [{"role": "user", "parts": [part]}]})
    ),
    "tool": shaped(TOOL).map(lambda tool: request_with({"tools": [tool]})),
    "response": shaped(RESPONSE).map(response_with),
    "response object": shaped(DATA).map(
        lambda data: response_with({"body": {"__type__": "x.ChatCompletion", "__data__": data}})
    ),
    "chunk": st.lists(shaped(DATA), max_size=3).map(
        lambda datas: response_with(
            {"is_streaming": True, "body": [{"__type__": "x.Chunk", "__data__": d} for d in datas]}
        )
    ),
    "event stream": sse_lines.map(
        lambda lines: response_with({"body": lines}, {"url": CHAT, "payload": {}})
    ),
    "tool result": shaped(DATA).map(
        lambda data: response_with(
            {"body": {"__type__": "x.ToolInvocationResult", "__data__": data}},
            {"provider": "p", "tool_name": "t", "kwargs": {}},
        )
    ),
}


def parses_or_refuses(document: Any) -> parsing.Recording | None:
    data = json.dumps(document).encode()  # the stdlib writes integers of any size
    try:
        return parsing.parse(data)
    except parsing.RecordingError as exc:
        reason = str(exc)
    assert reason
    assert "\n" not in reason  # one short line
    return None


@PROPERTY
@given(json_values)
def test_it_parses_or_refuses_any_json(document):
    parses_or_refuses(document)


@pytest.mark.parametrize("part", list(PARTS))
def test_it_parses_or_refuses_any_recording_shaped_json(part):
    @PROPERTY
    @given(PARTS[part])
    def parses(document):
        recording = parses_or_refuses(document)
        if recording is not None:
            assert isinstance(recording.kind, str)

    parses()


texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@st.composite
def pieces(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A text, and the pieces it is streamed in (some of them empty)."""
    text = draw(texts)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in itertools.pairwise(bounds)]


def recording(request: dict[str, Any], body: list[Any]) -> bytes:
    document = {"test_id": "t.py::test", "request": request, "response": {"body": body}}
    document["response"]["is_streaming"] = True
    return json.dumps(document).encode()


@PROPERTY
@given(pieces())
def test_it_reassembles_an_openai_chat_stream_in_any_pieces(split):
    text, parts = split
    body = [
        {
            "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
            "__data__": {"choices": [{"index": 0, "delta": {"content": part}}]},
        }
        for part in parts
    ]
    request = {"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "body": {}}
    parsed = parsing.parse(recording(request, body))
    assert (parsed.response.text, parsed.chunk_count) == (text, len(parts))


@PROPERTY
@given(pieces())
def test_it_reassembles_an_anthropic_event_stream_in_any_pieces(split):
    text, parts = split
    lines = ["event: message_start", 'data: {"type": "message_start"}', ""]
    for part in parts:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}
        delta["delta"]["text"] = part
        lines += ["event: content_block_delta", f"data: {json.dumps(delta)}", ""]
    request = {"url": "https://api.anthropic.com/v1/messages", "method": "POST", "payload": {}}
    parsed = parsing.parse(recording(request, lines))
    assert parsed.response.text == text


@PROPERTY
@given(pieces())
def test_it_reassembles_an_ollama_generate_stream_in_any_pieces(split):
    text, parts = split
    body = [
        {"__type__": "ollama._types.GenerateResponse", "__data__": {"response": p, "done": False}}
        for p in parts
    ]
    request = {"method": "POST", "url": "http://localhost:11434/api/generate", "body": {}}
    parsed = parsing.parse(recording(request, body))
    assert parsed.response.text == text
