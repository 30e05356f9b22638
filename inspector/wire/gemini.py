"""Gemini and Vertex AI (`generateContent`, `streamGenerateContent`, and the Python SDK's
snake_case of the same): `contents` of `parts`, `system_instruction`, function declarations,
and response candidates, whole or streamed. Gemini Interactions event streams share Anthropic's
event layout and are read by `inspector.wire.anthropic.read_event` (names below)."""

from __future__ import annotations

from typing import Any

from inspector.wire.assembly import Assembler, read_delta, tool_delta
from inspector.wire.common import dumps, listify, text_of
from inspector.wire.content import Thread
from inspector.wire.types import ToolCall

# Gemini Interactions' names for Anthropic's events and block and delta types.
INTERACTION_BLOCK_START = "content.start"
INTERACTION_COMPLETE = "interaction.complete"
INTERACTION_TOOL = "function_call"
INTERACTION_TEXT = "text"
INTERACTION_THOUGHTS = ("thought", "thought_summary")


def gemini_parts(parts: Any) -> list[dict[str, Any]]:
    """Gemini parts as OpenAI-style parts."""
    if isinstance(parts, str):
        return [{"type": "text", "text": parts}]
    if isinstance(parts, dict):
        parts = parts.get("parts", [parts])
    converted: list[dict[str, Any]] = []
    for part in listify(parts):
        if not isinstance(part, dict):
            converted.append({"type": "text", "text": text_of(part)})
        elif "text" in part:
            kind = "reasoning" if part.get("thought") else "text"
            converted.append({"type": kind, "text": part["text"]})
        elif isinstance(part.get("inline_data") or part.get("inlineData"), dict):
            inline = part.get("inline_data") or part.get("inlineData")
            mime = text_of(inline.get("mime_type") or inline.get("mimeType"))
            converted.append(
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": mime,
                        "data": text_of(inline.get("data")),
                    },
                }
            )
        elif part.get("function_response") or part.get("functionResponse"):
            answer = part.get("function_response") or part.get("functionResponse")
            response = answer.get("response") if isinstance(answer, dict) else answer
            converted.append({"type": "text", "text": dumps(response)})
        elif part.get("function_call") or part.get("functionCall"):
            continue
        else:
            converted.append({"type": "unknown", "value": part})
    return converted


def function_calls(parts: Any) -> list[Any]:
    """The `function_call` / `functionCall` of each part that has one (any value)."""
    return [
        part.get("function_call") or part.get("functionCall")
        for part in listify(parts)
        if isinstance(part, dict)
    ]


# --------------------------------------------------------------------------- requests


def read_system_instruction(body: dict[str, Any], config: dict[str, Any], thread: Thread) -> None:
    instruction = body.get("system_instruction") or config.get("system_instruction")
    if instruction:
        thread.add("system", gemini_parts(instruction))


def read_contents(body: dict[str, Any], thread: Thread) -> None:
    for turn in listify(body.get("contents")):
        if isinstance(turn, dict):
            role = text_of(turn.get("role", "user"))
            message = thread.add(
                {"model": "assistant"}.get(role, role), gemini_parts(turn.get("parts"))
            )
            # Calls have no id before Gemini 3: one made of the name and where it is.
            message.tool_calls = [
                ToolCall(
                    call_id=text_of(call.get("id")) or f"{call.get('name')}#{message.index}.{i}",
                    name=text_of(call.get("name")),
                    arguments=dumps(call.get("args") or {}),
                    index=i,
                    message_index=message.index,
                )
                for i, call in enumerate(
                    c for c in function_calls(turn.get("parts")) if isinstance(c, dict)
                )
            ]
        elif isinstance(turn, str):
            thread.add("user", turn)


def declarations(tool: dict[str, Any]) -> Any:
    """A tool's function declarations, or None when it is not a Gemini tool."""
    if "function_declarations" in tool or "functionDeclarations" in tool:
        return tool.get("function_declarations") or tool.get("functionDeclarations") or []
    return None


# --------------------------------------------------------------------------- candidates


def read_content(content: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    """A candidate's `content` (whole, or a streamed piece of it)."""
    for part in gemini_parts(content.get("parts")):
        key = "reasoning" if part["type"] == "reasoning" else "content"
        read_delta({key: part.get("text")}, chunk, out)
    calls = function_calls(content.get("parts"))
    for i, call in enumerate(c for c in calls if isinstance(c, dict) and c):
        read_delta(
            tool_delta(len(out.calls) + i, call.get("id"), call.get("name"), call.get("args")),
            chunk,
            out,
        )
    if content.get("role"):
        read_delta({"role": content["role"]}, chunk, out)
