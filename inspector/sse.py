"""Streams of server-sent events (Anthropic messages, Gemini interactions, stored as raw SSE
lines), read event by event into the same columns and reassembly as other streams
(`inspector.streams`). Knows nothing of Django."""

from __future__ import annotations

from typing import Any

import orjson

# The module, not its names: imported while inspector.streams may be importing parsing.
from inspector import streams
from inspector.chunks import Builder
from inspector.parsing import Recording, Usage, text_of, usage_of


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
    """Anthropic messages and Gemini interactions streams, event by event."""
    out = streams.ColumnAssembler()
    columns = Builder()
    block_types: dict[int, str] = {}
    for position, event in enumerate(sse_events(lines)):
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
            read_sse_event(data, chunk, out, block_types)
        if not chunk["k"]:
            chunk["k"].append("event")
        columns.add(chunk)
    recording.chunks = columns.build()
    recording.response = out.finish_with(recording.chunks)
    recording.usage = out.usage


def read_sse_event(
    data: dict[str, Any], chunk: dict[str, Any], out: streams.Assembler, block_types: dict[int, str]
) -> None:
    kind = text_of(data.get("type") or data.get("event_type"))  # a file may hold any type
    index = data.get("index") if isinstance(data.get("index"), int) else 0
    message = data.get("message") or data.get("interaction")
    if isinstance(message, dict):
        if message.get("role"):
            streams.read_delta({"role": message["role"]}, chunk, out)
        usage = usage_of(message)
        if usage:
            merge_usage(out, usage, chunk)
    if kind == "error" or (kind.endswith("error") and isinstance(data.get("error"), dict)):
        chunk["k"].append("error")
    block = data.get("content_block") or data.get("content")
    if kind in ("content_block_start", "content.start") and isinstance(block, dict):
        block_types[index] = text_of(block.get("type"))
        if block.get("type") in ("tool_use", "function_call"):
            streams.read_delta(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": block.get("id"),
                            "function": {"name": block.get("name"), "arguments": ""},
                        }
                    ]
                },
                chunk,
                out,
            )
    delta = data.get("delta")
    if isinstance(delta, dict):
        dtype = delta.get("type")
        if dtype in ("text_delta", "text"):
            streams.read_delta({"content": delta.get("text")}, chunk, out)
        elif dtype in ("thinking_delta", "thought", "thought_summary"):
            text = delta.get("thinking") or delta.get("text") or delta.get("content")
            streams.read_delta({"reasoning": text if isinstance(text, str) else ""}, chunk, out)
        elif dtype == "input_json_delta":
            streams.read_delta(
                {
                    "tool_calls": [
                        {"index": index, "function": {"arguments": delta.get("partial_json") or ""}}
                    ]
                },
                chunk,
                out,
            )
        elif dtype == "function_call":
            streams.read_delta(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": delta.get("id"),
                            "function": {
                                "name": delta.get("name"),
                                "arguments": delta.get("arguments"),
                            },
                        }
                    ]
                },
                chunk,
                out,
            )
        if delta.get("stop_reason"):
            chunk["finish"] = text_of(delta["stop_reason"])
            out.response.finish_reason = chunk["finish"]
            chunk["k"].append("finish")
    usage = usage_of(data)
    if usage:
        merge_usage(out, usage, chunk)
    if kind == "interaction.complete" and isinstance(message, dict):
        chunk["finish"] = text_of(message.get("status"))
        out.response.finish_reason = chunk["finish"]
        chunk["k"].append("finish")


def merge_usage(out: streams.Assembler, usage: Usage, chunk: dict[str, Any]) -> None:
    """Anthropic reports input tokens at the start and output tokens at the end."""
    for name, value in usage.__dict__.items():
        if value is not None:
            setattr(out.usage, name, value)
    if out.usage.prompt is not None and out.usage.completion is not None:
        out.usage.total = max(out.usage.total or 0, out.usage.prompt + out.usage.completion)
    chunk["usage"] = {k: v for k, v in usage.__dict__.items() if v is not None}
    if "usage" not in chunk["k"]:
        chunk["k"].append("usage")
