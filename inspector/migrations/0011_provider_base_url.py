"""Providers by name with the base URL apart, suites of `<suite>/recordings/` whatever the suite,
a passthrough's endpoint as a path: the new column, and the rows already imported brought in
line from what they store (unchanged files are not parsed again)."""

import inspector.models
from django.db import migrations, models
from pathlib import Path

BATCH = 2000


def recompute(apps, schema_editor):
    from inspector.providers import base_url, provider_of
    from inspector.rows import suite_of

    Recording = apps.get_model("inspector", "Recording")
    rows = Recording.objects.using(schema_editor.connection.alias).select_related("root")
    fields = ["provider", "base_url", "suite", "endpoint", "legacy"]
    batch = []
    for recording in rows.only(
        "id", "url", "kind", "path", "legacy", "legacy_request_hash", "test_id", "endpoint", "root__path"
    ).iterator(
        chunk_size=BATCH
    ):
        if recording.kind not in ("tool_invoke", "file_processor"):
            recording.provider = provider_of(recording.url)
            recording.base_url = base_url(recording.url)
        if recording.kind == "http_passthrough":
            recording.endpoint = recording.endpoint.removeprefix("http:")
        in_responses = recording.path.rpartition("/")[0].rpartition("/")[2] == "responses"
        recording.legacy = bool(recording.legacy_request_hash) or (
            in_responses and not recording.test_id
        )
        recording.suite = suite_of(recording.path, Path(recording.root.path), recording.legacy)
        batch.append(recording)
        if len(batch) >= BATCH:
            Recording.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Recording.objects.bulk_update(batch, fields)


class Migration(migrations.Migration):

    dependencies = [
        ('inspector', '0010_stream_columns'),
    ]

    operations = [
        # Added in place: on SQLite AddField of a NOT NULL column remakes the table, and with it
        # drops the search triggers (0005).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE inspector_recording ADD COLUMN base_url text NOT NULL DEFAULT ''",
                    "ALTER TABLE inspector_recording DROP COLUMN base_url",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name='recording',
                    name='base_url',
                    field=models.TextField(blank=True, default='', help_text='scheme://host:port'),
                ),
                migrations.AlterField(
                    model_name='recording',
                    name='provider',
                    field=inspector.models.LongText(blank=True, help_text='a name (ollama, azure...), else the host'),
                ),
            ],
        ),
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
