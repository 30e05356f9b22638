"""View-models of one recording's page, built from its database rows, and of its raw JSON
section, built from its original bytes.

No request handling and no queries here: the view fetches the rows (a fixed handful of queries)
and passes them in, so that everything the page shows can be tested without a client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from django.utils.safestring import SafeString, mark_safe

from inspector import parsing
from inspector.chunks import Chunks
from inspector.highlight import highlight_json, highlight_text, value_link
from inspector.models import Message, Recording, ToolCall, ToolDef

ERROR_WORDS = ("error", "exception", "traceback", "timed out", "failed")
PREVIEW_CHARS = 160
# Up to this size the original file is in the raw JSON section, hidden, for its copy button;
# above it the button is a link to the file (a page must never carry megabytes for a button).
COPY_INLINE_MAX = 128 * 1024
# Test ids longer than this are linked by their key: quoted, one is at most 12 times as long
# (non-ASCII), well under the ~64 KB the server takes. 16 hex digits: 64 bits, no collisions.
TEST_ID_LINK_MAX = 500
TEST_KEY_CHARS = 16
# A streamed passthrough response shows at most this many events; the raw JSON has the rest.
MAX_EVENTS = 300
ROLE_CLASSES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
TOOL_ROLES = ("tool", "function", "ipython")
# The order a stream summary lists what chunks carry.
CHUNK_KINDS = (
    "role", "content", "reasoning", "tool", "finish", "usage", "filter", "event", "error",
    "empty", "other",
)  # fmt: skip


def escaped(html: str) -> SafeString:
    """Mark HTML from `inspector.highlight` safe: Pygments (or html.escape) escaped every
    character of the recording in it."""
    return mark_safe(html)


def page_path(recording_path: str) -> str:
    """A recording's page: its path without `.json`, quoted (a file name may hold `#` or `?`)."""
    return "/r/" + quote(recording_path.removesuffix(".json"))


def test_key(test_id: str) -> str:
    """A short, stable name of a test id, for links (`test_url`)."""
    return hashlib.sha256(test_id.encode(errors="surrogatepass")).hexdigest()[:TEST_KEY_CHARS]


def test_url(test_id: str) -> str:
    """The page of every recording of a test: by its id, readable, unless the id is too long for
    an address (a 70 KB one was refused by the server), then by its key."""
    if len(test_id) > TEST_ID_LINK_MAX:
        return f"/test?key={test_key(test_id)}"
    return f"/test?id={quote(test_id, safe='')}"


def raw_section_path(recording_path: str) -> str:
    """The raw JSON section of a recording's page, which the page loads on demand."""
    return "/raw/" + quote(recording_path.removesuffix(".json"))


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


def looks_like_error(text: str) -> bool:
    """A tool result that reads like a failure. JSON is judged by its values (an "error" key
    holding something, or an error word in a string), so that `{"error": null}` is a success;
    other text by the error words anywhere in it."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json_has_error(orjson.loads(stripped))
        except orjson.JSONDecodeError:
            pass
    return has_error_word(text)


def has_error_word(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ERROR_WORDS)


def json_has_error(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if isinstance(value, dict):
        if value.get("error"):
            return True
        return any(json_has_error(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(json_has_error(v, depth + 1) for v in value)
    return isinstance(value, str) and has_error_word(value)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def canonical_arguments(arguments: str) -> str:
    """Arguments compared by meaning: `{"a":1, "b":2}` repeats `{"b": 2, "a": 1}`."""
    try:
        return orjson.dumps(orjson.loads(arguments), option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return arguments  # not JSON, or nested deeper than orjson writes (255 levels)


# --------------------------------------------------------------------------- images


@dataclass
class RawImage:
    """An image as the request holds it: base64 data, or a URL."""

    data: str | None = None
    mime: str = ""
    url: str = ""


def image_from_url(url: str) -> RawImage:
    match = parsing.DATA_URL.match(url)
    if match is None:
        return RawImage(url=url)
    if ";base64" not in (match["params"] or "").lower():
        return RawImage(url=url[: match.end()])  # not base64: not an image this page shows
    return RawImage(data=url[match.end() :], mime=match["mime"] or "")


def content_images(content: Any) -> list[RawImage | None]:
    """One entry per part `parsing.parts_of` makes of `content`, an image or None, so that part
    indexes line up with the stored `Message.parts` (which keep only a summary of images)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [None]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [None]
    found: list[RawImage | None] = []
    for item in content:
        if item is None:
            continue
        if not isinstance(item, dict):
            found.append(None)
            continue
        kind = parsing.text_of(item.get("type"))
        if kind in ("image_url", "input_image"):
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            found.append(image_from_url(parsing.text_of(url)))
        elif kind == "image" and "b64" in item:
            found.append(RawImage(data=parsing.text_of(item["b64"])))
        elif kind == "image":
            source = item.get("source") if isinstance(item.get("source"), dict) else {}
            if source.get("type") == "base64":
                found.append(
                    RawImage(
                        data=parsing.text_of(source.get("data")),
                        mime=parsing.text_of(source.get("media_type")),
                    )
                )
            else:
                found.append(image_from_url(parsing.text_of(source.get("url"))))
        elif kind == "tool_use":
            continue  # the parser shows these as tool calls, not parts
        else:
            found.append(None)
    return found


