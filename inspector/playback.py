"""Streams replayed: the message as the client saw it after each chunk, and the timeline of what
each chunk carried. Works on the columns the importer stores (`Stream.chunks`, a
`inspector.chunks.Chunks`; a list of chunk dicts is turned into one), in time linear in what it
reads: a frame's text is one slice, a step's text another. Knows nothing of Django."""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from inspector.chunks import OVERFLOW, Chunks, Joiner

# Pacing at 1x for recordings without real times (current ones: the recorder zeroes them).
CHUNK_INTERVAL = 0.04
# A real gap longer than this (a model loading, a stall) is shortened to it when replaying.
LONGEST_GAP = 5.0
# "max" is as fast as the page can draw: a millisecond a chunk, sent in batches.
SPEEDS = {"0.25": 0.25, "0.5": 0.5, "1": 1.0, "2": 2.0, "4": 4.0, "10": 10.0, "max": 40.0}
DEFAULT_SPEED = "1"

# Tool calls with an index up to this get a timeline lane each; the others share one: a
# stream of 50,000 calls drew 50,000 lanes.
TOOL_LANES = 10
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
    # Arguments added by `advance` and not yet joined onto their call's: joined when the calls
    # are read (`tool_calls`), not at every step, which copied them over and over.
    pending: dict[int, Joiner] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tool_calls(self) -> list[ToolState]:
        for index, pieces in self.pending.items():
            self.tools[index].arguments += pieces.value()
        self.pending.clear()
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
    calls_changed: bool = False  # a call began, or got its id or name
    arguments: dict[int, str] = field(default_factory=dict)  # added, by call index
    meta_changed: bool = False  # role, finish reason or usage

    def __bool__(self) -> bool:
        return bool(self.text or self.reasoning or self.tools_changed or self.meta_changed)


def advance(frame: Frame, chunks: Chunks, stop: int) -> Delta:
    """Advance `frame` to chunk `stop`, exactly as the importer's reassembly does, and say what
    that added. The frame's text is left as it is: a replay sends the text it adds and never
    holds the whole (`frame_at` sets it, one slice). Linear: the text added is one slice of the
    columns, and only the chunks that carry more than text are looked at."""
    start, stop = frame.at, max(frame.at, min(stop, len(chunks)))
    delta = Delta(
        text=chunks.text[chunks.text_end(start) : chunks.text_end(stop)],
        reasoning=chunks.reasoning[chunks.reasoning_end(start) : chunks.reasoning_end(stop)],
    )
    added: dict[int, list[str]] = {}
    for _, fragment in chunks.fragments(start, stop):
        index = fragment["index"]
        state = frame.tools.get(index)
        if state is None:
            state = frame.tools[index] = ToolState(index=index)
            delta.calls_changed = True
        if (not state.call_id and fragment["id"]) or (not state.name and fragment["name"]):
            state.call_id = state.call_id or fragment["id"]
            state.name = state.name or fragment["name"]
            delta.calls_changed = True
        added.setdefault(index, []).append(fragment["args"])
        delta.tools_changed = True
    for index, pieces in added.items():
        delta.arguments[index] = "".join(pieces)
        frame.pending.setdefault(index, Joiner()).add(delta.arguments[index])
    sse = "event" in chunks.sparse
    for _, name, value in chunks.rest(start, stop):
        if name == "role" and value and not frame.role:
            frame.role = value
            delta.meta_changed = True
        elif name == "finish" and value:
            frame.finish_reason = value
            delta.meta_changed = True
        elif name == "usage" and value:
            frame.usage.update(value)
            if sse and {"prompt", "completion"} <= frame.usage.keys():
                # Server-sent events report input and output tokens apart (see parsing).
                frame.usage["total"] = max(
                    frame.usage.get("total", 0), frame.usage["prompt"] + frame.usage["completion"]
                )
            delta.meta_changed = True
        elif name == "event" and value:
            frame.event = value
    frame.at = stop
    return delta


