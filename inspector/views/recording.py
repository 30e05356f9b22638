from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import parsing
from inspector.conversation import build_page, build_raw_section, needs_bytes, page_path
from inspector.forms import RecordingFilter, shared_fields
from inspector.highlight import highlight_json, pointer_parts, resolve, value_link
from inspector.images import decode_image, request_images
from inspector.models import Message, Recording, ToolCall, ToolDef
from inspector.snippets import escaped
from inspector.views.common import bad_request, get_recording, stored_bytes
from inspector.views.playback import stream_of, stream_section

# What a served image may do: nothing. A data: URL that claims to be PNG but holds HTML or SVG
# must not run as a document on this origin.
IMAGE_POLICY = "default-src 'none'; sandbox"
# j/k look for the recording in its list page first; when it is not there (the list changed),
# in at most this many rows of the whole list.
NEIGHBOUR_SCAN_MAX = 10_000


@require_safe
def recording(request: HttpRequest, path: str) -> HttpResponse:
    """`/r/<path>.json` is the original file; `/r/<path>` is the recording's page. The page
    reads the original bytes only for what nothing else holds (see `needs_bytes`): its raw JSON
    section loads apart, from `raw_section`."""
    if path.endswith(".json"):
        return raw(path)
    listing = RecordingFilter(QueryDict(request.GET["from"])) if "from" in request.GET else None
    if listing is not None and not listing.is_valid():
        return bad_request(request, listing)
    rec = get_recording(f"{path}.json", "stream")
    chunks = stream_of(rec)
    # One query per kind of row, whatever their number; none for a kind the recording lacks.
    messages = list(Message.objects.filter(recording=rec)) if rec.message_count else []
    calls = list(ToolCall.objects.filter(recording=rec)) if rec.tool_call_count else []
    tools = list(ToolDef.objects.filter(recording=rec)) if rec.tool_count else []
    siblings: list[Recording] = []
    if rec.listed_models and rec.file_name.startswith("models-"):
        # One logical listing may be split over files named models-<same hash>-<digest>.
        siblings = list(
            Recording.objects.filter(root_id=rec.root_id, request_hash=rec.request_hash)
            .exclude(pk=rec.pk)
            .only("path", "file_name", "listed_models")
            .order_by("path")
        )
    page = build_page(
        rec,
        data=stored_bytes(rec) if needs_bytes(rec, messages) else None,
        messages=messages,
        calls=calls,
        tools=tools,
        chunks=chunks,
        siblings=siblings,
    )
    nav = neighbours(listing, rec) if listing is not None else None
    ctx = {"page": page, "r": rec, "nav": nav}
    if chunks:
        ctx |= stream_section(rec, request, chunks)
    return render(request, "inspector/recording.html", ctx)


def raw(path: str) -> HttpResponse:
    """The original file, byte for byte."""
    recording = get_recording(path)
    data = stored_bytes(recording)
    if data is None:
        raise Http404(f"No stored bytes for {path}")
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="{safe_name(recording.file_name)}"'
    return response


@require_safe
@vary_on_headers("HX-Request")
def raw_section(request: HttpRequest, path: str) -> HttpResponse:
    """The recording page's raw JSON section, highlighted: for htmx, the fragment that replaces
    the page's placeholder when it scrolls into view; else a page of its own (the placeholder's
    link, without JavaScript)."""
    rec = get_recording(f"{path}.json")
    ctx = {"raw": build_raw_section(rec, stored_bytes(rec)), "r": rec}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "inspector/recording_raw.html#raw", ctx)
    return render(request, "inspector/recording_raw.html", ctx)


def safe_name(name: str) -> str:
    """A file name fit for a header: any file on disk may be imported, quotes and all."""
    return re.sub(r"[^\w.+-]", "_", name) or "recording.json"


# --------------------------------------------------------------------------- j/k


@dataclass
class Nav:
    back: str
    prev: str | None = None
    next: str | None = None
    position: int | None = None  # 0-based, in the list


