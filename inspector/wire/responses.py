"""OpenAI Responses (`/v1/responses`): `instructions` and `input` items (messages, function
calls and their outputs), a whole response's `output` items, and its event stream
(`response.output_text.delta`, `response.function_call_arguments.delta`, ...). Calls are known
by their `call_id` (what a `function_call_output` answers), not their item `id`."""

from __future__ import annotations

from typing import Any

from inspector.wire.assembly import Assembler, merge_usage, read_delta, tool_delta
from inspector.wire.common import created_of, dumps, listify, text_of, usage_of
from inspector.wire.content import Thread
from inspector.wire.types import Recording, ToolCall

TEXT_DELTAS = ("response.output_text.delta", "response.refusal.delta")
REASONING_DELTAS = (
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
)
ENDS = ("response.completed", "response.incomplete", "response.failed")


def is_response(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("object") == "response"
        and isinstance(data.get("output"), list)
    )


# --------------------------------------------------------------------------- requests


def read_input(recording: Recording, body: dict[str, Any], thread: Thread) -> None:
    """`input` as llama-stack recordings hold it (embeddings' texts, Gemini Interactions' and
    Responses' turns): items with a role are messages, anything else a user's text."""
    value = body["input"]
    if recording.endpoint.endswith("embeddings"):
        recording.details["input_count"] = len(value) if isinstance(value, list) else 1
    inputs = value if isinstance(value, list) else [value]
    for item in inputs[:50] if isinstance(value, list) else inputs:
        if isinstance(item, dict) and "role" in item:
            thread.add(text_of(item["role"]), item.get("content"))
        else:
            thread.add("user", item if isinstance(item, str) else dumps(item))


def read_request(body: dict[str, Any], thread: Thread) -> None:
    """A Responses request as the API defines it: calls and their outputs are items of their
    own, each made a message so that calls and answers link up."""
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        thread.add("system", body["instructions"])
    value = body.get("input")
    for item in value if isinstance(value, list) else listify(value):
        if not isinstance(item, dict):
            thread.add("user", item if isinstance(item, str) else dumps(item))
            continue
        kind = item.get("type")
        if "role" in item:
            thread.add(text_of(item["role"]), item.get("content"))
        elif kind == "function_call":
            message = thread.add("assistant")
            message.tool_calls = [call_of(item, 0, message.index)]
        elif kind == "function_call_output":
            output = item.get("output")
            output = output if isinstance(output, str | list) else dumps(output)
            message = thread.add("tool", output)
            message.tool_call_id = text_of(item.get("call_id"))
        elif kind == "reasoning":
            thread.add("assistant", reasoning=summary_of(item))
        else:
            thread.add("user", dumps(item))


def call_of(item: dict[str, Any], index: int, message_index: int | None) -> ToolCall:
    arguments = item.get("arguments")
    return ToolCall(
        call_id=text_of(item.get("call_id") or item.get("id")),
        name=text_of(item.get("name")),
        arguments=arguments if isinstance(arguments, str) else dumps(arguments or {}),
        index=index,
        message_index=message_index,
    )


def summary_of(item: dict[str, Any]) -> str:
    return "\n".join(
        text_of(part.get("text"))
        for part in listify(item.get("summary") or item.get("content"))
        if isinstance(part, dict)
    )


# --------------------------------------------------------------------------- responses


def read_response(recording: Recording, data: dict[str, Any]) -> None:
    """A whole response: its `output` items in order."""
    out = Assembler()
    for index, item in enumerate(data["output"]):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            out.response.role = out.response.role or text_of(item.get("role"))
            for part in listify(item.get("content")):
                if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
                    out.text(text_of(part.get("text") or part.get("refusal")))
        elif kind == "reasoning":
            out.reasoning(summary_of(item))
        elif kind == "function_call":
            call = call_of(item, index, None)
            out.tool(index, call.call_id, call.name, call.arguments)
    out.response.finish_reason = text_of(data.get("status"))
    recording.response = out.finish()
    recording.usage = usage_of(data)
    recording.created = created_of(data)


def read_event(
    data: dict[str, Any], chunk: dict[str, Any], out: Assembler, items: dict[int, str]
) -> None:
    """One event's data. `items` holds the type of each output item by its index."""
    kind = text_of(data.get("type"))
    index = data.get("output_index") if isinstance(data.get("output_index"), int) else 0
    if kind == "error" or kind == "response.error":
        chunk["k"].append("error")
    item = data.get("item")
    if kind == "response.output_item.added" and isinstance(item, dict):
        items[index] = text_of(item.get("type"))
        if item.get("role"):
            read_delta({"role": item["role"]}, chunk, out)
        if item.get("type") == "function_call":
            call_id = item.get("call_id") or item.get("id")
            arguments = item.get("arguments") if isinstance(item.get("arguments"), str) else ""
            read_delta(tool_delta(index, call_id, item.get("name"), arguments), chunk, out)
    summary = data.get("summary_index")
    if kind == "response.reasoning_summary_part.added" and isinstance(summary, int) and summary:
        read_delta({"reasoning": "\n"}, chunk, out)  # parts apart, as `summary_of` joins them
    delta = data.get("delta")
    if kind in TEXT_DELTAS and isinstance(delta, str):
        read_delta({"content": delta}, chunk, out)
    elif kind in REASONING_DELTAS and isinstance(delta, str):
        read_delta({"reasoning": delta}, chunk, out)
    elif kind == "response.function_call_arguments.delta" and isinstance(delta, str):
        read_delta(tool_delta(index, None, None, delta), chunk, out)
    response = data.get("response")
    if kind in ENDS and isinstance(response, dict):
        chunk["finish"] = text_of(response.get("status"))
        out.response.finish_reason = chunk["finish"]
        chunk["k"].append("finish")
        usage = usage_of(response)
        if usage:
            merge_usage(out, usage, chunk)
