from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inspector.models import Blob, ImportFailure, Recording


def _get_recording(path: str) -> Recording:
    """The recording at `path` under its import root; the newest import wins when two roots
    hold the same path."""
    recording = Recording.objects.filter(path=path).order_by("-root__last_import", "-id").first()
    if recording is None:
        raise Http404(f"No recording at {path}")
    return recording


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    recordings = Recording.objects.only(
        "path", "test_id", "endpoint", "model", "is_streaming", "kind"
    ).order_by("-imported", "-id")[:100]
    ctx = {
        "recordings": recordings,
        "total": Recording.objects.count(),
        "failures": ImportFailure.objects.order_by("path")[:100],
    }
    return render(request, "inspector/index.html", ctx)


@require_GET
def recording(request: HttpRequest, path: str) -> HttpResponse:
    if path.endswith(".json"):
        return raw(path)
    rec = _get_recording(f"{path}.json")
    return render(request, "inspector/recording.html", {"recording": rec})


def raw(path: str) -> HttpResponse:
    """The original file, byte for byte."""
    recording = _get_recording(path)
    data = Blob.objects.filter(recording=recording).values_list("data", flat=True).first()
    if data is None:
        raise Http404(f"No stored bytes for {path}")
    response = HttpResponse(bytes(data), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="{recording.file_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
