from __future__ import annotations

import base64

import orjson
import pytest

from inspector.conversation import build_page, build_raw_section, needs_bytes
from inspector.images import RawImage, decode_image, request_images, sniff
from inspector.models import Message, Recording, ToolCall, ToolDef
from inspector.panels import build_events, build_stream_summary, build_usage
from inspector.thread import build_chain, build_thread, build_tools, looks_like_error

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()
PNG_URL = f"data:image/png;base64,{PNG_B64}"


def image_url(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def base64_source(data: str) -> dict:
    return {"type": "base64", "media_type": "image/png", "data": data}


def summary(url: str, **fields) -> dict:
    return {"type": "image", "url": url, **fields}


def recording(**fields) -> Recording:
    defaults = {"path": "agents/recordings/abc.json", "kind": "inference"}
    return Recording(**{**defaults, **fields})


def text(index: int, role: str, content: str, **fields) -> Message:
    return Message(
        index=index, role=role, text=content, parts=[{"type": "text", "text": content}], **fields
    )


def call(position: int, name: str, arguments: str, message_index, answered_by, **fields):
    return ToolCall(
        position=position,
        index=fields.pop("index", 0),
        call_id=fields.pop("call_id", f"call_{position}"),
        name=name,
        arguments=arguments,
        arguments_valid=fields.pop("arguments_valid", True),
        message_index=message_index,
        answered_by=answered_by,
    )


@pytest.fixture
def weather() -> tuple[Recording, list[Message], list[ToolCall]]:
    """Two parallel calls answered by two tool messages, a third call that failed, a repeat of
    the first, a call nobody answered, and a final answer."""
    rec = recording(response_text="Lisbon is warm, Oslo is cold.", finish_reason="stop")
    messages = [
        text(0, "system", "You plan trips."),
        text(1, "user", "Weather in Lisbon and Oslo?"),
        Message(index=2, role="assistant", text="", parts=[{"type": "text"}]),
        text(3, "tool", '{"city": "Lisbon", "temperature_c": 17}', tool_call_id="call_0"),
        text(4, "tool", '{"city": "Oslo", "temperature_c": -2}', tool_call_id="call_1"),
        Message(index=5, role="assistant", text="", parts=[]),
        text(6, "tool", '{"error": {"code": "UPSTREAM_TIMEOUT"}}', tool_call_id="call_2"),
        Message(index=7, role="assistant", text="", parts=[]),
        text(8, "tool", "Traceback (most recent call last): boom", tool_call_id="call_3"),
    ]
    calls = [
        call(0, "get_weather", '{"city": "Lisbon"}', 2, 3),
        call(1, "get_weather", '{"city": "Oslo"}', 2, 4, index=1),
        call(2, "search_flights", '{"from": "LIS"}', 5, 6),
        call(3, "get_weather", '{"city":"Lisbon"}', 7, 8),  # same as call 0
        call(4, "get_time", '{"tz": "Europe/Oslo"', 7, None, index=1, arguments_valid=False),
    ]
    # Rows come in any order; the thread is in conversation order.
    return rec, list(reversed(messages)), list(reversed(calls))


def test_it_builds_the_thread_in_order_with_the_response_last(weather):
    rec, messages, calls = weather
    thread = build_thread(rec, messages, calls)

    assert [(t.anchor, t.role, t.role_class) for t in thread.turns] == [
        ("m-0", "system", "system"),
        ("m-1", "user", "user"),
        ("m-2", "assistant", "assistant"),
        ("m-3", "tool", "tool"),
        ("m-4", "tool", "tool"),
        ("m-5", "assistant", "assistant"),
        ("m-6", "tool", "tool"),
        ("m-7", "assistant", "assistant"),
        ("m-8", "tool", "tool"),
        ("response", "assistant", "assistant"),
    ]
    response = thread.turns[-1]
    assert (response.is_response, response.finish_reason) == (True, "stop")
    assert [(p.type, p.text) for p in response.parts] == [("text", "Lisbon is warm, Oslo is cold.")]
    # An assistant turn of only tool calls shows no empty text part.
    assert thread.turns[2].parts == []


def test_it_links_each_call_to_the_message_answering_it_and_back(weather):
    rec, messages, calls = weather
    thread = build_thread(rec, messages, calls)
    turns = {t.anchor: t for t in thread.turns}

    assert [(c.anchor, c.turn_anchor, c.answered_by) for c in thread.calls] == [
        ("call-0", "m-2", 3),
        ("call-1", "m-2", 4),
        ("call-2", "m-5", 6),
        ("call-3", "m-7", 8),
        ("call-4", "m-7", None),
    ]
    assert [c.anchor for c in turns["m-2"].calls] == ["call-0", "call-1"]
    assert {anchor: [c.anchor for c in t.answers] for anchor, t in turns.items()} == {
        "m-0": [],
        "m-1": [],
        "m-2": [],
        "m-3": ["call-0"],
        "m-4": ["call-1"],
        "m-5": [],
        "m-6": ["call-2"],
        "m-7": [],
        "m-8": ["call-3"],
        "response": [],
    }
    assert thread.calls[0].result_preview == '{"city": "Lisbon", "temperature_c": 17}'


def test_it_flags_unanswered_calls_failed_results_and_invalid_arguments(weather):
    rec, messages, calls = weather
    thread = build_thread(rec, messages, calls)

    assert [
        (c.anchor, c.unanswered, c.failed, c.arguments_valid, c.repeat_of) for c in thread.calls
    ] == [
        ("call-0", False, False, True, None),
        ("call-1", False, False, True, None),
        ("call-2", False, True, True, None),
        ("call-3", False, True, True, 0),
        ("call-4", True, False, False, None),
    ]
    assert [t.anchor for t in thread.turns if t.error] == ["m-6", "m-8"]


def test_it_shows_tool_results_that_are_json_highlighted(weather):
    rec, messages, calls = weather
    turn = build_thread(rec, messages, calls).turns[3]

    assert [p.type for p in turn.parts] == ["json"]
    assert 'class="nt"' in turn.parts[0].html


def test_it_does_not_call_a_call_made_by_the_response_unanswered():
    rec = recording(finish_reason="tool_calls")
    thread = build_thread(rec, [text(0, "user", "Hi")], [call(0, "lookup", "{}", None, None)])

    (made,) = thread.calls
    assert (made.in_response, made.unanswered, made.turn_anchor) == (True, False, "response")
    assert [c.anchor for c in thread.turns[-1].calls] == ["call-0"]


def test_it_chains_every_call_to_the_final_answer(weather):
    rec, messages, calls = weather
    chain = build_chain(build_thread(rec, messages, calls))

    assert [(c.name, c.repeat_of) for c in chain.calls] == [
        ("get_weather", None),
        ("get_weather", None),
        ("search_flights", None),
        ("get_weather", 0),
        ("get_time", None),
    ]
    assert (chain.repeats, chain.failures) == (1, 3)
    assert (chain.final_anchor, chain.final_preview) == (
        "response",
        "Lisbon is warm, Oslo is cold.",
    )


def test_it_has_no_chain_without_calls():
    assert build_chain(build_thread(recording(), [text(0, "user", "Hi")], [])) is None


def test_it_counts_how_often_each_offered_tool_was_called(weather):
    rec, messages, calls = weather
    thread = build_thread(rec, messages, calls)
    tools = [
        ToolDef(index=1, name="search_flights", description="Flights.", parameters=None),
        ToolDef(index=0, name="get_weather", description=" Weather. ", parameters={"type": "x"}),
        ToolDef(index=2, name="book_hotel", description="", parameters={}),
    ]

    view = build_tools(tools, thread.calls)
    assert [(t.name, t.description, t.called) for t in view.offered] == [
        ("get_weather", "Weather.", 3),
        ("search_flights", "Flights.", 1),
        ("book_hotel", "", 0),
    ]
    assert view.not_offered == [("get_time", 1)]
    assert 'class="nt"' in view.offered[0].parameters_html
    assert view.offered[1].parameters_html is None


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("Traceback (most recent call last):", True),
        ("ValueError: nope", True),
        ("The request TIMED OUT after 10 s", True),
        ("Upload failed", True),
        ("An Exception occurred", True),
        ('{"error": {"code": 500}}', True),
        ('{"error": null, "result": 3}', False),
        ('{"result": "sunny"}', False),
        ('{"status": "failed", "error": null}', True),
        ('[{"error_count": 0, "items": ["a"]}]', False),
        ("exp_004", False),
        ("", False),
    ],
)
def test_it_flags_error_looking_results(content, error):
    assert looks_like_error(content) is error


