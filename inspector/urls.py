from __future__ import annotations

from django.templatetags.static import static
from django.urls import path, register_converter
from django.urls.converters import PathConverter
from django.views.generic import RedirectView

from inspector.roots import within_root, within_root_async
from inspector.views import (
    audit,
    by_test,
    changes,
    compare,
    diff,
    errors,
    explain,
    export,
    listing,
    overview,
    playback,
    recording,
    streaming,
)


class FilePath(PathConverter):
    """A recording's path: any characters, a newline too (a file name may hold one, and
    Django's `path` converter, `.+`, stops at it)."""

    regex = r"[\s\S]+"


class RootName(PathConverter):
    """An import root's name (`inspector.roots`): one path component."""

    regex = r"[^/]+"


register_converter(FilePath, "file")
register_converter(RootName, "root")

urlpatterns = [
    path("", listing.index, name="index"),
    # Browsers ask for /favicon.ico whatever the page's <link rel=icon> says.
    path("favicon.ico", RedirectView.as_view(url=static("inspector/favicon.svg"), permanent=True)),
    path("recordings.json", listing.recordings_json, name="recordings-json"),
    path("recordings.jsonl", export.recordings_jsonl, name="recordings-jsonl"),
    path("export.zip", export.export_zip, name="export-zip"),
    path("facets", listing.facet_counts, name="facet-counts"),
    path("overview", overview.overview, name="overview"),
    path("overview.json", overview.overview_json, name="overview-json"),
    path("changes", changes.changes, name="changes"),
    path("test", by_test.by_test, name="by-test"),
    path("test.json", by_test.by_test_json, name="by-test-json"),
    path("errors", errors.import_errors, name="import-errors"),
    path("diff", diff.diff, name="diff"),
    path("diff.json", diff.diff_json, name="diff-json"),
    path("audit", audit.audit, name="audit"),
    path("audit.json", audit.audit_json, name="audit-json"),
    path("play/<file:path>", playback.player, name="player"),
    path("stream/<file:path>", streaming.stream, name="stream"),
    path("chunk/<file:path>", playback.chunk, name="chunk"),
    path("chunks/<file:path>", playback.chunk_table, name="chunk-table"),
    path("r/<file:path>", recording.recording, name="recording"),
    path("raw/<file:path>", recording.raw_section, name="raw-section"),
    path("i/<file:path>/<int:message>/<int:part>", recording.image, name="recording-image"),
    path("v/<file:path>", recording.value, name="recording-value"),
    path("compare", compare.compare, name="compare"),
    path("compare.json", compare.compare_json, name="compare-json"),
    path("explain", explain.explain, name="explain"),
    path("explain.json", explain.explain_json, name="explain-json"),
]

# The same addresses within one import root, `/<root name>/r/...` (inspector.roots): what links
# carry once two or more roots exist. After the routes above, which no root name shadows.
urlpatterns += [
    path("<root:root>/play/<file:path>", within_root(playback.player)),
    path("<root:root>/stream/<file:path>", within_root_async(streaming.stream)),
    path("<root:root>/chunk/<file:path>", within_root(playback.chunk)),
    path("<root:root>/chunks/<file:path>", within_root(playback.chunk_table)),
    path("<root:root>/r/<file:path>", within_root(recording.recording)),
    path("<root:root>/raw/<file:path>", within_root(recording.raw_section)),
    path("<root:root>/i/<file:path>/<int:message>/<int:part>", within_root(recording.image)),
    path("<root:root>/v/<file:path>", within_root(recording.value)),
]
