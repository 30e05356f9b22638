"""A response put together delta by delta, as a client does, whatever API the deltas came from:
each API's reader turns its chunks or events into `read_delta` calls (role, content,
reasoning, tool-call fragments), which fill the chunk's dict for the columns
(`inspector.chunks`) and the assembler at once.

Every step is linear in the stream: text, reasoning and tool-call arguments are collected as
pieces and joined once (`+=` on them made a 1,000,000-chunk stream take 51 s)."""

from __future__ import annotations

from typing import Any

from inspector.chunks import Chunks, Joiner
from inspector.wire.common import dumps, listify, text_of
from inspector.wire.content import parts_of
from inspector.wire.types import Response, ToolCall, Usage

# Keys of a delta past its role and content.
DELTA_REST_KEYS = frozenset(("reasoning_content", "reasoning", "thinking", "tool_calls"))


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


def read_delta(delta: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    carried = chunk["k"]
    role = delta.get("role")
    if role and "role" not in carried:
        chunk["role"] = text_of(role)
        out.response.role = out.response.role or chunk["role"]
        carried.append("role")
    content = delta.get("content")
    if content is None and "refusal" in delta:  # OpenAI's refusal: the text the user sees
        content = delta["refusal"]
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


def tool_delta(index: Any, call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A delta of one tool-call fragment, for the APIs that send calls in other shapes."""
    return {
        "tool_calls": [
            {"index": index, "id": call_id, "function": {"name": name, "arguments": arguments}}
        ]
    }


def merge_usage(out: Assembler, usage: Usage, chunk: dict[str, Any]) -> None:
    """Event streams report input tokens at the start and output tokens at the end."""
    for name, value in usage.__dict__.items():
        if value is not None:
            setattr(out.usage, name, value)
    if out.usage.prompt is not None and out.usage.completion is not None:
        out.usage.total = max(out.usage.total or 0, out.usage.prompt + out.usage.completion)
    chunk["usage"] = {k: v for k, v in usage.__dict__.items() if v is not None}
    if "usage" not in chunk["k"]:
        chunk["k"].append("usage")
