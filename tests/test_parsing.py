from __future__ import annotations

import orjson
import pytest

from inspector import parsing
from inspector.parsing import RecordingError


def recording(request: dict, response: dict, test_id: str | None = "t.py::test_x") -> bytes:
    return orjson.dumps({"test_id": test_id, "request": request, "response": response})


def chat_request(**body: object) -> dict:
    return {
        "method": "POST",
        "url": "http://0.0.0.0:11434/v1/v1/chat/completions",
        "headers": {},
        "body": {"model": "m", **body},
        "endpoint": "/v1/chat/completions",
        "model": "m",
    }


def chunk(delta: dict | None = None, finish: str | None = None, **data: object) -> dict:
    choices = [] if delta is None else [{"delta": delta, "finish_reason": finish, "index": 0}]
    return {
        "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
        "__data__": {"id": "rec-1", "choices": choices, "object": "chat.completion.chunk", **data},
    }


def test_it_splits_test_ids():
    assert parsing.split_test_id(
        "tests/integration/x/test_y.py::TestZ::test_w[txt=openai/gpt-4o::a-b]"
    ) == parsing.TestId(
        raw="tests/integration/x/test_y.py::TestZ::test_w[txt=openai/gpt-4o::a-b]",
        file="tests/integration/x/test_y.py",
        klass="TestZ",
        function="test_w",
        params="txt=openai/gpt-4o::a-b",
    )
    assert parsing.split_test_id("t.py::test_plain") == parsing.TestId(
        raw="t.py::test_plain", file="t.py", function="test_plain"
    )
    assert parsing.split_test_id(None) == parsing.TestId(raw=None)


def test_it_reads_the_hash_a_file_name_carries():
    digest = "ab" * 32
    assert parsing.name_hash(f"{digest}.json") == digest
    assert parsing.name_hash(f"models-{digest}-4a65eed3.json") == digest
    assert parsing.name_hash("1d82e9439ae3.json") == "1d82e9439ae3"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b'{"request": {', "truncated JSON (ends early at line 1 column 14)"),
        (
            b'{"request" 1}',
            "malformed JSON (unexpected character, expected ':' after key at line 1 column 12)",
        ),
        (b"[1, 2]", "wrong top-level type: expected an object, found an array"),
        (b'"text"', "wrong top-level type: expected an object, found a string"),
        (b'{"response": {}}', "missing request"),
        (b'{"request": {}}', "missing response"),
        (
            b'{"request": [], "response": {}}',
            "wrong type for request: expected an object, found an array",
        ),
        (b'{"request": {"a": "\xff"}, "response": {}}', "not UTF-8 (byte 19 is not valid UTF-8)"),
        (b"[" * 2000 + b"]" * 2000, "nesting too deep (more than 1024 levels)"),
    ],
)
def test_it_gives_one_line_reasons_for_bad_files(data, reason):
    with pytest.raises(RecordingError) as caught:
        parsing.parse(data)
    assert str(caught.value) == reason


def test_it_accepts_a_byte_order_mark():
    data = b"\xef\xbb\xbf" + recording(chat_request(messages=[]), {"body": None})
    assert parsing.parse(data).kind == parsing.INFERENCE


def test_it_keeps_unknown_shapes_as_generic():
    parsed = parsing.parse(orjson.dumps({"request": {"whatever": 1}, "response": {"x": 2}}))
    assert (parsed.kind, parsed.test_id.raw, parsed.chunk_count) == ("generic", None, 0)


def test_it_reassembles_a_streamed_tool_call_by_index():
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"tz"'},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ': "UTC"}'}}]}),
        chunk({}, finish="tool_calls"),
        chunk(
            None,
            usage={
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 2},
            },
        ),
    ]
    parsed = parsing.parse(
        recording(chat_request(stream=True), {"body": chunks, "is_streaming": True})
    )
    calls = [
        (c.call_id, c.name, c.arguments, c.arguments_valid) for c in parsed.response.tool_calls
    ]
    assert calls == [
        ("call_a", "get_weather", '{"city": "Paris"}', True),
        ("call_b", "get_time", '{"tz": "UTC"}', True),
    ]
    assert parsed.response.finish_reason == "tool_calls"
    assert parsed.usage == parsing.Usage(prompt=10, completion=5, total=15, cached=4, reasoning=2)
    assert [c["k"] for c in parsed.chunks] == [
        ["role"],
        ["tool"],
        ["tool"],
        ["tool"],
        ["tool"],
        ["tool"],
        ["finish"],
        ["usage"],
    ]
    assert parsed.chunk_count == 8


def test_it_marks_azure_filter_chunks_and_joins_reasoning():
    chunks = [
        chunk(None, object="", prompt_filter_results=[{"prompt_index": 0}]),
        chunk({"role": "assistant", "reasoning_content": "Think"}),
        chunk({"reasoning_content": "ing."}),
        chunk({"content": "Hello"}),
        chunk({"content": " world"}, finish="stop"),
    ]
    parsed = parsing.parse(
        recording(chat_request(stream=True), {"body": chunks, "is_streaming": True})
    )
    assert parsed.chunks[0]["k"] == ["filter"]
    assert (parsed.response.reasoning, parsed.response.text) == ("Thinking.", "Hello world")
    assert parsed.chunks[-1] == {
        "i": 4,
        "k": ["content", "finish"],
        "content": " world",
        "finish": "stop",
    }


