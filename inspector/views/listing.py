from __future__ import annotations

from html import escape
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import orjson
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import Length
from django.db.models.utils import create_namedtuple_class
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import search
from inspector.conversation import TEST_ID_LINK_MAX, test_key
from inspector.facets import facets
from inspector.forms import SORTS, RecordingFilter, TestQuery
from inspector.models import ImportFailure, ImportRoot, Message, Recording, ToolCall
from inspector.views.common import bad_request, page_path

# Columns the list shows; everything else (and above all the stored bytes) stays unread. Rows
# come as named tuples of these (`Row`): making model instances (~40 fields, most deferred) took
# ~0.1 ms a row, a third of a 50-row page.
LIST_COLUMNS = (
    "id", "path", "file_name", "test_id", "test_file", "test_class", "test_function",
    "test_params", "suite", "kind", "endpoint", "model", "provider", "is_streaming",
    "tool_call_count", "total_tokens", "size", "is_exception", "missing",
)  # fmt: skip
Row = Any  # a named tuple of LIST_COLUMNS
RowTuple = create_namedtuple_class(*LIST_COLUMNS)
ROWS_SQL = "SELECT {} FROM {}".format(
    ", ".join(f'"{Recording._meta.get_field(name).column}"' for name in LIST_COLUMNS),
    Recording._meta.db_table,
)


def select(form: RecordingFilter) -> tuple[list[Row], int | None]:
    """One page of the matching recordings and the offset of the next page, found by fetching
    one row more than shown instead of counting."""
    start, stop = form.offset, form.offset + form.size + 1
    newest = form.newest_sql(start, stop)
    if newest is not None:
        rows = rows_listed(*newest)
    else:
        listed = form.ordered(form.filtered()).values_list(*LIST_COLUMNS, named=True)
        rows = list(listed[start:stop])
    more = len(rows) > form.size
    return rows[: form.size], (form.offset + form.size if more else None)


def rows_listed(ids_sql: str, params: list[Any]) -> list[Row]:
    """The list's rows of the recordings whose ids `ids_sql` lists, newest first, in one
    statement with it. Written here: the ORM took ~0.9 ms to build the statement each time,
    more than the database takes to answer it."""
    with connection.cursor() as cursor:
        cursor.execute(f"{ROWS_SQL} WHERE {search.id_in(ids_sql)} ORDER BY id DESC", params)
        return [RowTuple._make(row) for row in cursor.fetchall()]


def failure_count() -> int:
    """How many files failed to import (the nav's link). Raw for the same reason as `rows_listed`:
    the ORM's count took ~0.6 ms to build."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ImportFailure._meta.db_table}")
        return int(cursor.fetchone()[0])


def as_json(recording: Row) -> dict[str, Any]:
    return {
        "path": recording.path,
        "url": page_path(recording.path),
        "raw_url": f"/r/{recording.path}",
        "test_id": recording.test_id,
        "suite": recording.suite,
        "kind": recording.kind,
        "endpoint": recording.endpoint,
        "model": recording.model,
        "provider": recording.provider,
        "streaming": recording.is_streaming,
        "tool_calls": recording.tool_call_count,
        "tokens": recording.total_tokens,
        "size": recording.size,
        "status": status_of(recording),
    }


def status_of(recording: Row) -> str:
    if recording.missing:
        return "missing"
    return "exception" if recording.is_exception else "ok"


@require_safe
@vary_on_headers("HX-Request")
def index(request: HttpRequest) -> HttpResponse:
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    rows, next_offset = select(form)
    # Each row links to its page with the list's state, for j/k there.
    back = "?from=" + quote(form.query_string(_next=form.offset or None).removeprefix("?"))
    ctx = {
        "form": form,
        "rows": rows,
        "rows_html": mark_safe("".join(row_html(row, page_path(row.path) + back) for row in rows)),
        "next_url": form.query_string(_next=next_offset) if next_offset is not None else None,
        "prev_url": form.query_string(_next=max(form.offset - form.size, 0))
        if form.offset
        else None,
        "first": form.offset + 1,
        "last": form.offset + len(rows),
        "sort": form.sort,
        "sorts": {key: sort_link(form, key) for key in SORTS},
    }
    # Facet counts cost a query each over the whole selection: the page asks for them apart
    # (/facets, on load), so the rows never wait for them. Without JavaScript, ?_facets=1.
    ctx["facets"] = facets(form) if form.cleaned_data.get("_facets") else None
    ctx["facets_url"] = "/facets" + form.query_string()
    if request.htmx and not request.htmx.history_restore_request and not request.htmx.boosted:
        return render(request, "inspector/index.html#results", ctx)
    ctx["failure_count"] = failure_count()
    return render(request, "inspector/index.html", ctx)


ROW = (
    '<tr data-href="{url}"><td class="test"><a class="open" href="{url}">{name}</a>'
    '<div class="where" title="{test_id}">{where}</div></td><td>{suite}</td>'
    "<td><code>{endpoint}</code></td><td>{model}</td><td>{provider}</td><td>{stream}</td>"
    '<td class="num">{calls}</td><td class="num">{tokens}</td><td class="num">{size}</td>'
    "<td>{status}</td></tr>\n"
)
STREAM = '<span class="tag">stream</span>'
STATUS = {
    "missing": '<span class="tag bad">missing</span>',
    "exception": '<span class="tag bad">exception</span>',
    "ok": '<span class="tag ok">ok</span>',
}


def row_html(r: Row, url: str) -> str:
    """One row of the list. Built here rather than in the template: Django's template engine
    spent ~0.17 ms a row, a third of a 50-row page's time. Every value from the recording is
    escaped here (`escape` is what Django's own escaping does)."""
    if r.test_function:
        name = f'<span class="fn">{escape(r.test_function)}</span>'
        if r.test_params:
            name += f'<span class="params">[{escape(r.test_params)}]</span>'
    else:
        name = f'<span class="fn none">{escape(r.file_name)}</span>'
    if r.test_id:
        where = f"{r.test_file}::{r.test_class}" if r.test_class else r.test_file
    else:
        where = f"no test id · {r.path}"
    return ROW.format(
        url=escape(url),
        name=name,
        test_id=escape(r.test_id or ""),
        where=escape(where),
        suite=escape(r.suite),
        endpoint=escape(r.endpoint),
        model=escape(r.model),
        provider=escape(r.provider),
        stream=STREAM if r.is_streaming else "",
        calls=r.tool_call_count or "",
        tokens="" if r.total_tokens is None else r.total_tokens,
        size=size_text(r.size),
        status=STATUS[status_of(r)],
    )


def size_text(size: int) -> str:
    """What Django's `filesizeformat` says ("53.2\xa0KB"), in English: its translation and
    number formatting took ~0.08 ms a call, half of a row's time."""
    if size < 1024:
        return f"{size}\xa0byte" if size == 1 else f"{size}\xa0bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1024
        if value < 1024 or unit == "PB":
            break
    return f"{round(value, 1):.1f}\xa0{unit}"


def sort_link(form: RecordingFilter, key: str) -> dict[str, str]:
    current = form.sort
    if current == key:
        return {"url": form.query_string(_sort=f"-{key}"), "arrow": "▲"}
    if current == f"-{key}":
        return {"url": form.query_string(_sort=key), "arrow": "▼"}
    return {"url": form.query_string(_sort=key), "arrow": ""}


@require_safe
def facet_counts(request: HttpRequest) -> HttpResponse:
    """The facets of a selection, with counts: the list loads them after its rows."""
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    return render(request, "inspector/index.html#facets", {"form": form, "facets": facets(form)})


@require_safe
def recordings_json(request: HttpRequest) -> HttpResponse:
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=True)
    rows, next_offset = select(form)
    body = {
        "recordings": [as_json(r) for r in rows],
        "next": (
            request.build_absolute_uri("/recordings.json" + form.query_string(_next=next_offset))
            if next_offset is not None
            else None
        ),
    }
    return HttpResponse(orjson.dumps(body), content_type="application/json")


