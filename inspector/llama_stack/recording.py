"""Turn the bytes of one llama-stack recording file into a `Recording`.

A recording is `{test_id?, request, response, id_normalization_mapping?}` (see FORMAT.md).
`parse()` accepts every shape the recorder writes; a request it does not recognise still
parses, as kind "generic", so no valid file is ever dropped. Bad input raises `RecordingError`
whose message is one short line saying why. The bodies inside are read by `inspector.wire`;
this module knows the envelope: the request's kinds, `__type__`/`__data__` wrappers, SSE lines,
exceptions, model listings and tool results."""

from __future__ import annotations

from typing import Any

from inspector.llama_stack import hashing
from inspector.llama_stack.document import RawList, load_document
from inspector.llama_stack.naming import split_test_id
from inspector.providers import base_url, provider_of, split_url
from inspector.wire.common import json_type, listify, text_of
from inspector.wire.content import parts_of
from inspector.wire.reading import link_tool_results, read_body, read_models, read_single
from inspector.wire.sse import read_sse
from inspector.wire.streams import read_stream
from inspector.wire.types import (
    FILE_PROCESSOR,
    GENERIC,
    INFERENCE,
    PASSTHROUGH,
    TOOL_INVOKE,
    Failure,
    Recording,
    RecordingError,
)


def parse(data: bytes) -> Recording:
    document = load_document(data)
    if not isinstance(document, dict):
        raise RecordingError(
            f"wrong top-level type: expected an object, found {json_type(document)}"
        )
    for key in ("request", "response"):
        if key not in document:
            raise RecordingError(f"missing {key}")
        if not isinstance(document[key], dict):
            raise RecordingError(
                f"wrong type for {key}: expected an object, found {json_type(document[key])}"
            )
    request, response = document["request"], document["response"]
    test_id = document.get("test_id", request.get("test_id"))
    recording = Recording(test_id=split_test_id(test_id), kind=classify(request))
    describe_request(recording, request)
    current, hashed = hashing.current_hash(request, test_id)
    recording.request_hashes = {hashing.CURRENT: current} if current else {}
    recording.request = request
    recording.request_key = hashing.request_key(request, hashed)
    describe_response(recording, response)
    link_tool_results(recording)
    return recording


def classify(request: dict[str, Any]) -> str:
    if "tool_name" in request:
        return TOOL_INVOKE
    if "file_id" in request:
        return FILE_PROCESSOR
    if "payload" in request:
        return PASSTHROUGH
    if "url" in request or "body" in request or "endpoint" in request:
        return INFERENCE
    return GENERIC


def unwrap(value: Any) -> tuple[str, Any]:
    """(type label, data) of a `{"__type__", "__data__"}` wrapper; ("", value) for plain data."""
    if isinstance(value, dict) and "__type__" in value and "__data__" in value:
        return str(value["__type__"]), value["__data__"]
    return "", value


def describe_request(recording: Recording, request: dict[str, Any]) -> None:
    kind = recording.kind
    recording.method = text_of(request.get("method"))
    recording.url = text_of(request.get("url"))
    path = split_url(recording.url)[2]
    if kind == TOOL_INVOKE:
        provider, tool = text_of(request.get("provider")), text_of(request.get("tool_name"))
        recording.provider = provider
        recording.endpoint = f"tool:{provider}.{tool}"
        recording.details["inputs"] = request.get("kwargs")
        return
    if kind == FILE_PROCESSOR:
        provider, api = text_of(request.get("provider")), text_of(request.get("api"))
        recording.provider = provider
        recording.endpoint = f"fileproc:{provider}/{api}"
        recording.details["inputs"] = {"file_id": request.get("file_id")}
        return
    recording.provider = provider_of(recording.url)
    recording.base_url = base_url(recording.url)
    if kind == PASSTHROUGH:
        recording.endpoint = path  # the kind says it passed through; the endpoint is a path
        payload = request.get("payload")
        if isinstance(payload, dict):
            recording.model = text_of(payload.get("model"))
            read_body(recording, payload)
        return
    if kind == GENERIC:
        recording.endpoint = path
        return
    recording.endpoint = text_of(request.get("endpoint")) or path
    body = request.get("body")
    recording.model = text_of(request.get("model"))
    if isinstance(body, dict):
        recording.model = recording.model or text_of(body.get("model"))
        read_body(recording, body)


def describe_response(recording: Recording, response: dict[str, Any]) -> None:
    body = response.get("body")
    # A large file's array body is a RawList: its items are decoded one at a time.
    listed = isinstance(body, list | RawList)
    recording.is_streaming = bool(response.get("is_streaming"))
    recording.status = response.get("status") if isinstance(response.get("status"), int) else None
    if listed:
        recording.chunk_count = len(body)
    else:
        recording.chunk_count = 0 if body is None else 1
    if response.get("is_exception"):
        data = (
            response.get("exception_data")
            if isinstance(response.get("exception_data"), dict)
            else {}
        )
        status = data.get("status_code")
        recording.failure = Failure(
            type=text_of(data.get("type")),
            status=status if isinstance(status, int) else None,
            message=text_of(response.get("exception_message") or data.get("message")),
            category=text_of(data.get("category")),
        )
    elif recording.status is not None and recording.status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        recording.failure = Failure(
            type="HTTP error", status=recording.status, message=text_of(message) or text_of(body)
        )

    if body is None:
        recording.response_type = "null"
        return
    items = body if listed else [body]
    if items and all(isinstance(item, str) for item in items):
        recording.response_type = "sse-lines"
        read_sse(recording, items)
        return
    label = unwrap(items[0])[0] if items else ""
    recording.response_type = label or ("list-of-dict" if listed else "dict")
    # Unwrapped as they are read: a stream's chunks are never all in memory at once.
    datas = (unwrap(item)[1] for item in items)
    if (
        label.endswith(".Model")
        or label.endswith("ListResponse")
        or label.endswith("ProcessResponse")
    ):
        read_models(recording, list(datas))
    elif recording.kind == TOOL_INVOKE or recording.kind == FILE_PROCESSOR:
        read_result(recording, next(datas, None))
    elif listed or recording.is_streaming:
        read_stream(recording, datas)
    else:
        read_single(recording, next(datas, None))


def read_result(recording: Recording, data: Any) -> None:
    """Tool invocation and file processing results."""
    if not isinstance(data, dict):
        recording.response.text = text_of(data)
        return
    if recording.kind == TOOL_INVOKE:
        content = data.get("content")
        recording.response.text = (
            content if isinstance(content, str) else "\n".join(p.text for p in parts_of(content))
        )
        if data.get("error_message") or data.get("error_code"):
            recording.failure = recording.failure or Failure(
                type="tool error",
                status=data.get("error_code") if isinstance(data.get("error_code"), int) else None,
                message=text_of(data.get("error_message")),
            )
    else:
        chunks = listify(data.get("chunks"))
        recording.details["result_chunks"] = len(chunks)
        recording.details["metadata"] = data.get("metadata")
        recording.response.text = "\n\n".join(
            text_of(c.get("content")) for c in chunks if isinstance(c, dict)
        )