def request_images(kind: str, request: Any) -> dict[tuple[int, int], RawImage]:
    """Every image of the request by (message index, part index), walking the request body in
    the order `parsing.read_body` makes messages of it."""
    if kind == parsing.PASSTHROUGH:
        body = request.get("payload") if isinstance(request, dict) else None
    elif kind == parsing.INFERENCE:
        body = request.get("body") if isinstance(request, dict) else None
    else:
        return {}
    if not isinstance(body, dict):
        return {}
    listify, gemini_parts = parsing.listify, parsing.gemini_parts
    messages: list[list[RawImage | None]] = []
    system = body.get("system")
    if isinstance(system, str | list) and system:
        messages.append(content_images(system))
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    instruction = body.get("system_instruction") or config.get("system_instruction")
    if instruction:
        messages.append(content_images(gemini_parts(instruction)))
    for raw in listify(body.get("messages")):
        if not isinstance(raw, dict):
            messages.append(content_images(raw))
            continue
        content = raw.get("content")
        if raw.get("images"):
            content = [content, *({"type": "image", "b64": image} for image in raw["images"])]
        messages.append(content_images(content))
    for turn in listify(body.get("contents")):
        if isinstance(turn, dict):
            messages.append(content_images(gemini_parts(turn.get("parts"))))
        elif isinstance(turn, str):
            messages.append([None])
    if "prompt" in body:
        messages += [[None] for _ in listify(body["prompt"])]
        if body.get("images") and messages:
            messages[-1] += content_images([{"type": "image", "b64": i} for i in body["images"]])
    if "input" in body:
        value = body["input"]
        inputs = value[:50] if isinstance(value, list) else [value]
        for item in inputs:
            if isinstance(item, dict) and "role" in item:
                messages.append(content_images(item.get("content")))
            else:
                messages.append([None])
    return {
        (m, p): image
        for m, parts in enumerate(messages)
        for p, image in enumerate(parts)
        if image is not None
    }


