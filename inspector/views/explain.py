"""Explain a replay miss: /explain (a page with its form), /explain.json (the same answer as
JSON, built by the same function), and the list's search box handing a pasted miss over."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from inspector.explaining.answers import explain as answer_of
from inspector.explaining.answers import short
from inspector.explaining.forms import FIELDS, ExplainForm
from inspector.middleware import accepts_unsafe_methods

# Text carried to /explain by the search box's redirect; a longer paste is posted instead.
REDIRECT_MAX = 6000


@accepts_unsafe_methods
@require_http_methods(["GET", "HEAD", "POST"])
def explain(request: HttpRequest) -> HttpResponse:
    """The form, and below it the answer. A form POST carries a CSRF token like any other
    (large bodies do not fit in an address); GET takes the same fields, so that a miss
    pasted into any search box lands here with its answer."""
    form = ExplainForm(request.POST if request.method == "POST" else request.GET)
    if not form.asked:
        return render(request, "inspector/explain.html", {"form": ExplainForm(), "answer": None})
    if not form.is_valid():
        return render(request, "inspector/explain.html", {"form": form, "answer": None}, status=400)
    answer = answer_of(form.question())
    # The JSON twin's address, with what fits in one (a body is posted instead).
    asked = {name: form.data.get(name) for name in FIELDS if name != "body"}
    json_query = urlencode({name: value for name, value in asked.items() if value})
    ctx = {"form": form, "answer": shown(answer), "json_query": json_query}
    return render(request, "inspector/explain.html", ctx)


@accepts_unsafe_methods
@csrf_exempt  # for a JSON body only: a form POST is checked below, as everywhere else
@require_http_methods(["GET", "HEAD", "POST"])
def explain_json(request: HttpRequest) -> HttpResponse:
    """The answer as JSON. Inputs as query parameters, a form POST, or a JSON object POSTed
    (no CSRF token needed: no other site's page can send `application/json` without the
    browser asking this server first, and this view changes nothing)."""
    if request.method == "POST" and request.content_type == "application/json":
        data, error = json_fields(request.body)
        if error:
            return JsonResponse({"error": "bad parameters", "fields": error}, status=400)
    elif request.method == "POST":
        refused = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})
        if refused is not None:
            return refused
        data = request.POST
    else:
        data = request.GET
    form = ExplainForm(data)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"error": "bad parameters", "fields": errors}, status=400)
    body = orjson.dumps(answer_of(form.question()), option=orjson.OPT_NON_STR_KEYS)
    return HttpResponse(body, content_type="application/json")


def json_fields(data: bytes) -> tuple[dict[str, str], dict[str, list[str]] | None]:
    """The form's fields from a JSON object: strings, except `body`, which may be the JSON
    itself."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return {}, {"__all__": [f"The request is not JSON: {exc}."]}
    if not isinstance(value, dict):
        return {}, {"__all__": ["The request is a JSON object of text, test_id, body..."]}
    fields: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in FIELDS:
        item = value.get(name)
        if item is None:
            continue
        if name == "body" and not isinstance(item, str):
            item = orjson.dumps(item).decode()
        if not isinstance(item, str):
            errors[name] = ["A string."]
            continue
        fields[name] = item
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        errors["__all__"] = [f"Unknown fields: {', '.join(map(str, unknown))}."]
    return fields, errors or None


def shown(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with each difference's values as the page shows them (JSON text)."""
    page = dict(answer)
    page["candidates"] = [
        {
            **candidate,
            "differences": [
                {**d, "a_text": short(d["a"], 400), "b_text": short(d["b"], 400)}
                for d in candidate["differences"]
            ],
            "hashed": sum(1 for d in candidate["differences"] if d["changes_hash"]),
        }
        for candidate in answer["candidates"]
    ]
    return page


def redirect_to_explain(request: HttpRequest, text: str) -> HttpResponse:
    """A miss pasted into a search box: its explanation (htmx, which asked for rows, is
    told to load the page instead)."""
    url = "/explain?" + urlencode({"text": text[:REDIRECT_MAX]})
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
