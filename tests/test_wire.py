"""inspector.wire: one module per API, read without any container (no llama-stack envelope, no
cassette), and `read_exchange`, which picks the API of a raw HTTP exchange. No database."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from inspector import llama_stack as llama_stack_package
from inspector import parsing, playback
from inspector.chunks import Chunks
from inspector.wire import anthropic, bedrock, gemini, openai_chat, responses
from inspector.wire.common import time_of, usage_of
from inspector.wire.content import Thread
from inspector.wire.http import read_exchange
from inspector.wire.reading import link_tool_results, read_body, read_single
from inspector.wire.sse import sse_events
from inspector.wire.types import GENERIC, INFERENCE, Failure, Recording, TestId, ToolCall, Usage

OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
RESPONSES = "https://api.openai.com/v1/responses"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3%3A0"
SSE = "text/event-stream; charset=utf-8"


def blank() -> Recording:
    return Recording(test_id=TestId(raw=None), kind=INFERENCE)


def calls(recording: Recording) -> list[tuple[str, str, str]]:
    return [(c.call_id, c.name, c.arguments) for c in recording.tool_calls]


def events(*datas: Any, names: list[str] | None = None) -> list[dict[str, Any]]:
    """SSE events as the cassette reader splits them, from each event's data."""
    lines: list[str] = []
    for number, data in enumerate(datas):
        if names:
            lines.append(f"event: {names[number]}")
        lines += [f"data: {data if isinstance(data, str) else json.dumps(data)}", ""]
    return sse_events(lines)


def stream(url: str, request: dict[str, Any], found: list[dict[str, Any]]) -> Recording:
    return read_exchange("POST", url, request, 200, None, found, SSE)


def timeline_columns(recording: Recording) -> int:
    return len({mark["column"] for mark in playback.marks(recording.chunks)})


def last_frame_is_the_response(recording: Recording) -> None:
    frame = playback.frame_at(recording.chunks, len(recording.chunks))
    assert (frame.role, frame.text, frame.reasoning, frame.finish_reason) == (
        recording.response.role,
        recording.response.text,
        recording.response.reasoning,
        recording.response.finish_reason,
    )
    assert [(t.call_id, t.name, t.arguments) for t in frame.tool_calls] == [
        (c.call_id, c.name, c.arguments) for c in recording.response.tool_calls
    ]
    assert frame.usage == {k: v for k, v in vars(recording.usage).items() if v is not None}


# --------------------------------------------------------------------------- common