def test_it_draws_usage_bars_on_one_scale():
    rec = recording(
        prompt_tokens=800,
        completion_tokens=200,
        total_tokens=1000,
        cached_tokens=400,
        reasoning_tokens=50,
    )

    rows = build_usage(rec)
    assert [
        (r.label, r.value, r.width, r.part_label, r.part_value, r.part_width) for r in rows
    ] == [
        ("prompt", 800, 800, "cached", 400, 400),
        ("completion", 200, 200, "reasoning", 50, 50),
        ("total", 1000, 1000, "", None, 0),
    ]
    assert build_usage(recording()) == []


def test_it_summarises_what_streamed_chunks_carry():
    rec = recording(chunk_count=5, is_streaming=True)
    chunks = [
        {"i": 0, "k": ["role", "content"]},
        {"i": 1, "k": ["content"]},
        {"i": 2, "k": ["content", "tool"]},
        {"i": 3, "k": ["finish"]},
        {"i": 4, "k": ["usage"]},
    ]

    summary = build_stream_summary(rec, chunks)
    assert (summary.chunks, summary.carried) == (
        5,
        [("role", 1), ("content", 3), ("tool", 1), ("finish", 1), ("usage", 1)],
    )
    assert (summary.first_time, summary.last_time) == ("", "")