def neighbours(form: RecordingFilter, rec: Recording) -> Nav:
    """The previous and next recordings of the list the page was opened from (`form`, valid,
    holds that list's query string, `from`). Their links carry `from` on, with its page moved to
    theirs, so that "back to list" lands on the page showing the recording, and the lookup stays
    a window."""
    ordered = form.ordered(form.filtered())
    rows_qs = ordered.values_list("id", "path")
    size = form.size

    def state(position: int) -> str:
        offset = (position // size) * size
        return form.query_string(_next=offset or None).removeprefix("?")

    def link(row: tuple[int, str], position: int) -> str:
        return f"{page_path(row[1])}?from={quote(state(position), safe='')}"

    # The page the list showed, and one row either side: both neighbours are in it.
    base = max(form.offset - 1, 0)
    wanted = form.offset + size + 1 - base
    rows = list(rows_qs[base : base + wanted])
    ids = [row[0] for row in rows]
    if rec.id in ids:
        position = base + ids.index(rec.id)
        ended = len(rows) < wanted
    else:
        all_ids = list(ordered.values_list("id", flat=True)[:NEIGHBOUR_SCAN_MAX])
        if rec.id not in all_ids:
            return Nav(back="/" + form.query_string())
        position = all_ids.index(rec.id)
        base, rows, ended = position, [], False
    inside = position - base
    if (inside == 0 and base > 0) or (inside == len(rows) - 1 and not ended) or not rows:
        base = max(position - 1, 0)
        rows = list(rows_qs[base : position + 2])
        inside = position - base
    before = rows[inside - 1] if inside > 0 else None
    after = rows[inside + 1] if inside + 1 < len(rows) else None
    return Nav(
        back="/" + form.query_string(_next=(position // size) * size or None),
        prev=link(before, position - 1) if before else None,
        next=link(after, position + 1) if after else None,
        position=position,
    )


# --------------------------------------------------------------------------- images and values


@require_safe
def image(request: HttpRequest, path: str, message: int, part: int) -> HttpResponse:
    """The bytes of an inline image of the request (part `part` of message `message`): PNG,
    JPEG, GIF or WebP as its bytes say, else 404. Remote images are never fetched here."""
    rec = get_recording(f"{path}.json")
    data = stored_bytes(rec)
    document = parsing.loads(data) if data is not None else {}
    request_part = document.get("request") if isinstance(document, dict) else None
    found = request_images(rec.kind, request_part).get((message, part))
    decoded = decode_image(found) if found is not None else None
    if decoded is None:
        raise Http404("No inline raster image there")
    body, mime = decoded
    response = HttpResponse(body, content_type=mime)
    response["Content-Security-Policy"] = IMAGE_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = (
        f'inline; filename="{safe_name(rec.request_hash[:12])}-{message}-{part}.{mime[6:]}"'
    )
    return response


@shared_fields
class ValueQuery(forms.Form):
    at = forms.CharField(required=False, max_length=4000, strip=False)

    def clean_at(self) -> str:
        at = self.cleaned_data["at"]
        if at and not at.startswith("/"):
            raise forms.ValidationError("A JSON pointer starts with /.")
        return at


@require_safe
@vary_on_headers("HX-Request")
def value(request: HttpRequest, path: str) -> HttpResponse:
    """One value of a recording, whole (its own children still shortened): for htmx, the
    highlighted fragment that replaces the shortened value; else a page of its own."""
    form = ValueQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    at = form.cleaned_data["at"]
    rec = get_recording(f"{path}.json")
    data = stored_bytes(rec)
    if data is None:
        raise Http404(f"No stored bytes for {path}")
    try:
        found = resolve(parsing.loads(data), at)
    except KeyError:
        raise Http404(f"No value at {at}") from None
    fragment = request.htmx and not request.htmx.history_restore_request
    # In place, continuation lines are indented as deep as the value sits.
    depth = max(len(pointer_parts(at)) - 1, 0) if fragment else 0
    html = highlight_json(found, pointer=at, depth=depth, link=value_link(path), expand=True)
    ctx = {"r": rec, "at": at, "html": escaped(html), "page_url": page_path(rec.path)}
    if fragment:
        return render(request, "inspector/recording_value.html#value", ctx)
    return render(request, "inspector/recording_value.html", ctx)
