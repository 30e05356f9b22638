from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inspector.models import Blob
from inspector.views.common import get_recording


@require_GET
def recording(request: HttpRequest, path: str) -> HttpResponse:
    """`/r/<path>.json` is the original file; `/r/<path>` is the recording's page."""
    if path.endswith(".json"):
        return raw(path)
    rec = get_recording(f"{path}.json")
    return render(request, "inspector/recording.html", {"recording": rec})


def raw(path: str) -> HttpResponse:
    """The original file, byte for byte."""
    recording = get_recording(path)
    data = Blob.objects.filter(recording=recording).values_list("data", flat=True).first()
    if data is None:
        raise Http404(f"No stored bytes for {path}")
    response = HttpResponse(bytes(data), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="{recording.file_name}"'
    return response