@pytest.mark.parametrize(
    "zero", [0, 0.0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z", "0001-01-01T00:00:00Z"]
)
def test_it_takes_a_zeroed_time_for_no_time(zero):
    assert time_of(zero) is None
    chunk = {"id": "x", "created": zero, "choices": [{"delta": {"content": "Hi"}}]}
    body = [{"__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
             "__data__": chunk}]  # fmt: skip
    document = {"request": {"url": OPENAI, "body": {}}, "response": {"body": body}}
    assert parsing.parse(orjson.dumps(document)).created is None
    reply = {"created_at": zero, "object": "response", "output": [], "status": "completed"}
    assert (
        read_exchange("POST", RESPONSES, {}, 200, reply, None, "application/json").created is None
    )


def test_it_reads_real_times_in_utc():
    when = datetime(2025, 10, 22, 23, 20, 4, tzinfo=UTC)
    assert time_of(1761175204) == when
    assert time_of(1761175204000) == when  # milliseconds
    assert time_of("2025-10-22T23:20:04Z") == when
    assert time_of("2025-10-22T23:20:04") == when  # no zone: UTC
    assert [time_of(v) for v in (None, True, "", "soon", -5, [1])] == [None] * 6
    reply = {"created": 1761175204, "choices": [{"message": {"content": "Hi"}}]}
    assert read_exchange("POST", OPENAI, {}, 200, reply, None, "application/json").created == when


def test_it_reads_usage_under_every_providers_names():
    assert usage_of({"usage": {"prompt_tokens": 3, "completion_tokens": 2}}) == Usage(3, 2, 5)
    gemini_usage = {"promptTokenCount": 13, "candidatesTokenCount": 63, "totalTokenCount": 151,
                    "thoughtsTokenCount": 75, "cachedContentTokenCount": 4}  # fmt: skip
    assert usage_of({"usageMetadata": gemini_usage}) == Usage(13, 63, 151, 4, 75)
    bedrock_usage = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    assert usage_of({"usage": bedrock_usage}) == Usage(10, 5, 15)
    assert usage_of({"prompt_eval_count": 7, "eval_count": 2}) == Usage(7, 2, 9)
    assert usage_of({"usage": {"input_tokens": True}}) == Usage()


# --------------------------------------------------------------------------- OpenAI chat


def test_it_reads_openai_chat_messages_and_keeps_tool_call_ids_as_sent():
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {"role": "assistant", "tool_calls": [
                {"id": "call_AbC9xYz", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_AbC9xYz", "content": "Rain"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {}}}],
    }  # fmt: skip
    recording = blank()
    read_body(recording, body)
    link_tool_results(recording)
    assert [(m.role, m.text) for m in recording.messages] == [
        ("user", "Weather?"), ("assistant", ""), ("tool", "Rain")
    ]  # fmt: skip
    assert calls(recording) == [("call_AbC9xYz", "weather", '{"city": "Oslo"}')]
    assert recording.tool_calls[0].answered_by == 2
    assert [t.name for t in recording.tools] == ["weather"]


def test_it_reads_the_plain_text_of_a_chunk_as_the_general_path_does():
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    assert openai_chat.plain_text(chunk) == "Hel"
    for other in (
        {"choices": [{"delta": {"content": "Hel"}, "finish_reason": "stop"}]},
        {"choices": [{"delta": {"content": "Hel"}, "finishReason": "STOP"}]},
        {"choices": [{"delta": {"content": "Hel", "role": "assistant"}}]},
        {"choices": [{"delta": {"content": "x", "tool_calls": [{"index": 0}]}}]},
        {"choices": [{"text": "Hel"}]},
        {"choices": [{"delta": {"content": "Hel"}}], "usage": {"total_tokens": 1}},
    ):
        assert openai_chat.plain_text(other) is None


def test_it_reassembles_an_openai_chat_event_stream_with_one_chunk_per_event():
    found = events(
        {"id": "c", "created": 0, "choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "call_MiXeD", "function": {"name": "f", "arguments": "{\"a\""}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}}]},
        {"choices": [{"delta": {"content": "lo"}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}},
        "[DONE]",
    )  # fmt: skip
    recording = stream(OPENAI, {"model": "gpt-4o", "stream": True}, found)
    assert (recording.kind, recording.model, recording.is_streaming) == (INFERENCE, "gpt-4o", True)
    assert recording.chunk_count == len(recording.chunks) == timeline_columns(recording) == 7
    assert recording.response.text == "Hello"
    assert recording.response.finish_reason == "tool_calls"
    assert calls(recording) == [("call_MiXeD", "f", '{"a": 1}')]
    assert recording.usage == Usage(prompt=4, completion=3, total=7)
    assert recording.chunks[-1] == {"i": 6, "k": ["event"]}  # [DONE]
    assert recording.created is None
    last_frame_is_the_response(recording)


def test_it_shows_an_openai_refusal_as_the_text_whole_or_streamed():
    reply = {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "No."}}]}
    whole = read_exchange("POST", OPENAI, {}, 200, reply, None, "application/json")
    found = events(
        {"choices": [{"delta": {"role": "assistant", "content": None, "refusal": ""}}]},
        {"choices": [{"delta": {"refusal": "No"}}]},
        {"choices": [{"delta": {"content": None, "refusal": "."}, "finish_reason": "stop"}]},
    )
    streamed = stream(OPENAI, {}, found)
    assert whole.response.text == streamed.response.text == "No."
    last_frame_is_the_response(streamed)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.groq.com/openai/v1/chat/completions",
        "https://api.mistral.ai/v1/chat/completions",
        "https://openrouter.ai/api/v1/chat/completions",
        "https://api.together.xyz/v1/chat/completions",
        "https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=1",
        "http://localhost:3000/router/v2/openai/v1/chat/completions",
    ],
)
def test_it_reads_openai_compatible_hosts_by_their_path(url):
    reply = {"choices": [{"message": {"role": "assistant", "content": "Hi"}}]}
    recording = read_exchange("POST", url, {"messages": []}, 200, reply, None, "application/json")
    assert (recording.kind, recording.details["api"], recording.response.text) == (
        INFERENCE, "openai_chat", "Hi"
    )  # fmt: skip
    assert recording.endpoint.endswith("/chat/completions")
    assert "?" not in recording.endpoint
    if "azure" in url:
        assert (recording.provider, recording.model) == ("azure", "gpt4o")


