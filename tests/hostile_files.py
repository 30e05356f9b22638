"""Recordings that import (or may import) and then attack the pages that show them.

`write_hostile_files(folder)` writes them under `folder/hostile/recordings/` and returns their
paths relative to `folder`. Each is a valid JSON file the importer may well accept: what they
test is that every page of every recording it accepts answers, and never with a 500.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

XSS = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
# Deeper than Python's recursion limit allows a recursive renderer to walk (~3 frames a level),
# shallower than the 1024 levels orjson parses.
DEEP = 900
LONG_TEST_ID = "tests/integration/test_long.py::test_long[" + "x" * 70_000 + "]"
# Written as digits: orjson reads 2**70 as a float, 2**64 - 1 as an int no database column holds.
BIG_INT = 2**70
U64 = 2**64 - 1
CHAT = "http://localhost:11434/v1/chat/completions"
CHUNK = "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"
COMPLETION = "openai.types.chat.chat_completion.ChatCompletion"


def deep(levels: int = DEEP, leaf: Any = "bottom") -> bytes:
    """JSON nested `levels` deep, alternating objects and arrays, built as text: no encoder
    walks it recursively."""
    opening, closing = [], []
    for level in range(levels):
        if level % 2:
            opening.append("[")
            closing.append("]")
        else:
            opening.append('{"k":')
            closing.append("}")
    return "".join(opening).encode() + dumps(leaf) + "".join(reversed(closing)).encode()


def dumps(value: Any) -> bytes:
    """The standard library's encoder: orjson refuses integers beyond 64 bits."""
    return json.dumps(value, ensure_ascii=False).encode()


def chat_request(messages: list[Any] | None = None, **body: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": CHAT,
        "headers": {},
        "body": {"model": "m", "messages": messages or [{"role": "user", "content": "hi"}], **body},
        "endpoint": "/v1/chat/completions",
        "model": "m",
    }


def completion(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data = {"choices": [{"index": 0, "finish_reason": "stop", "message": message}], **extra}
    return {"body": {"__type__": COMPLETION, "__data__": data}, "is_streaming": False}


def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data = {"choices": [{"index": 0, "finish_reason": None, "delta": delta}], **extra}
    return {"__type__": CHUNK, "__data__": data}


def recording(test_id: Any, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {"test_id": test_id, "request": request, "response": response}


def plain(test_id: str = "tests/integration/test_hostile.py::test_plain") -> dict[str, Any]:
    return recording(test_id, chat_request(), completion({"role": "assistant", "content": "ok"}))


def bool_index_stream() -> dict[str, Any]:
    calls = [
        {"index": True, "id": "call_t", "function": {"name": "f", "arguments": "{}"}},
        {"index": False, "id": "call_f", "function": {"name": "g", "arguments": "{}"}},
    ]
    body = [
        chunk({"role": "assistant", "tool_calls": calls}),
        chunk({"tool_calls": [{"index": True, "function": {"arguments": ""}}]}),
    ]
    return recording(
        "tests/integration/test_hostile.py::test_bool_index",
        chat_request(stream=True),
        {"body": body, "is_streaming": True},
    )


def everything_hostile() -> dict[str, Any]:
    """Markup, NUL, huge numbers and odd types wherever the parser reads a value."""
    nul = "a\x00b"
    svg = "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"
    messages = [
        {"role": XSS, "content": XSS, "name": nul},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": svg}}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,x"}}]},
        {"role": "user", "content": {"type": "text", "text": nul}},
        {"role": "user", "content": BIG_INT},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": BIG_INT, "type": "function", "function": {"name": 7, "arguments": nul}},
                {"id": nul, "function": {"name": XSS_IMG, "arguments": {"a": [BIG_INT]}}},
            ],
        },
        {"role": "tool", "tool_call_id": BIG_INT, "content": f'{{"error": "{XSS}"}}'},
    ]
    tools = [{"type": "function", "function": {"name": nul, "parameters": {"": {"/~": nul}}}}]
    usage = {"prompt_tokens": BIG_INT, "completion_tokens": -1, "total_tokens": 1e308}
    answer = {"role": "assistant", "content": nul, "reasoning_content": XSS}
    return recording(
        f"tests/x.py::test_[{XSS}{nul}]",
        chat_request(messages, tools=tools, temperature=BIG_INT),
        completion(answer, usage=usage, created=BIG_INT, model=nul),
    )


