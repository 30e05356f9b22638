"""The list: exchanges newest first (or by file, `?group=source`), its facets and its JSON twin.
Rows are rendered by templates/inspector/_row.html."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import content_search, finding, roots, search
from inspector.cassettes.naming import strip_extension
from inspector.explaining.misses import looks_like_miss
from inspector.facets import FACET_CACHE_SECONDS, facets, selection_key
from inspector.forms import MAX_NUMBER, SORTS, RecordingFilter
from inspector.models import ImportFailure, Recording, Source
from inspector.views.common import bad_request, page_path
from inspector.views.explain import redirect_to_explain

VCR = Source.Format.VCR.value
# Columns the list shows; everything else (and above all the stored bytes) stays unread. Rows
# come as tuples of these, not model instances: making those (~40 fields, most deferred) took
# ~0.1 ms a row, a third of a 50-row page.
LIST_COLUMNS = (
    "id", "path", "file_name", "test_id", "test_file", "test_class", "test_function",
    "test_params", "suite", "kind", "endpoint", "model", "provider", "is_streaming",
    "tool_call_count", "total_tokens", "size", "is_exception", "missing", "source_id", "index",
    "format", "name_verdict", "name_reason", "root_id",
)  # fmt: skip
SOURCE_ID, FORMAT = LIST_COLUMNS.index("source_id"), LIST_COLUMNS.index("format")
_BY_ATTNAME = {field.attname: field for field in Recording._meta.concrete_fields}
_FIELDS = [_BY_ATTNAME[name] for name in LIST_COLUMNS]
ROWS_SQL = "SELECT {} FROM {}".format(
    ", ".join(connection.ops.quote_name(field.column) for field in _FIELDS),
    connection.ops.quote_name(Recording._meta.db_table),
)
# Booleans come from SQLite's cursor as 0 and 1 (the ORM converts them).
BOOLEANS = frozenset(
    i for i, field in enumerate(_FIELDS) if field.get_internal_type() == "BooleanField"
)

# The name audit's verdicts as the list's narrow column shows them (the reason is their title).
SHORT_VERDICTS = {"shared tool hash": "shared", "older rule": "older"}

# A row as the list shows it: LIST_COLUMNS by name, and what `row_of` adds. A dict, because
# the template engine looks a name up as a key first: on an object or a tuple that lookup
# raises (and is caught) before the attribute is tried, ~10 times a row.
Row = dict[str, Any]


def row_of(values: tuple[Any, ...], source_path: str, exchanges: int) -> Row:
    """An exchange's row, with its file's path and exchange count."""
    row = dict(zip(LIST_COLUMNS, values, strict=True))
    row["source_path"] = source_path
    row["exchanges"] = exchanges
    # Its page: a llama-stack file's path without `.json`; a cassette exchange's path
    # (`<cassette without extension>/<n>`). The original file: a cassette exchange's is its
    # cassette's.
    row["page"] = page_path(row["path"], row["root_id"])
    row["raw_url"] = f"{roots.prefix(row['root_id'])}/r/{source_path}"
    row["number"] = row["index"] + 1  # from 1, as in a cassette exchange's address
    row["in_cassette"] = row["format"] == VCR
    row["status"] = status_of(row["missing"], row["is_exception"])
    row["verdict_label"] = SHORT_VERDICTS.get(row["name_verdict"], row["name_verdict"])
    return row


def status_of(missing: bool, exception: bool) -> str:
    if missing:
        return "missing"
    return "exception" if exception else "ok"


def select(form: RecordingFilter) -> tuple[list[Row], int | None]:
    """One page of the matching exchanges and the offset of the next page, found by fetching
    one row more than shown instead of counting."""
    start, stop = form.offset, form.offset + form.size + 1
    newest = form.newest_sql(start, stop)
    if newest is not None:
        listed = searched_rows(*newest)
    else:
        # The page's ids first, then their rows: sorting by a column other than the id sorts
        # whole rows (SQLite: each run of equal prefixes in a temporary b-tree), and ids sort
        # faster than the list's 22 columns. SQLite at 100,000 recordings, CPU: by model
        # 74 -> 22 ms, by test 58 -> 29.
        page = form.ordered(form.filtered()).values("id")[start:stop]
        listed = form.ordered(Recording.objects.filter(id__in=page)).values_list(*LIST_COLUMNS)
    rows = with_sources(list(listed))
    more = len(rows) > form.size
    return rows[: form.size], (form.offset + form.size if more else None)


def with_snippets(rows: list[Row], form: RecordingFilter) -> None:
    """A content search's hits with their words in context (`row["snippet"]`), cut from the
    page's stored content: the list shows them, its JSON twin does not."""
    if form.terms:
        found = content_search.snippets([row["id"] for row in rows], form.terms)
        for row in rows:
            row["snippet"] = found.get(row["id"], [])


