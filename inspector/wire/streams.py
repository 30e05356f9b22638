"""Streamed responses read chunk by chunk, whichever API sent the chunks (OpenAI chat and
completions, Gemini candidates, Ollama): reassembled as the client does, and kept as columns
(`inspector.chunks`). Each chunk's dict goes into the columns as soon as it is read: none is
kept, so a stream of any length is read in memory linear in its text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from inspector.chunks import Builder
from inspector.wire import ollama
from inspector.wire.assembly import Assembler, ColumnAssembler
from inspector.wire.common import EPOCH_PREFIXES, created_of, usage_of
from inspector.wire.openai_chat import USAGE_KEYS, carries_rare, plain_text, read_choice
from inspector.wire.types import Recording


class EventData(str):
    """An SSE event's data that is not JSON (OpenAI's closing `[DONE]`): a chunk that carries
    the event and nothing else, so that a stream has one chunk per event."""

    __slots__ = ()


def read_stream(recording: Recording, datas: Iterable[Any], keep_chunks: bool = True) -> None:
    """Chunks in arrival order, each read by its API's reader (`read_choice`, `read_rare`)."""
    out = ColumnAssembler()
    columns = Builder()
    epoch, stamps = False, set()
    dated = False
    for position, data in enumerate(datas):
        text = plain_text(data)
        if not dated and type(data) is dict:
            recording.created, dated = created_of(data), True
        if text is not None:
            columns.add_text(text)
            continue
        chunk: dict[str, Any] = {"i": position, "k": []}
        if not isinstance(data, dict):
            chunk["k"].append("event" if isinstance(data, EventData) else "other")
            columns.add(chunk)
            continue
        carried = chunk["k"]
        choices = data.get("choices")
        if choices:
            read_choice(choices[0] if isinstance(choices, list) else choices, chunk, out)
        if carries_rare(data):
            read_rare(data, chunk, out)
        if "finish" in chunk:
            carried.append("finish")
        if "usage" in chunk:
            carried.append("usage")
        if not carried:
            carried.append("empty")
        stamp = chunk.get("t")
        if stamp is not None:
            if len(stamps) < 2:
                stamps.add(stamp)
            epoch = epoch or stamp.startswith(EPOCH_PREFIXES)
        columns.add(chunk)
    built = columns.build()
    recording.response = out.finish_with(built)
    recording.usage = out.usage if out.usage else recording.usage
    if keep_chunks:
        recording.chunks = built
        # Real times: more than one distinct stamp, none of them the recorder's zero.
        recording.has_timing = len(stamps) > 1 and not epoch


def read_rare(data: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    """What a chunk may carry besides `choices`: checked only when it `carries_rare`
    (checking each key of every chunk took ~2 us a chunk)."""
    carried = chunk["k"]
    if data.get("prompt_filter_results"):  # Azure's first chunk
        carried.insert(0, "filter")  # before what its choices carried, as it was read first
    candidates = data.get("candidates")  # Gemini
    if candidates:
        read_choice(candidates[0] if isinstance(candidates, list) else candidates, chunk, out)
    ollama.read_chunk(data, chunk, out)
    # Asking `usage_of` cost ~1 us a chunk, a second per million: only chunks with its keys.
    if not USAGE_KEYS.isdisjoint(data):
        usage = usage_of(data)
        if usage:
            chunk["usage"] = {k: v for k, v in usage.__dict__.items() if v is not None}
            out.usage = usage
    stamp = data.get("created_at") or data.get("create_time")
    if isinstance(stamp, str):
        chunk["t"] = stamp
