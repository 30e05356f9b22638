"""Take the list's selection away: `/export.zip` (its original files) and `/recordings.jsonl`
(its JSON twins), both over the list's own parameters, both streamed as they are read."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.views.decorators.http import require_GET

from inspector import exporting
from inspector.forms import RecordingFilter
from inspector.views.common import bad_request
from inspector.zipping import zip_chunks

UNSAFE = re.compile(r"[^A-Za-z0-9._]+")
# A download's name says what was chosen, up to this many characters of it.
NAME_CHARS = 80


# Not HEAD (require_safe): its answer would read and compress the whole selection for nothing.
@require_GET
def export_zip(request: HttpRequest) -> HttpResponse:
    """A zip of the selection's original files at their paths, byte for byte."""
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    members = exporting.selection(form).members()
    response = StreamingHttpResponse(
        streamed(request, zip_chunks(members)), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{download_name(request.GET, "zip")}"'
    return response


@require_GET
def recordings_jsonl(request: HttpRequest) -> HttpResponse:
    """The selection's JSON twins, one a line, in the list's order (all of it: not a page)."""
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=True)
    lines = exporting.twin_lines(form.ordered(form.filtered()))
    response = StreamingHttpResponse(streamed(request, lines), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'inline; filename="{download_name(request.GET, "jsonl")}"'
    return response


def download_name(query: QueryDict, extension: str) -> str:
    """`recordings-suite-agents.zip`: the choosing parameters, in characters safe in a header."""
    chosen = [
        f"{name}-{value}"
        for name, values in query.lists()
        if not name.startswith("_") and name != "group"
        for value in values
        if value
    ]
    words = UNSAFE.sub("-", "-".join(chosen))[:NAME_CHARS].strip("-.")
    return f"recordings-{words or 'all'}.{extension}"


def streamed(
    request: HttpRequest, chunks: Iterator[bytes]
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """The response's content as its server reads it. Under ASGI Django wants an asynchronous
    iterator: given a synchronous one, it reads it whole into a list before sending a byte. The
    test client and WSGI servers read a synchronous one, and would read an asynchronous one
    whole."""
    if isinstance(request, ASGIRequest):
        return in_request_thread(chunks)
    return chunks


async def in_request_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each piece made in the request's own thread (thread-sensitive), where its database
    connection is, one at a time as the client takes them."""
    step = sync_to_async(next)
    try:
        while (chunk := await step(chunks, None)) is not None:
            yield chunk
    finally:
        # A client that left: the files' generators stop here (they hold no cursor open).
        # Still running in its thread (the step was cancelled, the thread runs on), the
        # generator cannot be closed: it is collected once that step ends.
        close = getattr(chunks, "close", None)
        if close is not None:
            with suppress(ValueError):
                close()
