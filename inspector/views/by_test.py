from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.db.models import Sum
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector.conversation import TEST_ID_LINK_MAX, test_key, test_url
from inspector.forms import TestQuery
from inspector.markdown import render as render_markdown
from inspector.models import Message, Recording, ToolCall
from inspector.snippets import escaped, preview
from inspector.threads import (
    Conversation,
    Group,
    conversation_of,
    group_threads,
    is_tool_result,
    new_messages,
    prompt_of,
)
from inspector.views.common import bad_request, page_path
from inspector.views.compare_with import consecutive_diffs

# Threads are open on the page when a test has at most this many. Beyond, all start closed
# under their prompt, and a thread's turns are rendered when it is opened (htmx, or its own
# link `?thread=n`): a test of 323 single-turn recordings is a list to scan, not 36,000 pixels
# to scroll, and its page does not render ~1,000 texts as Markdown (~3 s) for closed threads.
OPEN_THREADS_MAX = 3


class ThreadQuery(TestQuery):
    """`/test?id=...&thread=n`: the page with thread n open; with htmx, that thread's turns."""

    thread = forms.IntegerField(required=False, min_value=1)


# What /test shows of a message: `parts` (images, unknown parts) is left to its page.
SHOWN_FIELDS = ("recording_id", "index", "role", "text", "name", "tool_call_id", "image_count")


@dataclass
class ShownMessage:
    message: Message
    markdown: SafeString | None  # None: shown as it is (a tool result, plain or very long text)


@dataclass
class TurnView:
    recording: Recording
    number: int  # the request's number in its thread, from 1
    url: str
    diff_prev: str | None  # /diff with the request before it in the thread
    new_messages: list[ShownMessage]
    calls: list[ToolCall]  # the response's
    response_markdown: SafeString | None


@dataclass
class ThreadView:
    number: int
    prompt: str  # a one-line preview, for the summary
    request_count: int
    url: str  # the page with this thread open
    open: bool
    turns: list[TurnView] = field(default_factory=list)  # only for an open thread


def markdown_of(text: str) -> SafeString | None:
    html = render_markdown(text) if text else None
    return None if html is None else escaped(html)


def shown(message: Message) -> ShownMessage:
    prose = not is_tool_result(message)
    return ShownMessage(message, markdown_of(message.text) if prose else None)


def thread_view(
    number: int, group: Group, is_open: bool, calls: dict[int, list[ToolCall]], url: str
) -> ThreadView:
    first = group.conversations[0]
    view = ThreadView(number, preview(prompt_of(first)), len(group.conversations), url, is_open)
    if not is_open:
        return view
    diffs = consecutive_diffs(group.recordings)
    previous: Conversation | None = None
    for position, conversation in enumerate(group.conversations):
        recording = conversation.recording
        view.turns.append(
            TurnView(
                recording=recording,
                number=position + 1,
                url=page_path(recording.path, recording.root_id),
                diff_prev=diffs[position],
                new_messages=[shown(m) for m in new_messages(previous, conversation)],
                calls=[c for c in calls.get(recording.id, []) if c.in_response],
                response_markdown=None
                if recording.is_exception
                else markdown_of(recording.response_text),
            )
        )
        previous = conversation
    return view


def test_threads(test_id: str) -> tuple[list[Recording], list[Group], dict[int, list[ToolCall]]]:
    """Every recording of one test, grouped into threads: three queries whatever their number
    (the recordings, then all their messages and all their calls in bulk)."""
    recordings = list(
        Recording.objects.filter(test_id=test_id)
        .defer("details", "listed_models")
        # A cassette's exchanges in cassette order where their threads are as long.
        .order_by("message_count", "index", "path")
    )
    ids = [r.id for r in recordings]
    messages: dict[int, list[Message]] = {}
    rows = (
        Message.objects.filter(recording_id__in=ids)
        .only(*SHOWN_FIELDS)  # not `parts`: its JSON is what a message costs most to read
        .order_by("recording", "index")
    )
    for message in rows:
        messages.setdefault(message.recording_id, []).append(message)
    calls: dict[int, list[ToolCall]] = {}
    for call in ToolCall.objects.filter(recording_id__in=ids).order_by("recording", "position"):
        calls.setdefault(call.recording_id, []).append(call)
    conversations = [
        conversation_of(r, messages.get(r.id, []), calls.get(r.id, [])) for r in recordings
    ]
    return recordings, group_threads(conversations), calls


def selected_test(form: TestQuery) -> str:
    """The test id asked for by a valid form: by its id, or by its key."""
    if form.cleaned_data["key"]:
        return test_id_of(form.cleaned_data["key"]) or ""
    return form.cleaned_data["id"]


@require_safe
@vary_on_headers("HX-Request")
def by_test(request: HttpRequest) -> HttpResponse:
    """Every recording of one test, as the conversations it had (`inspector.threads`): each
    thread shows what each of its requests added, and the response to it."""
    form = ThreadQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    test_id = selected_test(form)
    asked = form.cleaned_data["thread"]
    recordings, groups, calls = test_threads(test_id)
    if asked is not None and asked > len(groups):
        form.add_error("thread", f"This test has {len(groups)} threads.")
        return bad_request(request, form)
    link = test_url(test_id)
    threads = [
        thread_view(
            n,
            group,
            len(groups) <= OPEN_THREADS_MAX or n == asked,
            calls,
            f"{link}&thread={n}",
        )
        for n, group in enumerate(groups, start=1)
    ]
    if asked is not None and request.htmx and not request.htmx.boosted:
        # A closed thread opened: its turns only (`hx-trigger="toggle once"`).
        ctx = {"thread": threads[asked - 1]}
        return render(request, "inspector/by_test.html#thread-body", ctx)
    totals = Recording.objects.filter(test_id=test_id).aggregate(
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        total=Sum("total_tokens"),
        cached=Sum("cached_tokens"),
        reasoning=Sum("reasoning_tokens"),
    )
    ctx = {
        "test_id": test_id,
        "threads": threads,
        "recording_count": len(recordings),
        "json_url": link.replace("/test?", "/test.json?", 1),
        "totals": totals,
        "found": bool(recordings),
    }
    return render(request, "inspector/by_test.html", ctx, status=200 if recordings else 404)


@require_safe
def by_test_json(request: HttpRequest) -> HttpResponse:
    """`/test.json`: the threads of `/test`, each its recordings' paths in order."""
    form = TestQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=True)
    test_id = selected_test(form)
    recordings, groups, _ = test_threads(test_id)
    data = {
        "test_id": test_id,
        "threads": [{"recordings": [r.path for r in group.recordings]} for group in groups],
    }
    return JsonResponse(data, status=200 if recordings else 404)


def test_id_of(key: str) -> str | None:
    """The test id whose key is `key`, among those only linked by key (`test_url`): a scan of
    their lengths, ~20 ms at 100,000 recordings, for the rare test id that long."""
    long_ids = (
        Recording.objects.annotate(length=Length("test_id"))
        .filter(length__gt=TEST_ID_LINK_MAX)
        .order_by()
        .values_list("test_id", flat=True)
        .distinct()
    )
    return next((test_id for test_id in long_ids if test_key(test_id) == key), None)
