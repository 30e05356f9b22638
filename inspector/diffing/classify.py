"""What changed between two recordings of one request, in one word, for the compare page:
`classify(a, b)` over two summaries (`summary_of`). Cheap: a digest of each request and the
assembled response's columns, no JSON diff. Pure: no Django (a Recording is read by its
attributes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inspector.diffing.noise import denoised
from inspector.diffing.responses import arguments_value
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


# What a test gets back, as a Recording's columns. Two recordings of one request that agree on
# these and on their response's tool calls (names, arguments as JSON) differ in noise only:
# ids, clocks, indentation, chunking. /diff's verdict (`summary_of`) and /compare's classes in
# bulk (`inspector.comparing`) both read this one list, so they cannot disagree.
ANSWER_COLUMNS = (
    "response_text", "response_reasoning", "finish_reason", "prompt_tokens",
    "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens", "is_exception",
    "exception_type", "exception_message", "status", "embedding_count", "embedding_dims",
    "listed_models",
)  # fmt: skip


def answer_of(recording: Any, calls: Iterable[Any] = ()) -> dict[str, Any]:
    """A Recording's answer: ANSWER_COLUMNS and its response's tool calls (`calls`: ToolCall
    rows; those of the request's messages are left out), arguments as sent."""
    answer = {column: getattr(recording, column, None) for column in ANSWER_COLUMNS}
    answer["tool_calls"] = [
        (call.name, call.arguments) for call in calls if call.message_index is None
    ]
    return answer


def summary_of(
    recording: Any, calls: Iterable[Any] = (), request: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What `classify` compares of a Recording: its request's key (of `request`, the recorded
    request document, when given; else the key the importer stored, `request_key`), its answer
    (`answer_of`) and the digest of its bytes (`sha256`)."""
    key = request_key_of(request) if request is not None else ""
    return {
        "request": key or recording.request_key,
        "response": answer_of(recording, calls),
        "raw": recording.sha256,
    }


def comparable(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response summary with tool-call arguments as JSON (spacing and key order ignored)."""
    calls = [(name, arguments_value(args)) for name, args in response.get("tool_calls") or ()]
    return {**response, "tool_calls": calls}


def classify(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """ "request changed" when the normalized requests differ; else "response changed" when
    the answers do (ANSWER_COLUMNS, tool calls' names and arguments); else "noise only" when
    the raw bytes still differ (ids, clocks, chunking); else "unchanged". `a` and `b` are
    `summary_of`'s dicts: `{"request": key, "response": {...}, "raw": digest}`."""
    if a["request"] != b["request"]:
        return REQUEST_CHANGED
    if comparable(a["response"]) != comparable(b["response"]):
        return RESPONSE_CHANGED
    if a["raw"] != b["raw"]:
        return NOISE_ONLY
    return UNCHANGED