def test_it_reads_completions():
    reply = {"choices": [{"text": "4242", "finish_reason": "stop"}]}
    url = "https://api.together.xyz/v1/completions"
    recording = read_exchange(
        "POST", url, {"prompt": "4200+42="}, 200, reply, None, "application/json"
    )
    assert (recording.details["api"], recording.provider) == ("completions", "together")
    assert [(m.role, m.text) for m in recording.messages] == [("user", "4200+42=")]
    assert (recording.response.text, recording.response.finish_reason) == ("4242", "stop")


# --------------------------------------------------------------------------- Responses


def test_it_reads_a_responses_request_with_its_calls_and_their_outputs():
    body = {
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Weather?"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Look it up"}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_XyZ", "name": "weather",
             "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_XyZ", "output": "Rain"},
        ],
        "tools": [{"type": "function", "name": "weather", "parameters": {}}],
    }  # fmt: skip
    recording = read_exchange("POST", RESPONSES, body, 200, None, None, "application/json")
    assert [(m.role, m.text, m.reasoning) for m in recording.messages] == [
        ("system", "Be brief.", ""),
        ("user", "Weather?", ""),
        ("assistant", "", "Look it up"),
        ("assistant", "", ""),
        ("tool", "Rain", ""),
    ]
    assert calls(recording) == [("call_XyZ", "weather", "{}")]
    assert recording.tool_calls[0].answered_by == 4
    assert [t.name for t in recording.tools] == ["weather"]


RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1761175204,
    "status": "completed",
    "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Add"},
                                          {"type": "summary_text", "text": "them"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "4242"}]},
        {"type": "function_call", "id": "fc_9", "call_id": "call_QwE", "name": "check",
         "arguments": "{\"n\":4242}"},
    ],
    "usage": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13,
              "output_tokens_details": {"reasoning_tokens": 2}},
}  # fmt: skip


def test_it_reads_a_whole_response():
    recording = read_exchange("POST", RESPONSES, {}, 200, RESPONSE, None, "application/json")
    response = recording.response
    assert (response.role, response.text, response.reasoning, response.finish_reason) == (
        "assistant", "4242", "Add\nthem", "completed"
    )  # fmt: skip
    assert calls(recording) == [("call_QwE", "check", '{"n":4242}')]
    assert recording.usage == Usage(prompt=9, completion=4, total=13, reasoning=2)
    assert recording.created == datetime(2025, 10, 22, 23, 20, 4, tzinfo=UTC)


def test_it_reassembles_a_responses_stream_as_the_whole_response_says():
    created = {**RESPONSE, "status": "in_progress", "output": [], "usage": None}
    datas = [
        {"type": "response.created", "response": created},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning"}},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "Add"},
        {"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 1},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "them"},
        {"type": "response.output_item.added", "output_index": 1,
         "item": {"type": "message", "role": "assistant", "content": []}},
        {"type": "response.output_text.delta", "output_index": 1, "delta": "42"},
        {"type": "response.output_text.delta", "output_index": 1, "delta": "42"},
        {"type": "response.output_text.done", "output_index": 1, "text": "4242"},
        {"type": "response.output_item.added", "output_index": 2,
         "item": {"type": "function_call", "id": "fc_9", "call_id": "call_QwE", "name": "check",
                  "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{\"n\":"},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "4242}"},
        {"type": "response.completed", "response": RESPONSE},
    ]  # fmt: skip
    found = events(*datas, names=[d["type"] for d in datas])
    streamed = stream(RESPONSES, {"stream": True}, found)
    whole = read_exchange("POST", RESPONSES, {}, 200, RESPONSE, None, "application/json")
    assert streamed.chunk_count == len(found) == timeline_columns(streamed) == 13
    assert streamed.response == whole.response
    assert (streamed.usage, streamed.created) == (whole.usage, whole.created)
    assert streamed.chunks[6]["event"] == "response.output_text.delta"
    last_frame_is_the_response(streamed)


# --------------------------------------------------------------------------- Anthropic


def test_it_reads_anthropic_system_blocks_and_tool_results():
    body = {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_01AbCdEf", "name": "weather", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01AbCdEf", "content": "Rain"}]},
        ],
        "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
    }  # fmt: skip
    reply = {"type": "message", "role": "assistant", "stop_reason": "end_turn",
             "content": [{"type": "thinking", "thinking": "Hmm"}, {"type": "text", "text": "Wet"}],
             "usage": {"input_tokens": 5, "output_tokens": 2}}  # fmt: skip
    recording = read_exchange("POST", ANTHROPIC, body, 200, reply, None, "application/json")
    assert [(m.role, m.text) for m in recording.messages] == [
        ("system", "Be brief."), ("user", "Weather?"), ("assistant", "Looking."), ("user", "Rain")
    ]  # fmt: skip
    assert calls(recording) == [("toolu_01AbCdEf", "weather", "{}")]
    assert recording.tool_calls[0].answered_by == 3
    assert recording.tools[0].parameters == {"type": "object"}
    response = recording.response
    assert (response.text, response.reasoning, response.finish_reason) == ("Wet", "Hmm", "end_turn")
    assert recording.usage == Usage(prompt=5, completion=2, total=7)


