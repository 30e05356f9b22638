from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from inspector.forms import RecordingFilter
from inspector.models import Recording


def get_recording(path: str) -> Recording:
    """The recording at `path` under its import root; the newest import wins when two roots
    hold the same path."""
    recording = Recording.objects.filter(path=path).order_by("-root__last_import", "-id").first()
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
