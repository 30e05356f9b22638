"""View-models of one recording's page, built from its database rows, and of its raw JSON
section, built from its original bytes.

No request handling and no queries here: the view fetches the rows (a fixed handful of queries)
and passes them in, so that everything the page shows can be tested without a client.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.utils.safestring import SafeString

from inspector import parsing
from inspector.cassettes.events import LINE_END
from inspector.cassettes.exchanges import preview
from inspector.cassettes.masking import MASK, masked_url
from inspector.highlight import highlight_json, highlight_text, value_link
from inspector.images import request_images
from inspector.models import Message, Recording, ToolCall, ToolDef
from inspector.panels import (
    EventView,
    ModelRow,
    StreamSummary,
    UsageRow,
    build_events,
    build_models,
    build_stream_summary,
    build_usage,
)
from inspector.snippets import escaped
from inspector.thread import ChainView, Thread, ToolsView, build_chain, build_thread, build_tools

# Up to this size the original file is in the raw JSON section, hidden, for its copy button;
# above it the button is a link to the file (a page must never carry megabytes for a button).
COPY_INLINE_MAX = 128 * 1024
# Test ids longer than this are linked by their key: quoted, one is at most 12 times as long
# (non-ASCII), well under the ~64 KB the server takes. 16 hex digits: 64 bits, no collisions.
TEST_ID_LINK_MAX = 500
TEST_KEY_CHARS = 16


def page_path(recording_path: str, prefix: str = "") -> str:
    """A recording's page: its path without `.json`, quoted (a file name may hold `#` or `?`),
    after `prefix`, its root's `Recording.url_prefix`."""
    return prefix + "/r/" + quote(recording_path.removesuffix(".json"))


# `scheme://user:password@`: a URL's credentials, masked wherever a URL is shown.
USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/?#]*@", re.IGNORECASE)


def shown_url(url: str) -> str:
    """A URL as pages and JSON show it: its credentials and secret query parameters masked."""
    return USERINFO.sub(lambda m: f"{m[1]}{MASK}@", masked_url(url))


def source_path_of(recording: Recording) -> str:
    """The path of the file the exchange was read from: a cassette exchange's
    `<folder>/<name>/<n>` was read from `<folder>/<its file name>`."""
    if recording.format != "vcr":
        return recording.path
    folder = recording.path.rpartition("/")[0].rpartition("/")[0]
    return f"{folder}/{recording.file_name}" if folder else recording.file_name


def cassette_path_of(recording: Recording) -> str:
    """A cassette exchange's cassette page path: its own without `/<n>`."""
    return recording.path.rpartition("/")[0]


def original_url(recording: Recording) -> str:
    """The original bytes: the recording's file, or the cassette an exchange is in."""
    return recording.url_prefix + "/r/" + quote(source_path_of(recording))


def test_key(test_id: str) -> str:
    """A short, stable name of a test id, for links (`test_url`)."""
    return hashlib.sha256(test_id.encode(errors="surrogatepass")).hexdigest()[:TEST_KEY_CHARS]


def test_url(test_id: str) -> str:
    """The page of every recording of a test: by its id, readable, unless the id is too long for
    an address (a 70 KB one was refused by the server), then by its key."""
    if len(test_id) > TEST_ID_LINK_MAX:
        return f"/test?key={test_key(test_id)}"
    return f"/test?id={quote(test_id, safe='')}"


def raw_section_path(recording_path: str, prefix: str = "") -> str:
    """The raw JSON section of a recording's page, which the page loads on demand."""
    return prefix + "/raw/" + quote(recording_path.removesuffix(".json"))


def needs_bytes(recording: Recording, messages: Iterable[Message]) -> bool:
    """Whether the page shows anything only the original file holds: the events of a streamed
    passthrough response, or an inline image of the request (the rows keep a summary, and only
    the bytes tell an image from broken base64). Everything else comes from the rows."""
    return recording.response_type == "sse-lines" or any(
        part.get("type") == "image" and str(part.get("url", "")).startswith("data:")
        for message in messages
        if message.image_count
        for part in message.parts or ()
    )


def status_of(recording: Recording) -> str:
    if recording.missing:
        return "missing"
    return "exception" if recording.is_exception else "ok"


# --------------------------------------------------------------------------- raw JSON


@dataclass
class RawBlock:
    title: str
    pointer: str
    html: SafeString
    anchor: str = ""


@dataclass
class RawSection:
    """The raw JSON section: served apart from the page (`/raw/<path>`), because reading and
    highlighting a 16 MB file took most of the page's time for a section read now and then."""

    view: str  # the page's: a recording of unknown shape opens its first block
    url: str
    raw_url: str
    blocks: list[RawBlock]
    original_text: str | None  # the file, for the copy button, when small enough
    stored: bool  # False: the original bytes are not in the database


def build_raw_section(recording: Recording, data: bytes | None, document: Any = None) -> RawSection:
    """`document`: what a cassette's exchange holds (`exchange_document`); a cassette's own
    text is never put in the page for copying, since its bytes may hold a live key."""
    exchange = recording.format == "vcr"
    if not exchange:
        document = parsing.loads(data) if data is not None else None
    return RawSection(
        view=view_of(recording),
        url=page_path(recording.path, recording.url_prefix),
        raw_url=original_url(recording),
        blocks=build_raw(document, recording.path, recording.url_prefix),
        original_text=(
            data.decode("utf-8", errors="replace")
            if data is not None and len(data) <= COPY_INLINE_MAX and not exchange
            else None
        ),
        stored=data is not None,
    )


