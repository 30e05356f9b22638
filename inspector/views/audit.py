"""The name audit (`/audit`, its twin `/audit.json`): how many recordings of the list's selection
the replay harness finds by their names, by verdict, each count linking to the list; the files it
cannot find or finds by chance, a page at a time; and, given the path of a `pytest --collect-only
-q` output on the server, the recordings whose test no collected test is (`inspector.collected`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inspector.collected import CollectedError, read_collected, unused
from inspector.formats import LLAMA_STACK
from inspector.forms import RecordingFilter, shared_fields
from inspector.llama_stack import verdicts
from inspector.models import Recording
from inspector.views.common import bad_request, page_path

# What the page lists when no verdict is chosen, worst first: what the harness never finds,
# then what it finds by chance. `current` and `n/a` are counted only (and listed when chosen).
LISTED = (verdicts.UNREACHABLE, verdicts.DUPLICATE, verdicts.SHARED_TOOL_HASH, verdicts.OLDER_RULE)
WORST_FIRST = Case(
    *(When(name_verdict=v, then=Value(i)) for i, v in enumerate(LISTED)),
    default=Value(len(LISTED)),
    output_field=IntegerField(),
)
# What each verdict means, and what to do about it.
HELP = {
    verdicts.CURRENT: "Named by the hash of its request under today's rule, in a folder the "
    "harness looks in: replay finds it.",
    verdicts.OLDER_RULE: "Named by an older rule of the recorder (or the 2025 legacy index): "
    "today's harness looks for another name. Re-record it (--inference-mode "
    "record-if-missing), or delete it when its test passes without it.",
    verdicts.UNREACHABLE: "No rule gives its name (edited by hand, renamed) or it is in another "
    "suite's folder: replay never reads it. Re-record it, or move it where the reason says.",
    verdicts.DUPLICATE: "Another file holds the same request and test id: the harness reads one "
    "of them. Delete the one it does not read.",
    verdicts.SHARED_TOOL_HASH: "Tool invocations hash without their test id: every test making "
    "this call with these arguments replays one file. Harmless while they expect one result.",
    verdicts.NOT_APPLICABLE: "Found by something else than its name: model listings (merged "
    "by the recorder), file processing, VCR.py cassettes.",
}
UNUSED_SHOWN = 1000  # unused recordings on the page (and in the JSON); all are counted
FILE_COLUMNS = ("id", "path", "name_verdict", "name_reason", "test_id", "suite", "missing")


@shared_fields
class CollectedQuery(forms.Form):
    """`collected`: the path, on the server, of a `pytest --collect-only -q` output."""

    collected = forms.CharField(required=False, max_length=4096, strip=True)


def verdict_counts(recordings: QuerySet[Recording]) -> tuple[dict[str, int], int]:
    """How many recordings have each verdict (every verdict, 0 included), and how many none
    yet (imported before audits: the next import audits them). One GROUP BY on its index."""
    found = dict(recordings.order_by().values_list("name_verdict").annotate(n=Count("id")))
    return {v: found.get(v, 0) for v in verdicts.VERDICTS}, found.get("", 0)


def unused_recordings(recordings: QuerySet[Recording], path: str) -> dict[str, Any]:
    """The llama-stack recordings whose test no collected test is; a cassette's test id is
    told from its path and is no node id. Recordings without a test id are never unused."""
    try:
        collected = read_collected(path)
    except CollectedError as exc:
        return {"path": path, "error": str(exc), "tests": 0, "count": 0, "recordings": []}
    rows = (
        recordings.filter(format=LLAMA_STACK, test_id__isnull=False)
        .exclude(test_id="")
        .order_by("path", "id")
        .values_list("path", "test_id", "name_verdict")
    )
    rows = list(rows)
    gone = unused((test_id for _, test_id, _ in rows), collected)
    found = [
        {"path": p, "url": page_path(p), "test_id": t, "verdict": v}
        for p, t, v in rows
        if t in gone
    ]
    return {
        "path": path,
        "error": None,
        "tests": collected.count,
        "count": len(found),
        "tests_unused": len(gone),
        "recordings": found[:UNUSED_SHOWN],
    }


def audit_of(request: HttpRequest) -> dict[str, Any] | RecordingFilter | CollectedQuery:
    """What the page and its twin show; the invalid form when a parameter is bad."""
    selection = RecordingFilter(request.GET)
    if not selection.is_valid():
        return selection
    extra = CollectedQuery(request.GET)
    if not extra.is_valid():
        return extra
    chosen = selection.cleaned_data.get("verdict") or []  # a facet: any of several values
    # Counts of every verdict: the selection without its own verdict (as a facet's counts).
    recordings = selection.filtered(skip="verdict")
    counts, unaudited = verdict_counts(recordings)
    listed = (
        recordings.filter(name_verdict__in=chosen)
        if chosen
        else recordings.filter(name_verdict__in=LISTED)
    )
    start, size = selection.offset, selection.size
    ordered = listed.order_by(WORST_FIRST, "path", "id").values(*FILE_COLUMNS)
    page = list(ordered[start : start + size + 1])
    for row in page:
        row["url"] = page_path(row["path"])
    more = len(page) > size
    collected = extra.cleaned_data["collected"]

    def here(**changes: Any) -> str:
        state = selection.state(**changes)
        if collected:
            state["collected"] = collected
        return "?" + urlencode(state, doseq=True) if state else ""

    return {
        "selection": selection,
        "chosen": ", ".join(chosen),
        "counts": counts,
        "unaudited": unaudited,
        "total": sum(counts.values()) + unaudited,
        "verdicts": [
            {
                "verdict": v,
                "count": n,
                "chosen": v in chosen,
                "list_url": "/" + selection.query_string(verdict=v, _size=None),
                "audit_url": "/audit" + here(verdict=None if v in chosen else v),
                "help": HELP[v],
            }
            for v, n in counts.items()
        ],
        "files": page[:size],
        "first": start + 1,
        "last": start + min(len(page), size),
        "next_url": "/audit" + here(_next=start + size) if more else None,
        "next_json": "/audit.json" + here(_next=start + size) if more else None,
        "prev_url": "/audit" + here(_next=max(start - size, 0) or None) if start else None,
        "collected": collected,
        "unused": unused_recordings(recordings, collected) if collected else None,
        "hidden": selection.state_pairs(),  # a facet once per value
        "json_url": "/audit.json" + here(),
    }


@require_safe
def audit(request: HttpRequest) -> HttpResponse:
    found = audit_of(request)
    if not isinstance(found, dict):
        return bad_request(request, found)
    return render(request, "inspector/audit.html", found)


@require_safe
def audit_json(request: HttpRequest) -> HttpResponse:
    """`counts` (every verdict), the page of files listed (`files`, `next`) and, with
    `collected`, the unused recordings; a collected file that cannot be read is a 400."""
    found = audit_of(request)
    if not isinstance(found, dict):
        return bad_request(request, found, json=True)
    unused_found = found["unused"]
    if unused_found and unused_found["error"]:
        fields = {"collected": [unused_found["error"]]}
        return JsonResponse({"error": unused_found["error"], "fields": fields}, status=400)
    body = {
        "counts": found["counts"],
        "unaudited": found["unaudited"],
        "total": found["total"],
        "files": [
            {
                "path": row["path"],
                "url": row["url"],
                "verdict": row["name_verdict"],
                "reason": row["name_reason"],
                "test_id": row["test_id"],
                "missing": row["missing"],
            }
            for row in found["files"]
        ],
        "next": request.build_absolute_uri(found["next_json"]) if found["next_json"] else None,
    }
    if unused_found:
        body["unused"] = {
            "tests": unused_found["tests"],
            "count": unused_found["count"],
            "recordings": [
                {"path": r["path"], "url": r["url"], "test_id": r["test_id"]}
                for r in unused_found["recordings"]
            ],
        }
    return JsonResponse(body)