def test_it_lists_server_sent_events_with_their_data():
    lines = [
        "event: message_start",
        'data: {"type": "message_start"}',
        "",
        "event: error",
        'data: {"type": "error", "error": {"message": "<b>overloaded</b>"}}',
        "",
        "event: ping",
        "",
    ]
    chunks = [
        {"i": 0, "k": ["role"], "event": "message_start", "lines": [0, 2]},
        {"i": 1, "k": ["error"], "event": "error", "lines": [3, 5]},
        {"i": 2, "k": ["event"], "event": "ping", "lines": [6, 7]},
    ]

    events, count = build_events(chunks, lines)
    assert count == 3
    assert [(e.name, e.data, e.error) for e in events] == [
        ("message_start", '{"type": "message_start"}', False),
        ("error", '{"type": "error", "error": {"message": "<b>overloaded</b>"}}', True),
        ("ping", "", False),
    ]
    assert "&lt;b&gt;overloaded&lt;/b&gt;" in events[1].html


def test_it_finds_images_of_every_provider_by_message_and_part():
    openai = {
        "body": {
            "messages": [
                {"role": "system", "content": "Look."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        image_url(PNG_URL),
                        image_url("https://example.com/a.jpg"),
                    ],
                },
                {"role": "user", "content": "Describe it.", "images": [PNG_B64]},  # Ollama
            ]
        }
    }
    assert request_images("inference", openai) == {
        (1, 1): RawImage(data=PNG_B64, mime="image/png"),
        (1, 2): RawImage(url="https://example.com/a.jpg"),
        (2, 1): RawImage(data=PNG_B64),
    }

    anthropic = {
        "payload": {
            "system": "Be brief.",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
                        {"type": "image", "source": base64_source(PNG_B64)},
                    ],
                }
            ],
        }
    }
    assert request_images("http_passthrough", anthropic) == {
        (1, 1): RawImage(data=PNG_B64, mime="image/png")
    }

    gemini = {
        "body": {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Hi"},
                        {"inline_data": {"mime_type": "image/png", "data": PNG_B64}},
                    ],
                }
            ],
            "config": {"system_instruction": "Be kind."},
        }
    }
    assert request_images("inference", gemini) == {(1, 1): RawImage(data=PNG_B64, mime="image/png")}

    generate = {"body": {"prompt": "What is in the picture?", "images": [PNG_B64]}}
    assert request_images("inference", generate) == {(0, 1): RawImage(data=PNG_B64)}

    assert request_images("tool_invoke", {"tool_name": "x", "kwargs": {}}) == {}


def test_it_serves_only_raster_images_as_their_bytes_say():
    gif = b"GIF89a" + b"\x00" * 10
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 "
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

    assert [sniff(d) for d in (PNG, b"\xff\xd8\xff\xe0", gif, webp, svg, b"")] == [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        None,
        None,
    ]
    # A PNG declared as JPEG is served as what it is; an SVG declared as PNG is not served.
    assert decode_image(RawImage(data=PNG_B64, mime="image/jpeg")) == (PNG, "image/png")
    assert decode_image(RawImage(data=base64.b64encode(svg).decode(), mime="image/png")) is None
    assert decode_image(RawImage(data="not_valid_base64_data!!!", mime="image/png")) is None
    assert decode_image(RawImage(url="https://example.com/a.png")) is None


