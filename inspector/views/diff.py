"""`/diff?a=<path>&b=<path>` and `/diff.json`: two exchanges, or two cassettes exchange by
exchange, side by side (`inspector.diffing.exchanges`). A path is what a user has at hand: a
recording's path (with `.json` or without), its page's address (`/r/...`, a whole URL too), a
cassette exchange's (`<cassette>/<n>`), a cassette's with its extension or without, each
optionally after an import root's name (`<root>/<path>`, `/<root>/r/<path>`).

What to compare a recording with is `inspector.views.compare_with`."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from inspector import parsing, roots
from inspector.cassettes.naming import strip_extension
from inspector.chunks import Chunks
from inspector.diffing.classify import answer_of
from inspector.diffing.exchanges import Side, cassette_diff, exchange_diff
from inspector.diffing.responses import Response
from inspector.diffing.text import changed, word_ops
from inspector.formats import VCR
from inspector.forms import shared_fields
from inspector.models import Recording, Source, Stream, ToolCall
from inspector.views.common import (
    bad_request,
    document_of,
    find_cassette,
    find_exchange,
    is_file_path,
    source_bytes,
)
from inspector.views.compare_with import cassette_compare_with, compare_with, diff_url

# Paths are bounded by the importer (walking.MAX_PATH_BYTES); a root's name and a URL's
# scheme and host come on top.
PARAM_MAX = 8_192
# A request value longer than this is cut on the page (the JSON has it whole).
VALUE_SHOWN = 2_000


@shared_fields
class DiffStart(forms.Form):
    a = forms.CharField(max_length=PARAM_MAX)


@shared_fields
class DiffQuery(forms.Form):
    a = forms.CharField(max_length=PARAM_MAX)
    b = forms.CharField(max_length=PARAM_MAX)


# --------------------------------------------------------------------------- resolving


def candidates(text: str) -> list[tuple[int | None, str]]:
    """(root id or None, path) to try, in order, for what a user typed or a link carries."""
    path = text.strip()
    if "://" in path:
        path = unquote(urlsplit(path).path)
    path = path.lstrip("/")
    found: list[tuple[int | None, str]] = []
    root_id, rest = roots.split(path)
    if root_id is not None:
        found.append((root_id, rest.removeprefix("r/")))
    found += [(None, path.removeprefix("r/")), (None, path)]
    if "%" in path:
        found.append((None, unquote(path).removeprefix("r/")))
    return list(dict.fromkeys(found))


def within(root_id: int | None, lookup: Any, path: str) -> Any:
    """`lookup(path)` within the root `root_id` (inspector.roots), or in all roots."""
    if root_id is None:
        return lookup(path)
    token = roots.CURRENT.set(root_id)
    try:
        return lookup(path)
    finally:
        roots.CURRENT.reset(token)


def cassette_at(path: str) -> Source | None:
    return find_cassette(strip_extension(path) if is_file_path(path) else path)


def target_of(text: str) -> Recording | Source:
    """The exchange or cassette `text` names; Http404 when none."""
    for root, path in candidates(text):
        if not path:
            continue
        # A cassette's file (`x.yaml`) is the cassette; a `.json` file may be either.
        source = within(root, cassette_at, path) if is_file_path(path) else None
        if source is not None and not path.endswith(".json"):
            return source
        recording = within(root, find_exchange, path)
        if recording is not None:
            return recording
        source = source or within(root, cassette_at, path)
        if source is not None:
            return source
    raise Http404(f"No recording or cassette at {text}")


# --------------------------------------------------------------------------- sides


def digest(value: Any) -> str:
    return hashlib.sha256(parsing.dumps(value).encode()).hexdigest()


def response_of(rec: Recording, calls: list[ToolCall], chunks: Chunks | None) -> Response:
    return Response(
        text=rec.response_text,
        reasoning=rec.response_reasoning,
        finish_reason=rec.finish_reason,
        tool_calls=[(c.name, c.arguments) for c in calls if c.message_index is None],
        usage={
            name: getattr(rec, f"{name}_tokens")
            for name in ("prompt", "completion", "total", "cached", "reasoning")
        },
        streaming=rec.is_streaming,
        status=rec.status,
        exception=f"{rec.exception_type}: {rec.exception_message}" if rec.is_exception else "",
        chunks=chunks if rec.is_streaming and chunks is not None and len(chunks) else None,
    )


def side_of(rec: Recording, document: Any, calls: list[ToolCall], chunks: Chunks | None) -> Side:
    request = document.get("request") if isinstance(document, dict) else None
    # A cassette's file digest is the whole cassette's: an exchange's own bytes are its
    # interaction (headers masked, bodies parsed).
    raw = digest(document) if rec.format == VCR and document is not None else rec.sha256
    return Side(
        path=rec.path,
        url=rec.page_url,
        request=request if isinstance(request, dict) else None,
        test_id=rec.test_id,
        response=response_of(rec, calls, chunks),
        answer=answer_of(rec, calls),
        raw=raw,
        stored_key=rec.request_key,
        hashed=rec.format != VCR,
    )


def rows_of(recordings: list[Recording]) -> tuple[dict[int, list], dict[int, Chunks]]:
    """The response tool calls and the streams of `recordings`, two queries."""
    ids = [r.pk for r in recordings]
    calls: dict[int, list[ToolCall]] = {pk: [] for pk in ids}
    with_calls = [r.pk for r in recordings if r.tool_call_count]
    if with_calls:
        rows = ToolCall.objects.filter(recording_id__in=with_calls, message_index__isnull=True)
        for call in rows.order_by("recording", "position"):
            calls[call.recording_id].append(call)
    streams: dict[int, Chunks] = {}
    streamed = [r.pk for r in recordings if r.is_streaming]
    if streamed:
        for stream in Stream.objects.filter(recording_id__in=streamed):
            streams[stream.recording_id] = stream.chunks
    return calls, streams


def exchange_sides(a: Recording, b: Recording) -> tuple[Side, Side]:
    calls, streams = rows_of([a, b])
    return tuple(  # type: ignore[return-value]
        side_of(r, document_of(r), calls[r.pk], streams.get(r.pk)) for r in (a, b)
    )


def cassette_sides(source: Source) -> list[Side]:
    from inspector.cassettes.reading import CassetteError, read_cassette

    exchanges = list(
        Recording.objects.filter(source=source).defer("listed_models", "search").order_by("index")
    )
    data = source_bytes(source.pk)
    interactions: list = []
    if data is not None:
        try:
            interactions = read_cassette(data, source.path).interactions
        except CassetteError:  # imported by an older reader: the rows are still compared
            interactions = []
    from inspector.conversation import exchange_document

    calls, streams = rows_of(exchanges)
    sides = []
    for rec in exchanges:
        document = (
            exchange_document(interactions[rec.index]) if rec.index < len(interactions) else None
        )
        sides.append(side_of(rec, document, calls[rec.pk], streams.get(rec.pk)))
    return sides


# --------------------------------------------------------------------------- the views


@require_safe
@vary_on_headers("HX-Request")
def diff(request: HttpRequest) -> HttpResponse:
    """The diff of `a` and `b`; with `a` alone, what to compare `a` with (its test's other
    recordings, its path in other roots: the "Compare with" block loads that part); with
    neither, the form."""
    if not request.GET:
        return render(request, "inspector/diff.html", {"diff": None, "a": "", "b": ""})
    if not request.GET.get("b"):
        return compare_choices(request)
    return diff_response(request, as_json=False)


def compare_choices(request: HttpRequest) -> HttpResponse:
    form = DiffStart(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    a = form.cleaned_data["a"]
    target = target_of(a)
    if isinstance(target, Source):
        compare = cassette_compare_with(target, test_id_of(target))
    else:
        compare = compare_with(target)
    ctx = {"diff": None, "a": a, "b": "", "compare": compare}
    if request.htmx and not request.htmx.history_restore_request and not request.htmx.boosted:
        return render(request, "inspector/diff.html#choices", ctx)
    return render(request, "inspector/diff.html", ctx)


def test_id_of(source: Source) -> str | None:
    return (
        Recording.objects.filter(source=source)
        .order_by("index")
        .values_list("test_id", flat=True)
        .first()
    )


@require_safe
def diff_json(request: HttpRequest) -> HttpResponse:
    return diff_response(request, as_json=True)


def diff_response(request: HttpRequest, as_json: bool) -> HttpResponse:
    form = DiffQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=as_json)
    a_text, b_text = form.cleaned_data["a"], form.cleaned_data["b"]
    try:
        a, b = target_of(a_text), target_of(b_text)
    except Http404 as missing:
        if as_json:
            return JsonResponse({"error": str(missing)}, status=404)
        raise
    if isinstance(a, Source) != isinstance(b, Source):
        form.add_error("b", "a cassette is compared with a cassette, an exchange with an exchange")
        return bad_request(request, form, json=as_json)
    if isinstance(a, Source):
        result = cassette_diff(
            a.path, b.path, cassette_url(a), cassette_url(b), cassette_sides(a), cassette_sides(b)
        )
    else:
        result = exchange_diff(*exchange_sides(a, b))
    if as_json:
        return JsonResponse(result)
    shown = [result] if "pairs" not in result else [p for p in result["pairs"] if not p["only"]]
    for one in shown:
        decorate(one)
    ctx = {"diff": result, "a": a_text, "b": b_text, "swap": diff_url(b_text, a_text)}
    return render(request, "inspector/diff.html", ctx)


def cassette_url(source: Source) -> str:
    return roots.prefix(source.root_id) + "/r/" + quote(strip_extension(source.path))


def shown_value(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return "(too deeply nested to show)"
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "…"


def decorate(result: dict[str, Any]) -> None:
    """What the page shows beside the JSON: values as short text, strings changed as word
    diffs, and which response sections differ."""
    for row in result["request"]:
        row["a_shown"] = "" if row["kind"] == "added" else shown_value(row["a"])
        row["b_shown"] = "" if row["kind"] == "removed" else shown_value(row["b"])
        both = isinstance(row["a"], str) and isinstance(row["b"], str)
        row["ops"] = word_ops(row["a"], row["b"]) if both else None
    response = result["response"]
    calls = response["tool_calls"]
    for call in calls["changed"]:
        call["a_shown"] = shown_value(call["arguments"]["a"])
        call["b_shown"] = shown_value(call["arguments"]["b"])
    for call in calls["added"] + calls["removed"]:
        call["shown"] = shown_value(call["arguments"])
    result["shown"] = {
        "text": changed(response["text"]),
        "reasoning": changed(response["reasoning"]),
        "calls": any(calls.values()),
        "same": not (
            changed(response["text"])
            or changed(response["reasoning"])
            or any(calls.values())
            or response["usage"]
            or any(response[k] for k in ("finish_reason", "streaming", "status", "exception"))
        ),
    }


# --------------------------------------------------------------------------- compare with
