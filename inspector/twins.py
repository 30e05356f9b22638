"""The JSON twins of the recording, exchange and cassette pages (`/r/<page>?_format=json`): the
same rows the pages read, as plain dicts. No queries here: the views fetch the rows and pass
them in, so that page and twin never disagree on what a recording holds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from inspector.cassettes.naming import test_of_path
from inspector.conversation import shown_url
from inspector.models import Message, Recording, Source, ToolCall

# The twin's keys, in order; tests compare against this.
EXCHANGE_KEYS = (
    "path", "index", "test_id", "test_file", "test_class", "test_function", "test_params",
    "suite", "format", "kind", "provider", "base_url", "method", "endpoint", "model",
    "streaming", "status", "chunk_count", "messages", "tool_calls", "response", "usage",
    "name_verdict", "name_reason",
)  # fmt: skip
CASSETTE_KEYS = (
    "path", "format", "test_id", "test_file", "test_class", "test_function", "test_params",
    "exchanges",
)  # fmt: skip


def exchange_json(
    recording: Recording, messages: Iterable[Message], calls: Iterable[ToolCall]
) -> dict[str, Any]:
    """One recording or cassette exchange. `tool_calls` are the request's (in its messages),
    `response.tool_calls` the response's."""
    calls = list(calls)
    return {
        "path": recording.path,
        "index": recording.index,
        "test_id": recording.test_id,
        "test_file": recording.test_file,
        "test_class": recording.test_class,
        "test_function": recording.test_function,
        "test_params": recording.test_params,
        "suite": recording.suite,
        "format": recording.format,
        "kind": recording.kind,
        "provider": recording.provider,
        "base_url": shown_url(recording.base_url),
        "method": recording.method,
        "endpoint": recording.endpoint,
        "model": recording.model,
        "streaming": recording.is_streaming,
        "status": recording.status,
        "chunk_count": recording.chunk_count,
        "messages": [
            {"role": m.role, "text": m.text, "tool_call_id": m.tool_call_id} for m in messages
        ],
        "tool_calls": [call_json(c) for c in calls if not c.in_response],
        "response": {
            "text": recording.response_text,
            "reasoning": recording.response_reasoning,
            "finish_reason": recording.finish_reason,
            "tool_calls": [call_json(c) for c in calls if c.in_response],
        },
        "usage": {
            "prompt_tokens": recording.prompt_tokens,
            "completion_tokens": recording.completion_tokens,
            "total_tokens": recording.total_tokens,
            "cached_tokens": recording.cached_tokens,
            "reasoning_tokens": recording.reasoning_tokens,
        },
        # The name audit (inspector.llama_stack.verdicts): can the harness find this file?
        "name_verdict": recording.name_verdict,
        "name_reason": recording.name_reason,
    }


def call_json(call: ToolCall) -> dict[str, Any]:
    return {"id": call.call_id, "name": call.name, "arguments": call.arguments}


def cassette_json(
    source: Source,
    exchanges: Iterable[Recording],
    messages: dict[int, list[Message]],
    calls: dict[int, list[ToolCall]],
) -> dict[str, Any]:
    """A cassette and every exchange's twin, in cassette order; `messages` and `calls` by
    recording id. Its test is told from its path, as its exchanges' were."""
    test = test_of_path(source.path)
    return {
        "path": source.path,
        "format": source.format,
        "test_id": test.node_id if test.function else None,
        "test_file": test.file or "",
        "test_class": test.cls or "",
        "test_function": test.function,
        "test_params": test.params or "",
        "exchanges": [
            exchange_json(e, messages.get(e.pk, []), calls.get(e.pk, [])) for e in exchanges
        ],
    }