@require_safe
def by_test(request: HttpRequest) -> HttpResponse:
    """Every recording of one test, in conversation order: each next request's messages extend
    the previous one's, so the test reads as one thread."""
    form = TestQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    test_id = form.cleaned_data["id"]
    if form.cleaned_data["key"]:
        test_id = test_id_of(form.cleaned_data["key"]) or ""
    recordings = list(
        Recording.objects.filter(test_id=test_id)
        .defer("details", "listed_models")
        .order_by("message_count", "path")
    )
    ids = [r.id for r in recordings]
    messages: dict[int, list[Message]] = {}
    for message in Message.objects.filter(recording_id__in=ids).order_by("recording", "index"):
        messages.setdefault(message.recording_id, []).append(message)
    calls: dict[int, list[ToolCall]] = {}
    for call in ToolCall.objects.filter(recording_id__in=ids).order_by("recording", "position"):
        calls.setdefault(call.recording_id, []).append(call)
    turns = []
    shown = 0
    for recording in recordings:
        own = messages.get(recording.id, [])
        turns.append(
            {
                "recording": recording,
                "url": page_path(recording.path),
                "new_messages": own[shown:],  # only what this request added to the thread
                "calls": [c for c in calls.get(recording.id, []) if c.message_index is None],
            }
        )
        shown = max(shown, len(own))
    totals = Recording.objects.filter(test_id=test_id).aggregate(
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        total=Sum("total_tokens"),
        cached=Sum("cached_tokens"),
        reasoning=Sum("reasoning_tokens"),
    )
    ctx = {"test_id": test_id, "turns": turns, "totals": totals, "found": bool(recordings)}
    return render(request, "inspector/by_test.html", ctx, status=200 if recordings else 404)


def test_id_of(key: str) -> str | None:
    """The test id whose key is `key`, among those only linked by key (`test_url`): a scan of
    their lengths, ~20 ms at 100,000 recordings, for the rare test id that long."""
    long_ids = (
        Recording.objects.annotate(length=Length("test_id"))
        .filter(length__gt=TEST_ID_LINK_MAX)
        .order_by()
        .values_list("test_id", flat=True)
        .distinct()
    )
    return next((test_id for test_id in long_ids if test_key(test_id) == key), None)


@require_safe
def import_errors(request: HttpRequest) -> HttpResponse:
    """The files that failed to import, by their path under their import root: the server's
    own folders are nobody else's business (the root shows as its folder's name)."""
    failures = ImportFailure.objects.select_related("root").order_by("root__path", "path")
    shown = list(failures[:1000])
    names = root_names({f.root for f in shown})
    rows = [
        {
            "path": f.path,
            "reason": without_root(f.reason, f.root.path),
            "root": names[f.root.pk],
            "size": f.size,
        }
        for f in shown
    ]
    return render(
        request, "inspector/import_errors.html", {"failures": rows, "count": failures.count()}
    )


def root_names(roots: set[ImportRoot]) -> dict[int, str]:
    """Each root's folder name, with its number where two share one."""
    names = {root.pk: PurePath(root.path).name or str(root.pk) for root in roots}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {pk: f"{name} #{pk}" if name in shared else name for pk, name in names.items()}


def without_root(reason: str, root: str) -> str:
    """A reason quoting the failed file's full path (an OSError's) quotes it under its root."""
    return reason.replace(root.rstrip("/") + "/", "")