def test_it_reassembles_an_anthropic_event_stream():
    datas = [
        {"type": "message_start", "message": {"role": "assistant", "usage": {"input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "We"}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "t"}},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "tool_use", "id": "toolu_01XyZ", "name": "f"}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]  # fmt: skip
    found = events(*datas, names=[d["type"] for d in datas])
    recording = stream(ANTHROPIC, {"stream": True}, found)
    assert recording.chunk_count == timeline_columns(recording) == 9
    assert (recording.response.text, recording.response.finish_reason) == ("Wet", "tool_use")
    assert calls(recording) == [("toolu_01XyZ", "f", '{"a": 1}')]
    assert recording.usage == Usage(prompt=5, completion=9, total=14)
    assert recording.chunks[3] == {"i": 3, "k": ["event"], "event": "ping", "lines": [9, 11]}
    last_frame_is_the_response(recording)


def test_it_reads_an_anthropic_error_event_as_a_failure():
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    recording = stream(ANTHROPIC, {}, events(error, names=["error"]))
    assert recording.failure == Failure(type="overloaded_error", status=200, message="Overloaded")
    assert recording.chunks[0]["k"] == ["error"]


# --------------------------------------------------------------------------- Gemini


def test_it_reads_gemini_contents_parts_and_declarations():
    body = {
        "systemInstruction": None,
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"},
                                       {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [{"functionCall": {"id": "Fc_AbC", "name": "weather",
                                                          "args": {"city": "Oslo"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "weather",
                                                             "response": {"sky": "rain"}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {}}]}],
    }  # fmt: skip
    url = f"{GEMINI}:generateContent"
    recording = read_exchange("POST", url, body, 200, None, None, "application/json")
    assert recording.model == "gemini-2.5-flash"  # from the path: the body has none
    assert [(m.role, m.text, m.image_count) for m in recording.messages] == [
        ("system", "Be brief.", 0), ("user", "Weather?", 1), ("assistant", "", 0),
        ("user", '{"sky":"rain"}', 0),
    ]  # fmt: skip
    assert calls(recording) == [("Fc_AbC", "weather", '{"city":"Oslo"}')]
    assert [t.name for t in recording.tools] == ["weather"]
    assert gemini.gemini_parts("Hi") == [{"type": "text", "text": "Hi"}]


THOUGHT = {"text": "Hm", "thought": True}


def test_it_reassembles_a_gemini_stream_as_its_whole_response():
    pieces = [
        {"candidates": [{"content": {"role": "model", "parts": [THOUGHT]}}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "42"}]}}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "42"}]},
                         "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2,
                           "totalTokenCount": 9}},
    ]  # fmt: skip
    whole = {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Hm", "thought": True}, {"text": "4242"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 9},
    }  # fmt: skip
    url = f"{GEMINI}:streamGenerateContent?alt=sse"
    streamed = stream(url, {}, events(*pieces))
    single = read_exchange(
        "POST", f"{GEMINI}:generateContent", {}, 200, whole, None, "application/json"
    )
    assert streamed.chunk_count == timeline_columns(streamed) == 3
    assert streamed.response == single.response
    assert (single.response.text, single.response.reasoning) == ("4242", "Hm")
    assert streamed.usage == single.usage == Usage(prompt=3, completion=2, total=9)
    last_frame_is_the_response(streamed)
    # Streamed without `alt=sse`: one JSON array of the same chunks.
    arrayed = read_exchange("POST", url, {}, 200, pieces, None, "application/json")
    assert (arrayed.is_streaming, arrayed.chunk_count, arrayed.response) == (
        True, 3, streamed.response
    )  # fmt: skip


