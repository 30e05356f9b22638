from __future__ import annotations

import http.client
import re
import time
from urllib.parse import urlsplit

import pytest

from inspector import playback
from inspector.models import Recording, Stream
from tests.test_raw_section import reads_bytes

pytestmark = pytest.mark.django_db


def longest_stream() -> Recording:
    return (
        Recording.objects.filter(is_streaming=True, kind="inference", has_timing=False)
        .order_by("-chunk_count", "path")
        .first()
    )


def page(recording: Recording) -> str:
    return recording.path.removesuffix(".json")


def test_it_renders_the_player_paused_at_any_chunk(client, fixture_recordings):
    rec = longest_stream()
    chunks = Stream.objects.get(recording=rec).chunks
    middle = len(chunks) // 2
    response = client.get(
        f"/play/{page(rec)}", {"at": middle, "speed": "2"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert response["HX-Replace-Url"] == f"/r/{page(rec)}?at={middle}&speed=2#player"
    frame = playback.frame_at(chunks, middle)
    assert f'<pre id="pb-text" class="pb-text">{frame.text}</pre>' in body
    assert f'value="{middle}"' in body
    assert "sse-connect" not in body
    # Step adds exactly one chunk.
    stepped = client.get(f"/play/{page(rec)}", {"at": middle, "step": "on"})
    assert f'value="{middle + 1}"' in stepped.content.decode()


def test_it_renders_the_player_playing_with_a_stream_to_connect_to(client, fixture_recordings):
    rec = longest_stream()
    body = client.get(f"/play/{page(rec)}", {"at": 0, "speed": "max", "play": "1"}).content
    body = body.decode()
    assert f'sse-connect="/stream/{page(rec)}?at=0&amp;speed=max"' in body
    assert 'sse-close="done"' in body
    assert ">Pause<" in body


def test_it_refuses_a_bad_player_state(client, fixture_recordings):
    rec = longest_stream()
    assert client.get(f"/play/{page(rec)}", {"speed": "11"}).status_code == 400
    assert client.get(f"/play/{page(rec)}", {"at": "-3"}).status_code == 400
    assert client.get("/play/no/such/recording").status_code == 404


def test_it_shows_a_chunk_and_the_message_up_to_it(client, fixture_recordings):
    rec = longest_stream()
    chunks = Stream.objects.get(recording=rec).chunks
    number = next(c["i"] for c in chunks if "content" in c["k"])
    body = client.get(f"/chunk/{page(rec)}", {"n": number}).content.decode()
    assert f"<h3>Chunk {number} <small>of {len(chunks)}</small></h3>" in body
    assert 'class="hl chunk-raw"' in body
    assert playback.frame_at(chunks, number + 1).text in body
    assert client.get(f"/chunk/{page(rec)}", {"n": len(chunks)}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("1970-01-01T00:00:00Z", False),
        ("0001-01-01T00:00:00Z", False),
        ("2025-03-01T10:00:00Z", True),
    ],
)
def test_a_chunks_zeroed_time_is_no_time(client, tmp_path, stamp, shown):
    """The recorder zeroes times (1970, or year 1 in Go's zero): no chunk says it came then."""
    from inspector.importer import import_paths
    from tests.test_import_recordings import write

    chunk = {
        "model": "llama3.2",
        "created_at": stamp,
        "message": {"role": "assistant", "content": "Hi"},
    }
    done = chunk | {
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
    }
    document = {
        "test_id": "t.py::test_time",
        "request": {
            "method": "POST",
            "url": "http://localhost:11434/api/chat",
            "body": {"model": "llama3.2"},
        },
        "response": {
            "body": [
                {"__type__": "ollama._types.ChatResponse", "__data__": c} for c in (chunk, done)
            ],
            "is_streaming": True,
        },
    }
    write(tmp_path / "s" / "recordings" / ("a" * 64 + ".json"), document)
    assert import_paths([tmp_path], max_bytes=64 * 1024 * 1024).imported == 1
    body = client.get("/chunk/s/recordings/" + "a" * 64, {"n": 0}).content.decode()
    assert ("at <time>" in body) is shown
    assert (stamp in body.split('class="hl chunk-raw"')[0]) is shown  # the raw JSON keeps it


def test_it_pages_the_chunk_table(client, fixture_recordings):
    rec = longest_stream()
    chunks = Stream.objects.get(recording=rec).chunks
    body = client.get(f"/chunks/{page(rec)}", {"page": 0}).content.decode()
    rows = re.findall(r'<tr id="chunk-(\d+)">', body)
    assert rows == [str(i) for i in range(min(len(chunks), 100))]


def test_it_reads_the_original_bytes_only_to_show_a_chunk_as_recorded(
    client, fixture_recordings, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rec = longest_stream()

    def blob_reads(url: str, query: dict) -> list[int]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, query).status_code == 200
        return [n for n, q in enumerate(queries.captured_queries) if reads_bytes(q["sql"])]

    # The recording comes with its chunks: one query, and never the bytes.
    with django_assert_num_queries(1):
        client.get(f"/chunks/{page(rec)}", {"page": 0})
    assert blob_reads(f"/play/{page(rec)}", {"at": 3}) == []
    assert blob_reads(f"/r/{page(rec)}", {}) == []
    # A chunk's raw JSON is only in the file: read once, after the recording and its chunks.
    assert blob_reads(f"/chunk/{page(rec)}", {"n": 3}) == [1]
    assert len(blob_reads(f"/r/{page(rec)}", {"chunk": 3})) == 1  # the same, without JavaScript


def read_events(url: str, limit: float = 20.0) -> list[tuple[float, str, str]]:
    """(arrival time, event, data) of a server-sent event stream, read as it arrives."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=limit)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    start, events, name, data = time.monotonic(), [], "message", []
    while True:
        line = response.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            events.append((time.monotonic() - start, name, "\n".join(data)))
            name, data = "message", []
    connection.close()
    return events


def test_it_streams_the_chunks_paced_as_asked(asgi_server, fixture_recordings):
    rec = longest_stream()
    chunks = Stream.objects.get(recording=rec).chunks
    events = read_events(f"{asgi_server}/stream/{page(rec)}?at=0&speed=2")
    names = [name for _, name, _ in events]
    assert names[-1] == "done"
    text = "".join(re.sub(r"</?span>", "", data) for _, name, data in events if name == "text")
    import html

    assert html.unescape(text) == rec.response_text
    # Paced, not dumped: at 2x an untimed chunk is due every CHUNK_INTERVAL / 2 seconds.
    arrivals = [t for t, name, _ in events if name == "pos"]
    expected = (len(chunks) - 1) * playback.CHUNK_INTERVAL / 2
    assert arrivals[-1] - arrivals[0] == pytest.approx(expected, rel=0.5)
    positions = [data for _, name, data in events if name == "pos"]
    assert positions[-1] == f"{len(chunks)} / {len(chunks)}"
    assert len(positions) >= 3


def test_it_starts_the_stream_where_asked(asgi_server, fixture_recordings):
    rec = longest_stream()
    chunks = Stream.objects.get(recording=rec).chunks
    at = len(chunks) - 2
    events = read_events(f"{asgi_server}/stream/{page(rec)}?at={at}&speed=max")
    positions = [data for _, name, data in events if name == "pos"]
    assert positions[-1] == f"{len(chunks)} / {len(chunks)}"
    assert all(int(p.split(" / ")[0]) > at for p in positions)


def test_it_stops_replaying_when_the_client_leaves(asgi_server, fixture_recordings, caplog):
    rec = longest_stream()
    parts = urlsplit(asgi_server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    with caplog.at_level("INFO", logger="inspector.views.playback"):
        connection.request("GET", f"/stream/{page(rec)}?at=0&speed=0.25")
        response = connection.getresponse()
        assert response.readline() == b"retry: 60000\n"
        connection.close()  # the browser tab closes
        deadline = time.monotonic() + 5
        while "the client left" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert f"replay of {rec.path} stopped at chunk" in caplog.text


def test_it_refuses_bad_chunk_parameters(client, fixture_recordings):
    rec = longest_stream()
    assert client.get(f"/chunk/{page(rec)}", {"n": "x"}).status_code == 400
    assert client.get(f"/chunk/{page(rec)}").status_code == 400
    assert client.get(f"/chunk/{page(rec)}", {"n": "-1"}).status_code == 400
    assert client.get(f"/chunks/{page(rec)}", {"page": "two"}).status_code == 400
