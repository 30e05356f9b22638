"""A cassette's interactions as parsed exchanges: one `Recording` per interaction, in cassette
order, each read by `inspector.wire.http.read_exchange` and stored by the importer exactly as
a parsed llama-stack recording is. What only HTTP has (headers, masked; status text; sizes; the
start of a body that is not JSON) goes into `details["http"]`. Knows nothing of Django."""

from __future__ import annotations

import hashlib
from typing import Any

from inspector.cassettes import naming
from inspector.cassettes.reading import Cassette, Interaction, read_cassette
from inspector.wire.common import key_of
from inspector.wire.http import read_exchange
from inspector.wire.types import Recording, TestId

# The start of a body that is not JSON kept for pages to show (an HTML error page's title, a
# telemetry payload): the whole body stays in the cassette's stored bytes.
PREVIEW_CHARS = 500


def exchanges_of(data: bytes, name: str) -> tuple[Cassette, list[Recording]]:
    """The cassette in `data` (named `name`, its path: the test is told from it) and its
    exchanges; CassetteError (one line) when it is not a cassette."""
    cassette = read_cassette(data, name)
    test = test_id_of(naming.test_of_path(name))
    return cassette, [exchange_of(interaction, test) for interaction in cassette.interactions]


def test_id_of(test: naming.TestId) -> TestId:
    if not test.function:
        return TestId(raw=None)
    return TestId(
        raw=test.node_id,
        file=test.file or "",
        klass=test.cls or "",
        function=test.function,
        params=test.params or "",
    )


def exchange_of(interaction: Interaction, test: TestId) -> Recording:
    recording = read_exchange(
        interaction.method,
        interaction.url,
        interaction.request_json,
        interaction.status,
        interaction.response_json,
        interaction.sse_events if interaction.is_sse else None,
        interaction.content_type,
        body=interaction.response_body,
    )
    recording.test_id = test
    body = interaction.request_json
    if body is None and interaction.request_body:
        body = hashlib.sha256(interaction.request_body).hexdigest()
    recording.request_key = key_of([interaction.method.upper(), interaction.url, body])
    if interaction.kind != "http":
        recording.response_type = interaction.kind  # a websocket frame, a gRPC sample...
    recording.details["http"] = http_details(interaction)
    return recording


def http_details(interaction: Interaction) -> dict[str, Any]:
    details: dict[str, Any] = {
        "index": interaction.index,
        "kind": interaction.kind,
        "status": interaction.status,
        "status_message": interaction.status_message,
        "content_type": interaction.content_type,
        "request_headers": interaction.request_headers,
        "response_headers": interaction.response_headers,
        "request_bytes": len(interaction.request_body),
        "response_bytes": len(interaction.response_body),
        "sse": interaction.is_sse,
        "events": len(interaction.sse_events),
    }
    if interaction.request_body and interaction.request_json is None:
        details["request_preview"] = preview(interaction.request_body)
    if interaction.response_body and interaction.response_json is None and not interaction.is_sse:
        details["response_preview"] = preview(interaction.response_body)
    return details


def preview(body: bytes) -> str:
    """The start of a text body; for bytes that are not text, what they are."""
    head = body[: PREVIEW_CHARS * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not a character cut at the end: binary
            return f"({len(body)} bytes, not text)"
        text = head[: error.start].decode("utf-8")
    if "\x00" in text:
        return f"({len(body)} bytes, not text)"
    return text[:PREVIEW_CHARS]
