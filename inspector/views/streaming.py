"""The playback of a stream as server-sent events (`/stream/`), for htmx's SSE extension.

A replay holds no copy of its stream: concurrent replays of one recording share its columns
(`shared_chunks`), and each sends the text a step adds as one slice of them, keeping only its
position, tool calls and meta. It sleeps until the next chunk is due, sending what fell due
meanwhile as one step (steps at least COALESCE apart), so a client that leaves cancels it at
once and a replay never runs through chunks without yielding to the server. At most
INSPECTOR_MAX_PLAYBACKS run in one process; beyond, 503 with Retry-After."""

from __future__ import annotations

import asyncio
import html
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from inspector import playback, roots
from inspector.chunks import Chunks
from inspector.models import Recording, Stream
from inspector.playback import Delta, Frame, Slot
from inspector.views.common import LLAMA_STACK_FIRST, NEWEST_ROOT_FIRST
from inspector.views.playback import (
    PLAYBACKS,
    RETRY_AFTER,
    PlayerState,
    max_playbacks,
    page_of,
    player_context,
)

logger = logging.getLogger("inspector.views.playback")

# Deltas due within this window go out as one event: "as fast as possible" and 10x stay at a
# few dozen DOM updates per second instead of one per chunk.
COALESCE = 0.03

# The columns of the streams being replayed, by recording and content: every replay of one
# recording shares one copy, freed with the last replay of it.
_shared: weakref.WeakValueDictionary[tuple[int, str], Chunks] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def shared_chunks(path: str) -> tuple[Recording, Chunks]:
    """The recording and its columns, loaded once for all the replays of it that run at once:
    20 replays started together each decoded their own copy before (~25 MB apiece for a
    1,000,000-chunk stream, which the server then kept)."""
    # Without its text, which each replay held a copy of (1 MB for a million chunks); the
    # player reads its path and reasoning only.
    wanted = f"{path}.json"  # a llama-stack recording first, else a cassette exchange
    recording = (
        Recording.objects.filter(path__in=[wanted, path], **roots.scope())
        .defer("response_text", "details", "listed_models")
        .order_by(*LLAMA_STACK_FIRST, *NEWEST_ROOT_FIRST)
        .first()
    )
    if recording is None:
        raise Http404(f"No recording at {path}")
    recording.url_prefix  # noqa: B018 (read here, in a thread: the replay's links need it)
    key = (recording.pk, recording.sha256)
    with _shared_lock:  # one load at a time (~50 ms for a million chunks); the others wait
        chunks = _shared.get(key)
        if chunks is None:
            rows = Stream.objects.filter(recording=recording).values_list("chunks", flat=True)
            chunks = rows.first()
            if not chunks:
                raise Http404(f"{path} has no streamed chunks")
            _shared[key] = chunks
    return recording, chunks


def sse(event: str, data: str) -> bytes:
    """One server-sent event; data lines split so newlines survive."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


def delta_events(frame: Frame, delta: Delta, total: int, player_url: str) -> list[bytes]:
    events = []
    if delta.reasoning:
        events.append(sse("reasoning", f"<span>{html.escape(delta.reasoning)}</span>"))
    if delta.text:
        events.append(sse("text", f"<span>{html.escape(delta.text)}</span>"))
    if delta.calls_changed:  # the calls drawn again, with what they hold so far
        ctx = {"frame": frame, "playing": True}
        events.append(sse("tools", render_to_string("inspector/_player_tools.html", ctx)))
    else:  # arguments appended, as text is: redrawn, a long call's were sent again each step
        for index, added in delta.arguments.items():
            events.append(sse(f"args-{index}", f"<span>{html.escape(added)}</span>"))
    if delta.meta_changed:
        events.append(
            sse("meta", render_to_string("inspector/_player_meta.html", {"frame": frame}))
        )
    events.append(sse("pos", f"{frame.at} / {total}"))
    events.append(
        sse(
            "scrub",
            render_to_string(
                "inspector/_player_scrubber.html",
                {"at": frame.at, "total": total, "player_url": player_url},
            ),
        )
    )
    return events


class Replay:
    """The response's content: the replay's events, and its slot given back when the response
    is closed (Django closes it however the stream ended) or, failing that, collected."""

    def __init__(
        self, recording: Recording, chunks: Chunks, at: int, speed: str, slot: Slot
    ) -> None:
        self.events = replay(recording, chunks, at, speed, slot)
        self.slot = slot
        weakref.finalize(self, slot.release)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.events

    def close(self) -> None:
        self.slot.release()


async def replay(
    recording: Recording, chunks: Chunks, at: int, speed: str, slot: Slot
) -> AsyncIterator[bytes]:
    """The chunks from `at` on, paced as they arrived (or at a fixed rate when the recording has
    no times), at `speed`; ends with the finished player. A client that leaves cancels this."""
    total, rate = len(chunks), playback.SPEEDS[speed]
    frame = Frame(total=total)
    playback.advance(frame, chunks, at)
    player_url = f"{recording.url_prefix}/play/{page_of(recording)}"
    # Chunk `at` is due one gap after the start, as it was after the chunk before it.
    base = playback.due(chunks, max(at - 1, 0))
    try:
        yield b"retry: 60000\n\n"  # a dropped connection is not replayed from the start
        start = last_sent = time.monotonic()
        while frame.at < total:
            stop = playback.due_by(chunks, base + (time.monotonic() - start) * rate)
            if stop > frame.at:
                delta = playback.advance(frame, chunks, stop)
                for event in delta_events(frame, delta, total, player_url):
                    yield event
                last_sent = time.monotonic()
            if frame.at >= total:
                break
            due = start + (playback.due(chunks, frame.at) - base) / rate
            now = time.monotonic()
            await asyncio.sleep(max(due - now, last_sent + COALESCE - now, 0.0))
    except (asyncio.CancelledError, GeneratorExit):
        # The page was closed or the player paused: the server cancels us, and the work stops.
        logger.info("replay of %s stopped at chunk %d: the client left", recording.path, frame.at)
        raise
    finally:
        slot.release()
    ctx = player_context(recording, chunks, total, speed)
    yield sse("done", render_to_string("inspector/_player.html", ctx))


def busy_response() -> HttpResponse:
    limit = max_playbacks()
    response = HttpResponse(
        f"Busy: this server is playing {limit} streams, the most it plays at once."
        f" Try again in {RETRY_AFTER} seconds.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response


@require_GET  # not HEAD: the replay would run its whole length for nothing
async def stream(request: HttpRequest, path: str) -> HttpResponse:
    """Server-sent events replaying a stream, for htmx's SSE extension."""
    state = PlayerState(request.GET)
    if not state.is_valid():
        return HttpResponse("bad player state", status=400)
    slot = PLAYBACKS.take(max_playbacks())
    if slot is None:
        return busy_response()
    try:
        recording, chunks = await sync_to_async(shared_chunks)(path)
    except BaseException:
        slot.release()
        raise
    at = state.position(len(chunks))
    response = StreamingHttpResponse(
        Replay(recording, chunks, at, state.chosen_speed, slot), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
