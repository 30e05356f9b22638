"""Anthropic Messages (`/v1/messages`): the `system` field, `tool_use` and `tool_result` content
blocks, a whole response's blocks, and the event stream (`message_start`, `content_block_*`,
`message_delta`), which Gemini Interactions streams share under other names."""

from __future__ import annotations

from typing import Any

from inspector.wire import gemini
from inspector.wire.assembly import Assembler, merge_usage, read_delta, tool_delta
from inspector.wire.common import dumps, listify, text_of, usage_of
from inspector.wire.content import Thread
from inspector.wire.types import Message, Recording, ToolCall

BLOCK_STARTS = ("content_block_start", gemini.INTERACTION_BLOCK_START)
TOOL_BLOCKS = ("tool_use", gemini.INTERACTION_TOOL)
TEXT_DELTAS = ("text_delta", gemini.INTERACTION_TEXT)
THINKING_DELTAS = ("thinking_delta", *gemini.INTERACTION_THOUGHTS)


def read_system(body: dict[str, Any], thread: Thread) -> None:
    system = body.get("system")
    if isinstance(system, str | list) and system:
        thread.add("system", system)


def read_blocks_of(content: Any, message: Message) -> None:
    """A request message's `tool_use` blocks (its calls) and `tool_result` blocks (the calls it
    answers)."""
    if not isinstance(content, list):
        return
    message.tool_calls += [
        ToolCall(
            call_id=text_of(block.get("id")),
            name=text_of(block.get("name")),
            arguments=dumps(block.get("input")),
            index=i,
            message_index=message.index,
        )
        for i, block in enumerate(content)
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]
    results = [
        text_of(block.get("tool_use_id"))
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    if results:
        message.answers = results
        message.tool_call_id = message.tool_call_id or results[0]


def read_blocks(recording: Recording, data: dict[str, Any]) -> None:
    """A whole response's content blocks (Anthropic's `content`, and Gemini Interactions'
    `outputs`, blocks of the same kind)."""
    out = Assembler()
    out.response.role = text_of(data.get("role"))
    for index, block in enumerate(listify(data.get("content") or data.get("outputs"))):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.text(text_of(block.get("text")))
        elif kind in ("thinking", "thought"):
            out.reasoning(text_of(block.get("thinking") or block.get("text")))
        elif kind in ("tool_use", "function_call"):
            arguments = block.get("input", block.get("arguments"))
            out.tool(
                index,
                text_of(block.get("id")),
                text_of(block.get("name")),
                arguments if isinstance(arguments, str) else dumps(arguments or {}),
            )
    out.response.finish_reason = text_of(data.get("stop_reason") or data.get("status"))
    recording.response = out.finish()


def read_event(
    data: dict[str, Any], chunk: dict[str, Any], out: Assembler, block_types: dict[int, str]
) -> None:
    """One event's data (Anthropic's, or Gemini Interactions')."""
    kind = text_of(data.get("type") or data.get("event_type"))  # a file may hold any type
    index = data.get("index") if isinstance(data.get("index"), int) else 0
    message = data.get("message") or data.get("interaction")
    if isinstance(message, dict):
        if message.get("role"):
            read_delta({"role": message["role"]}, chunk, out)
        usage = usage_of(message)
        if usage:
            merge_usage(out, usage, chunk)
    if kind == "error" or (kind.endswith("error") and isinstance(data.get("error"), dict)):
        chunk["k"].append("error")
    block = data.get("content_block") or data.get("content")
    if kind in BLOCK_STARTS and isinstance(block, dict):
        block_types[index] = text_of(block.get("type"))
        if block.get("type") in TOOL_BLOCKS:
            read_delta(tool_delta(index, block.get("id"), block.get("name"), ""), chunk, out)
    delta = data.get("delta")
    if isinstance(delta, dict):
        dtype = delta.get("type")
        if dtype in TEXT_DELTAS:
            read_delta({"content": delta.get("text")}, chunk, out)
        elif dtype in THINKING_DELTAS:
            text = delta.get("thinking") or delta.get("text") or delta.get("content")
            read_delta({"reasoning": text if isinstance(text, str) else ""}, chunk, out)
        elif dtype == "input_json_delta":
            arguments = delta.get("partial_json") or ""
            read_delta(tool_delta(index, None, None, arguments), chunk, out)
        elif dtype == gemini.INTERACTION_TOOL:
            read_delta(
                tool_delta(index, delta.get("id"), delta.get("name"), delta.get("arguments")),
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
    if kind == gemini.INTERACTION_COMPLETE and isinstance(message, dict):
        chunk["finish"] = text_of(message.get("status"))
        out.response.finish_reason = chunk["finish"]
        chunk["k"].append("finish")
