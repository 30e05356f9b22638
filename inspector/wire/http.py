"""One raw provider HTTP exchange (a cassette's interaction: the request and response bodies
as the provider sent them, not wrapped by llama-stack) to a Recording. The API is picked from
the URL's path, then from the bodies' shape (a proxy or router may put any prefix before the
provider's path), and read by that API's module; an event stream becomes one chunk per event,
exactly as a llama-stack recording's stream. Anything that is no known API (an HTML page,
telemetry, an image, a websocket frame) is a generic recording with its status. Never raises."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import orjson

from inspector.providers import base_url, provider_of, split_url
from inspector.wire import anthropic, bedrock, responses
from inspector.wire.common import created_of, text_of
from inspector.wire.content import Thread
from inspector.wire.reading import (
    link_tool_results,
    read_body,
    read_models,
    read_single,
    tool_defs,
)
from inspector.wire.sse import EventReader, read_events
from inspector.wire.streams import EventData, read_stream
from inspector.wire.types import GENERIC, INFERENCE, Failure, Recording, TestId

# APIs by the end of the path (lower case), first match wins. Completions and the hosts that
# speak OpenAI's chat API (Groq, Mistral, OpenRouter, Together, vLLM, Azure's deployments...)
# share its readers.
PATHS = [
    (re.compile(r"/chat/completions$"), "openai_chat"),
    (re.compile(r"/completions$"), "completions"),
    (re.compile(r"/responses(/compact)?$"), "responses"),
    (re.compile(r"/messages$"), "anthropic"),
    (re.compile(r":(stream)?generatecontent$"), "gemini"),
    (re.compile(r"/converse(-stream)?$"), "bedrock"),
    (re.compile(r"/api/(chat|generate)$"), "ollama"),
    (re.compile(r"(/embeddings|/api/embed|:embedcontent|:batchembedcontents)$"), "embeddings"),
    (re.compile(r"(/models|/api/tags|/api/ps)$"), "models"),
]
# Event streams read event by event (the others are streams of chunks, one per event).
EVENT_READERS: dict[str, EventReader] = {
    "anthropic": anthropic.read_event,
    "responses": responses.read_event,
    "bedrock": bedrock.read_event,
}
MODEL_IN_PATH = re.compile(r"/models/(?P<model>[^/:]+):|/model/(?P<bedrock>[^/]+)/converse")
AZURE_DEPLOYMENT = re.compile(r"/deployments/(?P<name>[^/]+)/")
ANTHROPIC_EVENTS = frozenset(("message_start", "content_block_start", "ping", "error"))
NDJSON = ("application/x-ndjson", "application/jsonl", "application/json-lines")
EVENT_STREAM = "application/vnd.amazon.eventstream"


def read_exchange(
    method: str,
    url: str,
    request_json: Any,
    status: int | None,
    response_json: Any,
    sse_events: list[dict[str, Any]] | None,
    content_type: str,
    *,
    body: bytes = b"",
) -> Recording:
    """The exchange as a Recording (test id empty: the container knows it). `sse_events` are
    a `text/event-stream` body's events (`inspector.wire.sse.sse_events`); `body` is the raw
    response body, for what is neither JSON nor SSE (Ollama's NDJSON, Bedrock's binary event
    stream) and for an error sent with a stream's content type."""
    path = split_url(url)[2]
    recording = Recording(
        test_id=TestId(raw=None),
        kind=GENERIC,
        method=method.upper(),
        url=url,
        provider=provider_of(url),
        base_url=base_url(url),
        endpoint=path or ("/" if url else ""),
        status=status,
        response_type=media_type(content_type) or "(none)",
    )
    try:
        read_into(recording, path, request_json, response_json, sse_events, content_type, body)
    except Exception as error:  # a body no reader expected (nested past the stack...): kept
        recording.details["unreadable"] = f"{type(error).__name__}: {error}"[:200]
    return recording


def read_into(
    recording: Recording,
    path: str,
    request: Any,
    response: Any,
    events: list[dict[str, Any]] | None,
    content_type: str,
    body: bytes,
) -> None:
    media = media_type(content_type)
    sse = media == "text/event-stream"
    if sse and recording.status is not None and recording.status >= 400:
        response = error_json(body)  # an error sent with the stream's type (Gemini does)
    api = api_of(path, request, response, events if sse else None)
    recording.details["api"] = api or ""
    if api and api != "models":
        recording.kind = INFERENCE
    if isinstance(request, dict):
        recording.model = text_of(request.get("model")) or model_of_path(path)
        if recording.kind == INFERENCE:
            read_request(recording, api, request)
    if recording.status is not None and recording.status >= 400:
        recording.failure = failure_of(recording.status, response, body)
    if sse:
        read_events_of(recording, api, events or [])
    elif media == EVENT_STREAM or (api == "bedrock" and body and not response):
        read_events_of(recording, "bedrock", bedrock.events_of(body))
    elif media in NDJSON or (api == "ollama" and response is None and body.strip()):
        read_lines(recording, body)
    elif api == "gemini" and isinstance(response, list):  # streamed without `alt=sse`
        recording.is_streaming, recording.chunk_count = True, len(response)
        read_stream(recording, response)
    elif response is not None:
        recording.chunk_count = 1
        if api == "models":
            listed = response.get("data") if isinstance(response, dict) else None
            read_models(recording, listed if isinstance(listed, list) else [response])
        elif recording.kind == INFERENCE and recording.failure is None:
            read_response(recording, api, response)
    else:
        recording.chunk_count = 1 if body else 0
    if not recording.model and isinstance(response, dict):
        recording.model = text_of(response.get("model") or response.get("modelVersion"))
    link_tool_results(recording)


