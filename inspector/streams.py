"""Streamed responses read chunk by chunk: reassembled as the client does, and kept as columns
(`inspector.chunks`). Knows nothing of Django; `inspector.parsing` calls it, and its names stay
importable from there.

Every step is linear in the stream: text, reasoning and tool-call arguments are collected as
pieces and joined once (`+=` on them made a 1,000,000-chunk stream take 51 s), and a large file's
chunks are decoded one at a time, never all at once (`load_document`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec
import orjson

from inspector.chunks import Builder, Chunks, Joiner
from inspector.parsing import (
    EPOCH_PREFIXES,
    Recording,
    RecordingError,
    Response,
    ToolCall,
    Usage,
    dumps,
    gemini_parts,
    listify,
    loads,
    parts_of,
    text_of,
    usage_of,
)

# From this size a file's response body is split into its items' bytes first and each item
# decoded when read (`RawList`). orjson.loads of a 50 MB file of 1,000,000 one-character chunks
# held 960 MB of Python objects at once; split by msgspec (0.25 s), 130 MB. Smaller files are
# decoded whole, as before: one call, and every error message exactly orjson's.
LAZY_BYTES = 4 * 1024 * 1024
# Keys `usage_of` looks for: a chunk without any of them carries no usage (asking cost ~1 us a
# chunk, a second per million).
USAGE_KEYS = frozenset(
    ("usage", "usage_metadata", "usageMetadata", "prompt_eval_count", "eval_count")
)
# Keys of a chunk that `read_rare` reads: most chunks have none, and are read from their
# `choices` alone (checking each key of every chunk took ~2 us a chunk).
RARE_KEYS = USAGE_KEYS | {
    "prompt_filter_results", "candidates", "message", "response", "thinking", "done",
    "created_at", "create_time",
}  # fmt: skip
# Keys of a delta past its role and content.
DELTA_REST_KEYS = frozenset(("reasoning_content", "reasoning", "thinking", "tool_calls"))
SPLIT_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
SPLIT_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


class RawList(Sequence):
    """A JSON array as its items' undecoded bytes, each decoded (by orjson, as the rest of the
    file) when it is read. An item that does not decode is the whole file's error."""

    def __init__(self, raws: list[msgspec.Raw], data: bytes) -> None:
        self.raws, self.data = raws, data

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self.decode(raw) for raw in self.raws[key]]
        return self.decode(self.raws[key])

    def __iter__(self) -> Iterator[Any]:
        return map(self.decode, self.raws)

    def decode(self, raw: msgspec.Raw) -> Any:
        try:
            return orjson.loads(memoryview(raw))
        except orjson.JSONDecodeError:
            loads(self.data)  # raises the file's error, as a whole-file decode would
            raise RecordingError("malformed JSON") from None


def load_document(data: bytes) -> Any:
    """The file's JSON; above LAZY_BYTES, a response body that is an array is a `RawList`."""
    if len(data) < LAZY_BYTES:
        return loads(data)
    try:
        top = SPLIT_OBJECT.decode(data.removeprefix(b"\xef\xbb\xbf"))
        response = SPLIT_OBJECT.decode(top["response"])
        body = response.get("body")
        if body is None or bytes(memoryview(body)[:1]) != b"[":
            return loads(data)
        document = {
            key: orjson.loads(memoryview(raw)) for key, raw in top.items() if key != "response"
        }
        document["response"] = {
            key: RawList(SPLIT_ARRAY.decode(raw), data)
            if key == "body"
            else orjson.loads(memoryview(raw))
            for key, raw in response.items()
        }
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, orjson.JSONDecodeError):
        return loads(data)  # not a recording, or not valid: the whole file says why
    # Keys in the file's order, "response" among them, as orjson gives them.
    return {key: document[key] for key in top}


class Assembler:
    """Joins deltas the way a client does: content and reasoning appended, tool-call arguments
    joined by their `index`."""

    def __init__(self) -> None:
        self.response = Response()
        self.calls: dict[int, ToolCall] = {}
        self.usage = Usage()
        self.texts, self.reasonings = Joiner(), Joiner()
        self.arguments: dict[int, Joiner] = {}

    def text(self, delta: str) -> None:
        self.texts.add(delta)

    def reasoning(self, delta: str) -> None:
        self.reasonings.add(delta)

    def tool(self, index: int, call_id: str, name: str, arguments: str) -> None:
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = ToolCall(call_id="", name="", arguments="", index=index)
            self.arguments[index] = Joiner()
        call.call_id = call.call_id or call_id
        call.name = call.name or name
        self.arguments[index].add(arguments)

    def finish(self) -> Response:
        self.response.text = self.texts.value()
        self.response.reasoning = self.reasonings.value()
        for index, call in self.calls.items():
            call.arguments = self.arguments[index].value()
        self.response.tool_calls = [self.calls[i] for i in sorted(self.calls)]
        return self.response


class ColumnAssembler(Assembler):
    """A stream's: its text and reasoning are the columns' (every delta a chunk's dict gets,
    the assembler gets too, in the same order), kept once rather than twice."""

    def text(self, delta: str) -> None:
        pass

    def reasoning(self, delta: str) -> None:
        pass

    def finish_with(self, built: Chunks) -> Response:
        response = self.finish()
        response.text, response.reasoning = built.text, built.reasoning
        return response