def documents() -> dict[str, bytes]:
    """File name → file bytes."""
    stream_request = chat_request(stream=True)
    deep_text = deep().decode()
    files = {
        # A byte-order mark: the importer skips it, so every reader of the bytes must.
        "bom.json": b"\xef\xbb\xbf" + dumps(plain("tests/test_bom.py::test_bom")),
        "bom-stream.json": b"\xef\xbb\xbf"
        + dumps(
            recording(
                "tests/test_bom.py::test_bom_stream",
                stream_request,
                {"body": [chunk({"role": "assistant", "content": "hi"})], "is_streaming": True},
            )
        ),
        # Streams whose body is not a list of chunks.
        "stream-scalar.json": dumps(
            recording(
                "tests/test_s.py::test_scalar", stream_request, {"body": 42, "is_streaming": True}
            )
        ),
        "stream-string.json": dumps(
            recording(
                "tests/test_s.py::test_string", stream_request, {"body": "x", "is_streaming": True}
            )
        ),
        "stream-object.json": dumps(
            recording(
                "tests/test_s.py::test_object",
                stream_request,
                {"body": chunk({"role": "assistant", "content": "one"}), "is_streaming": True},
            )
        ),
        "stream-empty.json": dumps(
            recording(
                "tests/test_s.py::test_empty", stream_request, {"body": [], "is_streaming": True}
            )
        ),
        "stream-odd-chunks.json": dumps(
            recording(
                "tests/test_s.py::test_odd_chunks",
                stream_request,
                {"body": [None, 1, "x", [], {}, chunk({"content": XSS})], "is_streaming": True},
            )
        ),
        "sse-odd.json": dumps(
            recording(
                "tests/test_s.py::test_sse",
                {"url": "https://api.anthropic.com/v1/messages", "method": "POST", "payload": {}},
                {
                    "body": ["event: x", f"data: {XSS}", "data: {", ":", "", "data: 1"],
                    "is_streaming": True,
                },
            )
        ),
        # Nesting deep enough to overflow any recursive walk, in the request and the response.
        "deep-request.json": (
            b'{"test_id":"tests/test_deep.py::test_request","request":{"method":"POST","url":"'
            + CHAT.encode()
            + b'","body":{"model":"m","messages":[{"role":"user","content":"hi","extra":'
            + deep(DEEP - 8)
            + b'}]}},"response":'
            + dumps(completion({"role": "assistant", "content": "ok"}))
            + b"}"
        ),
        "deep-response.json": (
            b'{"test_id":"tests/test_deep.py::test_response","request":'
            + dumps(chat_request())
            + b',"response":{"is_streaming":false,"body":'
            + deep(DEEP - 4)
            + b"}}"
        ),
        "deep-stream.json": (
            b'{"test_id":"tests/test_deep.py::test_stream","request":'
            + dumps(stream_request)
            + b',"response":{"is_streaming":true,"body":['
            + deep(DEEP - 4)
            + b"]}}"
        ),
        "deep-tool.json": dumps(
            recording(
                "tests/test_deep.py::test_tool_arguments",
                chat_request(
                    [
                        {
                            "role": "assistant",
                            "tool_calls": [
                                {"id": "c", "function": {"name": "f", "arguments": deep_text}}
                            ],
                        },
                        {"role": "tool", "tool_call_id": "c", "content": deep_text},
                    ]
                ),
                completion({"role": "assistant", "content": deep_text}),
            )
        ),
        "bool-index.json": dumps(bool_index_stream()),
        # Names and test ids that links and headers must survive.
        "new\nline.json": dumps(plain("tests/test_names.py::test_newline[a\nb]")),
        "..json": dumps(plain("tests/test_names.py::test_dots")),
        # A stream: its player sends the page's address in a header.
        "stream new\nline ✓.json": dumps(
            recording(
                "tests/test_names.py::test_stream_newline",
                stream_request,
                {"body": [chunk({"role": "assistant", "content": "hi"})], "is_streaming": True},
            )
        ),
        "%00 #?&=+ ;'\"<x>.json": dumps(plain(f"tests/test_names.py::test_marks[{XSS}]")),
        "ünï cödé ✓.json": dumps(plain("tests/test_names.py::test_unicode[ü ✓]")),
        "long-test-id.json": dumps(plain(LONG_TEST_ID)),
        "test-id-number.json": dumps(
            recording(BIG_INT, chat_request(), completion({"content": "x"}))
        ),
        "test-id-list.json": dumps(recording([XSS], chat_request(), completion({"content": "x"}))),
        "hostile.json": dumps(everything_hostile()),
        "u64.json": dumps(
            recording(
                "tests/test_u64.py::test_u64",
                chat_request(),
                completion(
                    {"role": "assistant", "content": "x"},
                    usage={"prompt_tokens": U64, "total_tokens": 2**63},
                    created=U64,
                ),
            )
        ),
        "models-hostile.json": dumps(
            recording(
                "tests/test_models.py::test_models",
                {"method": "GET", "url": "http://localhost/v1/models", "endpoint": "/v1/models"},
                {
                    "body": [
                        {
                            "__type__": "openai.types.model.Model",
                            "__data__": {"id": XSS, "created": BIG_INT, "size": BIG_INT},
                        },
                        {"__type__": "openai.types.model.Model", "__data__": {"id": BIG_INT}},
                    ],
                    "is_streaming": False,
                },
            )
        ),
        "tool-hostile.json": dumps(
            recording(
                "tests/test_tools.py::test_tool",
                {
                    "test_id": "t",
                    "provider": XSS,
                    "tool_name": BIG_INT,
                    "kwargs": json.loads(deep(200)),
                },
                {"body": {"content": deep_text, "error_message": XSS}, "is_streaming": False},
            )
        ),
        "file-hostile.json": dumps(
            recording(
                "tests/test_files.py::test_file",
                {"test_id": "t", "provider": 1, "api": None, "file_id": [XSS]},
                {
                    "body": {"__type__": "x.ProcessResponse", "__data__": [XSS]},
                    "is_streaming": False,
                },
            )
        ),
        "exception-hostile.json": dumps(
            recording(
                "tests/test_exc.py::test_exc",
                chat_request(),
                {
                    "body": None,
                    "is_streaming": False,
                    "is_exception": True,
                    "exception_data": {"status_code": BIG_INT, "type": XSS},
                    "exception_message": XSS,
                },
            )
        ),
        "generic.json": dumps(
            recording(None, {"anything": json.loads(deep(300))}, {"body": {"": ""}})
        ),
        "keys.json": dumps(
            recording(
                "tests/test_keys.py::test_keys",
                {**chat_request(), "": {"/": {"~": {"~1": {"0": [1]}}}}},
                {"body": {"/": XSS, "~0": 1}, "is_streaming": False, "": "", "status": "x"},
            )
        ),
    }
    return files


def write_hostile_files(folder: Path) -> list[str]:
    """Write every hostile recording under `folder`; their paths relative to it."""
    base = folder / "hostile" / "recordings"
    base.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in documents().items():
        (base / name).write_bytes(data)
        written.append(f"hostile/recordings/{name}")
    return written
