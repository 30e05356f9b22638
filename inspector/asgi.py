"""The application `make serve` runs under uvicorn: Django's ASGI handler on threads it keeps,
and for `/static/` Django's static files handler, through the middleware that sets the pages'
security headers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django.utils.module_loading import import_string

from inspector.middleware import SAFE_METHODS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")


class Handler(ASGIHandler):
    """Django's ASGI handler, each request run in a thread kept from one request to the next
    (as WSGI servers do) instead of a new one. Django starts a thread for every request and
    another to wait for it to end; under `make bench-load` (50 clients, 4 workers, 2 cores) that
    cost a third to a half of the throughput: two alternating runs of its plain phase, Django's
    own handler against this one, SQLite 112 and 149 against 193 and 211 requests/s (p95 849 and
    607 ms against 536 and 450; the target is 500), PostgreSQL 102 and 117 against 190 and 195
    (p95 1.40 s and 891 ms against 627 and 550 ms), on a machine other work loaded. Everything
    else is Django's: its `__call__` runs inside this context, which sets the thread of its
    thread-sensitive calls; a request still streaming keeps its thread until it ends."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[ThreadPoolExecutor] = []

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            thread = self.threads.pop()
        except IndexError:
            thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await super().__call__(scope, receive, send)
        finally:
            self.threads.append(thread)


django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application() does
application = Handler()

# The middleware that set the pages' headers (security, X-Frame-Options, CSP, nosniff and
# Referrer-Policy), outermost first, as in settings.MIDDLEWARE.
HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "inspector.middleware.ContentSecurityPolicyMiddleware",
)


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's handler of `/static/` for `make serve`, which answers without the middleware:
    its files went out without the pages' security headers, a POST got the file, and a path
    out of the static folders (`/static/../x`) was a 500. Here files pass through the
    middleware that sets those headers, only GET and HEAD are served, and nothing outside is
    found."""

    def __init__(self, application: Any) -> None:
        super().__init__(application)
        respond = self.serve_file
        for path in reversed(HEADER_MIDDLEWARE):
            respond = import_string(path)(respond)
        self.respond = respond

    def serve(self, request: HttpRequest) -> HttpResponseBase:
        return self.respond(request)

    def serve_file(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        try:
            return super().serve(request)
        except (Http404, SuspiciousFileOperation) as exc:
            # A path out of the static folders is as missing as any other file.
            return response_for_exception(request, Http404(str(exc)))


if os.environ.get("INSPECTOR_SERVE_STATIC", "1") == "1":
    # uvicorn serves no static files; this handler does, for `make serve`.
    application = StaticFilesHandler(application)
