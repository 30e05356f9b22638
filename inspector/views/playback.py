"""The chunk timeline and the player of a streamed response (its replay, `/stream/`, is in
views/streaming.py). Every view here reads the stream's columns (`inspector.chunks`) and
touches a bounded part of them: a page of the table, one chunk, ~1,000 timeline columns."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from inspector import playback
from inspector.chunks import Chunks
from inspector.formats import VCR
from inspector.forms import MAX_NUMBER, shared_fields
from inspector.highlight import highlight_json
from inspector.llama_stack.document import RawList, load_document
from inspector.models import Recording
from inspector.views.common import document_of, get_exchange, stored_bytes
from inspector.wire.common import time_of

CHUNK_PAGE = 100
RETRY_AFTER = 10  # seconds: most replays take seconds to a minute
PLAYBACKS = playback.Playbacks()


@shared_fields
class PlayerState(forms.Form):
    at = forms.IntegerField(required=False, min_value=0, max_value=MAX_NUMBER)
    speed = forms.ChoiceField(required=False, choices=[(s, s) for s in playback.SPEEDS])
    play = forms.BooleanField(required=False)
    step = forms.BooleanField(required=False)

    def position(self, total: int) -> int:
        at = self.cleaned_data.get("at")
        at = total if at is None else min(at, total)
        if self.cleaned_data.get("step"):
            at = min(at + 1, total)
        return at

    @property
    def chosen_speed(self) -> str:
        return self.cleaned_data.get("speed") or playback.DEFAULT_SPEED


@shared_fields
class ChunkQuery(forms.Form):
    """`n`: a chunk to show; `page`: a page of the chunk table."""

    n = forms.IntegerField(required=False, min_value=0, max_value=MAX_NUMBER)
    page = forms.IntegerField(required=False, min_value=0, max_value=MAX_NUMBER)


def max_playbacks() -> int:
    return settings.INSPECTOR_MAX_PLAYBACKS  # the replay itself is in views/streaming.py


def stream_of(recording: Recording) -> Chunks:
    """The chunks: fetched with the recording when it was got with `get_recording(p, "stream")`."""
    try:
        return recording.stream.chunks
    except Recording.stream.RelatedObjectDoesNotExist:
        return Chunks.of([])


def page_of(recording: Recording) -> str:
    return recording.path.removesuffix(".json")


def player_context(
    recording: Recording, chunks: Chunks, at: int, speed: str, playing: bool = False
) -> dict[str, Any]:
    path, prefix = page_of(recording), recording.url_prefix
    frame = playback.frame_at(chunks, at)
    return {
        "recording": recording,
        "frame": frame,
        "at": frame.at,
        "total": len(chunks),
        "speed": speed,
        "speeds": list(playback.SPEEDS),
        "playing": playing and not frame.done,
        "player_url": f"{prefix}/play/{path}",
        "page_url": f"{prefix}/r/{path}",
        "stream_url": f"{prefix}/stream/{path}?{urlencode({'at': frame.at, 'speed': speed})}",
        "start_at": 0 if frame.done else frame.at,  # Play at the end starts again
        "next_at": min(frame.at + 1, len(chunks)),
    }


def timeline_context(
    recording: Recording, chunks: Chunks, page: int = 0, picked: int | None = None
) -> dict[str, Any]:
    """What the recording page shows of a stream: the strip, a page of the table (the first,
    or the picked chunk's)."""
    offsets = playback.times(chunks)
    marks = playback.marks(chunks)
    lanes = playback.lane_order({mark["lane"] for mark in marks})
    columns = max((m["column"] for m in marks), default=0) + 1
    width, lane_height = 1000, 14
    per_column = max(1, -(-len(chunks) // 1000))
    for mark in marks:
        # Coordinates go out as strings: a template formatting thousands of floats through
        # Django's localization took longer than everything else on a 20,000-chunk page.
        if offsets is not None:
            span = offsets[-1] or 1.0
            mark["x"] = f"{offsets[mark['first']] / span * (width - 4):.2f}"
            mark["w"] = "3"
        else:
            mark["x"] = f"{mark['column'] * width / columns:.2f}"
            mark["w"] = f"{max(width / columns - 0.5, 1):.2f}"
        mark["y"] = str(lanes.index(mark["lane"]) * lane_height)
        mark["kind"] = mark["lane"].split(":")[0]
        mark["label"] = (
            f"chunk {mark['first']}"
            if mark["first"] == mark["last"]
            else f"chunks {mark['first']} to {mark['last']}"
        ) + f": {mark['lane']}"
    return {
        "lanes": [{"name": lane, "y": i * lane_height + 10} for i, lane in enumerate(lanes)],
        "marks_svg": marks_svg(marks, f"{recording.url_prefix}/chunk/{page_of(recording)}"),
        "strip_height": len(lanes) * lane_height,
        "strip_width": width,
        "timed": offsets is not None,
        "duration": round(offsets[-1], 3) if offsets else None,
        "per_column": per_column,
        **table_context(recording, chunks, page, picked),
    }


def marks_svg(marks: list[dict[str, Any]], chunk_url: str) -> str:
    """The strip's marks as SVG, built here: up to a few thousand of them, which the template
    engine took a quarter of a second to render one by one. Every value is escaped."""
    url = html.escape(chunk_url)
    return mark_safe(
        "".join(
            f'<a href="?chunk={m["first"]}#chunk-detail" hx-get="{url}?n={m["first"]}" '
            f'hx-target="#chunk-detail" hx-swap="innerHTML"><rect x="{m["x"]}" y="{m["y"]}" '
            f'width="{m["w"]}" height="11" class="mark k-{html.escape(m["kind"])}">'
            f"<title>{html.escape(m['label'])}</title></rect></a>"
            for m in marks
        )
    )


def table_context(
    recording: Recording, chunks: Chunks, page: int, picked: int | None = None
) -> dict[str, Any]:
    """A page of the chunk table; `picked`, the chunk shown beside it, is marked in it."""
    pages = max(1, -(-len(chunks) // CHUNK_PAGE))
    page = max(0, min(page, pages - 1))
    start = page * CHUNK_PAGE
    length = chunks.text_end(start)
    rows = []
    for chunk in chunks[start : start + CHUNK_PAGE]:
        length += len(chunk.get("content", ""))
        rows.append(
            {
                "i": chunk["i"],
                "kinds": list(chunk.get("k", ())),
                "event": chunk.get("event", ""),
                "content": playback.visible(chunk.get("content", "")),
                "reasoning": playback.visible(chunk.get("reasoning", "")),
                "tool": chunk.get("tool") or [],
                "finish": chunk.get("finish", ""),
                "usage": chunk.get("usage"),
                "length": length,
                "t": chunk.get("t", ""),
            }
        )
    path = page_of(recording)
    return {
        "chunk_rows": rows,
        "picked": picked,
        "chunk_page": page,
        "pages": pages,
        "prev_page": page - 1 if page > 0 else None,
        "next_page": page + 1 if page + 1 < pages else None,
        "chunks_url": f"{recording.url_prefix}/chunks/{path}",
        "chunk_url": f"{recording.url_prefix}/chunk/{path}",
    }


def stream_section(recording: Recording, request: HttpRequest, chunks: Chunks) -> dict[str, Any]:
    """Context for the recording page's stream sections (timeline and player)."""
    state = PlayerState(request.GET)
    at, speed = len(chunks), playback.DEFAULT_SPEED
    if state.is_valid():
        at, speed = state.position(len(chunks)), state.chosen_speed
    # Without JavaScript, ?chunks=K pages the table and ?chunk=N shows a chunk.
    shown = int_or(request.GET.get("chunk"), -1)
    picked = shown if 0 <= shown < len(chunks) else None
    page = int_or(request.GET.get("chunks"), 0 if picked is None else picked // CHUNK_PAGE)
    return {
        "has_timeline": True,
        "chunk_total": len(chunks),
        "chunk_detail": chunk_detail(recording, chunks, shown)
        if 0 <= shown < len(chunks)
        else None,
        **timeline_context(recording, chunks, page, picked),
        **player_context(recording, chunks, at, speed),
    }


def int_or(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _recording_and_chunks(path: str) -> tuple[Recording, Chunks]:
    recording = get_exchange(path, "stream")
    chunks = stream_of(recording)
    if not chunks:
        raise Http404(f"{path} has no streamed chunks")
    return recording, chunks


@require_safe
def player(request: HttpRequest, path: str) -> HttpResponse:
    """The player in one state: paused at a chunk, or playing from it (`play=1`)."""
    recording, chunks = _recording_and_chunks(path)
    state = PlayerState(request.GET)
    if not state.is_valid():
        return HttpResponse("bad player state", status=400)
    at = state.position(len(chunks))
    playing = bool(state.cleaned_data.get("play"))
    # Asked to play while the server plays all it may: paused, saying so (the stream would
    # answer 503; a player that connects anyway waits and retries, see app.js).
    busy = playing and PLAYBACKS.running >= max_playbacks()
    ctx = player_context(recording, chunks, at, state.chosen_speed, playing=playing and not busy)
    ctx["busy"] = busy and {"limit": max_playbacks(), "retry": RETRY_AFTER}
    response = render(request, "inspector/_player.html", ctx)
    # The paused point is shareable: the page's URL follows the player.
    query = urlencode({"at": ctx["at"], "speed": state.chosen_speed})
    page = f"{recording.url_prefix}/r/{quote(page_of(recording))}"
    response["HX-Replace-Url"] = f"{page}?{query}#player"  # a name may hold a newline
    return response


@require_safe
def chunk(request: HttpRequest, path: str) -> HttpResponse:
    """One chunk's raw JSON and the message assembled up to and including it."""
    recording, chunks = _recording_and_chunks(path)
    query = ChunkQuery(request.GET)
    if not query.is_valid() or query.cleaned_data["n"] is None:
        return HttpResponse("n must be a chunk number", status=400)
    number = query.cleaned_data["n"]
    if number >= len(chunks):
        raise Http404("no such chunk")
    detail = render_to_string(
        "inspector/_chunk.html", chunk_detail(recording, chunks, number), request
    )
    # With it, out of band, the table page that holds it, its row marked: a mark picked on the
    # timeline shows where the chunk is in the table, whichever page was shown.
    table = table_context(recording, chunks, number // CHUNK_PAGE, picked=number)
    table_page = render_to_string("inspector/_chunk_table.html", {**table, "oob": True}, request)
    return HttpResponse(detail + table_page)


def chunk_detail(recording: Recording, chunks: Chunks, number: int) -> dict:
    """The chunk as recorded is only in the original file: the one view of a stream that reads
    it (a 16 MB file for a 20,000-chunk stream), and only when a chunk is asked for."""
    meta = chunks[number]
    body = recorded_body(recording)
    if body is None:
        raw = html.escape("(the original bytes are not stored)")
    else:
        if not isinstance(body, list | RawList):
            body = [body]  # a streamed body of one object (or scalar): its one chunk
        if "lines" in meta:
            chunk: Any = body[meta["lines"][0] : meta["lines"][1] + 1]
        else:
            chunk = body[number] if number < len(body) else "(not in the recorded body)"
        raw = highlight_json(chunk)  # Pygments escaped every value
    return {
        "recording": recording,
        "n": number,
        "meta": meta,
        # Its time as recorded, unless it is the recorder's zero (1970, year 1): that is none.
        "time": meta.get("t") if time_of(meta.get("t")) else "",
        "raw": mark_safe(raw),
        "frame": playback.frame_at(chunks, number + 1),
        "total": len(chunks),
        "chunk_url": f"{recording.url_prefix}/chunk/{page_of(recording)}",
    }


def recorded_body(recording: Recording) -> Any:
    """The response body as recorded: a llama-stack file's, or a cassette exchange's (an event
    stream as its lines, which the chunks' `lines` point into); None when not stored."""
    if recording.format == VCR:
        document = document_of(recording)
        response = document.get("response") if isinstance(document, dict) else None
        return response.get("body") if isinstance(response, dict) else None
    data = stored_bytes(recording)
    if data is None:
        return None
    # As imported: a BOM skipped, and a large file's chunks decoded only as asked for (one of
    # a 50 MB file's million: 0.3 s, where decoding it whole took 1.5 s and 960 MB).
    return load_document(data)["response"]["body"]


@require_safe
def chunk_table(request: HttpRequest, path: str) -> HttpResponse:
    recording, chunks = _recording_and_chunks(path)
    query = ChunkQuery(request.GET)
    if not query.is_valid():
        return HttpResponse("page must be a number", status=400)
    ctx = {
        "recording": recording,
        **table_context(recording, chunks, query.cleaned_data["page"] or 0),
    }
    return render(request, "inspector/_chunk_table.html", ctx)