def read_request(recording: Recording, api: str | None, body: dict[str, Any]) -> None:
    if api == "responses":
        thread = Thread()
        responses.read_request(body, thread)
        recording.messages = thread.messages
        recording.tools = tool_defs(body.get("tools"))
    elif api == "bedrock":
        thread = Thread()
        recording.tools = bedrock.read_request(body, thread)
        recording.messages = thread.messages
    else:
        read_body(recording, body)


def read_response(recording: Recording, api: str | None, data: Any) -> None:
    if api == "bedrock" and bedrock.is_converse(data):
        bedrock.read_response(recording, data)
    else:
        read_single(recording, data)  # each API's shape is told apart by its fields


def read_events_of(recording: Recording, api: str | None, events: list[dict[str, Any]]) -> None:
    """An event stream: one chunk per event, its last frame the reassembled response."""
    recording.is_streaming, recording.chunk_count = True, len(events)
    reader = EVENT_READERS.get(api or "")
    if reader is not None:
        read_events(recording, events, reader)
        first = decoded(events[0]["data"]) if events else None
        if isinstance(first, dict) and recording.created is None:
            recording.created = created_of(first.get("response") or first.get("message"))
    elif api is None and not (events and isinstance(decoded(events[0]["data"]), dict)):
        read_events(recording, events, anthropic.read_event)  # not JSON: events, as they are
    else:
        # Streams of chunks (OpenAI chat and completions, Gemini): one chunk per event, read
        # as llama-stack's recorded chunks are; data that is not JSON (`[DONE]`) an event.
        read_stream(recording, (chunk_of(event["data"]) for event in events))
    # An error event in a stream that began well (Anthropic's `overloaded_error`); only the
    # events that say "error" are decoded twice.
    error = next(
        (d for e in events if '"error"' in e["data"] and is_error(d := decoded(e["data"]))), None
    )
    if error is not None and recording.failure is None:
        recording.failure = failure_of(recording.status, error, b"")


def read_lines(recording: Recording, body: bytes) -> None:
    """Newline-delimited JSON (Ollama's streams): one chunk per line."""
    lines = [line for line in body.splitlines() if line.strip()]
    recording.is_streaming, recording.chunk_count = True, len(lines)
    read_stream(recording, (chunk_of(line.decode("utf-8", "replace")) for line in lines))


# --------------------------------------------------------------------------- telling APIs apart


def api_of(
    path: str, request: Any, response: Any, events: list[dict[str, Any]] | None
) -> str | None:
    lowered = path.lower().rstrip("/")
    for pattern, api in PATHS:
        if pattern.search(lowered):
            return api
    return api_of_shape(response) or api_of_events(events) or api_of_request(request)


def api_of_shape(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("choices"), list):
        return "openai_chat"
    if responses.is_response(data):
        return "responses"
    if data.get("type") == "message":
        return "anthropic"
    if isinstance(data.get("candidates"), list):
        return "gemini"
    if bedrock.is_converse(data):
        return "bedrock"
    if data.get("done") is not None and ("message" in data or "response" in data):
        return "ollama"
    return None


def api_of_events(events: list[dict[str, Any]] | None) -> str | None:
    for event in (events or [])[:3]:
        data = decoded(event["data"])
        if not isinstance(data, dict):
            continue
        kind = text_of(data.get("type"))
        if kind.startswith("response."):
            return "responses"
        if kind in ANTHROPIC_EVENTS or kind.startswith("content_block"):
            return "anthropic"
        return api_of_shape(data)
    return None


def api_of_request(body: Any) -> str | None:
    """Last: a request with no response to tell by (a failure, an empty body)."""
    if not isinstance(body, dict):
        return None
    if "contents" in body:
        return "gemini"
    if "messages" in body and "max_tokens" in body and "model" in body and "system" in body:
        return "anthropic"
    if "messages" in body and "model" in body:
        return "openai_chat"
    return None


def model_of_path(path: str) -> str:
    match = MODEL_IN_PATH.search(path) or AZURE_DEPLOYMENT.search(path)
    if match is None:
        return ""
    return unquote(next(group for group in match.groups() if group))


# --------------------------------------------------------------------------- small helpers


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def decoded(data: str | bytes) -> Any:
    """An event's (or line's) JSON; None when it is not JSON."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def chunk_of(data: str) -> Any:
    """A chunk's JSON, or its text as an EventData (a chunk of its own, kind "event")."""
    found = decoded(data)
    return EventData(data) if found is None else found


def error_json(body: bytes) -> Any:
    return decoded(body.strip()) if body.strip()[:1] in (b"{", b"[") else None


def is_error(data: Any) -> bool:
    return isinstance(data, dict) and data.get("type") == "error" and "error" in data


def failure_of(status: int | None, data: Any, body: bytes) -> Failure:
    """An error response: `{"error": {"type"|"status", "message"}}` (OpenAI, Anthropic,
    Gemini), `{"error": "..."}`, `{"message": ...}`, or a body that is not JSON at all."""
    error = data.get("error") if isinstance(data, dict) else None
    kind, message = "", None
    if isinstance(error, dict):
        kind = text_of(error.get("type") or error.get("status") or error.get("code"))
        message = error.get("message")
    elif error is not None:
        message = error
    elif isinstance(data, dict):
        message = data.get("message") or data.get("detail")
    if message is None:
        message = data if data is not None else body[:200].decode("utf-8", "replace").strip()
    return Failure(type=kind or "HTTP error", status=status, message=text_of(message))