def frame_at(chunks: Sequence[dict[str, Any]], at: int) -> Frame:
    """The frame after the first `at` chunks (clamped to the stream): its text is one slice."""
    chunks = Chunks.of(chunks)
    at = max(0, min(at, len(chunks)))
    frame = Frame(total=len(chunks))
    advance(frame, chunks, at)
    frame.text = chunks.text[: chunks.text_end(at)]
    frame.reasoning = chunks.reasoning[: chunks.reasoning_end(at)]
    frame.tool_calls  # noqa: B018 (joins the arguments added)
    return frame


def frames(chunks: Sequence[dict[str, Any]]) -> Iterator[Frame]:
    """Every frame from empty to complete, as a replay reaches them; each is a snapshot (safe
    to keep)."""
    chunks = Chunks.of(chunks)
    frame = Frame(total=len(chunks))
    yield snapshot(frame)
    for stop in range(1, len(chunks) + 1):
        advance(frame, chunks, stop)
        frame.text = chunks.text[: chunks.text_end(stop)]
        frame.reasoning = chunks.reasoning[: chunks.reasoning_end(stop)]
        frame.tool_calls  # noqa: B018 (joins the arguments added)
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


def times(chunks: Sequence[dict[str, Any]]) -> list[float] | None:
    """Seconds since the first chunk, when every chunk has a real time; else None."""
    stamps = Chunks.of(chunks).times()
    if not stamps or not all(stamps):
        return None  # without parsing a million times when the recorder kept none
    seconds = [parse_time(stamp) for stamp in stamps]
    if any(s is None for s in seconds) or len(set(seconds)) < 2:
        return None
    start = seconds[0]
    return [s - start for s in seconds]  # type: ignore[operator]


def offsets(chunks: Chunks) -> array | None:
    """When each chunk is due at 1x, in seconds from the first, real gaps shortened to
    LONGEST_GAP; None for a stream without times (a chunk every CHUNK_INTERVAL). Worked out
    once per stream and kept with its columns, which concurrent replays share."""
    if "offsets" not in chunks.cache:
        real = times(chunks)
        due = None
        if real is not None:
            due = array("d", [0.0])
            for before, after in pairwise(real):
                due.append(due[-1] + min(max(after - before, 0.0), LONGEST_GAP))
        chunks.cache["offsets"] = due
    return chunks.cache["offsets"]


def due(chunks: Chunks, number: int) -> float:
    """Seconds at 1x from the first chunk to chunk `number`."""
    found = offsets(chunks)
    return number * CHUNK_INTERVAL if found is None else found[number]


def due_by(chunks: Chunks, seconds: float) -> int:
    """How many chunks are due `seconds` (at 1x) after the first."""
    found = offsets(chunks)
    if found is None:
        return min(len(chunks), int(seconds / CHUNK_INTERVAL + 1e-9) + 1)
    return bisect_right(found, seconds + 1e-9)


def gaps(chunks: Sequence[dict[str, Any]], speed: float) -> list[float]:
    """Seconds to wait before each chunk when replaying at `speed`."""
    chunks = Chunks.of(chunks)
    if offsets(chunks) is None:
        return [0.0] + [CHUNK_INTERVAL / speed] * (len(chunks) - 1) if len(chunks) else []
    return [(due(chunks, n) - due(chunks, n - 1)) / speed if n else 0.0 for n in range(len(chunks))]


def tool_lane(index: int) -> str:
    return f"tool:{index}" if 0 <= index < TOOL_LANES else f"tool:{TOOL_LANES}+"


def lanes(chunks: Sequence[dict[str, Any]]) -> list[str]:
    """The timeline's lanes: the kinds this stream carries, tool calls one lane per index."""
    return lane_order({mark["lane"] for mark in marks(chunks)})


