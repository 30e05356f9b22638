"""Two assembled responses compared: text and reasoning word by word, tool calls added,
removed or changed (name, and arguments compared as JSON), finish reason, token usage, and for
two streams how their chunking differs. Pure: rows' values in, JSON-ready dicts out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from inspector.chunks import Chunks
from inspector.diffing.requests import json_differences
from inspector.diffing.text import word_ops

USAGE_FIELDS = ("prompt", "completion", "total", "cached", "reasoning")


@dataclass
class Response:
    """What the diff reads of one assembled response (a Recording's columns)."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str = ""
    tool_calls: Sequence[tuple[str, str]] = ()  # (name, arguments as sent), in order
    usage: dict[str, int | None] = field(default_factory=dict)  # USAGE_FIELDS
    streaming: bool = False
    status: int | None = None
    exception: str = ""  # "<type>: <message>" of a recorded failure, else ""
    chunks: Chunks | None = None  # a stream's, else None


def arguments_value(arguments: str) -> Any:
    """Arguments as JSON when they parse, else the string as sent."""
    try:
        return json.loads(arguments)
    except (ValueError, TypeError, RecursionError):
        return arguments


def call_dict(index: int, call: tuple[str, str]) -> dict[str, Any]:
    return {"index": index, "name": call[0], "arguments": arguments_value(call[1])}


def tool_call_changes(
    a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Calls aligned by name (a call inserted before the others is one call added, not all of
    them changed); within a replaced run, paired in order. A pair is changed when its names
    differ or its arguments differ as JSON (key order and spacing do not count)."""
    out: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    matcher = SequenceMatcher(None, [c[0] for c in a], [c[0] for c in b], autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False))
        for i, j in pairs:
            left, right = arguments_value(a[i][1]), arguments_value(b[j][1])
            if a[i][0] == b[j][0] and left == right:
                continue
            differences = json_differences(left, right) if left != right else []
            out["changed"].append(
                {
                    "index_a": i,
                    "index_b": j,
                    "name": {"a": a[i][0], "b": b[j][0]},
                    "arguments": {"a": left, "b": right},
                    "differences": [
                        {"path": d.path, "kind": d.kind, "a": d.a, "b": d.b} for d in differences
                    ],
                }
            )
        out["removed"] += [call_dict(i, a[i]) for i in range(i1 + len(pairs), i2)]
        out["added"] += [call_dict(j, b[j]) for j in range(j1 + len(pairs), j2)]
    return out


def either(a: Any, b: Any) -> dict[str, Any] | None:
    return None if a == b else {"a": a, "b": b}


def response_differences(a: Response, b: Response) -> dict[str, Any]:
    """`{text, reasoning, tool_calls, finish_reason, usage, streaming, status, exception}`:
    text and reasoning as word ops (all "equal" when alike), the others null or {} when
    alike."""
    usage = {
        name: {"a": a.usage.get(name), "b": b.usage.get(name)}
        for name in USAGE_FIELDS
        if a.usage.get(name) != b.usage.get(name)
    }
    return {
        "text": word_ops(a.text, b.text),
        "reasoning": word_ops(a.reasoning, b.reasoning),
        "tool_calls": tool_call_changes(a.tool_calls, b.tool_calls),
        "finish_reason": either(a.finish_reason, b.finish_reason),
        "usage": usage,
        "streaming": either(a.streaming, b.streaming),
        "status": either(a.status, b.status),
        "exception": either(a.exception, b.exception),
    }


# --------------------------------------------------------------------------- chunking


def kind_counts(chunks: Chunks) -> dict[str, int]:
    """How many chunks carry each kind (a chunk with content and a finish reason counts in
    both)."""
    counts: dict[str, int] = {}
    for kinds, count in chunks.combinations().items():
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + count
    return counts


def kinds_at(chunks: Chunks, i: int) -> list[str]:
    number = chunks.kind_of[i]
    return list(chunks.kinds[number]) if number < len(chunks.kinds) else chunks.field("k", i)


def boundaries(chunks: Chunks) -> list[tuple[int, int]]:
    """(chunk number, where its text ends) of each chunk that carries text."""
    found = []
    previous = 0
    for i, end in enumerate(chunks.text_ends):
        if end != previous:
            found.append((i, end))
            previous = end
    return found


def piece(chunks: Chunks, at: tuple[int, int] | None) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"chunk": at[0], "end": at[1], "text": chunks.content(at[0])}


def first_boundary_difference(a: Chunks, b: Chunks) -> dict[str, Any] | None:
    """Where the two streams' text is first cut differently: the offset in the assembled text
    and the chunk of each side that ends there (its number from 0, its piece); None when
    every chunk of text ends at the same place."""
    left, right = boundaries(a), boundaries(b)
    for k in range(max(len(left), len(right))):
        at_a = left[k] if k < len(left) else None
        at_b = right[k] if k < len(right) else None
        if at_a is None or at_b is None or at_a[1] != at_b[1]:
            ends = [at[1] for at in (at_a, at_b) if at is not None]
            return {"offset": min(ends), "a": piece(a, at_a), "b": piece(b, at_b)}
    return None


def first_kind_difference(a: Chunks, b: Chunks) -> dict[str, Any] | None:
    """The first chunk (from 0) whose kinds differ, or where one stream ends first."""
    for i in range(max(len(a), len(b))):
        left = kinds_at(a, i) if i < len(a) else None
        right = kinds_at(b, i) if i < len(b) else None
        if left != right:
            return {"chunk": i, "a": left, "b": right}
    return None


def chunk_differences(a: Chunks, b: Chunks) -> dict[str, Any]:
    """How two streams were chunked: `{count, kinds, first_boundary, first_kind, same}`."""
    counts_a, counts_b = kind_counts(a), kind_counts(b)
    kinds = {
        kind: {"a": counts_a.get(kind, 0), "b": counts_b.get(kind, 0)}
        for kind in sorted(counts_a.keys() | counts_b.keys())
    }
    boundary = first_boundary_difference(a, b)
    kind = first_kind_difference(a, b)
    return {
        "count": {"a": len(a), "b": len(b)},
        "kinds": kinds,
        "first_boundary": boundary,
        "first_kind": kind,
        "same": len(a) == len(b) and boundary is None and kind is None,
    }
