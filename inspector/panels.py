"""The recording page's panels beside the thread: token usage, the stream's summary and its
events, and model listings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.utils.safestring import SafeString

from inspector import parsing
from inspector.chunks import Chunks
from inspector.highlight import highlight_text
from inspector.models import Recording
from inspector.snippets import escaped, preview

# A streamed passthrough response shows at most this many events; the raw JSON has the rest.
MAX_EVENTS = 300

# The order a stream summary lists what chunks carry.
CHUNK_KINDS = (
    "role", "content", "reasoning", "tool", "finish", "usage", "filter", "event", "error",
    "empty", "other",
)  # fmt: skip


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
