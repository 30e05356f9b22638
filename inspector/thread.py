"""The conversation of one recording as the page shows it: its turns, each tool call linked to
the message that answers it, the chain of calls and the tools offered."""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from django.utils.safestring import SafeString

from inspector import parsing
from inspector.highlight import highlight_json, highlight_text
from inspector.images import ImageView, RawImage, image_view
from inspector.markdown import render as render_markdown
from inspector.models import Message, Recording, ToolCall, ToolDef
from inspector.snippets import escaped, preview

ERROR_WORDS = ("error", "exception", "traceback", "timed out", "failed")
ROLE_CLASSES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
TOOL_ROLES = ("tool", "function", "ipython")


def looks_like_error(text: str) -> bool:
    """A tool result that reads like a failure. JSON is judged by its values (an "error" key
    holding something, or an error word in a string), so that `{"error": null}` is a success;
    other text by the error words anywhere in it."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json_has_error(orjson.loads(stripped))
        except orjson.JSONDecodeError:
            pass
    return has_error_word(text)


def has_error_word(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ERROR_WORDS)


def json_has_error(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if isinstance(value, dict):
        if value.get("error"):
            return True
        return any(json_has_error(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(json_has_error(v, depth + 1) for v in value)
    return isinstance(value, str) and has_error_word(value)


def canonical_arguments(arguments: str) -> str:
    """Arguments compared by meaning: `{"a":1, "b":2}` repeats `{"b": 2, "a": 1}`."""
    try:
        return orjson.dumps(orjson.loads(arguments), option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return arguments  # not JSON, or nested deeper than orjson writes (255 levels)


# --------------------------------------------------------------------------- the thread


@dataclass
class PartView:
    type: str
    text: str = ""
    html: SafeString | None = None  # highlighted JSON
    image: ImageView | None = None
    markdown: SafeString | None = None  # the text as Markdown, beside its raw view


def prose_part(text: str) -> PartView:
    """A message's or response's text, shown as Markdown with its exact text a toggle away
    (`_turn.html#text`); a text too long to render is shown as it is."""
    markdown = render_markdown(text)
    return PartView(
        type="text", text=text, markdown=None if markdown is None else escaped(markdown)
    )


@dataclass
class CallView:
    position: int
    name: str
    call_id: str
    arguments: str
    arguments_html: SafeString
    arguments_valid: bool
    in_response: bool
    message_index: int | None
    answered_by: int | None = None
    result_preview: str = ""
    failed: bool = False
    repeat_of: int | None = None

    @property
    def anchor(self) -> str:
        return f"call-{self.position}"

    @property
    def turn_anchor(self) -> str:
        return "response" if self.in_response else f"m-{self.message_index}"

    @property
    def unanswered(self) -> bool:
        """A call inside the conversation that no message answers (a call the response makes
        is answered, if ever, by the next request)."""
        return self.answered_by is None and not self.in_response

    @property
    def arguments_preview(self) -> str:
        return preview(self.arguments, 100)


@dataclass
class TurnView:
    anchor: str
    role: str
    role_class: str
    index: int | None = None
    name: str = ""
    tool_call_id: str = ""
    parts: list[PartView] = field(default_factory=list)
    reasoning: str = ""
    calls: list[CallView] = field(default_factory=list)
    answers: list[CallView] = field(default_factory=list)
    error: bool = False
    is_response: bool = False
    finish_reason: str = ""
    image_count: int = 0

    @property
    def collapsed(self) -> bool:
        """Long system prompts fold away: the conversation is what one reads here."""
        return self.role_class == "system" and sum(len(p.text) for p in self.parts) > 600

    @property
    def preview(self) -> str:
        return preview(" ".join(p.text for p in self.parts if p.text))


def text_parts(text: str, as_json: bool) -> list[PartView]:
    if not text:
        return []
    if as_json:
        html, was_json = highlight_text(text)
        if was_json:
            return [PartView(type="json", text=text, html=escaped(html))]
        # A tool's result is data, not prose: shown as it is.
        return [PartView(type="text", text=text)]
    return [prose_part(text)]


def message_parts(
    message: Message, images: dict[tuple[int, int], RawImage], image_src: str
) -> list[PartView]:
    tool_result = message.role in TOOL_ROLES
    parts: list[PartView] = []
    for number, part in enumerate(message.parts or []):
        kind = part.get("type", "")
        text = parsing.text_of(part.get("text"))
        if kind == "image":
            raw = images.get((message.index, number))
            src = f"{image_src}/{message.index}/{number}"
            parts.append(PartView(type="image", image=image_view(part, raw, src)))
        elif kind == "text":
            parts += text_parts(text, as_json=tool_result)
        elif kind == "reasoning":
            if text:
                parts.append(PartView(type="reasoning", text=text))
        else:
            # An unknown part is kept as the JSON it was.
            parts += [
                PartView(type=kind or "unknown", text=p.text, html=p.html)
                for p in text_parts(text, as_json=True)
            ]
    return parts


def call_view(call: ToolCall) -> CallView:
    html, _ = highlight_text(call.arguments) if call.arguments_valid else ("", False)
    return CallView(
        position=call.position,
        name=call.name,
        call_id=call.call_id,
        arguments=call.arguments,
        arguments_html=escaped(html),
        arguments_valid=call.arguments_valid,
        in_response=call.message_index is None,
        message_index=call.message_index,
        answered_by=call.answered_by,
    )


@dataclass
class Thread:
    turns: list[TurnView]
    calls: list[CallView]


def build_thread(
    recording: Recording,
    messages: Iterable[Message],
    calls: Iterable[ToolCall],
    images: dict[tuple[int, int], RawImage] | None = None,
) -> Thread:
    """The conversation as turns in order, the response last; every call linked to the
    message answering it and back."""
    images = images or {}
    image_src = recording.url_prefix + "/i/" + quote(recording.path.removesuffix(".json"))
    call_views = [call_view(c) for c in sorted(calls, key=lambda c: c.position)]
    seen: dict[tuple[str, str], int] = {}
    for call in call_views:
        key = (call.name, canonical_arguments(call.arguments))
        if key in seen:
            call.repeat_of = seen[key]
        else:
            seen[key] = call.position
    by_message: dict[int | None, list[CallView]] = {}
    answered: dict[int, list[CallView]] = {}
    for call in call_views:
        by_message.setdefault(call.message_index, []).append(call)
        if call.answered_by is not None:
            answered.setdefault(call.answered_by, []).append(call)

    turns: list[TurnView] = []
    for message in sorted(messages, key=lambda m: m.index):
        answers = answered.get(message.index, [])
        is_result = bool(answers) or message.role in TOOL_ROLES
        error = is_result and looks_like_error(message.text)
        for call in answers:
            call.result_preview = preview(message.text)
            call.failed = error
        turns.append(
            TurnView(
                anchor=f"m-{message.index}",
                role=message.role,
                role_class=ROLE_CLASSES.get(message.role, "other"),
                index=message.index,
                name=message.name,
                tool_call_id=message.tool_call_id,
                parts=message_parts(message, images, image_src),
                reasoning=message.reasoning,
                calls=by_message.get(message.index, []),
                answers=answers,
                error=error,
                image_count=message.image_count,
            )
        )
    response_calls = by_message.get(None, [])
    if (
        recording.response_text
        or recording.response_reasoning
        or response_calls
        or recording.finish_reason
    ):
        role = recording.response_role or "assistant"
        turns.append(
            TurnView(
                anchor="response",
                role=role,
                role_class=ROLE_CLASSES.get(role, "assistant"),
                parts=text_parts(recording.response_text, as_json=False),
                reasoning=recording.response_reasoning,
                calls=response_calls,
                is_response=True,
                finish_reason=recording.finish_reason,
            )
        )
    return Thread(turns=turns, calls=call_views)


# --------------------------------------------------------------------------- tools and chain


@dataclass
class ChainView:
    calls: list[CallView]
    final_preview: str = ""
    final_anchor: str = ""
    repeats: int = 0
    failures: int = 0


def build_chain(thread: Thread) -> ChainView | None:
    """Every call of the conversation in order, each with its result, to the final answer."""
    if not thread.calls:
        return None
    final = next((t for t in thread.turns if t.is_response), None)
    final_text = " ".join(p.text for p in final.parts) if final else ""
    return ChainView(
        calls=thread.calls,
        final_preview=preview(final_text) if final_text else "",
        final_anchor="response" if final else "",
        repeats=sum(1 for c in thread.calls if c.repeat_of is not None),
        failures=sum(1 for c in thread.calls if c.failed or c.unanswered),
    )


@dataclass
class ToolView:
    name: str
    description: str
    parameters_html: SafeString | None
    called: int


@dataclass
class ToolsView:
    offered: list[ToolView]
    not_offered: list[tuple[str, int]]  # called by name, but not among the tools offered


def build_tools(tools: Iterable[ToolDef], calls: Iterable[CallView]) -> ToolsView:
    counts = Counter(call.name for call in calls)
    offered = [
        ToolView(
            name=tool.name,
            # Descriptions are often Python docstrings: indented after the first line.
            description=inspect.cleandoc(tool.description).strip(),
            parameters_html=escaped(highlight_json(tool.parameters))
            if tool.parameters is not None
            else None,
            called=counts.get(tool.name, 0),
        )
        for tool in sorted(tools, key=lambda t: t.index)
    ]
    names = {tool.name for tool in offered}
    not_offered = (
        sorted((name, n) for name, n in counts.items() if name not in names) if offered else []
    )
    return ToolsView(offered=offered, not_offered=not_offered)
