from __future__ import annotations

from django import forms
from django.db import connection
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from inspector.models import Recording, Source

# When two import roots hold the same path, the one imported last wins (a root still being
# imported for the first time has no last_import yet: it comes last on every database).
NEWEST_ROOT_FIRST = (F("root__last_import").desc(nulls_last=True), "-id")


def get_recording(path: str, *related: str) -> Recording:
    """The recording at `path` under its import root, with `related` one-to-one rows fetched in
    the same query."""
    recording = (
        Recording.objects.filter(path=path)
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


def source_bytes(source_id: int | None) -> bytes | None:
    if source_id is None:
        return None
    if connection.vendor == "postgresql":
        return _stored_bytes_binary(source_id)
    data = Source.objects.filter(pk=source_id).values_list("data", flat=True).first()
    return None if data is None else bytes(data) or None


def _stored_bytes_binary(source_id: int) -> bytes | None:
    """PostgreSQL sends bytea as hex text unless asked for binary, which Django's client-side
    cursors cannot do: a 16 MB file took ~150 ms to arrive that way, ~25 ms in binary. The
    cursor is still wrapped the Django way (logged, errors translated, counted by tests)."""
    import psycopg  # installed with the PostgreSQL backend only

    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote('data')} FROM {quote(Source._meta.db_table)} WHERE {quote('id')} = %s"
    )
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    raw.format = psycopg.pq.Format.BINARY
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(sql, [source_id])
        row = cursor.fetchone()
    # Empty: a recording whose blob was gone when sources took the bytes (migration 0012);
    # no file that imports is empty.
    return None if row is None else bytes(row[0]) or None


def bad_request(request: HttpRequest, form: forms.Form, json: bool = False) -> HttpResponse:
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    if json:
        return JsonResponse({"error": "bad parameters", "fields": errors}, status=400)
    return render(request, "inspector/bad_request.html", {"errors": errors}, status=400)


def page_path(recording_path: str) -> str:
    """A recording's page: its path without `.json`."""
    return "/r/" + recording_path.removesuffix(".json")
