"""/overview and /overview.json: a selection's totals and breakdowns (inspector.overview), the
page drawing them as SVG bar charts whose every bar and number links to the list it counts."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat, floatformat
from django.views.decorators.http import require_safe

from inspector.facets import short_label
from inspector.forms import MAX_SIZE, RecordingFilter
from inspector.overview import overview_of
from inspector.views.common import bad_request, page_path

# Chart geometry, in SVG user units (the CSS scales the drawing to its column): labels right-
# aligned before LABEL_X, bars from BAR_X up to BAR_SPACE long, the figure after each bar.
CHART_WIDTH = 640
LABEL_X = 214
BAR_X = 222
BAR_SPACE = 330
ROW = 22
BAR_HEIGHT = 16
BARS_SHOWN = 15  # per chart; the rest are one click away in the list's facets

# Each breakdown's chart: its title, the facet a bar narrows the list by, how its figures read.
CHARTS = [
    ("by_provider", "Recordings by provider", "provider", "count"),
    ("tokens_by_provider", "Tokens by provider", "provider", "tokens"),
    ("by_model", "Recordings by model", "model", "count"),
    ("tokens_by_model", "Tokens by model", "model", "tokens"),
    ("by_suite", "Recordings per suite", "suite", "count"),
    ("by_endpoint", "Recordings by endpoint", "endpoint", "count"),
    ("by_format", "Recordings by format", "format", "count"),
]


def selection(request: HttpRequest) -> RecordingFilter:
    return RecordingFilter(request.GET)


@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    form = selection(request)
    if not form.is_valid():
        return bad_request(request, form)
    found = overview_of(form)
    ctx = {
        "form": form,
        "found": found,
        "totals": totals(form, found),
        "charts": [
            bar_chart(form, found, key, title, facet, kind) for key, title, facet, kind in CHARTS
        ],
        "histograms": [
            histogram_chart(form, found["sizes"], "sizes", "File sizes", "size"),
            histogram_chart(form, found["chunks"], "chunks", "Chunks per stream", "chunks"),
        ],
        "largest": [with_url(row) for row in found["largest"]],
        "longest": [with_url(row) for row in found["longest_streams"]],
        "list_url": "/" + form.query_string(),
        "json_url": "/overview.json" + form.query_string(),
    }
    return render(request, "inspector/overview.html", ctx)


@require_safe
def overview_json(request: HttpRequest) -> HttpResponse:
    """The page's figures as they were counted; the listed files with their pages' addresses."""
    form = selection(request)
    if not form.is_valid():
        return bad_request(request, form, json=True)
    body = dict(overview_of(form))
    for key in ("largest", "longest_streams"):
        body[key] = [
            {k: v for k, v in with_url(row).items() if k != "root_id"} for row in body[key]
        ]
    return HttpResponse(orjson.dumps(body), content_type="application/json")


def with_url(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "url": page_path(row["path"], row["root_id"])}


def list_url(form: RecordingFilter, **changes: Any) -> str:
    """The list of exchanges (not files: the counts are of exchanges) of the selection with
    `changes`."""
    return "/" + form.query_string(group=None, **changes)


def number(n: int) -> str:
    return floatformat(n, "g")


def totals(form: RecordingFilter, found: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures, each with the list it counts (`count`: how many rows that list
    holds, where it is this figure) or, for distinct values, the list with its facets."""
    recordings = found["recordings"]

    def share(n: int) -> str | None:
        return floatformat(100 * n / recordings, 1) if recordings else None

    with_facets = list_url(form, _facets="on")
    rows = [
        ("Recordings", recordings, list_url(form), recordings, None),
        ("Tests", found["tests"], with_facets, None, None),
        ("Suites", found["suites"], with_facets, None, None),
        ("Providers", found["providers"], with_facets, None, None),
        ("Models", found["models"], with_facets, None, None),
        ("Streamed", found["streaming"], list_url(form, streaming="yes"), found["streaming"],
         share(found["streaming"])),
        ("Calling tools", found["with_tool_calls"], list_url(form, tools="yes"),
         found["with_tool_calls"], share(found["with_tool_calls"])),
        ("Exceptions", found["exceptions"], list_url(form, exception="yes"), found["exceptions"],
         share(found["exceptions"])),
        ("Tokens", found["total_tokens"], list_url(form, _sort="-tokens"), None, None),
    ]  # fmt: skip
    shown = [
        {"label": label, "text": number(n), "url": url, "count": count, "share": pct}
        for label, n, url, count, pct in rows
    ]
    shown.append(
        {
            "label": "Size",
            "text": filesizeformat(found["total_bytes"]),
            "url": list_url(form, _sort="-size"),
            "count": None,
            "share": None,
        }
    )
    for verdict, n in found["verdicts"].items():
        shown.append(
            {
                "label": f"Name audit: {verdict}",
                "text": number(n),
                "url": list_url(form, verdict=verdict),
                "count": n,
                "share": share(n),
            }
        )
    return shown


