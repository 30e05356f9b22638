"""OpenAI chat completions and completions, and the many hosts that speak them (Azure, Groq,
Mistral, OpenRouter, Together, vLLM, Ollama's `/v1`...): `messages` with `tool_calls` and
`tool` answers, `prompt`, and `choices`, whole (`message`) or streamed (`delta`)."""

from __future__ import annotations

from typing import Any

from inspector.wire import anthropic, gemini, ollama
from inspector.wire.assembly import DELTA_REST_KEYS, Assembler, read_delta
from inspector.wire.common import dumps, listify, text_of
from inspector.wire.content import Thread
from inspector.wire.types import ToolCall

# Keys of a chunk other than `choices` that some API reads (see `streams.read_rare`): a chunk
# with none of them is a plain chat chunk.
USAGE_KEYS = frozenset(
    ("usage", "usage_metadata", "usageMetadata", "prompt_eval_count", "eval_count")
)
RARE_KEYS = USAGE_KEYS | {
    "prompt_filter_results", "candidates", "message", "response", "thinking", "done",
    "created_at", "create_time",
}  # fmt: skip
# OpenAI's chunks carry `"usage": null` but the last: only a usage that is there is rare.
RARE_BUT_USAGE = RARE_KEYS - {"usage"}


def carries_rare(data: dict[str, Any]) -> bool:
    """Whether a chunk has anything besides `choices` to read (`read_rare`). `usage: null` in
    every chunk sent every OpenAI chunk down the slow path: ~30% of parsing a stream."""
    return data.get("usage") is not None or not RARE_BUT_USAGE.isdisjoint(data)


# --------------------------------------------------------------------------- requests


def read_messages(body: dict[str, Any], thread: Thread) -> None:
    """`messages`: OpenAI's, and the same list as Anthropic (blocks) and Ollama (images) send it."""
    for raw in listify(body.get("messages")):
        if not isinstance(raw, dict):
            thread.add("unknown", raw)
            continue
        role = text_of(raw.get("role")) or "unknown"
        content = ollama.with_images(raw, raw.get("content"))
        message = thread.add(
            role,
            content,
            name=text_of(raw.get("name") or raw.get("tool_name")),
            tool_call_id=text_of(raw.get("tool_call_id")),
            reasoning=text_of(raw.get("reasoning_content") or raw.get("reasoning")),
        )
        message.tool_calls = openai_tool_calls(raw.get("tool_calls"), message.index)
        anthropic.read_blocks_of(content, message)


def read_prompt(body: dict[str, Any], thread: Thread) -> None:
    """Completions' (and Ollama generate's) `prompt`: a text, or a list of them."""
    for prompt in listify(body["prompt"]):
        thread.add("user", prompt if isinstance(prompt, str) else dumps(prompt))


def openai_tool_calls(calls: Any, message_index: int | None) -> list[ToolCall]:
    found: list[ToolCall] = []
    for position, call in enumerate(listify(calls)):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else call
        arguments = function.get("arguments")
        found.append(
            ToolCall(
                call_id=text_of(call.get("id") or call.get("call_id")),
                name=text_of(function.get("name")),
                arguments=arguments if isinstance(arguments, str) else dumps(arguments or {}),
                index=call.get("index", position)
                if isinstance(call.get("index"), int)
                else position,
                message_index=message_index,
            )
        )
    return found


# --------------------------------------------------------------------------- chunks


def plain_text(data: Any) -> str | None:
    """The text of a chunk that carries a piece of text and nothing else, as most chunks of a
    long stream do; None for any other chunk, which the general path reads. What the general
    path makes of such a chunk (`{"i", "k": ["content"], "content"}`, the text added), without
    building its dict: a million chunks in 1.6 s of CPU instead of 2.3 s."""
    if type(data) is not dict or carries_rare(data):
        return None
    choices = data.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or "text" in choice:
        return None
    if choice.get("finish_reason") or choice.get("finishReason"):
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


def read_choice(choice: Any, chunk: dict[str, Any], out: Assembler) -> None:
    """A choice (its `delta`, or a whole `message`), or a Gemini candidate (its `content`)."""
    if not isinstance(choice, dict):
        return
    delta = choice.get("delta") or choice.get("message") or choice.get("content")
    if isinstance(delta, dict):
        if "parts" in delta:
            gemini.read_content(delta, chunk, out)
        else:
            read_delta(delta, chunk, out)
    if isinstance(choice.get("text"), str):  # completions
        read_delta({"content": choice["text"]}, chunk, out)
    finish = choice.get("finish_reason") or choice.get("finishReason")  # Gemini's REST API
    if finish:
        chunk["finish"] = text_of(finish)
        out.response.finish_reason = chunk["finish"]