def sniff(data: bytes) -> str | None:
    """The raster type `data` starts like; None for anything else (SVG above all: it can hold
    script, so it is never served as an image)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_image(image: RawImage) -> tuple[bytes, str] | None:
    """(bytes, content type) of an inline raster image; None when it is not one. The type comes
    from the bytes, never from what the request claims."""
    if image.data is None:
        return None
    try:
        data = base64.b64decode(image.data)
    except (binascii.Error, ValueError):
        return None
    mime = sniff(data)
    return (data, mime) if mime else None


@dataclass
class ImageView:
    kind: str  # "inline" (served by /i/), "remote" (loaded when asked), "unshown"
    src: str = ""
    mime: str = ""
    size: int = 0
    host: str = ""
    note: str = ""


def image_view(part: dict[str, Any], raw: RawImage | None, src: str) -> ImageView:
    url = parsing.text_of(part.get("url"))
    if url.startswith("data:") or (raw is not None and raw.data is not None):
        decoded = decode_image(raw) if raw is not None else None
        if decoded is None:
            claimed = part.get("mime") or "unknown type"
            return ImageView(
                kind="unshown",
                mime=claimed,
                size=part.get("data_bytes", 0),
                note=f"inline data ({claimed}, {part.get('data_bytes', 0):,} base64 characters)"
                " is not a PNG, JPEG, GIF or WebP image",
            )
        data, mime = decoded
        return ImageView(kind="inline", src=src, mime=mime, size=len(data))
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return ImageView(kind="remote", src=url, host=parts.hostname or parts.netloc)
    return ImageView(kind="unshown", src=url, note="not an http(s) URL or inline data")


# --------------------------------------------------------------------------- the thread


@dataclass
class PartView:
    type: str
    text: str = ""
    html: SafeString | None = None  # highlighted JSON
    image: ImageView | None = None


@dataclass
class CallView:
    position: int
    name: str
    call_id: str
    arguments: str
    arguments_html: SafeString
    arguments_valid: bool
    in_response: bool
    message_index: int | None
    answered_by: int | None = None
    result_preview: str = ""
    failed: bool = False
    repeat_of: int | None = None

    @property
    def anchor(self) -> str:
        return f"call-{self.position}"

    @property
    def turn_anchor(self) -> str:
        return "response" if self.in_response else f"m-{self.message_index}"

    @property
    def unanswered(self) -> bool:
        """A call inside the conversation that no message answers (a call the response makes
        is answered, if ever, by the next request)."""
        return self.answered_by is None and not self.in_response

    @property
    def arguments_preview(self) -> str:
        return preview(self.arguments, 100)


@dataclass
class TurnView:
    anchor: str
    role: str
    role_class: str
    index: int | None = None
    name: str = ""
    tool_call_id: str = ""
    parts: list[PartView] = field(default_factory=list)
    reasoning: str = ""
    calls: list[CallView] = field(default_factory=list)
    answers: list[CallView] = field(default_factory=list)
    error: bool = False
    is_response: bool = False
    finish_reason: str = ""
    image_count: int = 0

    @property
    def collapsed(self) -> bool:
        """Long system prompts fold away: the conversation is what one reads here."""
        return self.role_class == "system" and sum(len(p.text) for p in self.parts) > 600

    @property
    def preview(self) -> str:
        return preview(" ".join(p.text for p in self.parts if p.text))


def text_parts(text: str, as_json: bool) -> list[PartView]:
    if not text:
        return []
    if as_json:
        html, was_json = highlight_text(text)
        if was_json:
            return [PartView(type="json", text=text, html=escaped(html))]
    return [PartView(type="text", text=text)]


def message_parts(
    message: Message, images: dict[tuple[int, int], RawImage], image_src: str
) -> list[PartView]:
    tool_result = message.role in TOOL_ROLES
    parts: list[PartView] = []
    for number, part in enumerate(message.parts or []):
        kind = part.get("type", "")
        text = parsing.text_of(part.get("text"))
        if kind == "image":
            raw = images.get((message.index, number))
            src = f"{image_src}/{message.index}/{number}"
            parts.append(PartView(type="image", image=image_view(part, raw, src)))
        elif kind == "text":
            parts += text_parts(text, as_json=tool_result)
        elif kind == "reasoning":
            if text:
                parts.append(PartView(type="reasoning", text=text))
        else:
            # An unknown part is kept as the JSON it was.
            parts += [
                PartView(type=kind or "unknown", text=p.text, html=p.html)
                for p in text_parts(text, as_json=True)
            ]
    return parts


def call_view(call: ToolCall) -> CallView:
    html, _ = highlight_text(call.arguments) if call.arguments_valid else ("", False)
    return CallView(
        position=call.position,
        name=call.name,
        call_id=call.call_id,
        arguments=call.arguments,
        arguments_html=escaped(html),
        arguments_valid=call.arguments_valid,
        in_response=call.message_index is None,
        message_index=call.message_index,
        answered_by=call.answered_by,
    )


@dataclass
class Thread:
    turns: list[TurnView]
    calls: list[CallView]


def build_thread(
    recording: Recording,
    messages: Iterable[Message],
    calls: Iterable[ToolCall],
    images: dict[tuple[int, int], RawImage] | None = None,
) -> Thread:
    """The conversation as turns in order, the response last; every call linked to the
    message answering it and back."""
    images = images or {}
    image_src = "/i/" + quote(recording.path.removesuffix(".json"))
    call_views = [call_view(c) for c in sorted(calls, key=lambda c: c.position)]
    seen: dict[tuple[str, str], int] = {}
    for call in call_views:
        key = (call.name, canonical_arguments(call.arguments))
        if key in seen:
            call.repeat_of = seen[key]
        else:
            seen[key] = call.position
    by_message: dict[int | None, list[CallView]] = {}
    answered: dict[int, list[CallView]] = {}
    for call in call_views:
        by_message.setdefault(call.message_index, []).append(call)
        if call.answered_by is not None:
            answered.setdefault(call.answered_by, []).append(call)

    turns: list[TurnView] = []
    for message in sorted(messages, key=lambda m: m.index):
        answers = answered.get(message.index, [])
        is_result = bool(answers) or message.role in TOOL_ROLES
        error = is_result and looks_like_error(message.text)
        for call in answers:
            call.result_preview = preview(message.text)
            call.failed = error
        turns.append(
            TurnView(
                anchor=f"m-{message.index}",
                role=message.role,
                role_class=ROLE_CLASSES.get(message.role, "other"),
                index=message.index,
                name=message.name,
                tool_call_id=message.tool_call_id,
                parts=message_parts(message, images, image_src),
                reasoning=message.reasoning,
                calls=by_message.get(message.index, []),
                answers=answers,
                error=error,
                image_count=message.image_count,
            )
        )
    response_calls = by_message.get(None, [])
    if (
        recording.response_text
        or recording.response_reasoning
        or response_calls
        or recording.finish_reason
    ):
        role = recording.response_role or "assistant"
        turns.append(
            TurnView(
                anchor="response",
                role=role,
                role_class=ROLE_CLASSES.get(role, "assistant"),
                parts=text_parts(recording.response_text, as_json=False),
                reasoning=recording.response_reasoning,
                calls=response_calls,
                is_response=True,
                finish_reason=recording.finish_reason,
            )
        )
    return Thread(turns=turns, calls=call_views)


# --------------------------------------------------------------------------- tools and chain


@dataclass
class ChainView:
    calls: list[CallView]
    final_preview: str = ""
    final_anchor: str = ""
    repeats: int = 0
    failures: int = 0


def build_chain(thread: Thread) -> ChainView | None:
    """Every call of the conversation in order, each with its result, to the final answer."""
    if not thread.calls:
        return None
    final = next((t for t in thread.turns if t.is_response), None)
    final_text = " ".join(p.text for p in final.parts) if final else ""
    return ChainView(
        calls=thread.calls,
        final_preview=preview(final_text) if final_text else "",
        final_anchor="response" if final else "",
        repeats=sum(1 for c in thread.calls if c.repeat_of is not None),
        failures=sum(1 for c in thread.calls if c.failed or c.unanswered),
    )


@dataclass
class ToolView:
    name: str
    description: str
    parameters_html: SafeString | None
    called: int


@dataclass
class ToolsView:
    offered: list[ToolView]
    not_offered: list[tuple[str, int]]  # called by name, but not among the tools offered


def build_tools(tools: Iterable[ToolDef], calls: Iterable[CallView]) -> ToolsView:
    counts = Counter(call.name for call in calls)
    offered = [
        ToolView(
            name=tool.name,
            # Descriptions are often Python docstrings: indented after the first line.
            description=inspect.cleandoc(tool.description).strip(),
            parameters_html=escaped(highlight_json(tool.parameters))
            if tool.parameters is not None
            else None,
            called=counts.get(tool.name, 0),
        )
        for tool in sorted(tools, key=lambda t: t.index)
    ]
    names = {tool.name for tool in offered}
    not_offered = (
        sorted((name, n) for name, n in counts.items() if name not in names) if offered else []
    )
    return ToolsView(offered=offered, not_offered=not_offered)


# --------------------------------------------------------------------------- usage and stream


@dataclass
class UsageRow:
    label: str
    value: int
    width: int  # of 1000
    part_label: str = ""
    part_value: int | None = None
    part_width: int = 0


def build_usage(recording: Recording) -> list[UsageRow]:
    """Token counts as bars on one scale (the largest count is the whole width). The bars are
    SVG rects sized by attribute: the Content-Security-Policy forbids inline styles."""
    prompt, completion, total = (
        recording.prompt_tokens,
        recording.completion_tokens,
        recording.total_tokens,
    )
    cached, reasoning = recording.cached_tokens, recording.reasoning_tokens
    values = [v for v in (prompt, completion, total, cached, reasoning) if v is not None]
    if not values:
        return []
    scale = max(max(values), 1)

    def width(value: int | None) -> int:
        return round(1000 * max(value or 0, 0) / scale)

    rows = []
    if prompt is not None or cached is not None:
        rows.append(UsageRow("prompt", prompt or 0, width(prompt), "cached", cached, width(cached)))
    if completion is not None or reasoning is not None:
        rows.append(
            UsageRow(
                "completion",
                completion or 0,
                width(completion),
                "reasoning",
                reasoning,
                width(reasoning),
            )
        )
    if total is not None:
        rows.append(UsageRow("total", total, width(total)))
    return rows


@dataclass
class StreamSummary:
    chunks: int
    carried: list[tuple[str, int]]  # (kind, number of chunks carrying it)
    first_time: str = ""
    last_time: str = ""


def build_stream_summary(recording: Recording, chunks: Iterable[dict[str, Any]]) -> StreamSummary:
    # Chunks carry few combinations of kinds: counted by combination, then by kind, from the
    # stream's columns (a million chunks: a few ms; a loop over them took seconds).
    chunks = Chunks.of(chunks)
    counts: Counter[str] = Counter()
    for combination, number in chunks.combinations().items():
        for kind in set(combination):
            counts[kind] += number
    order = {kind: n for n, kind in enumerate(CHUNK_KINDS)}
    carried = sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    times = chunks.stamps() if recording.has_timing else []
    return StreamSummary(
        chunks=recording.chunk_count,
        carried=carried,
        first_time=times[0] if times else "",
        last_time=times[-1] if times else "",
    )


@dataclass
class EventView:
    position: int
    name: str
    data: str = ""
    html: SafeString | None = None
    carried: list[str] = field(default_factory=list)
    error: bool = False

    @property
    def preview(self) -> str:
        return preview(self.data, 140)


def build_events(chunks: list[dict[str, Any]], lines: Any) -> tuple[list[EventView], int]:
    """The events of a streamed passthrough response (raw SSE lines), each with its data
    pretty-printed; and how many events there are in all."""
    if not isinstance(lines, list):
        return [], 0
    events = []
    for chunk in chunks[:MAX_EVENTS]:
        first, last = (chunk.get("lines") or [0, -1])[:2]
        data = []
        for line in lines[first : last + 1]:
            if isinstance(line, str):
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value.removeprefix(" "))
        text = "\n".join(data)
        html, was_json = highlight_text(text) if text else ("", False)
        carried = list(chunk.get("k") or [])
        events.append(
            EventView(
                position=chunk.get("i", len(events)),
                name=parsing.text_of(chunk.get("event")),
                data=text,
                html=escaped(html) if was_json else None,
                carried=carried,
                error="error" in carried,
            )
        )
    return events, len(chunks)


# --------------------------------------------------------------------------- model listings


@dataclass
class ModelRow:
    id: str
    owned_by: str = ""
    created: datetime | None = None
    size: int | None = None
    extra: str = ""  # details or metadata, as compact JSON


def build_models(listed: Any) -> list[ModelRow]:
    rows = []
    for model in listed if isinstance(listed, list) else []:
        if not isinstance(model, dict):
            continue
        created = model.get("created")
        extra = model.get("details") or model.get("metadata")
        rows.append(
            ModelRow(
                id=parsing.text_of(model.get("id")),
                owned_by=parsing.text_of(model.get("owned_by")),
                # Normalised recordings say 0: no date is better than 1970.
                created=datetime.fromtimestamp(created, UTC)
                if isinstance(created, int) and 0 < created < 2**33
                else None,
                size=model.get("size") if isinstance(model.get("size"), int) else None,
                extra=orjson.dumps(extra).decode() if extra else "",
            )
        )
    return rows


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


def build_raw_section(recording: Recording, data: bytes | None) -> RawSection:
    document = parsing.loads(data) if data is not None else None
    return RawSection(
        view=view_of(recording),
        url=page_path(recording.path),
        raw_url=f"/r/{quote(recording.path)}",
        blocks=build_raw(document, recording.path),
        original_text=(
            data.decode("utf-8", errors="replace")
            if data is not None and len(data) <= COPY_INLINE_MAX
            else None
        ),
        stored=data is not None,
    )


def build_raw(document: Any, recording_path: str) -> list[RawBlock]:
    if not isinstance(document, dict):
        return []
    link = value_link(recording_path.removesuffix(".json"))
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
) -> Page:
    """`data`: the original bytes, when `needs_bytes` says the page shows something of them."""
    document = parsing.loads(data) if data is not None else None
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
        url=page_path(recording.path),
        raw_url=f"/r/{quote(recording.path)}",
        raw_section_url=raw_section_path(recording.path),
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
    )
