"""The name audit's columns (verdict, reason, the hash under today's rule), the digests that
find a request's nearest recordings, and import roots' names and git revisions."""

from django.db import migrations, models

# Added in place, not by AddField: on SQLite AddField with a default remakes the recording
# table, and with it drops the search triggers (0005). The same statements on both databases.
COLUMNS = {
    "name_verdict": "varchar(20) NOT NULL DEFAULT ''",
    "name_reason": "text NOT NULL DEFAULT ''",
    "computed_hash": "text NOT NULL DEFAULT ''",
    "request_key": "varchar(64) NOT NULL DEFAULT ''",
    "prompt_key": "varchar(64) NOT NULL DEFAULT ''",
}
INDEXES = {
    "recording_verdict_idx": "name_verdict",
    "recording_computed_hash_idx": "computed_hash",
    "recording_request_key_idx": "request_key",
    "recording_prompt_key_idx": "prompt_key",
}


def add_columns(apps, schema_editor):
    for column, definition in COLUMNS.items():
        schema_editor.execute(f'ALTER TABLE inspector_recording ADD COLUMN "{column}" {definition}')
    for name, column in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX {name} ON inspector_recording ("{column}")')


def drop_columns(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {name}")
    for column in COLUMNS:
        schema_editor.execute(f'ALTER TABLE inspector_recording DROP COLUMN "{column}"')


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0013_format_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="importroot",
            name="name",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="importroot",
            name="revision",
            field=models.TextField(blank=True, default="", help_text="git revision, for --git"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_columns, drop_columns)],
            state_operations=[
                migrations.AddField(
                    model_name="recording",
                    name="name_verdict",
                    field=models.CharField(blank=True, default="", max_length=20),
                ),
                migrations.AddField(
                    model_name="recording",
                    name="name_reason",
                    field=models.TextField(blank=True, default=""),
                ),
                migrations.AddField(
                    model_name="recording",
                    name="computed_hash",
                    field=models.TextField(blank=True, default=""),
                ),
                migrations.AddField(
                    model_name="recording",
                    name="request_key",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AddField(
                    model_name="recording",
                    name="prompt_key",
                    field=models.CharField(blank=True, default="", max_length=64),
                ),
                migrations.AddIndex(
                    model_name="recording",
                    index=models.Index(fields=["name_verdict"], name="recording_verdict_idx"),
                ),
                migrations.AddIndex(
                    model_name="recording",
                    index=models.Index(
                        fields=["computed_hash"], name="recording_computed_hash_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="recording",
                    index=models.Index(fields=["request_key"], name="recording_request_key_idx"),
                ),
                migrations.AddIndex(
                    model_name="recording",
                    index=models.Index(fields=["prompt_key"], name="recording_prompt_key_idx"),
                ),
            ],
        ),
    ]
