"""Small llama-stack recordings written by tests that need a tree of their own."""

from __future__ import annotations

from typing import Any


def chat_recording(prompt: str, answer: str, *, test_id: str, model: str = "gpt-4o") -> dict:
    """A non-streamed chat completion: one user prompt, one answer."""
    request: dict[str, Any] = {
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "headers": {},
        "body": {"model": model, "messages": [{"role": "user", "content": prompt}]},
        "endpoint": "/v1/chat/completions",
        "model": model,
    }
    choice = {
        "finish_reason": "stop",
        "index": 0,
        "message": {"role": "assistant", "content": answer},
    }
    body = {
        "__type__": "openai.types.chat.chat_completion.ChatCompletion",
        "__data__": {"choices": [choice]},
    }
    return {
        "test_id": test_id,
        "request": request,
        "response": {"body": body, "is_streaming": False},
    }
