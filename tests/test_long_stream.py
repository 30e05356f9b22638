"""Long streams: assembled and replayed in linear time, held as columns, replays bounded and
stopped when their client leaves. No timing here (bench/long_stream.py measures time): each test
checks the structure that makes a million chunks cheap."""

from __future__ import annotations

import gc
import http.client
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from inspector import parsing, playback
from inspector.importer import import_paths
from inspector.llama_stack.document import LAZY_BYTES, RawList, load_document
from inspector.models import Recording, Stream
from inspector.views import playback as player_views
from inspector.views import streaming
from inspector.wire.streams import read_stream

MAX = 64 * 1024 * 1024
CHUNK_TYPE = "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "__type__": CHUNK_TYPE,
        "__data__": {"object": "chat.completion.chunk", "choices": [choice]},
    }


def long_stream(n: int, tool_calls: int = 0) -> list[dict[str, Any]]:
    """A role chunk, `n - 2` one-character content chunks (every 1,000th a reasoning chunk, and
    the first `tool_calls` hundreds each opening a call and sending its arguments), a finish."""
    body = [chunk({"role": "assistant", "content": ""})]
    for i in range(1, n - 1):
        if i % 1000 == 0:
            body.append(chunk({"reasoning_content": f"<{i}>"}))
        elif i % 100 == 0 and i // 100 <= tool_calls:
            call = {
                "index": i // 100 - 1,
                "id": f"call_{i}",
                "function": {"name": "f", "arguments": '{"a": '},
            }
            body.append(chunk({"tool_calls": [call]}))
        elif i % 100 == 1 and 0 < i // 100 <= tool_calls:
            call = {"index": i // 100 - 1, "function": {"arguments": f"{i}}}"}}
            body.append(chunk({"tool_calls": [call]}))
        else:
            body.append(chunk({"content": "abcdefghij"[i % 10]}))
    body.append(chunk({}, finish="stop"))
    return body


def document(body: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "test_id": "tests/integration/inference/test_long.py::test_long",
        "request": {
            "method": "POST",
            "url": "https://api.openai.com/v1/chat/completions",
            "body": {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "Go"}],
                "stream": True,
            },
            "endpoint": "/v1/chat/completions",
            "model": "gpt-4o",
        },
        "response": {"body": body, "is_streaming": True},
    }


def imported(tmp_path: Path, n: int, tool_calls: int = 0) -> Recording:
    path = tmp_path / "long" / "recordings" / ("e" * 64 + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document(long_stream(n, tool_calls))))
    assert import_paths([tmp_path], max_bytes=MAX).imported == 1
    return Recording.objects.get()


def page(recording: Recording) -> str:
    return recording.path.removesuffix(".json")


class Counted(str):
    """A delta that counts the characters copied by `+` onto it: appending to a growing text
    copies that text, so a quadratic assembler copies n²/2 characters for n one-character
    deltas, a linear one (pieces joined once) none."""

    copied = 0

    def __radd__(self, other: str) -> str:
        Counted.copied += len(other)
        return str.__add__(other, self)


def test_it_assembles_text_and_tool_arguments_without_copying_what_it_has(monkeypatch):
    monkeypatch.setattr(Counted, "copied", 0)
    n = 20_000
    datas = [{"choices": [{"delta": {"role": "assistant"}}]}]
    datas += [{"choices": [{"delta": {"content": Counted("x")}}]} for _ in range(n)]
    datas += [{"choices": [{"delta": {"reasoning_content": Counted("r")}}]} for _ in range(n)]
    datas.append(
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]}}
            ]
        }
    )
    datas += [
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": Counted("1")}}]}}
            ]
        }
        for _ in range(n)
    ]
    recording = parsing.Recording(test_id=parsing.split_test_id(None), kind=parsing.INFERENCE)
    read_stream(recording, iter(datas))
    response = recording.response
    assert (response.text, response.reasoning) == ("x" * n, "r" * n)
    assert [(c.call_id, c.name, c.arguments) for c in response.tool_calls] == [("c", "f", "1" * n)]
    # Each delta copied at most once: linear (the quadratic one copied 3 * 20,000² / 2).
    assert Counted.copied <= 3 * n
    # The replay's frames come from the columns the same way: sliced, never appended to.
    chunks = recording.chunks
    assert playback.frame_at(chunks, len(chunks)).text == "x" * n
    assert Counted.copied <= 3 * n


