from __future__ import annotations

import gc
import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from asgiref.typing import ASGIReceiveCallable as Receive
from asgiref.typing import ASGISendCallable as Send
from asgiref.typing import Scope
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.template.loader import get_template
from django.urls import resolve

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

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = Handler()

# Load what the first requests would (URLs, views, the main templates), then keep the garbage
# collector off all of it: a full collection walked Django's ~55,000 long-lived objects, ~30 ms
# on this machine, now and then in the middle of a request (a 10-sample p95 of 15 ms became 48).
resolve("/")
for name in ("inspector/index.html", "inspector/recording.html"):
    get_template(name)
gc.freeze()

if os.environ.get("INSPECTOR_SERVE_STATIC", "1") == "1":
    # uvicorn serves no static files; this handler does, for `make serve`.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
