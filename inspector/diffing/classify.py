"""What changed between two recordings of one request, in one word, for the compare page:
`classify(a, b)` over two summaries (`summary_of`). Cheap: a digest of each request and the
assembled response's columns, no JSON diff. Pure: no Django (a Recording is read by its
attributes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inspector.diffing.noise import denoised
from inspector.diffing.responses import USAGE_FIELDS, arguments_value
from inspector.llama_stack import hashing

REQUEST_CHANGED = "request changed"
RESPONSE_CHANGED = "response changed"
NOISE_ONLY = "noise only"
UNCHANGED = "unchanged"
CLASSES = (REQUEST_CHANGED, RESPONSE_CHANGED, NOISE_ONLY, UNCHANGED)


def request_key_of(request: dict[str, Any] | None) -> str:
    """The request as the recorder's normalization sees it (test id left out), its noise
    (`rec-` ids, clocks) too: the same for two requests that differ in nothing else."""
    if request is None:
        return ""
    try:
        return hashing.request_key(denoised(request))
    except RecursionError:  # nested past Python's limit: compared by the stored key instead
        return ""


def usage_of(recording: Any) -> dict[str, int | None]:
    return {name: getattr(recording, f"{name}_tokens", None) for name in USAGE_FIELDS}


def exception_of(recording: Any) -> str:
    if not getattr(recording, "is_exception", False):
        return ""
    return f"{recording.exception_type}: {recording.exception_message}"


def summary_of(
    recording: Any, calls: Iterable[Any] = (), request: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What `classify` compares of a Recording: its request's key (of `request`, the recorded
    request document, when given; else the key the importer stored, `request_key`), its
    response's columns and the response's tool calls (`calls`: ToolCall rows; those of the
    request's messages are left out), and the digest of its bytes (`sha256`)."""
    key = request_key_of(request) if request is not None else ""
    return {
        "request": key or recording.request_key,
        "response": {
            "text": recording.response_text,
            "reasoning": recording.response_reasoning,
            "finish_reason": recording.finish_reason,
            "tool_calls": [
                (call.name, call.arguments) for call in calls if call.message_index is None
            ],
            "usage": usage_of(recording),
            "status": recording.status,
            "exception": exception_of(recording),
        },
        "raw": recording.sha256,
    }


def comparable(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response summary with tool-call arguments as JSON (spacing and key order ignored)."""
    calls = [(name, arguments_value(args)) for name, args in response.get("tool_calls") or ()]
    return {**response, "tool_calls": calls}


def classify(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """ "request changed" when the normalized requests differ; else "response changed" when
    the assembled responses do (text, reasoning, finish reason, tool calls' names and
    arguments, usage, status, exception); else "noise only" when the raw bytes still differ
    (ids, clocks, chunking); else "unchanged". `a` and `b` are `summary_of`'s dicts:
    `{"request": key, "response": {...}, "raw": digest}`."""
    if a["request"] != b["request"]:
        return REQUEST_CHANGED
    if comparable(a["response"]) != comparable(b["response"]):
        return RESPONSE_CHANGED
    if a["raw"] != b["raw"]:
        return NOISE_ONLY
    return UNCHANGED