def exchange_document(interaction: Any) -> dict[str, Any]:
    """A cassette interaction (`inspector.cassettes.Interaction`) as the document its raw
    section, values, images and chunks are read from, shaped like a llama-stack recording's
    (`request.body`, `response.body`): headers masked (the reader did), the URL's secret
    parameters masked, JSON bodies parsed, an event stream as its lines (the chunks' `lines`
    point into them), any other body as its text or its size."""
    if interaction.kind != "http":
        return {"kind": interaction.kind, "entry": interaction.response_json}
    response = interaction.response_body
    if interaction.is_sse:
        body: Any = LINE_END.split(response.decode("utf-8", "replace").removeprefix("\ufeff"))
    else:
        body = body_value(response, interaction.response_json)
    return {
        "request": {
            "method": interaction.method,
            "url": shown_url(interaction.url),
            "headers": interaction.request_headers,
            "body": body_value(interaction.request_body, interaction.request_json),
        },
        "response": {
            "status": interaction.status,
            "status_message": interaction.status_message,
            "headers": interaction.response_headers,
            "body": body,
        },
    }


def body_value(body: bytes, parsed: Any) -> Any:
    if parsed is not None:
        return parsed
    if not body:
        return None
    text = preview(body)
    if text.endswith(" bytes, not text)"):
        return text
    return body.decode("utf-8", "replace")


def build_raw(document: Any, recording_path: str, prefix: str = "") -> list[RawBlock]:
    if not isinstance(document, dict):
        return []
    link = value_link(recording_path.removesuffix(".json"), prefix)
    blocks = []
    for key in ("request", "response"):
        if key in document:
            blocks.append(
                RawBlock(
                    title=key.capitalize(),
                    pointer=f"/{key}",
                    html=escaped(highlight_json(document[key], pointer=f"/{key}", link=link)),
                    anchor=f"raw-{key}",
                )
            )
    rest = {k: v for k, v in document.items() if k not in ("request", "response")}
    if rest:
        blocks.append(
            RawBlock(
                title="Other top-level keys",
                pointer="",
                html=escaped(highlight_json(rest, link=None)),
                anchor="raw-other",
            )
        )
    return blocks


# --------------------------------------------------------------------------- the page


@dataclass
class Page:
    recording: Recording
    view: str  # chat, embeddings, models, tool, file, generic
    status: str
    url: str
    raw_url: str
    raw_section_url: str
    test_url: str
    thread: Thread
    chain: ChainView | None
    tools: ToolsView
    usage: list[UsageRow]
    stream: StreamSummary | None
    events: list[EventView]
    event_count: int
    inputs_html: SafeString | None = None
    metadata_html: SafeString | None = None
    result_html: SafeString | None = None
    siblings: list[Recording] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)
    request_url: str = ""  # the URL as shown (`shown_url`): its secrets masked
    base_url: str = ""

    @property
    def turn_count(self) -> int:
        return len(self.thread.turns)


def view_of(recording: Recording) -> str:
    if recording.kind == parsing.TOOL_INVOKE:
        return "tool"
    if recording.kind == parsing.FILE_PROCESSOR:
        return "file"
    if recording.listed_models or re.search(
        r"(\.Model|ListResponse|ProcessResponse)$", recording.response_type
    ):
        return "models"
    if recording.embedding_count is not None:
        return "embeddings"
    if recording.kind == parsing.GENERIC:
        return "generic"
    return "chat"


def build_page(
    recording: Recording,
    *,
    data: bytes | None = None,
    messages: Iterable[Message] = (),
    calls: Iterable[ToolCall] = (),
    tools: Iterable[ToolDef] = (),
    chunks: list[dict[str, Any]] | None = None,
    siblings: Iterable[Recording] = (),
    document: Any = None,
) -> Page:
    """`data`: the original bytes, when `needs_bytes` says the page shows something of them;
    or `document`, what they hold (`views.common.document_of`)."""
    if data is not None:
        document = parsing.loads(data)
    request = document.get("request") if isinstance(document, dict) else None
    images = request_images(recording.kind, request) if request is not None else {}
    thread = build_thread(recording, messages, calls, images)
    view = view_of(recording)
    chunks = chunks or []
    response = document.get("response") if isinstance(document, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    sse = recording.response_type == "sse-lines"
    events, event_count = build_events(chunks, body) if sse else ([], 0)
    details = recording.details or {}

    def pretty(value: Any) -> SafeString | None:
        if value is None:
            return None
        return escaped(highlight_json(value))

    result_html = None
    if view == "tool" and recording.response_text:
        html, _ = highlight_text(recording.response_text)
        result_html = escaped(html)
    return Page(
        recording=recording,
        view=view,
        status=status_of(recording),
        url=page_path(recording.path, recording.url_prefix),
        raw_url=original_url(recording),
        raw_section_url=raw_section_path(recording.path, recording.url_prefix),
        test_url=test_url(recording.test_id or ""),
        thread=thread,
        chain=build_chain(thread),
        tools=build_tools(tools, thread.calls),
        usage=build_usage(recording),
        stream=build_stream_summary(recording, chunks) if chunks and not sse else None,
        events=events,
        event_count=event_count,
        inputs_html=pretty(details.get("inputs")) if view in ("tool", "file") else None,
        metadata_html=pretty(details.get("metadata")) if view == "file" else None,
        result_html=result_html,
        siblings=list(siblings),
        models=build_models(recording.listed_models) if view == "models" else [],
        request_url=shown_url(recording.url),
        base_url=shown_url(recording.base_url),
    )