def test_it_links_tool_calls_to_the_messages_that_answer_them():
    messages = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "w", "arguments": "{bad"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "sunny"}]},
    ]
    tools = [
        {
            "type": "function",
            "function": {"name": "w", "description": "Weather", "parameters": {"type": "object"}},
        }
    ]
    parsed = parsing.parse(recording(chat_request(messages=messages, tools=tools), {"body": None}))
    assert [(m.role, m.text, m.image_count) for m in parsed.messages] == [
        ("system", "Be brief.", 0),
        ("user", "Weather?", 1),
        ("assistant", "", 0),
        ("tool", "sunny", 0),
    ]
    assert parsed.messages[1].parts[1] == parsing.Part(
        type="image", url="data:image/png;base64,", mime="image/png", data_bytes=8
    )
    assert [
        (c.call_id, c.message_index, c.answered_by, c.arguments_valid) for c in parsed.tool_calls
    ] == [("c1", 2, 3, True), ("c2", 2, None, False)]
    assert parsed.tools == [
        parsing.ToolDef(name="w", description="Weather", parameters={"type": "object"})
    ]


def test_it_reads_exceptions():
    parsed = parsing.parse(
        recording(
            chat_request(messages=[]),
            {
                "body": None,
                "is_streaming": False,
                "is_exception": True,
                "exception_data": {
                    "category": "provider_sdk",
                    "type": "BadRequestError",
                    "message": "bad",
                    "status_code": 400,
                    "body": {},
                },
                "exception_message": "Error code: 400 - bad",
            },
        )
    )
    assert parsed.failure == parsing.Failure(
        type="BadRequestError", status=400, message="Error code: 400 - bad", category="provider_sdk"
    )


def test_it_reads_anthropic_sse_passthrough():
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"role": "assistant", "usage": {"input_tokens": 7, "output_tokens": 0}},
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "Hm."},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "Hi!"},
            },
        ),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 3},
            },
        ),
    ]
    lines = []
    for name, data in events:
        lines += [f"event: {name}", f"data: {orjson.dumps(data).decode()}", ""]
    request = {
        "test_id": "t",
        "url": "http://h/v1/messages",
        "method": "POST",
        "payload": {"model": "claude", "messages": [{"role": "user", "content": "Hi"}]},
    }
    parsed = parsing.parse(recording(request, {"body": lines, "is_streaming": True}))
    assert (parsed.kind, parsed.endpoint, parsed.model, parsed.chunk_count) == (
        "http_passthrough",
        "/v1/messages",
        "claude",
        15,
    )
    assert (parsed.response.reasoning, parsed.response.text, parsed.response.finish_reason) == (
        "Hm.",
        "Hi!",
        "end_turn",
    )
    assert parsed.usage == parsing.Usage(prompt=7, completion=3, total=10)
    assert [c["event"] for c in parsed.chunks] == [name for name, _ in events]
    assert parsed.chunks[0]["lines"] == [0, 2]


def test_it_uses_real_ollama_timestamps():
    def gen(text: str, at: str, done: bool = False) -> dict:
        return {
            "__type__": "ollama._types.GenerateResponse",
            "__data__": {
                "created_at": at,
                "response": text,
                "done": done,
                "done_reason": "stop" if done else None,
                "prompt_eval_count": 3 if done else None,
                "eval_count": 2 if done else None,
            },
        }

    request = {
        "method": "POST",
        "url": "http://localhost:11434/api/generate",
        "headers": {},
        "body": {"model": "llama", "prompt": "Hi", "stream": True},
        "endpoint": "/api/generate",
        "model": "llama",
    }
    body = [
        gen("Hel", "2025-08-04T22:55:11.3Z"),
        gen("lo", "2025-08-04T22:55:11.9Z"),
        gen("", "2025-08-04T22:55:12.0Z", done=True),
    ]
    parsed = parsing.parse(recording(request, {"body": body, "is_streaming": True}, None))
    assert (parsed.response.text, parsed.response.finish_reason, parsed.has_timing) == (
        "Hello",
        "stop",
        True,
    )
    assert [c.get("t") for c in parsed.chunks] == [
        "2025-08-04T22:55:11.3Z",
        "2025-08-04T22:55:11.9Z",
        "2025-08-04T22:55:12.0Z",
    ]
    assert parsed.usage == parsing.Usage(prompt=3, completion=2, total=5)
    assert [m.text for m in parsed.messages] == ["Hi"]


def test_it_summarises_embeddings_without_keeping_the_floats():
    request = {
        "method": "POST",
        "url": "http://h/v1/embeddings",
        "headers": {},
        "body": {"model": "e", "input": ["a", "b"]},
        "endpoint": "/v1/embeddings",
        "model": "e",
    }
    body = {
        "__type__": "openai.types.create_embedding_response.CreateEmbeddingResponse",
        "__data__": {
            "object": "list",
            "model": "e",
            "data": [{"embedding": [0.5] * 384, "index": i} for i in range(2)],
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        },
    }
    parsed = parsing.parse(recording(request, {"body": body, "is_streaming": False}))
    assert (parsed.embedding_count, parsed.embedding_dims) == (2, 384)
    assert parsed.details == {"input_count": 2, "first_values": [0.5] * 8}