def test_it_parses_a_large_file_one_chunk_at_a_time():
    """A 200,000-chunk file (10 MB) is parsed without all its chunks decoded at once: orjson
    decoding it whole peaked at ~190 MB of Python objects."""
    data = orjson.dumps(document(long_stream(200_000)))
    assert len(data) > LAZY_BYTES
    assert isinstance(load_document(data)["response"]["body"], RawList)
    tracemalloc.start()
    try:
        parsed = parsing.parse(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    expected = "".join("abcdefghij"[i % 10] for i in range(1, 199_999) if i % 1000)
    assert parsed.response.text == expected
    assert parsed.response.reasoning == "".join(f"<{i}>" for i in range(1000, 199_999, 1000))
    assert (parsed.chunk_count, len(parsed.chunks), parsed.response.finish_reason) == (
        200_000,
        200_000,
        "stop",
    )
    # A broken chunk deep in a large file is the file's error, worded as for a small one.
    broken = data.replace(b'"content":"a"', b'"content":"a', 1)
    with pytest.raises(parsing.RecordingError, match=r"malformed JSON|truncated JSON"):
        parsing.parse(broken)


def test_it_replays_long_tool_arguments_as_they_grow_not_again_and_again():
    """A call whose arguments come in 20,000 fragments, replayed a chunk a step: each step sends
    the fragment it adds (the call drawn once, when it begins). Drawn again at every step, the
    calls sent 20,000² / 2 characters."""
    n = 20_000
    call = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f"}}
    datas = [{"choices": [{"delta": {"role": "assistant", "tool_calls": [call]}}]}]
    fragment = {"index": 0, "function": {"arguments": "7"}}
    datas += [{"choices": [{"delta": {"tool_calls": [fragment]}}]} for _ in range(n)]
    recording = parsing.Recording(test_id=parsing.split_test_id(None), kind=parsing.INFERENCE)
    read_stream(recording, iter(datas))
    chunks = recording.chunks
    frame, sent, drawn = playback.Frame(total=len(chunks)), 0, 0
    while frame.at < len(chunks):
        delta = playback.advance(frame, chunks, frame.at + 1)
        events = streaming.delta_events(frame, delta, len(chunks), "/play/x")
        sent += sum(len(e) for e in events if e.startswith((b"event: tools", b"event: args-")))
        drawn += any(e.startswith(b"event: tools") for e in events)
    assert drawn == 1
    assert sent < 100 * n
    assert [(t.call_id, t.arguments) for t in frame.tool_calls] == [("call_a", "7" * n)]


@pytest.mark.django_db
def test_it_stores_a_stream_as_columns_and_replays_it_as_assembled(tmp_path):
    rec = imported(tmp_path, 50_000, tool_calls=3)
    stored = Stream.objects.filter(recording=rec).values_list("chunks", flat=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT length(chunks) FROM inspector_stream")
        (size,) = cursor.fetchone()
    # ~13 bytes a chunk (its text, the ends of its text and reasoning, its kinds; base64): the
    # list of chunk dicts was ~45.
    assert size < 16 * 50_000
    chunks = stored.get()
    assert len(chunks) == 50_000
    contents = [c.get("content", "") for c in chunks]
    assert "".join(contents) == rec.response_text
    # Every checkpoint: the frame seeked to, and the frame a replay reaches step by step (steps
    # of any size, as its timer finds them due), hold the text assembled up to there.
    frame, sent, steps = playback.Frame(total=len(chunks)), [], [1, 7, 250, 1999, 3]
    step = 0
    while frame.at < len(chunks):
        delta = playback.advance(frame, chunks, frame.at + steps[step % len(steps)])
        sent.append(delta.text)
        step += 1
        if step % 10 == 0:
            expected = "".join(contents[: frame.at])
            assert "".join(sent) == expected
            assert playback.frame_at(chunks, frame.at).text == expected
    assert "".join(sent) == rec.response_text
    end = playback.frame_at(chunks, len(chunks))
    assert (end.text, end.reasoning, end.finish_reason) == (
        rec.response_text,
        rec.response_reasoning,
        "stop",
    )
    assert [(t.call_id, t.arguments) for t in end.tool_calls] == [
        ("call_100", '{"a": 101}'),
        ("call_200", '{"a": 201}'),
        ("call_300", '{"a": 301}'),
    ]
    assert [(t.call_id, t.arguments) for t in frame.tool_calls] == [
        (t.call_id, t.arguments) for t in end.tool_calls
    ]


@pytest.mark.django_db
def test_it_renders_a_long_streams_pages_with_a_bounded_number_of_elements(
    client, tmp_path, django_assert_max_num_queries
):
    rec = imported(tmp_path, 50_000, tool_calls=40)
    with django_assert_max_num_queries(6):
        body = client.get(f"/r/{page(rec)}").content.decode()
    lanes = re.findall(r'class="lane-label">([^<]+)<', body)
    # One lane per kind, the first TOOL_LANES tool calls a lane each and the other 30 one more
    # (40 lanes of their own before).
    assert lanes == [
        "role",
        "content",
        "reasoning",
        *[f"tool:{i}" for i in range(playback.TOOL_LANES)],
        f"tool:{playback.TOOL_LANES}+",
        "finish",
    ]
    assert len(re.findall(r"<rect ", body)) <= 1000 * len(lanes)
    assert len(re.findall(r'<tr id="chunk-\d+">', body)) == player_views.CHUNK_PAGE
    rows = client.get(f"/chunks/{page(rec)}", {"page": 300}).content.decode()
    assert re.findall(r'<tr id="chunk-(\d+)">', rows)[:2] == ["30000", "30001"]
    assert len(re.findall(r'<tr id="chunk-\d+">', rows)) == player_views.CHUNK_PAGE
    one = client.get(f"/chunk/{page(rec)}", {"n": 40_000}).content.decode()
    assert "<h3>Chunk 40000 <small>of 50000</small></h3>" in one
    assert one.count('class="hl chunk-raw"') == 1
    paused = client.get(f"/play/{page(rec)}", {"at": 25_000}).content.decode()
    assert 'value="25000"' in paused
    assert paused.count('<pre id="pb-text"') == 1


def open_stream(server: str, rec: Recording, speed: str = "0.25") -> http.client.HTTPResponse:
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"/stream/{page(rec)}?at=0&speed={speed}")
    return connection.getresponse()


def wait_for(condition: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_it_stops_a_replay_and_frees_it_when_its_client_leaves(asgi_server, tmp_path, caplog):
    rec = imported(tmp_path, 50_000)
    with caplog.at_level("INFO", logger="inspector.views.playback"):
        response = open_stream(asgi_server, rec, speed="max")
        assert response.status == 200
        assert response.readline() == b"retry: 60000\n"
        for _ in range(20):  # playing: events come
            response.readline()
        assert streaming.PLAYBACKS.running == 1
        assert len(streaming._shared) == 1  # its columns, shared with any other replay of it
        response.close()  # the browser tab closes
        assert wait_for(lambda: "the client left" in caplog.text)
    assert f"replay of {rec.path} stopped at chunk" in caplog.text
    stopped = int(re.search(r"stopped at chunk (\d+)", caplog.text)[1])
    assert 0 < stopped < 50_000
    # Its slot is given back and its columns freed: nothing of it stays behind.
    assert wait_for(lambda: streaming.PLAYBACKS.running == 0)
    gc.collect()
    assert wait_for(lambda: len(streaming._shared) == 0)


def test_it_answers_busy_beyond_the_bound(asgi_server, tmp_path, settings):
    settings.INSPECTOR_MAX_PLAYBACKS = 2
    rec = imported(tmp_path, 2_000)
    first, second = open_stream(asgi_server, rec), open_stream(asgi_server, rec)
    assert (first.status, second.status) == (200, 200)
    busy = open_stream(asgi_server, rec)
    assert busy.status == 503
    assert busy.getheader("Retry-After") == str(player_views.RETRY_AFTER)
    assert busy.read().decode().startswith("Busy: this server is playing 2 streams")
    # Asked to play meanwhile, the player stays paused and says why.
    parts = urlsplit(asgi_server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"/play/{page(rec)}?at=0&play=1", headers={"HX-Request": "true"})
    player = connection.getresponse().read().decode()
    assert "Busy: the server is playing 2 streams" in player
    assert "sse-connect" not in player
    first.close()
    assert wait_for(lambda: streaming.PLAYBACKS.running == 1)
    again = open_stream(asgi_server, rec)
    assert again.status == 200
    again.close()
    second.close()
    assert wait_for(lambda: streaming.PLAYBACKS.running == 0)


@pytest.mark.django_db
def test_it_reads_a_stream_stored_before_columns_as_the_same_chunks(tmp_path):
    from django.db.models import TextField, Value

    rec = imported(tmp_path, 300, tool_calls=1)
    as_dicts = list(Stream.objects.get(recording=rec).chunks)
    # A row written before columns holds the list of chunk dicts itself.
    text = orjson.dumps(as_dicts).decode()
    Stream.objects.filter(recording=rec).update(chunks=Value(text, output_field=TextField()))
    again = Stream.objects.get(recording=rec).chunks
    assert list(again) == as_dicts
    assert playback.frame_at(again, 300).text == rec.response_text
