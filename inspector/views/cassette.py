"""A cassette's page, `/r/<its path without extension>`: the test, the file, and every exchange
in order with its conversation in short, each linked to its own page (`/r/<that path>/<n>`).

Four queries, whatever the number of exchanges: the cassette (without its bytes), its
exchanges, all their messages, all their tool calls."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import SafeString

from inspector import roots
from inspector.cassettes.naming import strip_extension, test_of_path
from inspector.conversation import shown_url, test_url
from inspector.markdown import render as render_markdown
from inspector.models import Message, Recording, Source, ToolCall
from inspector.snippets import escaped
from inspector.thread import TOOL_ROLES
from inspector.twins import cassette_json
from inspector.views.compare_with import param_of

# What the page shows of one message or response text; its exchange's page has it whole.
SHORT_TEXT = 400


@dataclass
class ExchangeSummary:
    recording: Recording
    n: int  # from 1, as in its URL
    url: str
    request_url: str  # masked
    http: dict[str, Any]
    new_messages: list[Message] = field(default_factory=list)
    earlier: int = 0  # messages of the request already shown with an earlier exchange
    calls: list[ToolCall] = field(default_factory=list)  # the response's

    @property
    def kind(self) -> str:
        return str(self.http.get("kind") or "http")

    @cached_property
    def texts(self) -> list[tuple[Message, SafeString | None]]:
        """Each new message, with its text as Markdown where the page shows it whole."""
        return [
            (m, None if m.role in TOOL_ROLES else short_markdown(m.text)) for m in self.new_messages
        ]

    @cached_property
    def response_markdown(self) -> SafeString | None:
        return short_markdown(self.recording.response_text)


def short_markdown(text: str) -> SafeString | None:
    """A text short enough to show whole, as Markdown; a longer one is cut to SHORT_TEXT as it
    is (Markdown cut short is broken Markdown), its exchange's page showing it whole."""
    html = render_markdown(text) if text and len(text) <= SHORT_TEXT else None
    return None if html is None else escaped(html)


@dataclass
class CassettePage:
    source: Source
    url: str
    raw_url: str
    test: Any  # inspector.cassettes.naming.TestId
    test_id: str | None
    test_url: str
    serializer: str
    compressed: bool
    exchanges: list[ExchangeSummary]

    @property
    def file_name(self) -> str:
        return self.source.path.rpartition("/")[2]


def serializer_of(path: str) -> tuple[str, bool]:
    """The serializer and compression, as the extension says (the bytes are not read here)."""
    name = path.lower().removesuffix(".gz")
    return ("JSON" if name.endswith(".json") else "YAML"), path.lower().endswith(".gz")


def message_key(message: Message) -> tuple[str, str, str]:
    return (message.role, message.text, message.tool_call_id)


def new_messages(
    previous: list[Message] | None, previous_response: str, messages: list[Message]
) -> tuple[list[Message], int]:
    """The messages a request adds to the conversation: after those its previous exchange
    sent (each request of a test resends the history), and after that exchange's response
    when the request repeats it as an assistant message. (new messages, how many were skipped)."""
    if not previous:
        return messages, 0
    shared = 0
    for before, now in zip(previous, messages, strict=False):
        if message_key(before) != message_key(now):
            break
        shared += 1
    if shared < len(previous):  # not a continuation: the request whole
        return messages, 0
    repeated = shared < len(messages) and messages[shared].role == "assistant"
    if repeated and (not previous_response or messages[shared].text == previous_response):
        shared += 1
    return messages[shared:], shared


def build_cassette_page(
    source: Source,
    exchanges: list[Recording],
    messages: dict[int, list[Message]],
    calls: dict[int, list[ToolCall]],
) -> CassettePage:
    test = test_of_path(source.path)
    test_id = test.node_id if test.function else None
    prefix = roots.prefix(source.root_id)
    base = prefix + "/r/" + quote(strip_extension(source.path))
    serializer, compressed = serializer_of(source.path)
    summaries = []
    previous: list[Message] | None = None
    previous_response = ""
    for exchange in exchanges:
        own = messages.get(exchange.pk, [])
        shown, earlier = new_messages(previous, previous_response, own)
        summaries.append(
            ExchangeSummary(
                recording=exchange,
                n=exchange.index + 1,
                url=f"{base}/{exchange.index + 1}",
                request_url=shown_url(exchange.url),
                http=(exchange.details or {}).get("http") or {},
                new_messages=shown,
                earlier=earlier,
                calls=[c for c in calls.get(exchange.pk, []) if c.in_response],
            )
        )
        if own:
            previous, previous_response = own, exchange.response_text
    return CassettePage(
        source=source,
        url=base,
        raw_url=prefix + "/r/" + quote(source.path),
        test=test,
        test_id=exchanges[0].test_id if exchanges else test_id,
        test_url=test_url(exchanges[0].test_id or "") if exchanges else "",
        serializer=serializer,
        compressed=compressed,
        exchanges=summaries,
    )


def cassette(request: HttpRequest, source: Source, as_json: bool) -> HttpResponse:
    """The page (or its JSON twin) of the cassette `source`, found by the recording view."""
    exchanges = list(
        Recording.objects.filter(source=source).defer("listed_models", "search").order_by("index")
    )
    by_recording: dict[int, list[Message]] = defaultdict(list)
    calls: dict[int, list[ToolCall]] = defaultdict(list)
    # By the exchanges' ids, not by a join on their source: the (recording, index) indexes
    # serve that whatever the statistics say. Joined, PostgreSQL planned a nested loop over
    # every message of every cassette while its statistics still said the tables were empty
    # (seconds a page, right after a first import).
    with_messages = [e.pk for e in exchanges if e.message_count]
    if with_messages:
        rows = Message.objects.filter(recording_id__in=with_messages).only(
            "recording_id", "index", "role", "text", "tool_call_id", "name"
        )
        for message in rows:
            by_recording[message.recording_id].append(message)
    with_calls = [e.pk for e in exchanges if e.tool_call_count]
    if with_calls:
        for call in ToolCall.objects.filter(recording_id__in=with_calls):
            calls[call.recording_id].append(call)
    if as_json:
        return JsonResponse(cassette_json(source, exchanges, by_recording, calls))
    page = build_cassette_page(source, exchanges, by_recording, calls)
    compare_a = param_of(source.path, source.root_id)  # "Compare with" (views.diff)
    ctx = {"page": page, "source": source, "compare_a": compare_a}
    return render(request, "inspector/cassette.html", ctx)
