"""Streams replayed: the message as the client saw it after each chunk, and the timeline of what
each chunk carried. Works on the compact chunks the importer stores (`Stream.chunks`); knows
nothing of Django."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

# Pacing at 1x for recordings without real times (current ones: the recorder zeroes them).
CHUNK_INTERVAL = 0.04
# A real gap longer than this (a model loading, a stall) is shortened to it when replaying.
LONGEST_GAP = 5.0
# "max" is as fast as the page can draw: a millisecond a chunk, sent in batches.
SPEEDS = {"0.25": 0.25, "0.5": 0.5, "1": 1.0, "2": 2.0, "4": 4.0, "10": 10.0, "max": 40.0}
DEFAULT_SPEED = "1"

# The keys `apply_rest` reads: a chunk without any of them only adds text.
REST_KEYS = frozenset(("role", "tool", "finish", "usage", "event"))
# What a chunk can carry, in the order the timeline draws its lanes (tool calls get a lane per
# index after these).
KINDS = ("role", "content", "reasoning", "tool", "finish", "usage", "filter", "error", "event",
         "empty", "other")  # fmt: skip


@dataclass
class ToolState:
    index: int
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Frame:
    """The message after `at` chunks: what the client had assembled at that point."""

    at: int = 0
    total: int = 0
    role: str = ""
    text: str = ""
    reasoning: str = ""
    tools: dict[int, ToolState] = field(default_factory=dict)
    finish_reason: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    event: str = ""

    @property
    def tool_calls(self) -> list[ToolState]:
        return [self.tools[i] for i in sorted(self.tools)]

    @property
    def done(self) -> bool:
        return self.at >= self.total


@dataclass
class Delta:
    """What one step added, for sending increments instead of whole frames."""

    text: str = ""
    reasoning: str = ""
    tools_changed: bool = False
    meta_changed: bool = False  # role, finish reason, usage or SSE event

    def merge(self, other: Delta) -> None:
        self.text += other.text
        self.reasoning += other.reasoning
        self.tools_changed |= other.tools_changed
        self.meta_changed |= other.meta_changed


def apply(frame: Frame, chunk: dict[str, Any]) -> Delta:
    """Advance `frame` by one chunk, exactly as the importer's reassembly does."""
    delta = Delta()
    if chunk.get("content"):
        frame.text += chunk["content"]
        delta.text = chunk["content"]
    if chunk.get("reasoning"):
        frame.reasoning += chunk["reasoning"]
        delta.reasoning = chunk["reasoning"]
    apply_rest(frame, chunk, delta)
    return delta


def apply_rest(frame: Frame, chunk: dict[str, Any], delta: Delta) -> None:
    """Everything a chunk carries but text: role, tool-call fragments, finish, usage, event."""
    if chunk.get("role") and not frame.role:
        frame.role = chunk["role"]
        delta.meta_changed = True
    for fragment in chunk.get("tool") or ():
        state = frame.tools.setdefault(fragment["index"], ToolState(index=fragment["index"]))
        state.call_id = state.call_id or fragment.get("id", "")
        state.name = state.name or fragment.get("name", "")
        state.arguments += fragment.get("args", "")
        delta.tools_changed = True
    if chunk.get("finish"):
        frame.finish_reason = chunk["finish"]
        delta.meta_changed = True
    if chunk.get("usage"):
        frame.usage.update(chunk["usage"])
        if "event" in chunk and {"prompt", "completion"} <= frame.usage.keys():
            # Server-sent events report input and output tokens apart (see parsing).
            frame.usage["total"] = max(
                frame.usage.get("total", 0), frame.usage["prompt"] + frame.usage["completion"]
            )
        delta.meta_changed = True
    if chunk.get("event"):
        frame.event = chunk["event"]
    frame.at += 1


def frame_at(chunks: list[dict[str, Any]], at: int) -> Frame:
    """The frame after the first `at` chunks (clamped to the stream). Text is joined once at
    the end: appending to the frame chunk by chunk copies it over and over (20,000 chunks);
    and most chunks only add text, so `apply_rest` sees only the others."""
    at = max(0, min(at, len(chunks)))
    frame = Frame(total=len(chunks))
    shown, ignored = chunks[:at], Delta()
    for chunk in shown:
        if not REST_KEYS.isdisjoint(chunk):
            apply_rest(frame, chunk, ignored)
    frame.at = at
    frame.text = "".join([c["content"] for c in shown if "content" in c])
    frame.reasoning = "".join([c["reasoning"] for c in shown if "reasoning" in c])
    return frame