def searched_rows(ids_sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of the page's ids that the search index lists, in the same statement, written
    here once. With the ORM the hash page was 7.4x quicker than `find` where `make bench` asks
    for 20x (bench/README.md, 1b594f5); fetching the rows took 1.54 ms that way, 0.59 ms this
    way (medians of 300 alternating, SQLite at 100,000 recordings, a hash prefix)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{ROWS_SQL} WHERE {search.id_in(ids_sql)} ORDER BY id DESC", params)
        return [
            tuple(bool(v) if i in BOOLEANS else v for i, v in enumerate(row))
            for row in cursor.fetchall()
        ]


def with_sources(values: list[tuple[Any, ...]]) -> list[Row]:
    """The rows, with their files: a llama-stack file is its one exchange's path; cassettes'
    paths and exchange counts come in one query, only for a page that shows some (the
    recording table carries no copy of them)."""
    wanted = {v[SOURCE_ID] for v in values if v[FORMAT] == VCR}
    files: dict[int, tuple[str, int]] = {}
    if wanted:
        found = Source.objects.filter(id__in=wanted).values_list("id", "path", "exchange_count")
        files = {pk: (path, count) for pk, path, count in found}
    rows = []
    for v in values:
        path, count = files.get(v[SOURCE_ID], (v[1], 1))
        rows.append(row_of(v, path, count))
    return rows


def failure_count() -> int:
    """How many files failed to import (the nav's link)."""
    return ImportFailure.objects.count()


def match_count(form: RecordingFilter) -> int:
    """How many exchanges (files, when grouped) match, exactly; kept per selection until an
    import changes the data, as facet counts are (`facets.facet_counts_of`). At 100,000
    recordings a common word's count reads tens of thousands of index entries (SQLite: "test_",
    71,489 matches, ~190 ms; PostgreSQL ~110 ms, on a loaded machine), where a page stops at
    its 51st."""
    key = selection_key("count", form, ("_sort", "_size"))
    found = cache.get(key)
    if found is None:
        found = count_matches(form)
        cache.set(key, found, FACET_CACHE_SECONDS)
    return found


def count_matches(form: RecordingFilter) -> int:
    """A COUNT over the list's own filter. Search words alone are counted in the search index:
    the filter's `search.contains` reads every recording's wide row for a common word (SQLite
    at 100,000 recordings: "inference" 540 -> 31 ms, "test_" 280 -> 190; PostgreSQL "OpenAI"
    210 -> 69, "test_" 460 -> 108). Raw, as the index's own statement is."""
    if not form.by_source and not form.narrowed():
        ids = search.newest_query(form.words, MAX_NUMBER)
        if ids is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM ({ids.sql}) AS hits", ids.params)
                return int(cursor.fetchone()[0])
    matching = form.filtered()
    if form.by_source:
        return matching.order_by().values("source_id").distinct().count()
    return matching.count()


# /recordings.json's keys, and the row's key each comes from.
JSON_KEYS = {
    "path": "path", "url": "page", "raw_url": "raw_url", "format": "format", "index": "number",
    "source": "source_path", "test_id": "test_id", "suite": "suite", "kind": "kind",
    "endpoint": "endpoint", "model": "model", "provider": "provider",
    "streaming": "is_streaming", "tool_calls": "tool_call_count", "tokens": "total_tokens",
    "size": "size", "status": "status", "name_verdict": "name_verdict",
}  # fmt: skip


def as_json(row: Row) -> dict[str, Any]:
    return {key: row[name] for key, name in JSON_KEYS.items()}


# --------------------------------------------------------------------------- by file


def file_of(values: tuple[Any, ...], exchanges: list[Row], matched: int | None) -> Row:
    """A source file's row in the list grouped by file: a cassette with what its exchanges
    hold, or a llama-stack file (`single`: its one exchange, shown as in the list of
    exchanges). `matched`: how many of its exchanges match, when the selection narrows."""
    pk, path, file_format, size, missing, exchange_count = values
    cassette = file_format == VCR
    prefix = roots.prefix(exchanges[0]["root_id"]) if exchanges else ""

    def distinct(column: str) -> list[str]:
        return sorted({r[column] for r in exchanges if r[column]})

    tokens = [r["total_tokens"] for r in exchanges if r["total_tokens"] is not None]
    return {
        "id": pk,
        "path": path,
        "format": file_format,
        "size": size,
        "exchange_count": exchange_count,
        "matched": matched,
        "single": exchanges[0] if not cassette and len(exchanges) == 1 else None,
        "first": exchanges[0] if exchanges else {},
        # A cassette's page is its path without extension; a llama-stack file's, its
        # exchange's.
        "page": prefix + "/r/" + strip_extension(path) if cassette else prefix + page_path(path),
        "raw_url": f"{prefix}/r/{path}",
        "providers": distinct("provider"),
        "models": distinct("model"),
        "endpoints": distinct("endpoint"),
        "tokens": sum(tokens) if tokens else None,
        "tool_calls": sum(r["tool_call_count"] for r in exchanges),
        "streamed": sum(1 for r in exchanges if r["is_streaming"]),
        "status": status_of(missing, any(r["is_exception"] for r in exchanges)),
        "name_verdict": exchanges[0]["name_verdict"] if exchanges else "",
        "verdict_label": exchanges[0]["verdict_label"] if exchanges else "",
    }


def file_json(file: Row) -> dict[str, Any]:
    first = file["first"]
    return {
        "path": file["path"],
        "url": file["page"],
        "raw_url": file["raw_url"],
        "format": file["format"],
        "exchanges": file["exchange_count"],
        "matched": file["matched"],
        "test_id": first.get("test_id"),
        "suite": first.get("suite", ""),
        "providers": file["providers"],
        "models": file["models"],
        "tokens": file["tokens"],
        "size": file["size"],
        "status": file["status"],
        "name_verdict": first.get("name_verdict", ""),
    }


def select_files(form: RecordingFilter) -> tuple[list[Row], int | None]:
    """One page of the files with a matching exchange, in import order, and the next page's
    offset. Four queries whatever the page holds: the page's file ids, the files, their
    exchanges, and (when the selection narrows) how many of each match."""
    start, stop = form.offset, form.offset + form.size + 1
    matching = form.filtered()
    order = "-source_id" if form.sort.startswith("-") else "source_id"
    ids = list(matching.order_by(order).values_list("source_id", flat=True).distinct()[start:stop])
    more = len(ids) > form.size
    ids = ids[: form.size]
    found = Source.objects.filter(id__in=ids).values_list(
        "id", "path", "format", "size", "missing", "exchange_count"
    )
    files = {values[0]: values for values in found}
    exchanges: dict[int, list[Row]] = {pk: [] for pk in files}
    listed = Recording.objects.filter(source_id__in=ids).order_by("source_id", "index")
    for values in listed.values_list(*LIST_COLUMNS):
        source = files[values[SOURCE_ID]]
        exchanges[source[0]].append(row_of(values, source[1], source[5]))
    matched: dict[int, int] | None = None
    if form.words or form.narrowed():
        counted = matching.filter(source_id__in=ids).order_by().values("source_id")
        matched = dict(counted.annotate(n=Count("id")).values_list("source_id", "n"))
    rows = [
        file_of(files[pk], exchanges[pk], None if matched is None else matched.get(pk, 0))
        for pk in ids
        if pk in files
    ]
    return rows, (form.offset + form.size if more else None)


# --------------------------------------------------------------------------- views


@require_safe
@vary_on_headers("HX-Request")
def index(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    if looks_like_miss(q):  # a replay miss pasted into the search box: explain it
        return redirect_to_explain(request, q)
    found = finding.find(q)  # a quoted hash, a file name, an absolute path
    if found.page:  # a full request hash that one recording has: open it
        return finding.open_recording(request, found.page)
    form = RecordingFilter(found.query(request.GET))
    if not form.is_valid():
        return bad_request(request, form)
    rows, next_offset = select_files(form) if form.by_source else select(form)
    if not form.by_source:
        with_snippets(rows, form)
    # Each row links to its page with the list's state, for j/k there.
    back = "?from=" + quote(form.query_string(_next=form.offset or None).removeprefix("?"))
    if form.cleaned_data.get("text"):  # the page marks these words and shows the first (find.js)
        back += "&text=" + quote(form.cleaned_data["text"])
    ctx = {
        "form": form,
        "rows": rows,
        "by_source": form.by_source,
        "back": back,
        "next_url": form.query_string(_next=next_offset) if next_offset is not None else None,
        "prev_url": form.query_string(_next=max(form.offset - form.size, 0))
        if form.offset
        else None,
        "first": form.offset + 1,
        "last": form.offset + len(rows),
        "sort": form.sort,
        "sorts": {key: sort_link(form, key) for key in SORTS},
        # The toggle between exchanges and files; files are listed in import order.
        "exchanges_url": form.query_string(group=None),
        "files_url": form.query_string(group="source", _sort=None),
    }
    # Facet counts cost a query each over the whole selection: the page asks for them apart
    # (/facets, on load), so the rows never wait for them. Without JavaScript, ?_facets=1.
    ctx["facets"] = facets(form) if form.cleaned_data.get("_facets") else None
    ctx["facets_url"] = "/facets" + form.query_string()
    # The exact count: known at once on the last page; counted with the facets otherwise (in
    # /facets, which fills it in, or here without JavaScript).
    if rows and next_offset is None:
        ctx["count"] = form.offset + len(rows)
    else:
        ctx["count"] = match_count(form) if ctx["facets"] else None
    if request.htmx and not request.htmx.history_restore_request and not request.htmx.boosted:
        return render(request, "inspector/index.html#results", ctx)
    ctx["failure_count"] = failure_count()
    return render(request, "inspector/index.html", ctx)


def sort_link(form: RecordingFilter, key: str) -> dict[str, str]:
    current = form.sort
    if current == key:
        return {"url": form.query_string(_sort=f"-{key}"), "arrow": "▲"}
    if current == f"-{key}":
        return {"url": form.query_string(_sort=key), "arrow": "▼"}
    return {"url": form.query_string(_sort=key), "arrow": ""}


@require_safe
def facet_counts(request: HttpRequest) -> HttpResponse:
    """The facets of a selection, with counts, and how many match (for the summary line, out
    of band): the list loads them after its rows."""
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    ctx = {"form": form, "facets": facets(form), "count": match_count(form)}
    return render(request, "inspector/index.html#facets_response", ctx)


@require_safe
def recordings_json(request: HttpRequest) -> HttpResponse:
    """The list as JSON: its page of exchanges (or of files, `group=source`), how many match
    in all (`count`), and the next page's address."""
    form = RecordingFilter(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=True)
    if form.by_source:
        files, next_offset = select_files(form)
        body: dict[str, Any] = {"sources": [file_json(f) for f in files]}
    else:
        rows, next_offset = select(form)
        body = {"recordings": [as_json(r) for r in rows]}
    body["count"] = match_count(form)
    body["next"] = (
        request.build_absolute_uri("/recordings.json" + form.query_string(_next=next_offset))
        if next_offset is not None
        else None
    )
    return HttpResponse(orjson.dumps(body), content_type="application/json")
