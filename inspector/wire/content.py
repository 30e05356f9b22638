"""Message content as parts (OpenAI's content parts, Anthropic's blocks, Ollama's base64
images), and the list of messages a request body is read into."""

from __future__ import annotations

from typing import Any

from inspector.wire.common import DATA_URL, dumps, text_of
from inspector.wire.types import Message, Part


class Thread:
    """The messages of one request, in the order the body's readers add them."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def add(self, role: str, content: Any = None, **extra: Any) -> Message:
        message = Message(index=len(self.messages), role=role, **extra)
        message.parts = parts_of(content)
        message.text = "\n".join(p.text for p in message.parts if p.text and p.type == "text")
        self.messages.append(message)
        return message


def parts_of(content: Any) -> list[Part]:
    """Multi-part content as parts; images summarised, never copied."""
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(type="text", text=content)]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [Part(type="text", text=dumps(content))]
    parts: list[Part] = []
    for item in content:
        if item is None:
            continue
        if isinstance(item, str):
            parts.append(Part(type="text", text=item))
            continue
        if not isinstance(item, dict):
            parts.append(Part(type="text", text=dumps(item)))
            continue
        kind = text_of(item.get("type"))
        if kind in ("text", "input_text", "output_text") or (not kind and "text" in item):
            parts.append(Part(type="text", text=text_of(item.get("text"))))
        elif kind in ("image_url", "input_image"):
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            parts.append(image_part(text_of(url)))
        elif kind == "image":  # Anthropic source block, or an Ollama base64 image
            source = item.get("source") if isinstance(item.get("source"), dict) else {}
            if "b64" in item:
                size = len(text_of(item["b64"]))
                parts.append(Part(type="image", url="data:;base64,", data_bytes=size))
            elif source.get("type") == "base64":
                data = text_of(source.get("data"))
                mime = text_of(source.get("media_type"))
                parts.append(
                    Part(type="image", url=f"data:{mime};base64,", mime=mime, data_bytes=len(data))
                )
            else:
                parts.append(image_part(text_of(source.get("url"))))
        elif kind == "tool_result":
            inner = parts_of(item.get("content"))
            text = "\n".join(p.text for p in inner if p.text)
            parts.append(Part(type="text", text=text))
        elif kind == "tool_use":
            continue  # shown as a tool call
        elif kind in ("thinking", "reasoning"):
            parts.append(
                Part(type="reasoning", text=text_of(item.get("thinking") or item.get("text")))
            )
        else:
            parts.append(Part(type=kind or "unknown", text=dumps(item)))
    return parts


def image_part(url: str) -> Part:
    match = DATA_URL.match(url)
    if match:
        header = url[: match.end()]
        return Part(
            type="image", url=header, mime=match["mime"] or "", data_bytes=len(url) - match.end()
        )
    return Part(type="image", url=url)
