from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any
from urllib.parse import quote

import orjson
from django.db import connection
from django.db.models import Sum
from django.db.models.utils import create_namedtuple_class
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import search
from inspector.forms import FACET_COLUMNS, FACETS, FLAG_HOLDS, SORTS, RecordingFilter
from inspector.models import ImportFailure, Message, Recording, ToolCall
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
FACET_LIMIT = 12
FACET_SCAN = 10_000


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


def facets(form: RecordingFilter) -> dict[str, Any]:
    """Each facet's values with counts, over the selection as narrowed by the other facets.
    Counts cover at most the newest FACET_SCAN recordings of each selection, so that they stay
    quick at any size; the page says when they stop there. One query per selection (the whole
    one, and one per chosen facet without its own choice) reads the facet columns of those
    rows; Python counts them."""
    scans: dict[str | None, list[dict[str, Any]]] = {}

    def scan(name: str) -> list[dict[str, Any]]:
        skip = name if form.cleaned_data.get(name) else None  # else: the whole selection
        if skip not in scans:
            scans[skip] = list(form.newest(FACET_SCAN + 1, skip=skip).values(*FACET_COLUMNS))
        return scans[skip][:FACET_SCAN]

    found = []
    for name, column in FACETS.items():
        chosen = form.cleaned_data.get(name) or ""
        counts = Counter(row[column] for row in scan(name) if row[column])
        options = [
            {
                "value": value,
                "label": short_label(name, value),
                "count": n,
                "chosen": value == chosen,
                "url": form.query_string(**{name: "" if value == chosen else value}),
            }
            for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[
                :FACET_LIMIT
            ]
        ]
        if chosen and not any(o["chosen"] for o in options):
            options.insert(
                0,
                {
                    "value": chosen,
                    "label": short_label(name, chosen),
                    "count": None,
                    "chosen": True,
                    "url": form.query_string(**{name: ""}),
                },
            )
        found.append({"name": name, "options": options})
    for name, holds in FLAG_HOLDS.items():
        chosen = form.cleaned_data.get(name) or ""
        yes = sum(1 for row in scan(name) if holds(row))
        counts = {"yes": yes, "no": len(scan(name)) - yes}
        options = [
            {
                "value": value,
                "label": value,
                "count": counts[value],
                "chosen": chosen == value,
                "url": form.query_string(**{name: "" if chosen == value else value}),
            }
            for value in ("yes", "no")
        ]
        found.append({"name": name, "options": options})
    capped = any(len(rows) > FACET_SCAN for rows in scans.values())
    return {"groups": found, "capped": capped, "scan": FACET_SCAN}


def short_label(facet: str, value: str) -> str:
    """Test files are long paths; their last part tells them apart (the full one is a tooltip)."""
    return value.rsplit("/", 1)[-1] if facet == "file" else value


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
    test_id = request.GET.get("id", "")
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


@require_safe
def import_errors(request: HttpRequest) -> HttpResponse:
    failures = ImportFailure.objects.select_related("root").order_by("root__path", "path")
    return render(
        request,
        "inspector/import_errors.html",
        {"failures": failures[:1000], "count": failures.count()},
    )
