"""/overview's figures: totals and breakdowns of a selection (the list's parameters), counted
in the database (one aggregate, then one GROUP BY per breakdown) and kept per selection until an
import changes the data, as the facets' counts are."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When

from inspector.facets import NOT_SELECTION, kept, selected, selection_key
from inspector.forms import RecordingFilter
from inspector.models import Recording

# Bucket edges (each bucket: from an edge up to the next), powers of four from 1 KiB: the
# corpus's files run from ~1 KB to ~1 MB (median 11.5 KB), real trees' up to tens of MB.
SIZE_EDGES = [0, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24]
# Streams' chunk counts: a reply of a few words to the longest recorded (1,399 chunks).
CHUNK_EDGES = [0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
# How many of the largest files and the longest streams are listed.
LARGEST = 10

BREAKDOWNS = {
    "by_suite": "suite",
    "by_provider": "provider",
    "by_model": "model",
    "by_endpoint": "endpoint",
    "by_format": "format",
    "verdicts": "name_verdict",
}
TOKENS_BY = {"tokens_by_provider": "provider", "tokens_by_model": "model"}


def overview_of(form: RecordingFilter) -> dict[str, Any]:
    """`count_overview`, kept until an import changes the data."""
    return kept(selection_key("overview", form, NOT_SELECTION), lambda: count_overview(form))


def count_overview(form: RecordingFilter) -> dict[str, Any]:
    """The selection's totals, each breakdown as a mapping of value to count (most first; rows
    without a value left out), histograms of sizes and chunk counts, and the largest files and
    longest streams. Plain data: /overview.json is this, the page draws it.

    Four statements, each one scan of the selection: every breakdown, histogram and total at
    once (`combinations`), the distinct tests, and the two top lists. A scan is what costs: at
    100,000 recordings (SQLite, the bench's synthetic corpus, 580 MB of rows) each took 0.3-2 s
    on a loaded machine, and one per breakdown made eleven."""
    rows = selected(form).order_by()
    found = combinations(rows)
    found["tests"] = rows.aggregate(n=Count("test_id", distinct=True))["n"]
    found["suites"] = len(found["by_suite"])
    found["providers"] = len(found["by_provider"])
    found["models"] = len(found["by_model"])
    found["largest"] = listed(rows.order_by("-size", "-id"), "size")
    found["longest_streams"] = listed(
        rows.filter(is_streaming=True).order_by("-chunk_count", "-id"), "chunk_count"
    )
    return found


# What `combinations` adds up per combination of breakdown values and buckets.
SUMS = {
    "recordings": Count("id"),
    "streaming": Count("id", filter=Q(is_streaming=True)),
    "with_tool_calls": Count("id", filter=Q(tool_call_count__gt=0)),
    "exceptions": Count("id", filter=Q(is_exception=True)),
    "total_tokens": Sum("total_tokens"),
    "total_bytes": Sum("size"),
}


def combinations(rows: QuerySet[Recording]) -> dict[str, Any]:
    """Totals, each breakdown, tokens per provider and per model, and the histograms of sizes
    and (of the streams) chunk counts, from one GROUP BY over every breakdown's column and both
    buckets (one row per combination that occurs: hundreds, where the rows are 100,000s),
    added up here. Provider first: grouped by an indexed column first, SQLite walks that index
    to group, reading the rows out of order (2x slower)."""
    totals: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {key: Counter() for key in (*BREAKDOWNS, *TOKENS_BY)}
    sizes: Counter[int] = Counter()
    chunks: Counter[int] = Counter()
    bucketed = rows.annotate(
        size_bucket=bucket_of("size", SIZE_EDGES),
        chunk_bucket=Case(
            When(is_streaming=False, then=Value(-1)),
            default=bucket_of("chunk_count", CHUNK_EDGES),
            output_field=IntegerField(),
        ),
    )
    columns = [*dict.fromkeys(("provider", *BREAKDOWNS.values())), "size_bucket", "chunk_bucket"]
    for row in bucketed.values(*columns).annotate(**SUMS):
        for key in SUMS:
            totals[key] += row[key] or 0
        for key, column in BREAKDOWNS.items():
            counts[key][row[column]] += row["recordings"]
        for key, column in TOKENS_BY.items():
            counts[key][row[column]] += row["total_tokens"] or 0
        sizes[row["size_bucket"]] += row["recordings"]
        if row["chunk_bucket"] >= 0:
            chunks[row["chunk_bucket"]] += row["recordings"]
    return {
        **{key: totals[key] for key in SUMS},
        **{key: most_first(counted) for key, counted in counts.items()},
        "sizes": buckets(sizes, SIZE_EDGES),
        "chunks": buckets(chunks, CHUNK_EDGES),
    }


def most_first(counted: Counter[str]) -> dict[str, int]:
    found = sorted(((v, n) for v, n in counted.items() if v and n), key=lambda i: (-i[1], i[0]))
    return dict(found)


def bucket_of(column: str, edges: list[int]) -> Case:
    """The bucket of `edges` (from 0) that `column` falls in; the last one is open-ended."""
    return Case(
        *(When(**{f"{column}__lt": edge}, then=Value(i - 1)) for i, edge in enumerate(edges) if i),
        default=Value(len(edges) - 1),
        output_field=IntegerField(),
    )


def buckets(counted: Counter[int], edges: list[int]) -> list[dict[str, Any]]:
    """Every bucket up to the last non-empty one, empty ones included: the chart's axis."""
    last = max(counted, default=-1)
    return [
        {
            "from": edges[i],
            "to": edges[i + 1] if i + 1 < len(edges) else None,
            "count": counted.get(i, 0),
        }
        for i in range(last + 1)
    ]


def listed(ordered: QuerySet[Recording], measure: str) -> list[dict[str, Any]]:
    found = ordered.values_list("path", "root_id", "test_id", measure)[:LARGEST]
    return [
        {"path": path, "root_id": root_id, "test_id": test_id, measure: n}
        for path, root_id, test_id, n in found
    ]
