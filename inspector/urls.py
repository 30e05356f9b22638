from __future__ import annotations

from django.urls import path, register_converter
from django.urls.converters import PathConverter

from inspector.views import by_test, errors, listing, playback, recording, streaming


class FilePath(PathConverter):
    """A recording's path: any characters, a newline too (a file name may hold one, and
    Django's `path` converter, `.+`, stops at it)."""

    regex = r"[\s\S]+"


register_converter(FilePath, "file")

urlpatterns = [
    path("", listing.index, name="index"),
    path("recordings.json", listing.recordings_json, name="recordings-json"),
    path("facets", listing.facet_counts, name="facet-counts"),
    path("test", by_test.by_test, name="by-test"),
    path("errors", errors.import_errors, name="import-errors"),
    path("play/<file:path>", playback.player, name="player"),
    path("stream/<file:path>", streaming.stream, name="stream"),
    path("chunk/<file:path>", playback.chunk, name="chunk"),
    path("chunks/<file:path>", playback.chunk_table, name="chunk-table"),
    path("r/<file:path>", recording.recording, name="recording"),
    path("raw/<file:path>", recording.raw_section, name="raw-section"),
    path("i/<file:path>/<int:message>/<int:part>", recording.image, name="recording-image"),
    path("v/<file:path>", recording.value, name="recording-value"),
]
