"""A test's recordings grouped into the conversations they had, for `/test`.

Recording B continues recording A when B's request messages begin with A's request messages
followed by A's response (the assistant message that repeats it), whatever follows: the tool
results answering A's calls, a new user prompt. Messages are compared by role, text and tool
calls (name and canonical arguments); call ids are not compared, since clients regenerate them.
A cassette is one thread: its exchanges in the order the test made them.

No queries here: the view loads every message and call of the test in bulk and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from inspector.models import Message, Recording, ToolCall
from inspector.thread import ROLE_CLASSES, TOOL_ROLES, canonical_arguments

# What one message is compared by: role, text, and its calls (name, canonical arguments).
Signature = tuple[str, str, tuple[tuple[str, str], ...]]


def signature(role: str, text: str, calls: Iterable[ToolCall]) -> Signature:
    return (
        ROLE_CLASSES.get(role, role),
        text.strip(),  # a streamed response is assembled; the next request may trim it
        tuple((c.name, canonical_arguments(c.arguments)) for c in calls),
    )


@dataclass
class Conversation:
    """One recording as the grouping sees it: its request messages' signatures and its
    response's, as the message the next request would repeat (None: nothing to repeat)."""

    recording: Recording
    messages: list[Message]
    request: list[Signature]
    response: Signature | None


def conversation_of(
    recording: Recording, messages: Sequence[Message], calls: Sequence[ToolCall]
) -> Conversation:
    by_message: dict[int | None, list[ToolCall]] = {}
    for call in sorted(calls, key=lambda c: c.position):
        by_message.setdefault(call.message_index, []).append(call)
    ordered = sorted(messages, key=lambda m: m.index)
    request = [signature(m.role, m.text, by_message.get(m.index, ())) for m in ordered]
    answer = by_message.get(None, [])
    response = None
    if recording.response_text.strip() or answer:
        role = recording.response_role or "assistant"
        response = signature(role, recording.response_text, answer)
    return Conversation(recording, ordered, request, response)


@dataclass
class Group:
    conversations: list[Conversation] = field(default_factory=list)

    @property
    def recordings(self) -> list[Recording]:
        return [c.recording for c in self.conversations]


class PrefixIds:
    """Every prefix of every request as one small int, equal for equal prefixes: a request of
    n messages is looked up in n steps, not n² comparisons (a test may hold hundreds of
    recordings of hundreds of messages)."""

    ROOT = 0

    def __init__(self) -> None:
        self.ids: dict[tuple[int, Signature], int] = {}

    def step(self, prefix: int, item: Signature) -> int:
        return self.ids.setdefault((prefix, item), len(self.ids) + 1)

    def chain(self, items: Iterable[Signature]) -> list[int]:
        """The id of each prefix, from the first item's on."""
        out, prefix = [], self.ROOT
        for item in items:
            prefix = self.step(prefix, item)
            out.append(prefix)
        return out


def group_threads(conversations: Sequence[Conversation]) -> list[Group]:
    """`conversations` in the page's order (message count, then path): the threads, in the
    order of their first recording. A recording joins the thread whose recording it extends
    the most (the longest prefix); extending one inside a thread (the conversation branched, or
    one request was recorded twice) starts a thread of its own, so that each recording is in
    one thread and each thread reads as one conversation."""
    groups: list[Group] = []
    cassettes: dict[int, Group] = {}
    ids = PrefixIds()
    # A request that would continue a recording (its messages, then its response) → where
    # that recording is: (group, position in it).
    continuations: dict[int, tuple[Group, int]] = {}
    for conversation in conversations:
        recording = conversation.recording
        if recording.format == "vcr":
            group = cassettes.get(recording.source_id or 0)
            if group is None:
                group = cassettes[recording.source_id or 0] = Group()
                groups.append(group)
            group.conversations.append(conversation)
            continue
        prefixes = ids.chain(conversation.request)
        parent = next((continuations[p] for p in reversed(prefixes) if p in continuations), None)
        if parent is not None and parent[1] == len(parent[0].conversations) - 1:
            group = parent[0]
        else:
            group = Group()
            groups.append(group)
        group.conversations.append(conversation)
        if prefixes and conversation.response is not None:
            key = ids.step(prefixes[-1], conversation.response)
            continuations.setdefault(key, (group, len(group.conversations) - 1))
    for group in cassettes.values():
        group.conversations.sort(key=lambda c: c.recording.index)
    return groups


def new_messages(previous: Conversation | None, conversation: Conversation) -> list[Message]:
    """The messages a request adds to its thread: after the previous request's messages and
    the assistant message repeating its response; the whole request when it repeats neither
    (a branch, or a cassette exchange that starts another conversation)."""
    if previous is None:
        return conversation.messages
    before, now = previous.request, conversation.request
    if now[: len(before)] != before:
        return conversation.messages
    shown = len(before)
    if previous.response is not None and now[shown : shown + 1] == [previous.response]:
        shown += 1
    return conversation.messages[shown:]


def prompt_of(conversation: Conversation) -> str:
    """What a thread's summary shows: the prompt it started with (its first user message),
    else its first message, else its response."""
    messages = conversation.messages
    user = next((m for m in messages if ROLE_CLASSES.get(m.role) == "user" and m.text), None)
    first = user or next((m for m in messages if m.text), None)
    return first.text if first else conversation.recording.response_text


def is_tool_result(message: Message) -> bool:
    return message.role in TOOL_ROLES or bool(message.tool_call_id)