def lane_order(names: set[str]) -> list[str]:
    """Lanes in the timeline's order: kinds as in `KINDS`, the tool lanes by index after the
    text ("tool" itself is no lane). `{m["lane"] for m in marks(chunks)}` gives the same lanes
    as `lanes(chunks)` without another pass over the chunks."""
    indexes = sorted(
        int(n.removeprefix("tool:").rstrip("+")) for n in names if n.startswith("tool:")
    )
    found = [kind for kind in KINDS if kind in names and kind != "tool"]
    position = (
        found.index("reasoning") + 1
        if "reasoning" in found
        else (found.index("content") + 1 if "content" in found else len(found))
    )
    return found[:position] + [tool_lane(i) for i in indexes] + found[position:]


def marks(chunks: Sequence[dict[str, Any]], limit: int = 1000) -> list[dict[str, Any]]:
    """One mark per chunk and lane it carries; past `limit` chunks, neighbours share a column
    so that the strip never holds more than `limit` columns. Each mark spans the first to the
    last chunk of its column that carries its lane; marks come column by column, in the order
    their lanes first appear. Found with a byte search per column and combination of kinds
    in the column of kinds (a million chunks: ~10 ms, where a loop over them took seconds)."""
    chunks = Chunks.of(chunks)
    n = len(chunks)
    per_column = max(1, -(-n // limit))
    # (column, lane): [first, rank within the first chunk, last]
    spans: dict[tuple[int, str], list[int]] = {}

    def seen(column: int, lane: str, first: int, rank: int, last: int) -> None:
        span = spans.get((column, lane))
        if span is None:
            spans[column, lane] = [first, rank, last]
            return
        if (first, rank) < (span[0], span[1]):
            span[0], span[1] = first, rank
        span[2] = max(span[2], last)

    kinds_of = chunks.kind_of
    for number, kinds in enumerate(chunks.kinds):
        code = bytes([number])
        for start in range(0, n, per_column):
            first = kinds_of.find(code, start, start + per_column)
            if first < 0:
                continue
            last = kinds_of.rfind(code, start, start + per_column)
            for rank, lane in enumerate(kinds):
                if lane not in kinds[:rank]:
                    seen(start // per_column, lane, first, rank, last)
    overflow = chunks.sparse.get("k")
    if overflow is not None:
        for at, kinds in zip(*overflow, strict=True):
            for rank, lane in enumerate(kinds):
                seen(at // per_column, lane, at, rank, at)
    previous, position = -1, 0
    for number, at in enumerate(chunks.tool_at):
        position = position + 1 if at == previous else 0
        previous = at
        width = len(kinds_of_chunk(chunks, at))
        seen(at // per_column, tool_lane(chunks.tool_index[number]), at, width + position, at)
    ordered = sorted(spans.items(), key=lambda item: (item[0][0], item[1][0], item[1][1]))
    return [
        {"column": column, "lane": lane, "first": first, "last": last}
        for (column, lane), (first, _, last) in ordered
        if lane != "tool"
    ]


def kinds_of_chunk(chunks: Chunks, at: int) -> list[str]:
    kind = chunks.kind_of[at]
    return chunks.kinds[kind] if kind != OVERFLOW else chunks.field("k", at)


class Playbacks:
    """The replays running in one server process, at most `limit` at a time. A slot is taken
    before a replay starts and given back when it ends, however it ends (finished, its client
    gone, or its response closed without being read); giving one back twice is harmless."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0

    def take(self, limit: int) -> Slot | None:
        with self.lock:
            if self.running >= limit:
                return None
            self.running += 1
        return Slot(self)


class Slot:
    def __init__(self, playbacks: Playbacks) -> None:
        self.playbacks, self.held = playbacks, True

    def release(self) -> None:
        with self.playbacks.lock:
            if self.held:
                self.held = False
                self.playbacks.running -= 1


def visible(text: str) -> str:
    """Whitespace made visible, for the chunk table."""
    return text.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "↵")
