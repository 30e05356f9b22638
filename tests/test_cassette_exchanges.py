"""inspector.cassettes.exchanges: every cassette of the shared corpus read in place into
exchanges (`Recording`s), with no database. Counts agree with MANIFEST.tsv; every stream has a
chunk per event and ends on its reassembled response; streamed text is what the same provider's
non-streamed shape of that very response says.

Pairs of a streamed and a non-streamed call of the same test (`test_call/<model>/stream.yaml`
and `sync.yaml`) are separate calls to the model, whose texts differ ("4200 + 42 equals 4242."
and "4200 + 42 is 4242."): only their shared facts are compared. The texts compared exactly are
those of one response in two shapes: the assistant turn the client sends back in its next
request, and the Responses API's `response.completed` event."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from inspector import playback
from inspector.cassettes import CassetteError, Interaction
from inspector.cassettes.exchanges import exchanges_of
from inspector.cassettes.masking import MASK, SECRET_HEADERS
from inspector.wire import responses
from inspector.wire.types import GENERIC, INFERENCE, Recording, TestId

pytestmark = pytest.mark.corpus
STREAMED_APIS = ("openai_chat", "responses", "anthropic", "gemini")
Exchanges = dict[str, list[tuple[Interaction, Recording]]]


@pytest.fixture(scope="module")
def manifest(cassette_corpus: Path) -> dict[str, dict[str, str]]:
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def exchanges(cassette_corpus: Path, manifest: dict[str, dict[str, str]]) -> Exchanges:
    found = {}
    for path in manifest:
        cassette, recordings = exchanges_of((cassette_corpus / path).read_bytes(), path)
        found[path] = list(zip(cassette.interactions, recordings, strict=True))
    return found


def streamed(exchanges: Exchanges) -> list[tuple[str, Interaction, Recording]]:
    return [
        (path, interaction, recording)
        for path, pairs in exchanges.items()
        for interaction, recording in pairs
        if recording.is_streaming
    ]


def test_it_reads_every_cassette_as_its_manifest_says(exchanges, manifest):
    assert len(exchanges) == len(manifest) == 792
    for path, row in manifest.items():
        pairs = exchanges[path]
        recordings = [recording for _, recording in pairs]
        assert len(recordings) == int(row["exchanges"]), path
        assert sum(r.is_streaming for r in recordings) == int(row["sse_exchanges"]), path
        assert sum(r.details["http"]["sse"] for r in recordings) == int(row["sse_exchanges"])
        json_bodies = sum(i.response_json is not None for i, _ in pairs)
        assert json_bodies == int(row["json_exchanges"]), path
        assert {i.host for i, _ in pairs} - {""} == set(filter(None, row["hosts"].split(",")))
        assert {r.method for r in recordings} - {""} == set(filter(None, row["methods"].split(",")))
        for recording in recordings:
            assert "unreadable" not in recording.details, (path, recording.details["unreadable"])
            assert recording.endpoint.startswith("/"), path
    total = [r for pairs in exchanges.values() for _, r in pairs]
    assert (len(total), sum(r.is_streaming for r in total)) == (1247, 442)


def test_it_tells_each_exchanges_api_and_kind(exchanges):
    kinds = Counter(
        (recording.details["api"], recording.kind)
        for pairs in exchanges.values()
        for _, recording in pairs
    )
    assert {api for api, kind in kinds if kind == INFERENCE} == {*STREAMED_APIS}
    assert {kind for api, kind in kinds if not api} == {GENERIC}  # HTML, telemetry, registries
    assert kinds["", GENERIC] == 73


def test_it_counts_a_chunk_for_each_event_shown_in_the_timeline(exchanges):
    found = streamed(exchanges)
    assert len(found) == 442
    for path, interaction, recording in found:
        columns = {mark["column"] for mark in playback.marks(recording.chunks)}
        assert recording.chunk_count == len(interaction.sse_events), path
        assert len(recording.chunks) == len(columns) == recording.chunk_count, path


def test_it_ends_every_stream_with_the_reassembled_response(exchanges):
    for path, _, recording in streamed(exchanges):
        frame = playback.frame_at(recording.chunks, len(recording.chunks))
        response, usage = recording.response, recording.usage
        assert (frame.role, frame.text, frame.reasoning, frame.finish_reason) == (
            response.role,
            response.text,
            response.reasoning,
            response.finish_reason,
        ), path
        assert [(t.call_id, t.name, t.arguments) for t in frame.tool_calls] == [
            (c.call_id, c.name, c.arguments) for c in response.tool_calls
        ], path
        assert frame.usage == {k: v for k, v in vars(usage).items() if v is not None}, path
        assert frame.done


def sent_back(recording: Recording, later: Recording) -> str | None:
    """The text of the assistant turn `later`'s request sends back after `recording`'s
    messages, parts joined as they arrived (Gemini sends each streamed part back as a part)."""
    if later.details["api"] != recording.details["api"]:
        return None
    turn = []
    for message in later.messages[len(recording.messages) :]:
        if message.role not in ("assistant", "model"):
            break
        turn.append(message)
    if not turn:
        return None
    return "".join(p.text for m in turn for p in m.parts if p.type == "text")


def test_it_reassembles_streamed_text_as_the_client_sends_it_back(exchanges):
    """A stream's text is that of the assistant turn in the next request of the conversation
    (structured output made by a tool call is sent back rewritten as text: left out)."""
    pairs = Counter()
    for path, found in exchanges.items():
        recordings = [recording for _, recording in found]
        for number, recording in enumerate(recordings):
            if not recording.is_streaming or recording.failure or recording.response.tool_calls:
                continue
            later = next(
                (
                    r
                    for r in recordings[number + 1 :]
                    if r.details["api"] == recording.details["api"]
                    and len(r.messages) > len(recording.messages)
                ),
                None,
            )
            text = sent_back(recording, later) if later else None
            if text is not None:
                assert recording.response.text == text, (path, number)
                pairs[recording.details["api"]] += 1
    assert set(pairs) == set(STREAMED_APIS)
    assert sum(pairs.values()) >= 40


def test_it_reassembles_a_responses_stream_as_its_completed_event_says(exchanges):
    pairs = 0
    for path, interaction, recording in streamed(exchanges):
        if recording.details["api"] != "responses":
            continue
        completed = [  # or incomplete (max_output_tokens)
            orjson.loads(event["data"])["response"]
            for event in interaction.sse_events
            if event["event"] in responses.ENDS
        ]
        whole = Recording(test_id=TestId(raw=None), kind=INFERENCE)
        responses.read_response(whole, completed[0])
        assert recording.response == whole.response, path
        assert (recording.usage, recording.created) == (whole.usage, whole.created), path
        pairs += 1
    assert pairs == 155


def test_it_agrees_on_what_a_streamed_and_a_separate_whole_call_share(cassette_corpus):
    top = cassette_corpus / "mirascope/tests/e2e/output/cassettes/test_call"
    providers = sorted(top.iterdir())
    assert len(providers) == 5
    for provider in providers:
        read = {}
        for name in ("sync", "stream"):
            path = (provider / f"{name}.yaml").relative_to(cassette_corpus).as_posix()
            read[name] = exchanges_of((cassette_corpus / path).read_bytes(), path)[1][0]
        whole, parts = read["sync"], read["stream"]
        assert (whole.is_streaming, parts.is_streaming) == (False, True)
        assert whole.details["api"] == parts.details["api"]
        assert (whole.model, whole.response.role) == (parts.model, parts.response.role)
        assert [m.text for m in whole.messages] == [m.text for m in parts.messages]
        assert "4242" in whole.response.text  # 4200 + 42
        assert "4242" in parts.response.text
        assert whole.usage.prompt == parts.usage.prompt
        assert whole.test_id.function == parts.test_id.function == "test_call"


def test_it_keeps_tool_call_ids_as_the_provider_wrote_them(exchanges):
    ids = Counter()
    for path, pairs in exchanges.items():
        for interaction, recording in pairs:
            for call in recording.response.tool_calls:
                assert call.call_id.encode() in interaction.response_body, (path, call.call_id)
                ids[call.call_id != call.call_id.lower()] += 1
            for message in recording.messages:
                for call in message.tool_calls:
                    if recording.details["api"] == "gemini" and call.call_id.startswith(
                        f"{call.name}#"
                    ):
                        continue  # Gemini 2 sends no id: one made of the name and place
                    assert call.call_id.encode() in interaction.request_body, path
    assert ids[True] > 100  # ids in mixed case (`toolu_01AbC...`, `call_XyZ...`) among them


def test_it_dates_exchanges_only_by_the_times_providers_sent(exchanges):
    dated = Counter()
    for _, pairs in exchanges.items():
        for _, recording in pairs:
            if recording.created is not None:
                assert 2024 <= recording.created.year <= 2026
                dated[recording.details["api"]] += 1
    # Anthropic and Gemini responses carry no time; OpenAI's all do.
    assert set(dated) == {"openai_chat", "responses"}


def test_it_keeps_what_only_http_has_in_details(exchanges):
    path = "mirascope/tests/ops/_internal/cassettes/test_versioned_call_sync.yaml"
    (_, first), (call, answer) = exchanges[path]
    http = answer.details["http"]
    assert (answer.kind, answer.provider, answer.endpoint) == (
        INFERENCE,
        "openai",
        "/v1/responses",
    )
    assert (http["index"], http["status"], http["sse"], http["events"]) == (1, 200, False, 0)
    assert http["response_bytes"] == len(call.response_body) > 0
    assert "response_preview" not in http
    assert (first.kind, first.status, first.response_type) == (GENERIC, 200, "text/html")
    assert first.details["http"]["response_preview"].lstrip().lower().startswith("<!doctype html")
    for pairs in exchanges.values():
        for _, recording in pairs:
            http = recording.details["http"]
            for headers in (http["request_headers"], http["response_headers"]):
                for name, values in headers.items():
                    if name.lower() in SECRET_HEADERS:
                        assert set(values) <= {MASK}


def test_it_names_each_exchange_by_its_cassettes_test(exchanges):
    path = "mirascope/tests/e2e/input/cassettes/test_model_not_found/openai_gpt_4o_responses.yaml"
    recording = exchanges[path][0][1]
    assert recording.test_id == TestId(
        raw="test_model_not_found[openai_gpt_4o_responses]",
        function="test_model_not_found",
        params="openai_gpt_4o_responses",
    )
    assert recording.failure is not None
    assert (recording.failure.status, recording.failure.type) == (400, "invalid_request_error")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{}", "not a cassette: no interactions, nor requests and responses"),
        (b"- 1\n- 2\n", "not a cassette: the document is a list, not a mapping"),
        (b"interactions: 3\n", "not a cassette: interactions is a int, not a list"),
    ],
)
def test_it_refuses_what_is_not_a_cassette_in_one_line(data: bytes, reason: str):
    with pytest.raises(CassetteError) as refused:
        exchanges_of(data, "tests/cassettes/test_x/test_y.yaml")
    assert str(refused.value) == reason


def test_it_reads_an_empty_cassette_as_no_exchanges():
    cassette, recordings = exchanges_of(b"interactions: []\nversion: 1\n", "c/test_x.yaml")
    assert (cassette.interactions, recordings) == ([], [])


def details_of(recording: Recording) -> dict[str, Any]:
    return recording.details["http"]


def test_it_keeps_a_websocket_entry_as_a_generic_exchange():
    data = b"interactions:\n- kind: websocket\n  direction: sent\n  data: hello\nversion: 1\n"
    _, (recording,) = exchanges_of(data, "tests/cassettes/test_ws/test_it.yaml")
    assert (recording.kind, recording.response_type, recording.endpoint) == (
        GENERIC,
        "websocket",
        "",
    )
    assert details_of(recording)["kind"] == "websocket"
    assert recording.test_id.raw == "tests/test_ws.py::test_it"
