from __future__ import annotations

from itertools import pairwise

import pytest

from inspector.models import Recording

pytestmark = pytest.mark.django_db


def multi_turn_test_id() -> str:
    from django.db.models import Count

    row = (
        Recording.objects.exclude(test_id=None)
        .values("test_id")
        .annotate(n=Count("id"))
        .filter(n__gte=3, tool_call_count__gt=0)
        .order_by("-n")
        .first()
    )
    return row["test_id"]


def test_it_shows_a_test_as_one_thread_in_conversation_order(client, fixture_recordings):
    test_id = multi_turn_test_id()
    response = client.get("/test", {"id": test_id})
    assert response.status_code == 200
    # The demo's travel planner is one conversation: each request continues the one before.
    [thread] = response.context["threads"]
    turns = thread.turns
    counts = [t.recording.message_count for t in turns]
    assert counts == sorted(counts)
    # Each turn shows only the messages its request added to the thread: not those it resent,
    # nor the assistant message repeating the response shown with the request before.
    added = [len(t.new_messages) for t in turns]
    assert added == [counts[0]] + [now - before - 1 for before, now in pairwise(counts)]
    assert [t.diff_prev is None for t in turns] == [True] + [False] * (len(turns) - 1)
    totals = response.context["totals"]
    assert totals["total"] == sum(t.recording.total_tokens or 0 for t in turns)


def test_it_loads_a_test_in_a_fixed_number_of_queries(
    client, fixture_recordings, django_assert_num_queries
):
    # The recordings, their messages, their calls, the totals; roots for the links.
    test_id = multi_turn_test_id()
    with django_assert_num_queries(5, exact=False):
        assert client.get("/test", {"id": test_id}).status_code == 200


def test_it_says_when_no_recording_has_that_test_id(client, fixture_recordings):
    response = client.get("/test", {"id": "tests/nothing.py::test_nothing"})
    assert response.status_code == 404
    assert "No recording has this test id." in response.content.decode()
