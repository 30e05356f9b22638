from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import render

# Recording content is untrusted: no inline script or style can run, whatever a test id or an LLM
# answer holds. Images may come from anywhere, but the page only loads a remote one when asked.
POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: http:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


# The app only reads: every view answers GET and HEAD. A view that accepts more says so with
# `@accepts_unsafe_methods` (CSRF still checks it).
SAFE_METHODS = ("GET", "HEAD")


def accepts_unsafe_methods(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    view.accepts_unsafe_methods = True  # type: ignore[attr-defined]
    return view


class SafeMethodsMiddleware:
    """405 for POST, PUT, DELETE... on every route. The views' own `require_safe` never ran for
    them: CsrfViewMiddleware refused them first, with a 403 saying the CSRF token is missing.
    So this runs before it, once the view is known (404 for an address nothing serves)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        if request.method in SAFE_METHODS or getattr(view, "accepts_unsafe_methods", False):
            return None
        return HttpResponseNotAllowed(SAFE_METHODS)


class RefuseNulMiddleware:
    """400 for a NUL anywhere in the path or the query: PostgreSQL's text refuses NUL (a 500 when
    one reached a query), SQLite takes it; refused before anything reads it, on both."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            errors = {"address": ["A NUL character (%00) is in the address."]}
            if request.path.endswith(".json"):  # as views.common.bad_request answers
                return JsonResponse({"error": "bad parameters", "fields": errors}, status=400)
            return render(request, "inspector/bad_request.html", {"errors": errors}, status=400)
        return self.get_response(request)