def test_it_reads_an_error_sent_with_an_event_streams_type():
    error = {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
    body = json.dumps(error, indent=2).encode()  # as Gemini sends it: JSON over many lines
    found = sse_events(body.decode().split("\n"))
    url = f"{GEMINI}:streamGenerateContent?alt=sse"
    recording = read_exchange("POST", url, {}, 404, None, found, "text/event-stream", body=body)
    assert recording.failure == Failure(type="NOT_FOUND", status=404, message="not found")
    assert (recording.is_streaming, recording.chunk_count) == (True, len(found))
    assert timeline_columns(recording) == len(found)


# --------------------------------------------------------------------------- Ollama


def test_it_reads_ollama_images_and_an_ndjson_stream():
    body = {
        "model": "llava",
        "messages": [{"role": "user", "content": "What?", "images": ["QUJD"]}],
    }
    lines = [
        {"created_at": f"2025-01-01T10:00:0{second}Z", "done": False,
         "message": {"role": "assistant", "content": piece}}
        for second, piece in enumerate(["A ", "cat", ""])
    ]  # fmt: skip
    lines[-1].update(done=True, done_reason="stop", prompt_eval_count=5, eval_count=2)
    raw = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    url = "http://localhost:11434/api/chat"
    recording = read_exchange("POST", url, body, 200, None, None, "application/x-ndjson", body=raw)
    assert (recording.provider, recording.details["api"], recording.chunk_count) == (
        "ollama",
        "ollama",
        3,
    )
    assert recording.messages[0].image_count == 1
    assert (recording.response.text, recording.response.finish_reason) == ("A cat", "stop")
    assert recording.usage == Usage(prompt=5, completion=2, total=7)
    assert recording.has_timing
    assert recording.created == datetime(2025, 1, 1, 10, tzinfo=UTC)


def test_it_reads_an_ollama_generate_response():
    reply = {"model": "llama3", "response": "Hi", "thinking": "Hm", "done": True,
             "done_reason": "stop", "created_at": "0001-01-01T00:00:00Z"}  # fmt: skip
    url = "http://localhost:11434/api/generate"
    recording = read_exchange(
        "POST", url, {"prompt": "Hello"}, 200, reply, None, "application/json"
    )
    assert (recording.response.text, recording.response.reasoning) == ("Hi", "Hm")
    assert recording.created is None


# --------------------------------------------------------------------------- Bedrock


def frame(event: str, payload: dict[str, Any]) -> bytes:
    """One message of AWS's binary event stream (CRCs left zero: they are not checked)."""
    headers = b""
    for name, value in ((":event-type", event), (":message-type", "event")):
        encoded = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + len(encoded).to_bytes(2, "big")
        headers += encoded
    body = orjson.dumps(payload)
    total = 12 + len(headers) + len(body) + 4
    return struct.pack(">III", total, len(headers), 0) + headers + body + b"\0\0\0\0"


def test_it_reads_bedrock_converse_and_its_binary_event_stream():
    body = {
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [
                {"text": "Weather?"}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_AbC", "name": "w",
                                                           "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_AbC",
                                                         "content": [{"text": "Rain"}]}}]},
        ],
        "toolConfig": {"tools": [{"toolSpec": {"name": "w", "inputSchema": {"json": {"a": 1}}}}]},
    }  # fmt: skip
    reply = {"output": {"message": {"role": "assistant", "content": [{"text": "Wet"}]}},
             "stopReason": "end_turn",
             "usage": {"inputTokens": 8, "outputTokens": 1, "totalTokens": 9}}  # fmt: skip
    url = f"{BEDROCK}/converse"
    recording = read_exchange("POST", url, body, 200, reply, None, "application/json")
    assert (recording.provider, recording.model) == ("bedrock", "anthropic.claude-3:0")
    assert [(m.role, m.text, m.image_count) for m in recording.messages] == [
        ("system", "Be brief.", 0), ("user", "Weather?", 1), ("assistant", "", 0),
        ("user", "Rain", 0),
    ]  # fmt: skip
    assert calls(recording) == [("tooluse_AbC", "w", "{}")]
    assert recording.tool_calls[0].answered_by == 3
    assert recording.tools[0].parameters == {"a": 1}
    assert (recording.response.text, recording.response.finish_reason) == ("Wet", "end_turn")
    assert recording.usage == Usage(prompt=8, completion=1, total=9)

    raw = b"".join([
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "We"}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "t"}}),
        frame("messageStop", {"stopReason": "end_turn"}),
        frame("metadata", {"usage": {"inputTokens": 8, "outputTokens": 1, "totalTokens": 9}}),
    ])  # fmt: skip
    assert [e["event"] for e in bedrock.events_of(raw[:-3])][-1] == "messageStop"  # truncated
    streamed = read_exchange(
        "POST", f"{BEDROCK}/converse-stream", body, 200, None, None,
        "application/vnd.amazon.eventstream", body=raw,
    )  # fmt: skip
    assert (streamed.is_streaming, streamed.chunk_count, timeline_columns(streamed)) == (True, 5, 5)
    assert (streamed.response.role, streamed.response.text) == ("assistant", "Wet")
    assert streamed.usage == recording.usage
    last_frame_is_the_response(streamed)


