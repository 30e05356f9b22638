from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from inspector import parsing, roots
from inspector.cassettes.naming import EXTENSIONS
from inspector.conversation import exchange_document, source_path_of
from inspector.formats import VCR
from inspector.models import Recording, Source
from inspector.stored import source_bytes

# When two import roots hold the same path, the one imported last wins (a root still being
# imported for the first time has no last_import yet: it comes last on every database).
NEWEST_ROOT_FIRST = (F("root__last_import").desc(nulls_last=True), "-id")
# Of `<p>.json` and `<p>` (a llama-stack recording and a cassette exchange at one page path),
# the recording: the longer path sorts last. A CASE expression said the same and took 5 ms
# more per page to compile than the query took to run.
LLAMA_STACK_FIRST = ("-path",)


def get_recording(path: str, *related: str) -> Recording:
    """The recording at `path` under its import root, with `related` one-to-one rows fetched in
    the same query."""
    recording = (
        Recording.objects.filter(path=path, **roots.scope())
        .select_related(*related)
        .order_by(*NEWEST_ROOT_FIRST)
        .first()
    )
    if recording is None:
        raise Http404(f"No recording at {path}")
    return recording


def stored_bytes(recording: Recording) -> bytes | None:
    """The original bytes of the recording's source file; None when they are not stored. Only
    for what shows the file itself: pages read their rows."""
    return source_bytes(recording.source_id)


def bad_request(request: HttpRequest, form: forms.Form, json: bool = False) -> HttpResponse:
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    if json:
        return JsonResponse({"error": "bad parameters", "fields": errors}, status=400)
    return render(request, "inspector/bad_request.html", {"errors": errors}, status=400)


def page_path(recording_path: str, root_id: int | None = None) -> str:
    """A recording's page: its path without `.json`, after its root's name when two or more
    roots exist (`roots.prefix`)."""
    return roots.prefix(root_id) + "/r/" + recording_path.removesuffix(".json")


# --------------------------------------------------------------------------- page paths

# A cassette's extensions, longest first: `/r/<path>` of a cassette is its path without one
# (`.gz` alone too: the importer names such a cassette's exchanges the same way).
CASSETTE_EXTENSIONS = EXTENSIONS
CONTENT_TYPES = {".gz": "application/gzip", ".yaml": "application/yaml", ".yml": "application/yaml"}


def get_exchange(path: str, *related: str) -> Recording:
    """What the page `/r/<path>` shows of one exchange: the llama-stack recording at
    `<path>.json`, else the cassette exchange at `<path>`, in one query (the path index serves
    the IN); 404 when neither is."""
    recording = find_exchange(path, *related)
    if recording is None:
        raise Http404(f"No recording at {path}")
    return recording


def find_exchange(path: str, *related: str) -> Recording | None:
    """Also `<root name>/<path>` (/diff's `a` and `b`): within that root, when its first
    component names one and that root has it."""
    if roots.CURRENT.get() is None:
        root_id, rest = roots.split(path)
        if root_id is not None:
            token = roots.CURRENT.set(root_id)
            try:
                found = find_exchange(rest, *related)
            finally:
                roots.CURRENT.reset(token)
            if found is not None:
                return found
    return (
        Recording.objects.filter(path__in=[f"{path}.json", path], **roots.scope())
        .select_related(*related)
        .order_by(*LLAMA_STACK_FIRST, *NEWEST_ROOT_FIRST)
        .first()
    )


def find_cassette(path: str) -> Source | None:
    """The cassette whose path is `path` and one of its extensions, without its bytes."""
    return (
        Source.objects.filter(
            path__in=[path + extension for extension in CASSETTE_EXTENSIONS],
            format=VCR,
            **roots.scope(),
        )
        .defer("data")
        .order_by(*NEWEST_ROOT_FIRST)
        .first()
    )


def find_source_bytes(path: str) -> tuple[Source, bytes] | None:
    """The file at `path` (with its extension) and its bytes, for `/r/<path>`; None when no
    source is there. Asked only of a path that ends like a file (`is_file_path`)."""
    source = (
        Source.objects.filter(path=path, **roots.scope())
        .only("id", "path", "format")
        .order_by(*NEWEST_ROOT_FIRST)
        .first()
    )
    if source is None:
        return None
    data = source_bytes(source.pk)
    return None if data is None else (source, data)


def is_file_path(path: str) -> bool:
    return path.lower().endswith(CASSETTE_EXTENSIONS)


def content_type_of(path: str) -> str:
    """By extension: the bytes are served as what the file is, never as a page."""
    for extension, content_type in CONTENT_TYPES.items():
        if path.lower().endswith(extension):
            return content_type
    return "application/json"


def document_of(recording: Recording) -> Any:
    """What `/raw/`, `/v/`, `/i/` and `/chunk/` read of an exchange: a llama-stack file's JSON
    document, or a cassette interaction as one (`exchange_document`: its headers masked, its
    bodies parsed). None when the bytes are not stored."""
    return document_in(recording, stored_bytes(recording))


def document_in(recording: Recording, data: bytes | None) -> Any:
    if data is None:
        return None
    if recording.format != VCR:
        return parsing.loads(data)
    from inspector.cassettes.reading import read_cassette

    interactions = read_cassette(data, source_path_of(recording)).interactions
    if recording.index >= len(interactions):
        return None
    return exchange_document(interactions[recording.index])
