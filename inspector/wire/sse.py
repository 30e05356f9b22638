"""Server-sent events: raw lines grouped into events, and event streams (Anthropic Messages,
Gemini Interactions, OpenAI Responses) read event by event into the same columns and
reassembly as other streams. Each event is one chunk, with its name and its lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from inspector.chunks import Builder
from inspector.wire import anthropic
from inspector.wire.assembly import Assembler, ColumnAssembler
from inspector.wire.types import Recording

# Reads one event's JSON data into the chunk's dict and the assembler; the dict it is given
# is its own, kept for the whole stream (what an API must remember, such as block types).
EventReader = Callable[[dict[str, Any], dict[str, Any], Assembler, dict[int, str]], None]


def sse_events(lines: list[str]) -> list[dict[str, Any]]:
    """Group raw SSE lines into events: `{"event", "data", "first", "last"}` (line indexes)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, line in enumerate(lines):
        if line == "":
            if current is not None:
                current["last"] = number
                events.append(current)
                current = None
            continue
        if current is None:
            current = {"event": "message", "data": "", "first": number, "last": number}
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            current["event"] = value
        elif name == "data":
            current["data"] = f"{current['data']}\n{value}" if current["data"] else value
        current["last"] = number
    if current is not None:
        events.append(current)
    return events


def read_sse(recording: Recording, lines: list[str]) -> None:
    """A llama-stack passthrough's SSE lines (Anthropic messages, Gemini interactions)."""
    read_events(recording, sse_events(lines), anthropic.read_event)


def read_events(
    recording: Recording, events: list[dict[str, Any]], read_event: EventReader
) -> None:
    """Events as `sse_events` makes them, each read by `read_event` when its data is JSON."""
    out = ColumnAssembler()
    columns = Builder()
    state: dict[int, str] = {}
    for position, event in enumerate(events):
        chunk: dict[str, Any] = {
            "i": position,
            "k": [],
            "event": event["event"],
            "lines": [event["first"], event["last"]],
        }
        try:
            data = orjson.loads(event["data"]) if event["data"] else None
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            read_event(data, chunk, out, state)
        if not chunk["k"]:
            chunk["k"].append("event")
        columns.add(chunk)
    recording.chunks = columns.build()
    recording.response = out.finish_with(recording.chunks)
    recording.usage = out.usage
