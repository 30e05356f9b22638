"""The dispatchers: a request body or one response object of any API, handed to the readers
of the APIs whose fields it has. A body is read by every reader whose fields it holds, in one
order, so that a body no API would send (or one a proxy mixed) still shows all it says."""

from __future__ import annotations

from typing import Any

from inspector.wire import anthropic, gemini, ollama, openai_chat, responses
from inspector.wire.common import listify, text_of, usage_of
from inspector.wire.content import Thread
from inspector.wire.streams import read_stream
from inspector.wire.types import Recording, ToolCall, ToolDef

# --------------------------------------------------------------------------- request bodies


def read_body(recording: Recording, body: dict[str, Any]) -> None:
    thread = Thread()
    anthropic.read_system(body, thread)
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    gemini.read_system_instruction(body, config, thread)
    openai_chat.read_messages(body, thread)
    gemini.read_contents(body, thread)
    if "prompt" in body:  # completions and Ollama generate
        openai_chat.read_prompt(body, thread)
        ollama.read_prompt_images(body, thread)
    if "input" in body:  # embeddings, interactions
        responses.read_input(recording, body, thread)
    recording.messages = thread.messages
    recording.tools = tool_defs(body.get("tools") or config.get("tools"))


def tool_defs(tools: Any) -> list[ToolDef]:
    """OpenAI's (`{"function": {...}}`, or flat as Responses has them), Anthropic's
    (`input_schema`) and Gemini's (`function_declarations`)."""
    found: list[ToolDef] = []
    for tool in listify(tools):
        if not isinstance(tool, dict):
            continue
        declarations = gemini.declarations(tool)
        if declarations is not None:
            found += tool_defs(declarations)
            continue
        spec = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        name = spec.get("name") or spec.get("type") or tool.get("type")
        found.append(
            ToolDef(
                name=text_of(name),
                description=text_of(spec.get("description")),
                parameters=spec.get("parameters", spec.get("input_schema")),
            )
        )
    return found


def link_tool_results(recording: Recording) -> None:
    """Point every call at the message that answers it (by id; Gemini and Ollama by name)."""
    calls = recording.tool_calls
    by_id = {call.call_id: call for call in calls if call.call_id}
    pending_by_name: dict[str, list[ToolCall]] = {}
    for call in calls:
        pending_by_name.setdefault(call.name, []).append(call)
    for message in recording.messages:
        ids = message.answers or [message.tool_call_id]
        answered = False
        for call_id in ids:
            call = by_id.get(call_id) if call_id else None
            if call and call.answered_by is None:
                call.answered_by = message.index
                answered = True
        if answered or message.role not in ("tool", "function", "ipython"):
            continue
        # No id (Ollama, Gemini): the next unanswered call of that name, made before this message.
        for call in pending_by_name.get(message.name, []) or calls:
            if call.answered_by is None and (call.message_index or 0) < message.index:
                call.answered_by = message.index
                break


# --------------------------------------------------------------------------- responses


def read_single(recording: Recording, data: Any) -> None:
    """One non-streamed response object."""
    if not isinstance(data, dict):
        recording.response.text = text_of(data)
        return
    recording.usage = usage_of(data)
    if "data" in data and isinstance(data["data"], list) and data.get("object") == "list":
        read_embeddings(
            recording, [item.get("embedding") for item in data["data"] if isinstance(item, dict)]
        )
        return
    if "embeddings" in data or "embedding" in data:  # Ollama
        vectors = data.get("embeddings") or [data.get("embedding")]
        read_embeddings(recording, listify(vectors))  # a file may hold anything there
        return
    if data.get("type") == "message" or isinstance(data.get("outputs"), list):
        anthropic.read_blocks(recording, data)  # Anthropic messages, Gemini interactions
        return
    if responses.is_response(data):
        responses.read_response(recording, data)
        return
    # A single object is assembled exactly like a one-chunk stream.
    read_stream(recording, [data], keep_chunks=False)
    if recording.response.text or recording.response.tool_calls or recording.response.reasoning:
        return
    ollama.read_status(recording, data)


def read_embeddings(recording: Recording, vectors: list[Any]) -> None:
    vectors = [v for v in vectors if v is not None]
    recording.embedding_count = len(vectors)
    first = vectors[0] if vectors else None
    if isinstance(first, list):
        recording.embedding_dims = len(first)
        recording.details["first_values"] = first[:8]
    elif isinstance(first, str):  # encoding_format=base64: float32 values
        recording.embedding_dims = len(first) * 3 // 4 // 4


def read_models(recording: Recording, datas: list[Any]) -> None:
    """A model listing: OpenAI's `Model` objects, or Ollama's `models` (tags, ps)."""
    models: list[dict[str, Any]] = []
    for data in datas:
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("models"), list):  # Ollama ListResponse / ProcessResponse
            for model in data["models"]:
                if isinstance(model, dict):
                    models.append(
                        {
                            "id": text_of(model.get("model") or model.get("name")),
                            "owned_by": "",
                            "size": model.get("size"),
                            "details": model.get("details"),
                        }
                    )
        else:
            models.append(
                {
                    "id": text_of(data.get("id")),
                    "owned_by": text_of(data.get("owned_by")),
                    "created": data.get("created"),
                    "metadata": data.get("custom_metadata") or data.get("metadata"),
                }
            )
    recording.listed_models = models