# --------------------------------------------------------------------------- anything else


@pytest.mark.parametrize(
    ("method", "url", "status", "response", "content_type", "body"),
    [
        ("GET", "https://mirascope.com/api/v2/f", 200, None, "text/html", b"<!doctype html><p>Hi"),
        ("POST", "http://localhost:3000/traces", 404, None, "text/html", b"<h1>Not Found</h1>"),
        ("GET", "https://x.test/logo.png", 200, None, "image/png", b"\x89PNG\r\n\x1a\n\0\0"),
        (
            "GET",
            "http://localhost:8000/functions/hash/ab",
            200,
            {"code": "x"},
            "application/json",
            b"",
        ),
        ("", "", None, {"kind": "websocket", "data": "hi"}, "application/json", b""),
        ("POST", "http://[::1:bad/", None, [1, {"choices": 3}], "", b"\xff"),
    ],
)
def test_it_keeps_anything_else_as_a_generic_exchange_and_never_raises(
    method, url, status, response, content_type, body
):
    recording = read_exchange(method, url, None, status, response, None, content_type, body=body)
    assert (recording.kind, recording.status) == (GENERIC, status)
    assert recording.messages == []
    assert (recording.failure is not None) == (status == 404)
    assert recording.endpoint == ("" if not url else recording.endpoint)
    assert "unreadable" not in recording.details


def test_it_reads_error_bodies_as_failures():
    openai_error = {"error": {"message": "Bad key", "type": "invalid_request_error", "code": "x"}}
    found = read_exchange("POST", OPENAI, {}, 401, openai_error, None, "application/json")
    assert found.failure == Failure(type="invalid_request_error", status=401, message="Bad key")
    hugging = read_exchange("GET", "https://huggingface.co/api/models/x", None, 401,
                            {"error": "Unauthorized"}, None, "application/json")  # fmt: skip
    assert hugging.failure == Failure(type="HTTP error", status=401, message="Unauthorized")
    assert hugging.kind == GENERIC


@pytest.mark.parametrize(
    "value",
    [None, 1, "x", [], [None], {"choices": "x"}, {"choices": [1]}, {"output": {"message": 3}},
     {"candidates": [{"content": {"parts": [{"functionCall": 5}]}}]},
     {"object": "response", "output": [7]}],
)  # fmt: skip
def test_it_never_raises_on_shapes_no_api_sends(value):
    for url in (OPENAI, RESPONSES, ANTHROPIC, f"{GEMINI}:generateContent", f"{BEDROCK}/converse"):
        recording = read_exchange("POST", url, value, 200, value, None, "application/json")
        assert recording.kind == INFERENCE
        assert "unreadable" not in recording.details
        recording = stream(url, value if isinstance(value, dict) else {}, events(value, value))
        assert recording.chunk_count == timeline_columns(recording) == 2
        assert "unreadable" not in recording.details


# --------------------------------------------------------------------------- the old names


def test_it_keeps_the_names_the_django_side_imports():
    from inspector.llama_stack import naming, recording
    from inspector.wire import common, content, types

    assert parsing.parse is recording.parse is llama_stack_package.parse
    assert parsing.Recording is types.Recording
    assert (parsing.loads, parsing.text_of, parsing.DATA_URL) == (
        common.loads, common.text_of, common.DATA_URL
    )  # fmt: skip
    assert (parsing.parts_of, parsing.name_hash) == (content.parts_of, naming.name_hash)
    assert all(hasattr(parsing, name) for name in parsing.__all__)


def test_it_reads_a_single_object_as_a_one_chunk_stream_without_keeping_chunks():
    recording = blank()
    read_single(recording, {"choices": [{"message": {"role": "assistant", "content": "Hi"}}]})
    assert (recording.response.text, recording.chunks) == ("Hi", [])
    assert isinstance(Chunks.of([]), Chunks)
    assert anthropic.read_system({"system": ""}, Thread()) is None
    assert responses.is_response(RESPONSE)
    assert ToolCall("a", "b", "").arguments_valid
