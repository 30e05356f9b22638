"""`/changes?since=`: what an open list polls (templates/inspector/_changes_notice.html) to say
"N new or changed recordings" once an import or `serve --watch` has written some since the
page was rendered."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django import forms
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inspector.facets import FACET_CACHE_SECONDS
from inspector.models import ImportRoot, Recording
from inspector.views.common import bad_request

# What answers "nothing changed": no body, and htmx swaps nothing.
NO_CHANGE = 204


class ChangesForm(forms.Form):
    since = forms.DateTimeField(help_text="when the list was rendered (ISO 8601)")
    # What the notice already says: the same count again is NO_CHANGE, so that the notice is
    # not swapped (and its link not taken from under the pointer or the keyboard) every poll.
    shown = forms.IntegerField(required=False, min_value=0)


@require_safe
def changes(request: HttpRequest) -> HttpResponse:
    form = ChangesForm(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    since, shown = form.cleaned_data["since"], form.cleaned_data["shown"]
    # Every poll of an open list, every 2 s: one query over the import roots (a handful of
    # rows) while nothing has changed. An import or a watch batch sets last_import when it ends.
    changed_roots = list(
        ImportRoot.objects.filter(last_import__gt=since)
        .order_by("id")
        .values_list("id", "last_import")
    )
    if not changed_roots:
        return HttpResponse(status=NO_CHANGE)
    count = changed_since(since, changed_roots)
    if count == 0 or count == shown:
        return HttpResponse(status=NO_CHANGE)
    context = {"since": since.isoformat(), "changed": count, "list_url": list_url(request)}
    return render(request, "inspector/_changes_notice.html#notice", context)


def changed_since(since: datetime, changed_roots: list[tuple[int, datetime]]) -> int:
    """Recordings added, changed or marked missing since then (`Recording.updated`, which the
    importer sets on each), kept until those roots change again: each open list polls, and
    they all ask the same while nothing more changes. `updated` has no index of its own: the
    count reads the changed roots' rows, once per change."""
    key = "changes:" + hashlib.sha256(repr((since, changed_roots)).encode()).hexdigest()
    count = cache.get(key)
    if count is None:
        roots = [pk for pk, _ in changed_roots]
        count = Recording.objects.filter(root_id__in=roots, updated__gt=since).count()
        cache.set(key, count, FACET_CACHE_SECONDS)
    return count


def list_url(request: HttpRequest) -> str:
    """The list as the browser shows it (htmx's HX-Current-URL, on this site only), for the
    notice's link to fetch again; the plain list otherwise."""
    current = request.htmx.current_url_abs_path if request.htmx else None
    if current and (current == "/" or current.startswith("/?")):
        return current
    return "/"
