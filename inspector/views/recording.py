from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import roots
from inspector.conversation import (
    build_page,
    build_raw_section,
    cassette_path_of,
    needs_bytes,
    original_url,
    page_path,
)
from inspector.formats import VCR
from inspector.forms import RecordingFilter, shared_fields
from inspector.highlight import highlight_json, pointer_parts, resolve, value_link
from inspector.images import decode_image, request_images
from inspector.models import Message, Recording, Source, ToolCall, ToolDef
from inspector.snippets import escaped
from inspector.twins import exchange_json
from inspector.views.cassette import cassette
from inspector.views.common import (
    bad_request,
    content_type_of,
    document_in,
    document_of,
    find_cassette,
    find_exchange,
    find_source_bytes,
    get_exchange,
    is_file_path,
    stored_bytes,
)
from inspector.views.compare_with import param_of
from inspector.views.playback import stream_of, stream_section

# What a served image may do: nothing. A data: URL that claims to be PNG but holds HTML or SVG
# must not run as a document on this origin.
IMAGE_POLICY = "default-src 'none'; sandbox"
# j/k look for the recording in its list page first; when it is not there (the list changed),
# in at most this many rows of the whole list.
NEIGHBOUR_SCAN_MAX = 10_000


@shared_fields
class PageFormat(forms.Form):
    """`?_format=json`: the page's JSON twin (`inspector.twins`)."""

    _format = forms.ChoiceField(required=False, choices=[("html", "html"), ("json", "json")])


@require_safe
def recording(request: HttpRequest, path: str) -> HttpResponse:
    """`/r/<path with its extension>` is the original file; `/r/<path>` the page of the
    llama-stack recording at `<path>.json`, else of the cassette exchange at `<path>`, else of
    the cassette at `<path>` and one of its extensions. The page reads the original bytes only
    for what nothing else holds (see `needs_bytes`): its raw section loads apart."""
    if is_file_path(path):
        found = find_source_bytes(path)
        if found is not None:
            return original(*found)
    fmt = PageFormat(request.GET)
    if not fmt.is_valid():
        return bad_request(request, fmt, json=True)
    as_json = fmt.cleaned_data["_format"] == "json"
    listing = RecordingFilter(QueryDict(request.GET["from"])) if "from" in request.GET else None
    if listing is not None and not listing.is_valid():
        return bad_request(request, listing)
    rec = find_exchange(path) if as_json else find_exchange(path, "stream")
    if rec is None:
        source = find_cassette(path)
        if source is None:
            raise Http404(f"No recording at {path}")
        return cassette(request, source, as_json)
    # One query per kind of row, whatever their number; none for a kind the recording lacks.
    messages = list(Message.objects.filter(recording=rec)) if rec.message_count else []
    calls = list(ToolCall.objects.filter(recording=rec)) if rec.tool_call_count else []
    if as_json:
        return JsonResponse(exchange_json(rec, messages, calls))
    chunks = stream_of(rec)
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
        document=document_of(rec) if needs_bytes(rec, messages) else None,
        messages=messages,
        calls=calls,
        tools=tools,
        chunks=chunks,
        siblings=siblings,
    )
    nav = neighbours(listing, rec) if listing is not None else None
    ctx = {"page": page, "r": rec, "nav": nav, "exchange": exchange_nav(rec)}
    ctx["compare_a"] = param_of(rec.path, rec.root_id)  # "Compare with" (views.diff)
    if chunks:
        ctx |= stream_section(rec, request, chunks)
    return render(request, "inspector/recording.html", ctx)


@dataclass
class ExchangeNav:
    """A cassette exchange's place in its cassette, and what HTTP says of it."""

    n: int  # from 1
    count: int
    cassette_url: str
    http: dict
    prev: str | None
    next: str | None

    @property
    def headers(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Request and response headers as (name, value) rows, one per value."""
        return [
            (title, [(n, v) for n, values in (self.http.get(key) or {}).items() for v in values])
            for title, key in (("Request", "request_headers"), ("Response", "response_headers"))
        ]


def exchange_nav(rec: Recording) -> ExchangeNav | None:
    """Links up to the cassette and to the exchanges either side. The count is the cassette's
    row's (one query less than counting: the importer writes both in one transaction)."""
    if rec.format != VCR:
        return None
    count = Source.objects.filter(pk=rec.source_id).values_list("exchange_count", flat=True)
    total = count.first() or rec.index + 1
    base = rec.url_prefix + "/r/" + quote(cassette_path_of(rec))
    n = rec.index + 1
    return ExchangeNav(
        n=n,
        count=total,
        cassette_url=base,
        http=(rec.details or {}).get("http") or {},
        prev=f"{base}/{n - 1}" if n > 1 else None,
        next=f"{base}/{n + 1}" if n < total else None,
    )


def original(source: Source, data: bytes) -> HttpResponse:
    """The original file, byte for byte: the one response that shows a cassette's secrets as
    they were recorded (a download the user asked for by the file's own path)."""
    response = HttpResponse(data, content_type=content_type_of(source.path))
    name = source.path.rpartition("/")[2]
    response["Content-Disposition"] = f'inline; filename="{safe_name(name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@vary_on_headers("HX-Request")
def raw_section(request: HttpRequest, path: str) -> HttpResponse:
    """The recording page's raw JSON section, highlighted: for htmx, the fragment that replaces
    the page's placeholder when it scrolls into view; else a page of its own (the placeholder's
    link, without JavaScript)."""
    rec = get_exchange(path)
    data = stored_bytes(rec)
    document = document_in(rec, data) if rec.format == VCR else None
    ctx = {"raw": build_raw_section(rec, data, document), "r": rec}
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
    rows_qs = ordered.values_list("id", "path", "root_id")
    size = form.size

    def state(position: int) -> str:
        offset = (position // size) * size
        return form.query_string(_next=offset or None).removeprefix("?")

    def link(row: tuple[int, str, int], position: int) -> str:
        page = page_path(row[1], roots.prefix(row[2]))
        return f"{page}?from={quote(state(position), safe='')}"

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
    rec = get_exchange(path)
    document = document_of(rec) or {}
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
        f'inline; filename="{safe_name(rec.request_hash[:12] or "image")}-{message}-{part}'
        f'.{mime[6:]}"'
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
    rec = get_exchange(path)
    document = document_of(rec)
    if document is None:
        raise Http404(f"No stored bytes for {path}")
    try:
        found = resolve(document, at)
    except KeyError:
        raise Http404(f"No value at {at}") from None
    fragment = request.htmx and not request.htmx.history_restore_request
    # In place, continuation lines are indented as deep as the value sits.
    depth = max(len(pointer_parts(at)) - 1, 0) if fragment else 0
    link = value_link(path, rec.url_prefix)
    html = highlight_json(found, pointer=at, depth=depth, link=link, expand=True)
    ctx = {
        "r": rec,
        "at": at,
        "html": escaped(html),
        "page_url": page_path(rec.path, rec.url_prefix),
        "raw_url": original_url(rec),
    }
    if fragment:
        return render(request, "inspector/recording_value.html#value", ctx)
    return render(request, "inspector/recording_value.html", ctx)
