"""Amazon Bedrock Converse (`/model/{id}/converse`, `/converse-stream`): content blocks keyed by
what they are (`{"text"}`, `{"image"}`, `{"toolUse"}`, `{"toolResult"}`,
`{"reasoningContent"}`), `toolConfig`, the `output.message` of a response, and the stream's
events, which arrive in AWS's binary event-stream framing rather than as SSE."""

from __future__ import annotations

import struct
from typing import Any

from inspector.wire.assembly import Assembler, merge_usage, read_delta, tool_delta
from inspector.wire.common import dumps, listify, text_of, usage_of
from inspector.wire.content import Thread
from inspector.wire.types import Recording, ToolCall, ToolDef

# An event-stream message: total length, headers length, prelude CRC, headers, payload, CRC.
PRELUDE = struct.Struct(">III")
STRING_HEADER = 7  # the header value type of `:event-type`, `:message-type`, ...


def is_converse(data: Any) -> bool:
    output = data.get("output") if isinstance(data, dict) else None
    return isinstance(output, dict) and isinstance(output.get("message"), dict)


# --------------------------------------------------------------------------- requests


def parts_of_blocks(blocks: Any) -> list[dict[str, Any]]:
    """Converse blocks as OpenAI-style parts (images summarised by `parts_of`, never copied)."""
    parts: list[dict[str, Any]] = []
    for block in listify(blocks):
        if not isinstance(block, dict):
            parts.append({"type": "text", "text": text_of(block)})
        elif "text" in block:
            parts.append({"type": "text", "text": text_of(block["text"])})
        elif isinstance(block.get("image"), dict):
            image = block["image"]
            source = image.get("source") if isinstance(image.get("source"), dict) else {}
            media = f"image/{text_of(image.get('format'))}"
            data = text_of(source.get("bytes"))
            parts.append(
                {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
            )
        elif isinstance(block.get("toolResult"), dict):
            inner = [
                item.get("text") if "text" in item else dumps(item.get("json"))
                for item in listify(block["toolResult"].get("content"))
                if isinstance(item, dict)
            ]
            parts.append({"type": "text", "text": "\n".join(text_of(i) for i in inner)})
        elif isinstance(block.get("reasoningContent"), dict):
            parts.append({"type": "reasoning", "text": reasoning_of(block["reasoningContent"])})
        elif "toolUse" in block:
            continue  # shown as a tool call
        else:
            name = next(iter(block), "unknown")  # document, video, guardContent, cachePoint...
            parts.append({"type": text_of(name), "text": ""})
    return parts


def reasoning_of(content: dict[str, Any]) -> str:
    reasoning = content.get("reasoningText")
    return text_of(reasoning.get("text") if isinstance(reasoning, dict) else reasoning)


def read_request(body: dict[str, Any], thread: Thread) -> list[ToolDef]:
    """The messages into `thread`; the tools returned."""
    system = [b for b in listify(body.get("system")) if isinstance(b, dict) and "text" in b]
    if system:
        thread.add("system", parts_of_blocks(system))
    for raw in listify(body.get("messages")):
        if not isinstance(raw, dict):
            continue
        content = raw.get("content")
        message = thread.add(text_of(raw.get("role")) or "unknown", parts_of_blocks(content))
        blocks = [b for b in listify(content) if isinstance(b, dict)]
        message.tool_calls = [
            call_of(block["toolUse"], i, message.index)
            for i, block in enumerate(b for b in blocks if isinstance(b.get("toolUse"), dict))
        ]
        answers = [
            text_of(b["toolResult"].get("toolUseId"))
            for b in blocks
            if isinstance(b.get("toolResult"), dict)
        ]
        if answers:
            message.answers, message.tool_call_id = answers, answers[0]
    config = body.get("toolConfig") if isinstance(body.get("toolConfig"), dict) else {}
    tools = []
    for tool in listify(config.get("tools")):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict):
            schema = spec.get("inputSchema")
            tools.append(
                ToolDef(
                    name=text_of(spec.get("name")),
                    description=text_of(spec.get("description")),
                    parameters=schema.get("json") if isinstance(schema, dict) else schema,
                )
            )
    return tools


def call_of(use: dict[str, Any], index: int, message_index: int | None) -> ToolCall:
    arguments = use.get("input")
    return ToolCall(
        call_id=text_of(use.get("toolUseId")),
        name=text_of(use.get("name")),
        arguments=arguments if isinstance(arguments, str) else dumps(arguments or {}),
        index=index,
        message_index=message_index,
    )


