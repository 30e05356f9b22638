"""`/test` and `/test.json` read a test as the conversations it had (`inspector.threads`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspector.importer import import_paths
from inspector.models import Message, Recording, ToolCall
from inspector.threads import conversation_of, group_threads, new_messages
from tests.hostile_files import chat_request, completion, recording

pytestmark = pytest.mark.django_db

MAX = 64 * 1024 * 1024
GUARDRAILS = (
    "tests/integration/agents/test_openai_responses.py::test_output_safety_guardrails_unsafe_"
    "content[openai_client-txt=ollama/llama3.2:3b-instruct-fp16-False]"
)
# One web-search tool loop, recorded twice: the first run searched "positive news October 22
# 2023" and answered; the second sent the same first request (so its file was overwritten)
# but searched "October 25", and its second request is all that is left of it.
WEB_SEARCH = (
    "tests/integration/responses/test_basic_responses.py::test_include_logprobs_with_web_search"
    "[txt=openai/gpt-4o]"
)
WEB_SEARCH_THREADS = [
    [
        "responses/recordings/4917625b5334cb87a15d982b6c93b728b7d3797f3752f26bde737a0b51d3f9db.json",
        "responses/recordings/c1cfe6be3172e8a8bb2570bfc7b3d1f1a551c742d9ca74ac590b47ea2da592b0.json",
    ],
    ["responses/recordings/a3e1da36b2ead08e5e53aa5c8bd43f2ba03e75a4ba68e3580198ec73ee92ccf8.json"],
]
TRAVEL = (
    "tests/integration/agents/test_agents.py::test_custom_tool_multi_turn"
    "[openai_client-txt=openai/gpt-4o-travel_planner]"
)
CASSETTE_TEST = "test_structured_output_with_tools[tool/openai_gpt_4o_completions/sync]"


def threads_json(client, test_id: str) -> list[list[str]]:
    response = client.get("/test.json", {"id": test_id})
    assert response.status_code == 200
    assert response.json()["test_id"] == test_id
    return [thread["recordings"] for thread in response.json()["threads"]]


def summaries(html: str) -> list[tuple[bool, str]]:
    """Each thread on the page: (open, the prompt its summary shows)."""
    return [
        (bool(is_open), prompt)
        for is_open, prompt in re.findall(
            r'<details class="thread-fold"( open)?[^>]*>\s*<summary>.*?'
            r'<span class="thread-prompt">(.*?)</span></summary>',
            html,
            re.DOTALL,
        )
    ]


# --------------------------------------------------------------------------- the corpus


@pytest.fixture
def corpus_imported(corpus) -> None:
    report = import_paths([corpus], max_bytes=MAX)
    assert report.failed == 0, report.failures[:5]


@pytest.mark.corpus
def test_it_gives_each_single_turn_recording_a_thread_of_its_own(client, corpus_imported):
    ordered = list(
        Recording.objects.filter(test_id=GUARDRAILS).order_by("message_count", "index", "path")
    )
    assert len(ordered) == 8
    assert {r.message_count for r in ordered} == {1}
    assert threads_json(client, GUARDRAILS) == [[r.path] for r in ordered]
    response = client.get("/test", {"id": GUARDRAILS})
    html = response.content.decode()
    # Eight threads, all closed, each showing its prompt: the text that was checked.
    prompts = [Message.objects.get(recording=r).text for r in ordered]
    shown = summaries(html)
    assert [is_open for is_open, _ in shown] == [False] * 8
    for (_, summary), prompt in zip(shown, prompts, strict=True):
        assert summary.removesuffix("…")[:40] in " ".join(prompt.split()).replace("'", "&#x27;")
    assert "8 recordings in 8 threads" in html


@pytest.mark.corpus
def test_it_chains_a_tool_loop_and_keeps_a_second_run_apart(client, corpus_imported):
    assert threads_json(client, WEB_SEARCH) == WEB_SEARCH_THREADS
    response = client.get("/test", {"id": WEB_SEARCH})
    [first, second] = response.context["threads"]
    # The loop: the call, then the request that answers it, linked by a diff.
    call, answer = first.turns
    assert [c.name for c in call.calls] == ["web_search"]
    assert call.diff_prev is None
    assert answer.diff_prev.startswith("/diff?")
    # Its second request adds the tool's result, not the resent prompt and call.
    assert [m.message.role for m in answer.new_messages] == ["tool"]
    assert "October 22 2023" in answer.new_messages[0].message.text
    # The other run's request is shown whole: its prompt is never hidden.
    [alone] = second.turns
    assert [m.message.role for m in alone.new_messages] == ["user", "assistant", "tool"]
    assert "October 25 2023" in alone.new_messages[2].message.text
    assert [t.open for t in (first, second)] == [True, True]  # few threads: open


@pytest.mark.corpus
def test_it_makes_a_cassette_one_thread_of_its_exchanges_in_order(client, cassette_corpus):
    report = import_paths([cassette_corpus], max_bytes=MAX)
    assert report.failed == 0, report.failures[:5]
    exchanges = Recording.objects.filter(test_id=CASSETTE_TEST).order_by("index")
    assert exchanges.count() == 6
    assert threads_json(client, CASSETTE_TEST) == [[r.path for r in exchanges]]


# --------------------------------------------------------------------------- the demo


def test_it_reads_the_demo_travel_planner_as_one_conversation(client, fixture_recordings):
    ordered = Recording.objects.filter(test_id=TRAVEL).order_by("message_count")
    assert threads_json(client, TRAVEL) == [[r.path for r in ordered]]
    html = client.get("/test", {"id": TRAVEL}).content.decode()
    # One thread, open, under the traveller's first question.
    [(is_open, prompt)] = summaries(html)
    assert is_open
    assert prompt.startswith("I&#x27;m flying from Lisbon to Oslo on 2025-03-14.")
    assert 'id="thread-1-3"' in html


def test_it_answers_404_and_400_as_json_too(client, fixture_recordings):
    missing = client.get("/test.json", {"id": "tests/nothing.py::test_nothing"})
    assert missing.status_code == 404
    assert missing.json() == {"test_id": "tests/nothing.py::test_nothing", "threads": []}
    bad = client.get("/test.json", {"key": "not a key"})
    assert bad.status_code == 400
    assert "key" in bad.json()["fields"]


# --------------------------------------------------------------------------- big tests


def write_single_turns(folder: Path, test_id: str, n: int) -> None:
    """`n` recordings of one test, each one question under the same system prompt."""
    (folder / "recordings").mkdir(parents=True, exist_ok=True)
    for number in range(n):
        messages = [
            {"role": "system", "content": "You check facts."},
            {"role": "user", "content": f"Is claim number {number} true?"},
        ]
        answer = {"role": "assistant", "content": f"Claim {number}: **no**."}
        document = recording(test_id, chat_request(messages), completion(answer))
        path = folder / "recordings" / f"{number:064x}.json"
        path.write_text(json.dumps(document))


def test_it_shows_many_single_turn_recordings_as_closed_threads_in_few_queries(client, tmp_path):
    write_single_turns(tmp_path / "small", "tests/test_x.py::test_small", 2)
    write_single_turns(tmp_path / "big", "tests/test_x.py::test_big", 120)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    client.get("/test", {"id": "tests/test_x.py::test_small"})  # caches the roots' names

    def queries(test_id: str) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/test", {"id": test_id})
        assert response.status_code == 200
        return len(captured), response.content.decode()

    small, _ = queries("tests/test_x.py::test_small")
    big, html = queries("tests/test_x.py::test_big")
    assert big == small  # no query per thread or per recording
    shown = summaries(html)
    assert len(shown) == 120
    assert not any(is_open for is_open, _ in shown)
    assert sorted(prompt for _, prompt in shown) == sorted(
        f"Is claim number {n} true?" for n in range(120)
    )
    # Closed threads are not rendered until opened: the page is 120 summaries.
    assert 'class="bubble' not in html
    assert html.count('hx-trigger="toggle once"') == 120


def test_it_renders_a_closed_thread_when_it_is_opened(client, tmp_path):
    test_id = "tests/test_x.py::test_many"
    write_single_turns(tmp_path, test_id, 5)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    fifth = threads_json(client, test_id)[4]
    # htmx, on the thread's first `toggle`: its turns alone.
    part = client.get("/test", {"id": test_id, "thread": 5}, headers={"HX-Request": "true"})
    assert part.status_code == 200
    body = part.content.decode()
    assert "<html" not in body
    assert body.count('class="bubble user"') == 1
    assert "Claim 4: **no**." in body  # the response's exact text, behind "raw"
    assert "<strong>no</strong>" in body
    assert fifth[0].removesuffix(".json") in body  # its request's page is linked
    # Without JavaScript, the thread's link: the page with that thread open, the others closed.
    page = client.get("/test", {"id": test_id, "thread": 5}).content.decode()
    assert [is_open for is_open, _ in summaries(page)] == [False] * 4 + [True]
    assert page.count('class="bubble user"') == 1
    assert f'href="/test?id={quote(test_id, safe="")}&amp;thread=2"' in page
    # A thread the test does not have is a clear 400, not a 500.
    for bad in ("6", "0", "x"):
        assert client.get("/test", {"id": test_id, "thread": bad}).status_code == 400


# --------------------------------------------------------------------------- the grouping


def message(index: int, role: str, text: str = "", tool_call_id: str = "") -> Message:
    return Message(index=index, role=role, text=text, tool_call_id=tool_call_id)


def call(position: int, name: str, arguments: str, at: int | None, call_id: str) -> ToolCall:
    return ToolCall(
        position=position, index=0, name=name, arguments=arguments, message_index=at,
        call_id=call_id,
    )  # fmt: skip


def conversation(path: str, response: str, messages: list[Message], calls=()):
    rec = Recording(path=path, format="llama-stack", response_text=response)
    return conversation_of(rec, messages, list(calls))


def paths(groups) -> list[list[str]]:
    return [[r.path for r in group.recordings] for group in groups]


def test_it_compares_calls_by_name_and_arguments_never_by_their_ids():
    asked = [message(0, "user", "Weather in Tokyo?")]
    first = conversation(
        "a", "", asked, [call(0, "weather", '{"city": "Tokyo", "unit": "C"}', None, "id1")]
    )
    answered = [
        *asked,
        message(1, "assistant"),
        message(2, "tool", '{"temp": 21}', tool_call_id="other-id"),
    ]
    # The client sent the call back with new ids and its arguments in another order.
    second = conversation(
        "b",
        "21 °C in Tokyo.",
        answered,
        [call(0, "weather", '{"unit":"C","city":"Tokyo"}', 1, "x")],
    )
    changed = conversation(
        "c", "", answered, [call(0, "weather", '{"city": "Kyoto", "unit": "C"}', 1, "y")]
    )
    assert paths(group_threads([first, second])) == [["a", "b"]]
    assert [m.index for m in new_messages(first, second)] == [2]  # the result, not the repeat
    assert paths(group_threads([first, changed])) == [["a"], ["c"]]


def test_it_continues_the_longest_thread_and_starts_a_branch_apart():
    hi = [message(0, "user", "Hi")]
    a = conversation("a", "Hello!", hi)
    other = conversation("o", "Hey.", [message(0, "user", "Hey")])
    b = conversation(
        "b", "Fine.", [*hi, message(1, "assistant", "Hello!"), message(2, "user", "How are you?")]
    )
    c = conversation(
        "c", "Bye.",
        [*b.messages, message(3, "assistant", "Fine."), message(4, "user", "Bye")],
    )  # fmt: skip
    # Another turn after "Hello!": the conversation branched.
    d = conversation(
        "d", "Sure.", [*hi, message(1, "assistant", "Hello!"), message(2, "user", "Help?")]
    )
    assert paths(group_threads([a, other, b, d, c])) == [["a", "b", "c"], ["o"], ["d"]]
    # A branch is shown whole, its first prompt and all.
    assert [m.text for m in new_messages(None, d)] == ["Hi", "Hello!", "Help?"]


def test_it_never_chains_requests_without_messages():
    empty = conversation("e", "an answer", [])
    next_one = conversation("n", "", [message(0, "assistant", "an answer")])
    assert paths(group_threads([empty, next_one])) == [["e"], ["n"]]


def test_it_opens_a_closed_thread_in_the_browser(live_server, page, transactional_db, tmp_path):
    from playwright.sync_api import expect

    test_id = "tests/test_x.py::test_browser"
    write_single_turns(tmp_path, test_id, 5)
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/test?id={quote(test_id)}")
    threads = page.locator("details.thread-fold")
    expect(threads).to_have_count(5)
    expect(page.locator(".bubble")).to_have_count(0)
    third = threads.nth(2)
    prompt = third.locator(".thread-prompt").inner_text()
    third.locator(":scope > summary").click()
    # Its prompt (plain: as it is), the same as its summary's, and its response as Markdown.
    expect(third.locator(".bubble.user")).to_contain_text(prompt)
    expect(third.locator(".bubble.response .md strong")).to_have_text("no")
    third.locator(":scope > summary").click()  # closed, and opened again: still one thread
    third.locator(":scope > summary").click()
    expect(third.locator(".bubble.user")).to_have_count(1)
    assert errors == []
