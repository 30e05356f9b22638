"""Images in a recording's request: where they are, their bytes, and how a page shows them."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from inspector import parsing


@dataclass
class RawImage:
    """An image as the request holds it: base64 data, or a URL."""

    data: str | None = None
    mime: str = ""
    url: str = ""


def image_from_url(url: str) -> RawImage:
    match = parsing.DATA_URL.match(url)
    if match is None:
        return RawImage(url=url)
    if ";base64" not in (match["params"] or "").lower():
        return RawImage(url=url[: match.end()])  # not base64: not an image this page shows
    return RawImage(data=url[match.end() :], mime=match["mime"] or "")


def content_images(content: Any) -> list[RawImage | None]:
    """One entry per part `parsing.parts_of` makes of `content`, an image or None, so that part
    indexes line up with the stored `Message.parts` (which keep only a summary of images)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [None]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [None]
    found: list[RawImage | None] = []
    for item in content:
        if item is None:
            continue
        if not isinstance(item, dict):
            found.append(None)
            continue
        kind = parsing.text_of(item.get("type"))
        if kind in ("image_url", "input_image"):
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            found.append(image_from_url(parsing.text_of(url)))
        elif kind == "image" and "b64" in item:
            found.append(RawImage(data=parsing.text_of(item["b64"])))
        elif kind == "image":
            source = item.get("source") if isinstance(item.get("source"), dict) else {}
            if source.get("type") == "base64":
                found.append(
                    RawImage(
                        data=parsing.text_of(source.get("data")),
                        mime=parsing.text_of(source.get("media_type")),
                    )
                )
            else:
                found.append(image_from_url(parsing.text_of(source.get("url"))))
        elif kind == "tool_use":
            continue  # the parser shows these as tool calls, not parts
        else:
            found.append(None)
    return found


def request_images(kind: str, request: Any) -> dict[tuple[int, int], RawImage]:
    """Every image of the request by (message index, part index), walking the request body in
    the order `parsing.read_body` makes messages of it."""
    if kind == parsing.PASSTHROUGH:
        body = request.get("payload") if isinstance(request, dict) else None
    elif kind == parsing.INFERENCE:
        body = request.get("body") if isinstance(request, dict) else None
    else:
        return {}
    if not isinstance(body, dict):
        return {}
    listify, gemini_parts = parsing.listify, parsing.gemini_parts
    messages: list[list[RawImage | None]] = []
    system = body.get("system")
    if isinstance(system, str | list) and system:
        messages.append(content_images(system))
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    instruction = body.get("system_instruction") or config.get("system_instruction")
    if instruction:
        messages.append(content_images(gemini_parts(instruction)))
    for raw in listify(body.get("messages")):
        if not isinstance(raw, dict):
            messages.append(content_images(raw))
            continue
        content = raw.get("content")
        if raw.get("images"):
            content = [content, *({"type": "image", "b64": image} for image in raw["images"])]
        messages.append(content_images(content))
    for turn in listify(body.get("contents")):
        if isinstance(turn, dict):
            messages.append(content_images(gemini_parts(turn.get("parts"))))
        elif isinstance(turn, str):
            messages.append([None])
    if "prompt" in body:
        messages += [[None] for _ in listify(body["prompt"])]
        if body.get("images") and messages:
            messages[-1] += content_images([{"type": "image", "b64": i} for i in body["images"]])
    if "input" in body:
        value = body["input"]
        inputs = value[:50] if isinstance(value, list) else [value]
        for item in inputs:
            if isinstance(item, dict) and "role" in item:
                messages.append(content_images(item.get("content")))
            else:
                messages.append([None])
    return {
        (m, p): image
        for m, parts in enumerate(messages)
        for p, image in enumerate(parts)
        if image is not None
    }


def sniff(data: bytes) -> str | None:
    """The raster type `data` starts like; None for anything else (SVG above all: it can hold
    script, so it is never served as an image)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_image(image: RawImage) -> tuple[bytes, str] | None:
    """(bytes, content type) of an inline raster image; None when it is not one. The type comes
    from the bytes, never from what the request claims."""
    if image.data is None:
        return None
    try:
        data = base64.b64decode(image.data)
    except (binascii.Error, ValueError):
        return None
    mime = sniff(data)
    return (data, mime) if mime else None


@dataclass
class ImageView:
    kind: str  # "inline" (served by /i/), "remote" (loaded when asked), "unshown"
    src: str = ""
    mime: str = ""
    size: int = 0
    host: str = ""
    note: str = ""


def image_view(part: dict[str, Any], raw: RawImage | None, src: str) -> ImageView:
    url = parsing.text_of(part.get("url"))
    if url.startswith("data:") or (raw is not None and raw.data is not None):
        decoded = decode_image(raw) if raw is not None else None
        if decoded is None:
            claimed = part.get("mime") or "unknown type"
            return ImageView(
                kind="unshown",
                mime=claimed,
                size=part.get("data_bytes", 0),
                note=f"inline data ({claimed}, {part.get('data_bytes', 0):,} base64 characters)"
                " is not a PNG, JPEG, GIF or WebP image",
            )
        data, mime = decoded
        return ImageView(kind="inline", src=src, mime=mime, size=len(data))
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return ImageView(kind="remote", src=url, host=parts.hostname or parts.netloc)
    return ImageView(kind="unshown", src=url, note="not an http(s) URL or inline data")
