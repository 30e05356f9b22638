"""Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed[dings]`, `/api/pull`): base64
`images` beside the text, chunks that carry a `message` (chat) or a `response` piece
(generate), `done_reason`, and pull progress. Its token counts (`prompt_eval_count`,
`eval_count`) are read by `usage_of`."""

from __future__ import annotations

from typing import Any

from inspector.wire.assembly import Assembler, read_delta
from inspector.wire.common import listify, text_of
from inspector.wire.content import Thread, parts_of
from inspector.wire.types import Recording


def with_images(raw: dict[str, Any], content: Any) -> Any:
    """A chat message's content with its base64 `images` as image parts after it."""
    if raw.get("images"):
        images = listify(raw["images"])
        return [content, *({"type": "image", "b64": image} for image in images)]
    return content


def read_prompt_images(body: dict[str, Any], thread: Thread) -> None:
    """`/api/generate`'s images, on the prompt's message."""
    if body.get("images") and thread.messages:
        images = listify(body["images"])
        thread.messages[-1].parts += parts_of([{"type": "image", "b64": i} for i in images])


def read_chunk(data: dict[str, Any], chunk: dict[str, Any], out: Assembler) -> None:
    """What a chat or generate chunk (or whole response) carries."""
    if isinstance(data.get("message"), dict):  # chat
        read_delta(data["message"], chunk, out)
    if isinstance(data.get("response"), str) or isinstance(data.get("thinking"), str):
        read_delta({"content": data.get("response"), "thinking": data.get("thinking")}, chunk, out)
    if data.get("done") and data.get("done_reason"):
        chunk["finish"] = text_of(data["done_reason"])
        out.response.finish_reason = chunk["finish"]


def read_status(recording: Recording, data: dict[str, Any]) -> None:
    """`/api/pull` progress: its status is all it says."""
    if isinstance(data.get("status"), str) and not data.get("choices"):
        recording.response.text = data["status"]