def read_stream(recording: Recording, datas: Iterable[Any], keep_chunks: bool = True) -> None:
    """Chunks of chat completions, completions, Ollama and Gemini, in arrival order. Each
    chunk's dict goes into the columns as soon as it is read: none is kept."""
    out = ColumnAssembler()
    columns = Builder()
    epoch, stamps = False, set()
    for position, data in enumerate(datas):
        text = plain_text(data)
        if text is not None:
            columns.add_text(text)
            continue
        chunk: dict[str, Any] = {"i": position, "k": []}
        if not isinstance(data, dict):
            chunk["k"].append("other")
            columns.add(chunk)
            continue
        carried = chunk["k"]
        choices = data.get("choices")
        if choices:
            read_choice(choices[0] if isinstance(choices, list) else choices, chunk, out)
        if not RARE_KEYS.isdisjoint(data):
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


def plain_text(data: Any) -> str | None:
    """The text of a chunk that carries a piece of text and nothing else, as most chunks of a
    long stream do; None for any other chunk, which the general path below reads. What the
    general path makes of such a chunk (`{"i", "k": ["content"], "content"}`, the text added),
    without building its dict: a million chunks in 1.6 s of CPU instead of 2.3 s."""
    if type(data) is not dict or not RARE_KEYS.isdisjoint(data):
        return None
    choices = data.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") or "text" in choice:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or "parts" in delta or delta.get("role"):
        return None
    content = delta.get("content")
    if type(content) is not str or not content:
        return None
    if not DELTA_REST_KEYS.isdisjoint(delta) and (
        delta.get("tool_calls")
        or delta.get("reasoning_content")
        or delta.get("reasoning")
        or delta.get("thinking")
    ):
        return None
    return content


def read_rare(data: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    """What a chunk may carry besides `choices`: checked only when it has one of RARE_KEYS."""
    carried = chunk["k"]
    if data.get("prompt_filter_results"):
        carried.insert(0, "filter")  # before what its choices carried, as it was read first
    candidates = data.get("candidates")
    if candidates:
        read_choice(candidates[0] if isinstance(candidates, list) else candidates, chunk, out)
    if isinstance(data.get("message"), dict):  # Ollama chat
        read_delta(data["message"], chunk, out)
    if isinstance(data.get("response"), str) or isinstance(data.get("thinking"), str):
        read_delta({"content": data.get("response"), "thinking": data.get("thinking")}, chunk, out)
    if data.get("done") and data.get("done_reason"):
        chunk["finish"] = text_of(data["done_reason"])
        out.response.finish_reason = chunk["finish"]
    if not USAGE_KEYS.isdisjoint(data):
        usage = usage_of(data)
        if usage:
            chunk["usage"] = {k: v for k, v in usage.__dict__.items() if v is not None}
            out.usage = usage
    stamp = data.get("created_at") or data.get("create_time")
    if isinstance(stamp, str):
        chunk["t"] = stamp


def read_choice(choice: Any, chunk: dict[str, Any], out: Assembler) -> None:
    if not isinstance(choice, dict):
        return
    delta = choice.get("delta") or choice.get("message") or choice.get("content")
    if isinstance(delta, dict):
        if "parts" in delta:  # Gemini candidate content
            for part in gemini_parts(delta.get("parts")):
                key = "reasoning" if part["type"] == "reasoning" else "content"
                read_delta({key: part.get("text")}, chunk, out)
            calls = [
                p.get("function_call") or p.get("functionCall")
                for p in listify(delta.get("parts"))
                if isinstance(p, dict)
            ]
            for i, call in enumerate(c for c in calls if c):
                read_delta(
                    {
                        "tool_calls": [
                            {
                                "index": len(out.calls) + i,
                                "id": call.get("id"),
                                "function": {
                                    "name": call.get("name"),
                                    "arguments": call.get("args"),
                                },
                            }
                        ]
                    },
                    chunk,
                    out,
                )
            if delta.get("role"):
                read_delta({"role": delta["role"]}, chunk, out)
        else:
            read_delta(delta, chunk, out)
    if isinstance(choice.get("text"), str):  # completions
        read_delta({"content": choice["text"]}, chunk, out)
    finish = choice.get("finish_reason")
    if finish:
        chunk["finish"] = text_of(finish)
        out.response.finish_reason = chunk["finish"]


def read_delta(delta: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    carried = chunk["k"]
    role = delta.get("role")
    if role and "role" not in carried:
        chunk["role"] = text_of(role)
        out.response.role = out.response.role or chunk["role"]
        carried.append("role")
    content = delta.get("content")
    if isinstance(content, list):  # multi-part message content
        content = "".join(p.text for p in parts_of(content) if p.type == "text")
    if content and isinstance(content, str):
        if "content" in chunk:
            chunk["content"] += content
        else:
            chunk["content"] = content
            carried.append("content")
        out.text(content)
    if DELTA_REST_KEYS.isdisjoint(delta):
        return  # no reasoning, and no tool calls: most chunks end here
    reasoning = delta.get("reasoning_content") or delta.get("reasoning") or delta.get("thinking")
    if isinstance(reasoning, str) and reasoning:
        chunk["reasoning"] = chunk.get("reasoning", "") + reasoning
        out.reasoning(reasoning)
        if "reasoning" not in carried:
            carried.append("reasoning")
    calls = delta.get("tool_calls")
    for position, call in enumerate(listify(calls) if calls else ()):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = dumps(arguments)  # Ollama and Gemini send parsed arguments
        index = (
            call.get("index")
            if isinstance(call.get("index"), int) and not isinstance(call.get("index"), bool)
            else (len(out.calls) if call.get("id") or function.get("name") else position)
        )
        fragment = {
            "index": index,
            "id": text_of(call.get("id")),
            "name": text_of(function.get("name")),
            "args": arguments or "",
        }
        chunk.setdefault("tool", []).append(fragment)
        out.tool(index, fragment["id"], fragment["name"], fragment["args"])
        if "tool" not in carried:
            carried.append("tool")
