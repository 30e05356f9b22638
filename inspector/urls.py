from __future__ import annotations

from django.urls import path

from inspector.views import listing, playback, recording

urlpatterns = [
    path("", listing.index, name="index"),
    path("recordings.json", listing.recordings_json, name="recordings-json"),
    path("facets", listing.facet_counts, name="facet-counts"),
    path("test", listing.by_test, name="by-test"),
    path("errors", listing.import_errors, name="import-errors"),
    path("play/<path:path>", playback.player, name="player"),
    path("stream/<path:path>", playback.stream, name="stream"),
    path("chunk/<path:path>", playback.chunk, name="chunk"),
    path("chunks/<path:path>", playback.chunk_table, name="chunk-table"),
    path("r/<path:path>", recording.recording, name="recording"),
    path("raw/<path:path>", recording.raw_section, name="raw-section"),
    path("i/<path:path>/<int:message>/<int:part>", recording.image, name="recording-image"),
    path("v/<path:path>", recording.value, name="recording-value"),
]