def bar_chart(
    form: RecordingFilter, found: dict[str, Any], key: str, title: str, facet: str, kind: str
) -> dict[str, Any]:
    """A breakdown as horizontal bars, most first: each bar links to the list narrowed to its
    value (that value alone in place of the facet's choice)."""
    values = list(found[key].items())
    items = [
        {
            "label": short_label(facet, value),
            "full": value,
            "value": n,
            "text": number(n),
            "url": list_url(form, **{facet: value}),
            "count": n if kind == "count" else None,
        }
        for value, n in values[:BARS_SHOWN]
    ]
    chart = drawn(key.replace("_", "-"), title, kind, items)
    chart["more"] = max(len(values) - BARS_SHOWN, 0)
    chart["more_url"] = list_url(form, _facets="on")
    return chart


def histogram_chart(
    form: RecordingFilter, buckets: list[dict[str, Any]], key: str, title: str, sort: str
) -> dict[str, Any]:
    """A histogram as bars, largest bucket last. A bucket's bar links to the list sorted by the
    same measure, largest first, at the bucket's first row: the page shows exactly the bucket
    (its first MAX_SIZE rows, for a bigger one)."""
    streams = {"streaming": "yes"} if key == "chunks" else {}
    above = sum(b["count"] for b in buckets)
    items = []
    for bucket in buckets:
        above -= bucket["count"]
        items.append(
            {
                "label": bucket_label(bucket, key),
                "full": bucket_label(bucket, key),
                "value": bucket["count"],
                "text": number(bucket["count"]),
                "url": list_url(
                    form,
                    **streams,
                    _sort=f"-{sort}",
                    _next=above or None,
                    _size=min(bucket["count"], MAX_SIZE) or None,
                ),
                "count": None,
            }
        )
    return {**drawn(key, title, "histogram", items), "more": 0}


def bucket_label(bucket: dict[str, Any], key: str) -> str:
    low, high = bucket["from"], bucket["to"]
    if key == "sizes":
        if high is None:
            return f"{filesizeformat(low)} or more"
        return (
            f"under {filesizeformat(high)}"
            if not low
            else f"{filesizeformat(low)} to {filesizeformat(high)}"
        )
    if high is None:
        return f"{low} or more"
    return f"{low}" if high == low + 1 else f"{low} to {high - 1}"


def drawn(chart_id: str, title: str, kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Each bar's place: widths proportional to the largest value (a value above 0 is never
    narrower than one unit, so that it shows)."""
    top = max((item["value"] for item in items), default=0) or 1
    bars = []
    for row, item in enumerate(items):
        width = max(round(item["value"] / top * BAR_SPACE), 1) if item["value"] else 0
        y = row * ROW
        bars.append(
            {
                **item,
                "y": y,
                "width": width,
                "text_y": y + BAR_HEIGHT - 3,
                "value_x": BAR_X + width + 6,
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "kind": kind,
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(len(bars) * ROW, ROW),
        "label_x": LABEL_X,
        "bar_x": BAR_X,
        "bar_height": BAR_HEIGHT,
    }
