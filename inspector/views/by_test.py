from __future__ import annotations

from django.db.models import Sum
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inspector.conversation import TEST_ID_LINK_MAX, test_key
from inspector.forms import TestQuery
from inspector.models import Message, Recording, ToolCall
from inspector.views.common import bad_request, page_path
from inspector.views.compare_with import consecutive_diffs


@require_safe
def by_test(request: HttpRequest) -> HttpResponse:
    """Every recording of one test, in conversation order: each next request's messages extend
    the previous one's, so the test reads as one thread."""
    form = TestQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    test_id = form.cleaned_data["id"]
    if form.cleaned_data["key"]:
        test_id = test_id_of(form.cleaned_data["key"]) or ""
    recordings = list(
        Recording.objects.filter(test_id=test_id)
        .defer("details", "listed_models")
        # A cassette's exchanges in cassette order where their threads are as long.
        .order_by("message_count", "index", "path")
    )
    ids = [r.id for r in recordings]
    messages: dict[int, list[Message]] = {}
    for message in Message.objects.filter(recording_id__in=ids).order_by("recording", "index"):
        messages.setdefault(message.recording_id, []).append(message)
    calls: dict[int, list[ToolCall]] = {}
    for call in ToolCall.objects.filter(recording_id__in=ids).order_by("recording", "position"):
        calls.setdefault(call.recording_id, []).append(call)
    turns = []
    diffs = consecutive_diffs(recordings)
    shown = 0
    for recording in recordings:
        own = messages.get(recording.id, [])
        turns.append(
            {
                "recording": recording,
                "url": page_path(recording.path, recording.root_id),
                "diff_prev": diffs[len(turns)],  # /diff with the recording before
                "new_messages": own[shown:],  # only what this request added to the thread
                "calls": [c for c in calls.get(recording.id, []) if c.message_index is None],
            }
        )
        shown = max(shown, len(own))
    totals = Recording.objects.filter(test_id=test_id).aggregate(
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        total=Sum("total_tokens"),
        cached=Sum("cached_tokens"),
        reasoning=Sum("reasoning_tokens"),
    )
    ctx = {"test_id": test_id, "turns": turns, "totals": totals, "found": bool(recordings)}
    return render(request, "inspector/by_test.html", ctx, status=200 if recordings else 404)


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