# --------------------------------------------------------------------------- responses


def read_response(recording: Recording, data: dict[str, Any]) -> None:
    message = data["output"]["message"]
    out = Assembler()
    out.response.role = text_of(message.get("role"))
    for index, block in enumerate(listify(message.get("content"))):
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            out.text(block["text"])
        elif isinstance(block.get("reasoningContent"), dict):
            out.reasoning(reasoning_of(block["reasoningContent"]))
        elif isinstance(block.get("toolUse"), dict):
            call = call_of(block["toolUse"], index, None)
            out.tool(index, call.call_id, call.name, call.arguments)
    out.response.finish_reason = text_of(data.get("stopReason"))
    recording.response = out.finish()
    recording.usage = usage_of(data)


def events_of(body: bytes) -> list[dict[str, Any]]:
    """The messages of a binary event stream as `sse_events` gives SSE's: `{"event", "data",
    "first", "last"}`, first and last being byte offsets. Stops at the first frame that does
    not fit (a truncated body keeps the events before it)."""
    events: list[dict[str, Any]] = []
    at = 0
    while at + PRELUDE.size <= len(body):
        total, headers_length, _ = PRELUDE.unpack_from(body, at)
        end = at + total
        if total < PRELUDE.size + headers_length + 4 or end > len(body):
            break
        headers = headers_of(body[at + PRELUDE.size : at + PRELUDE.size + headers_length])
        payload = body[at + PRELUDE.size + headers_length : end - 4]
        name = headers.get(":event-type") or headers.get(":exception-type") or "message"
        data = payload.decode("utf-8", "replace")
        events.append({"event": name, "data": data, "first": at, "last": end - 1})
        at = end
    return events


def headers_of(raw: bytes) -> dict[str, str]:
    """The string headers of one message (the others are skipped by their known sizes)."""
    sizes = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
    headers: dict[str, str] = {}
    at = 0
    while at < len(raw):
        length = raw[at]
        name = raw[at + 1 : at + 1 + length].decode("utf-8", "replace")
        at += 1 + length
        if at >= len(raw):
            break
        kind = raw[at]
        at += 1
        if kind in (6, STRING_HEADER):  # bytes, string: a 2-byte length first
            size = int.from_bytes(raw[at : at + 2], "big")
            value = raw[at + 2 : at + 2 + size]
            if kind == STRING_HEADER:
                headers[name] = value.decode("utf-8", "replace")
            at += 2 + size
        elif kind in sizes:
            at += sizes[kind]
        else:
            break
    return headers


def read_event(
    data: dict[str, Any], chunk: dict[str, Any], out: Assembler, blocks: dict[int, str]
) -> None:
    """One converse-stream event's payload (its name is the chunk's `event`)."""
    event = chunk["event"]
    index = data.get("contentBlockIndex")
    index = index if isinstance(index, int) and not isinstance(index, bool) else 0
    if event == "messageStart" and data.get("role"):
        read_delta({"role": data["role"]}, chunk, out)
    start = data.get("start")
    if event == "contentBlockStart" and isinstance(start, dict):
        use = start.get("toolUse")
        if isinstance(use, dict):
            blocks[index] = "toolUse"
            read_delta(tool_delta(index, use.get("toolUseId"), use.get("name"), ""), chunk, out)
    delta = data.get("delta")
    if event == "contentBlockDelta" and isinstance(delta, dict):
        if isinstance(delta.get("text"), str):
            read_delta({"content": delta["text"]}, chunk, out)
        elif isinstance(delta.get("reasoningContent"), dict):
            text = delta["reasoningContent"].get("text")
            read_delta({"reasoning": text if isinstance(text, str) else ""}, chunk, out)
        elif isinstance(delta.get("toolUse"), dict):
            arguments = delta["toolUse"].get("input")
            read_delta(tool_delta(index, None, None, text_of(arguments)), chunk, out)
    if event == "messageStop" and data.get("stopReason"):
        chunk["finish"] = text_of(data["stopReason"])
        out.response.finish_reason = chunk["finish"]
        chunk["k"].append("finish")
    if event == "metadata":
        usage = usage_of(data)
        if usage:
            merge_usage(out, usage, chunk)
    if event.endswith("Exception"):
        chunk["k"].append("error")