def frames(chunks: list[dict[str, Any]]) -> Iterator[Frame]:
    """Every frame from empty to complete; each is a snapshot (safe to keep)."""
    frame = Frame(total=len(chunks))
    yield snapshot(frame)
    for chunk in chunks:
        apply(frame, chunk)
        yield snapshot(frame)


def snapshot(frame: Frame) -> Frame:
    return Frame(
        at=frame.at,
        total=frame.total,
        role=frame.role,
        text=frame.text,
        reasoning=frame.reasoning,
        tools={i: ToolState(**vars(t)) for i, t in frame.tools.items()},
        finish_reason=frame.finish_reason,
        usage=dict(frame.usage),
        event=frame.event,
    )


def parse_time(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def times(chunks: list[dict[str, Any]]) -> list[float] | None:
    """Seconds since the first chunk, when every chunk has a real time; else None."""
    if not all([c.get("t") for c in chunks]):
        return None  # without parsing 20,000 times when the recorder kept none
    stamps = [parse_time(c["t"]) for c in chunks]
    if not stamps or any(s is None for s in stamps) or len(set(stamps)) < 2:
        return None
    start = stamps[0]
    return [s - start for s in stamps]  # type: ignore[operator]


def gaps(chunks: list[dict[str, Any]], speed: float) -> list[float]:
    """Seconds to wait before each chunk when replaying at `speed`."""
    offsets = times(chunks)
    if offsets is None:
        return [0.0] + [CHUNK_INTERVAL / speed] * (len(chunks) - 1) if chunks else []
    waits = [0.0] + [min(b - a, LONGEST_GAP) for a, b in pairwise(offsets)]
    return [max(w, 0.0) / speed for w in waits]


def lanes(chunks: list[dict[str, Any]]) -> list[str]:
    """The timeline's lanes: the kinds this stream carries, tool calls one lane per index."""
    carried = {kind for chunk in chunks for kind in chunk.get("k", ())}
    indexes = {f["index"] for c in chunks for f in c.get("tool") or ()}
    return lane_order(carried | {f"tool:{i}" for i in indexes})


def lane_order(names: set[str]) -> list[str]:
    """Lanes in the timeline's order: kinds as in `KINDS`, the tool lanes by index after the
    text ("tool" itself is no lane). `{m["lane"] for m in marks(chunks)}` gives the same lanes
    as `lanes(chunks)` without another pass over the chunks."""
    indexes = sorted(int(n.removeprefix("tool:")) for n in names if n.startswith("tool:"))
    found = [kind for kind in KINDS if kind in names and kind != "tool"]
    position = (
        found.index("reasoning") + 1
        if "reasoning" in found
        else (found.index("content") + 1 if "content" in found else len(found))
    )
    return found[:position] + [f"tool:{i}" for i in indexes] + found[position:]


def marks(chunks: list[dict[str, Any]], limit: int = 1000) -> list[dict[str, Any]]:
    """One mark per chunk and lane it carries; past `limit` chunks, neighbours share a column
    so that the strip never holds more than `limit` columns."""
    per_column = max(1, -(-len(chunks) // limit))
    # First and last chunk of each (column, lane), in the order lanes first appear. Plain dicts
    # filled in one loop: this runs once per chunk, 20,000 times for a long stream.
    first: dict[tuple[int, str], int] = {}
    last: dict[tuple[int, str], int] = {}
    for chunk in chunks:
        number = chunk["i"]
        column = number // per_column
        for lane in chunk.get("k", ()):  # "tool" too, dropped below for its lanes by index
            key = (column, lane)
            if key not in first:
                first[key] = number
            last[key] = number
        for fragment in chunk.get("tool") or ():
            key = (column, f"tool:{fragment['index']}")
            if key not in first:
                first[key] = number
            last[key] = number
    return [
        {"column": column, "lane": lane, "first": number, "last": last[column, lane]}
        for (column, lane), number in first.items()
        if lane != "tool"
    ]


def visible(text: str) -> str:
    """Whitespace made visible, for the chunk table."""
    return text.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "↵")
