from __future__ import annotations

from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from inspector.forms import RecordingFilter
from inspector.models import Recording

# When two import roots hold the same path, the one imported last wins (a root still being
# imported for the first time has no last_import yet: it comes last on every database).
NEWEST_ROOT_FIRST = (F("root__last_import").desc(nulls_last=True), "-id")


def get_recording(path: str, *related: str) -> Recording:
    """The recording at `path` under its import root, with `related` one-to-one rows fetched in
    the same query."""
    recording = (
        Recording.objects.filter(path=path)
        .select_related(*related)
        .order_by(*NEWEST_ROOT_FIRST)
        .first()
    )
    if recording is None:
        raise Http404(f"No recording at {path}")
    return recording


def bad_request(request: HttpRequest, form: RecordingFilter, json: bool = False) -> HttpResponse:
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    if json:
        return JsonResponse({"error": "bad parameters", "fields": errors}, status=400)
    return render(request, "inspector/bad_request.html", {"errors": errors}, status=400)


def page_path(recording_path: str) -> str:
    """A recording's page: its path without `.json`."""
    return "/r/" + recording_path.removesuffix(".json")
