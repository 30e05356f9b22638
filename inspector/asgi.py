from __future__ import annotations

import gc
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
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

    It also hands database connections from one request to the next, as WSGI servers do.
    Django keeps them in the request's async context and runs each request in a thread of its
    own, so under ASGI each request opened its own connection and CONN_MAX_AGE had no effect:
    ~1 ms for SQLite to read the schema and set its PRAGMAs, and a cold page cache. A request
    takes an idle connection and gives it back when its response is closed, after the request
    signals have closed it if it is too old or broken; requests still streaming keep theirs, so
    no two requests share one at a time. (PostgreSQL's pool does the same for its own.)"""

    def __init__(self) -> None:
        super().__init__()
        self.idle: list[dict[str, BaseDatabaseWrapper]] = []

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        try:
            for alias, wrapper in self.idle.pop().items():
                connections[alias] = wrapper
        except IndexError:
            pass
        response = super().get_response(request)
        mine = {alias: connections[alias] for alias in connections}
        for wrapper in mine.values():
            if not wrapper.allow_thread_sharing:
                wrapper.inc_thread_sharing()  # the next request runs in another thread
        close = response.close

        def close_and_give_back() -> None:
            close()
            self.idle.append(mine)

        response.close = close_and_give_back
        return response

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
