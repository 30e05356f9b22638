from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from asgiref.typing import ASGIReceiveCallable as Receive
from asgiref.typing import ASGISendCallable as Send
from asgiref.typing import Scope
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core import signals
from django.core.exceptions import RequestAborted, SuspiciousFileOperation
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django.template.loader import get_template
from django.urls import resolve, set_script_prefix
from django.utils.module_loading import import_string

from inspector.middleware import SAFE_METHODS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")


class Handler(ASGIHandler):
    """Django's ASGI handler, running the middleware and the view in one worker thread per
    request. Django's own keeps the chain async and hands each sync middleware's request and
    response steps to a thread one by one (security, common, CSRF, clickjacking, the view:
    eleven hand-overs a request, ~2 ms of a 5 ms search here). Async views (the playback's event
    stream) still run on the event loop, and their responses still stream from it.

    Each request runs in a thread of Django's asking (a ThreadSensitiveContext): Django made a
    thread for every request, and another to wait for it to end. This handler keeps the threads
    and hands them from one request to the next, as WSGI servers do, and with them each thread's
    database connections: Django keeps those per thread, so every request opened one and
    CONN_MAX_AGE had no effect (~1 ms for SQLite, and a cold page cache). A request keeps its
    thread until its response is sent and closed, so no two share one at a time; the request
    signals still close a connection that is too old or broken. (PostgreSQL's pool hands its
    connections over the same way.)"""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            thread = self.threads.pop()
        except IndexError:
            thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self.threads.append(thread)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Django's, with the request's own work in one hand-over to its thread (`serve`).
        Django hands over three times (request_started's receivers, the request, closing the
        response: request_finished's) and starts two tasks, one listening for the client's
        going away, which only a streaming response can act on: ~0.5 ms a request here. A
        streaming response (the replay's event stream) is sent as Django sends it."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self.serve, thread_sensitive=True)(scope, body_file)
            if not response.streaming:
                await self.send_response(response, send)
                return
            sending = asyncio.create_task(self.send_response(response, send))
            listening = asyncio.create_task(self.listen_for_disconnect(receive))
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
            for task in (listening, sending):
                if not task.done():
                    task.cancel()  # the client left, or the stream ended
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
            await sync_to_async(response.close)()
        finally:
            body_file.close()

    def serve(self, scope: Scope, body_file: Any) -> HttpResponseBase:
        """In the request's thread: request_started, the request, and, for a response held
        whole in memory, its closing (request_finished: database connections go back before
        its bytes go out, which changes nothing for them)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = error_response if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if not response.streaming:
            response.close()
        return response


django.setup(set_prefix=False)
application = Handler()

# Load what the first requests would (URLs, views, the main templates), then keep the garbage
# collector off all of it: a full collection walked Django's ~55,000 long-lived objects, ~30 ms
# on this machine, now and then in the middle of a request (a 10-sample p95 of 15 ms became 48).
resolve("/")
for name in ("inspector/index.html", "inspector/recording.html"):
    get_template(name)
gc.freeze()

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
