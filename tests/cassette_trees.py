"""Cassette trees for the page tests: a project's cassettes in YAML, JSON and gzipped YAML,
one with a live-looking key in every place a cassette may hold one, one of things that are no
LLM call, one with an inline image; and a llama-stack recording beside them."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VISION = "inference/recordings/24fdb60a1478e90fefb98aca633474b34b9072a6f1bea80f675707cc00f8546c"
# A live-looking key in every place a cassette may hold one.
SECRET = "sk-live-" + "A1b2C3d4" * 6
COOKIE = "session=" + "Z9y8X7w6" * 4
QUERY_KEY = "AIza" + "Q1w2E3r4" * 4
SECRETS = (SECRET, COOKIE, QUERY_KEY, "Z9y8X7w6", "Q1w2E3r4", "A1b2C3d4")
BASE = "tests/cassettes/test_mod"
CHAT = f"{BASE}/test_chat"
OTHER = f"{BASE}/test_other"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
STREAMED = ["Six", " is", " the", " answer", "."]


def chat_chunk(delta: dict, finish: str | None = None) -> str:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def sse_body() -> str:
    chunks = [chat_chunk({"role": "assistant", "content": ""})]
    chunks += [chat_chunk({"content": piece}) for piece in STREAMED]
    chunks.append(chat_chunk({}, "stop"))
    usage = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
             "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 5,
                                      "total_tokens": 25}}  # fmt: skip
    return "".join(chunks) + f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n"


def request(uri: str, body: dict | None, method: str = "POST") -> dict:
    return {
        "method": method,
        "uri": uri,
        "body": json.dumps(body) if body is not None else None,
        "headers": {
            "content-type": ["application/json"],
            "authorization": [f"Bearer {SECRET}"],
            "x-api-key": [SECRET],
            "Cookie": [COOKIE],
            "user-agent": ["OpenAI/Python 1.0"],
        },
    }


def response(body: str | bytes, content_type: str, code: int = 200, **headers) -> dict:
    return {
        "status": {"code": code, "message": "OK" if code < 400 else "Bad Request"},
        "headers": {"Content-Type": [content_type], "set-cookie": [COOKIE], **headers},
        "body": {"string": body},
    }


def chat_cassette() -> dict:
    url = f"https://api.openai.com/v1/chat/completions?key={QUERY_KEY}&v=1"
    first = [{"role": "user", "content": "What is 2+2?"}]
    second = [*first, {"role": "assistant", "content": "4"}, {"role": "user", "content": "3+3?"}]
    answer = {
        "id": "chatcmpl-0",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
    }
    return {
        "interactions": [
            {
                "request": request(url, {"model": "gpt-4o-mini", "messages": first}),
                "response": response(json.dumps(answer), "application/json"),
            },
            {
                "request": request(
                    url,
                    {
                        "model": "gpt-4o-mini",
                        "messages": second,
                        "stream": True,
                        "stream_options": {"include_usage": True},
                    },
                ),
                "response": response(sse_body(), "text/event-stream; charset=utf-8"),
            },
        ],
        "version": 1,
    }


def other_cassette() -> dict:
    page = "<html><head><title>Status</title></head><body><script>alert(1)</script></body></html>"
    return {
        "interactions": [
            {
                "request": request("https://example.com/status", None, "GET"),
                "response": response(page, "text/html; charset=utf-8"),
            },
            {
                "request": request("https://example.com/logo.png", None, "GET"),
                "response": response(PNG, "image/png"),
            },
            {"kind": "websocket", "direction": "send", "data": "hello over the socket"},
            {
                "request": request(f"https://otel:{SECRET}@telemetry.example.com/v1/traces", None),
                "response": response(b"\x00\x01\x02\xff" * 8, "application/x-protobuf", 503),
            },
        ],
        "version": 1,
    }


def vision_cassette() -> dict:
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [
        {"type": "text", "text": "What is in the picture?"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    answer = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A dot."},
                "finish_reason": "stop",
            }
        ],
    }
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}
    return {
        "interactions": [
            {
                "request": request("https://api.openai.com/v1/chat/completions", body),
                "response": response(json.dumps(answer), "application/json"),
            }
        ],
        "version": 1,
    }


def write_tree(root: Path) -> Path:
    """A project's cassettes: YAML, JSON and gzipped YAML, one with a live key everywhere, one
    of things that are no LLM call; and a llama-stack recording beside them."""
    folder = root / BASE
    folder.mkdir(parents=True)
    (folder / "test_chat.yaml").write_text(yaml.safe_dump(chat_cassette()))
    (folder / "test_other.yaml").write_text(yaml.safe_dump(other_cassette()))
    (folder / "test_json.json").write_text(json.dumps(chat_cassette()))
    (folder / "test_vision.yaml").write_text(yaml.safe_dump(vision_cassette()))
    (folder / "test_gz.yaml.gz").write_bytes(
        gzip.compress(yaml.safe_dump(chat_cassette()).encode())
    )
    recording = root / "x" / "recordings" / f"{Path(VISION).name}.json"
    recording.parent.mkdir(parents=True)
    recording.write_bytes((FIXTURES / f"{VISION}.json").read_bytes())
    return root