def test_it_builds_the_page_of_a_recording_with_an_inline_image():
    document = {
        "test_id": "tests/integration/inference/test_vision.py::test_it[x]",
        "request": {
            "method": "POST",
            "url": "http://localhost/v1/chat/completions",
            "body": {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What?"},
                            image_url(PNG_URL),
                            image_url("data:image/png;base64,bm90IGFuIGltYWdl"),
                            image_url("http://example.com/cat.png"),
                            image_url("javascript:alert(1)"),
                        ],
                    }
                ]
            },
        },
        "response": {"body": None, "is_streaming": False},
    }
    rec = recording(path="inference/recordings/v.json", size=100, test_id=document["test_id"])
    message = Message(
        index=0,
        role="user",
        text="What?",
        parts=[
            {"type": "text", "text": "What?"},
            summary("data:image/png;base64,", mime="image/png", data_bytes=len(PNG_B64)),
            summary("data:image/png;base64,", mime="image/png", data_bytes=16),
            summary("http://example.com/cat.png"),
            summary("javascript:alert(1)"),
        ],
        image_count=4,
    )

    page = build_page(rec, data=orjson.dumps(document), messages=[message])
    images = [p.image for p in page.thread.turns[0].parts if p.image]
    assert [(i.kind, i.src, i.mime, i.size) for i in images] == [
        ("inline", "/i/inference/recordings/v/0/1", "image/png", len(PNG)),
        ("unshown", "", "image/png", 16),
        ("remote", "http://example.com/cat.png", "", 0),
        ("unshown", "javascript:alert(1)", "", 0),
    ]
    assert (page.view, page.status, page.url, page.raw_url, page.raw_section_url) == (
        "chat",
        "ok",
        "/r/inference/recordings/v",
        "/r/inference/recordings/v.json",
        "/raw/inference/recordings/v",
    )
    assert page.test_url == (
        "/test?id=tests%2Fintegration%2Finference%2Ftest_vision.py%3A%3Atest_it%5Bx%5D"
    )
    # Only the bytes tell the broken image from the real one: this page needs them.
    assert needs_bytes(rec, [message])

    raw = build_raw_section(rec, orjson.dumps(document))
    assert [(b.title, b.anchor) for b in raw.blocks] == [
        ("Request", "raw-request"),
        ("Response", "raw-response"),
        ("Other top-level keys", "raw-other"),
    ]
    # The 100-byte file rides along for its copy button.
    assert raw.original_text == orjson.dumps(document).decode()
    assert (raw.view, raw.url, raw.raw_url, raw.stored) == (
        "chat",
        "/r/inference/recordings/v",
        "/r/inference/recordings/v.json",
        True,
    )


def test_it_needs_the_original_bytes_only_for_inline_images_and_events():
    remote = Message(
        index=0, role="user", parts=[summary("http://example.com/cat.png")], image_count=1
    )
    inline = Message(
        index=1, role="user", parts=[summary("data:;base64,", data_bytes=16)], image_count=1
    )
    chat, sse = recording(), recording(response_type="sse-lines")
    assert not needs_bytes(chat, [])
    assert not needs_bytes(chat, [text(0, "user", "Hi"), remote])
    assert needs_bytes(chat, [remote, inline])
    assert needs_bytes(sse, [])


def test_it_builds_the_raw_section_of_a_file_too_big_to_copy_or_not_stored():
    big = {"request": {"body": "x" * 200_000}, "response": {"body": None}}
    rec = recording(path="generic/recordings/g.json", kind="generic")

    raw = build_raw_section(rec, orjson.dumps(big))
    assert (raw.view, raw.original_text, raw.stored) == ("generic", None, True)
    assert [b.title for b in raw.blocks] == ["Request", "Response"]
    assert "+199,880 chars" in raw.blocks[0].html  # shortened, with a link to see it whole
    missing = build_raw_section(rec, None)
    assert (missing.blocks, missing.original_text, missing.stored) == ([], None, False)
