"""A file is a source (its bytes, hash, path and format); a recording is one exchange of a
source, at its index. The bytes move from the blob table to the sources, one source per
recording already imported (llama-stack files are sources of one exchange)."""

import django.db.models.deletion
from django.db import DatabaseError, migrations, models

COPY_SOURCES = """
INSERT INTO inspector_source (root_id, path, format, size, sha256, mtime_ns, missing,
                              exchange_count, data)
SELECT r.root_id, r.path,
       CASE WHEN r.legacy THEN 'llama-stack-legacy' ELSE 'llama-stack' END,
       r.size, r.sha256, r.mtime_ns, r.missing, 1, COALESCE(b.data, {empty})
FROM inspector_recording r LEFT JOIN inspector_blob b ON b.recording_id = r.id
"""
LINK_RECORDINGS = """
UPDATE inspector_recording SET
    source_id = (SELECT s.id FROM inspector_source s
                 WHERE s.root_id = inspector_recording.root_id
                   AND s.path = inspector_recording.path),
    format = CASE WHEN legacy THEN 'llama-stack-legacy' ELSE 'llama-stack' END
"""


def move_bytes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # The bytes compressed with lz4, as the blobs were (0006).
        with schema_editor.connection.cursor() as cursor:
            try:
                cursor.execute("SAVEPOINT lz4")
                cursor.execute("ALTER TABLE inspector_source ALTER COLUMN data SET COMPRESSION lz4")
                cursor.execute("RELEASE SAVEPOINT lz4")
            except DatabaseError:
                cursor.execute("ROLLBACK TO SAVEPOINT lz4")  # a server built without lz4
    empty = "''::bytea" if vendor == "postgresql" else "X''"
    schema_editor.execute(COPY_SOURCES.format(empty=empty))
    schema_editor.execute(LINK_RECORDINGS)
    if vendor == "postgresql":
        # The new foreign keys checked now: ALTER TABLE refuses a table with checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE inspector_recording ALTER COLUMN source_id SET NOT NULL")


# Added in place, not by AddField: on SQLite AddField of a foreign key remakes the recording
# table, and with it drops the search triggers (0005). So on SQLite the column stays nullable
# in the schema; every import sets it.
ADD_COLUMNS = {
    "postgresql": [
        "ALTER TABLE inspector_recording ADD COLUMN source_id bigint NULL"
        " REFERENCES inspector_source (id) DEFERRABLE INITIALLY DEFERRED",
        'ALTER TABLE inspector_recording ADD COLUMN "index" integer NOT NULL DEFAULT 0',
        "ALTER TABLE inspector_recording ADD COLUMN format varchar(20) NOT NULL"
        " DEFAULT 'llama-stack'",
    ],
    "sqlite": [
        'ALTER TABLE inspector_recording ADD COLUMN "source_id" bigint NULL'
        ' REFERENCES "inspector_source" ("id") DEFERRABLE INITIALLY DEFERRED',
        'ALTER TABLE inspector_recording ADD COLUMN "index" integer NOT NULL DEFAULT 0',
        "ALTER TABLE inspector_recording ADD COLUMN \"format\" varchar(20) NOT NULL"
        " DEFAULT 'llama-stack'",
    ],
}


def add_columns(apps, schema_editor):
    for statement in ADD_COLUMNS[schema_editor.connection.vendor]:
        schema_editor.execute(statement)
    schema_editor.execute(
        "CREATE INDEX recording_source_idx ON inspector_recording (source_id, \"index\")"
    )


def drop_columns(apps, schema_editor):
    schema_editor.execute("DROP INDEX recording_source_idx")
    for column in ("source_id", '"index"', "format"):
        schema_editor.execute(f"ALTER TABLE inspector_recording DROP COLUMN {column}")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0011_provider_base_url"),
    ]

    operations = [
        migrations.CreateModel(
            name="Source",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.TextField(help_text="path under the import root, with its extension")),
                ("format", models.CharField(choices=[("llama-stack", "llama-stack"), ("llama-stack-legacy", "llama-stack (legacy layout)"), ("vcr", "VCR.py cassette")], max_length=20)),
                ("size", models.BigIntegerField(help_text="bytes read")),
                ("sha256", models.CharField(help_text="SHA-256 of the file's bytes", max_length=64)),
                ("mtime_ns", models.BigIntegerField()),
                ("missing", models.BooleanField(default=False, help_text="gone from disk at the last import")),
                ("exchange_count", models.IntegerField(default=1)),
                ("data", models.BinaryField()),
                ("root", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="sources", to="inspector.importroot")),
            ],
            options={
                "indexes": [models.Index(fields=["path"], name="source_path_idx")],
                "constraints": [models.UniqueConstraint(fields=("root", "path"), name="source_root_path_uniq")],
            },
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_columns, drop_columns)],
            state_operations=[
                migrations.AddField(
                    model_name="recording",
                    name="source",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="exchanges", to="inspector.source"),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="recording",
                    name="index",
                    field=models.IntegerField(default=0, help_text="position within its source, from 0"),
                ),
                migrations.AddField(
                    model_name="recording",
                    name="format",
                    field=models.CharField(choices=[("llama-stack", "llama-stack"), ("llama-stack-legacy", "llama-stack (legacy layout)"), ("vcr", "VCR.py cassette")], default="llama-stack", max_length=20),
                ),
                migrations.AddIndex(
                    model_name="recording",
                    index=models.Index(fields=["source", "index"], name="recording_source_idx"),
                ),
                migrations.AlterField(
                    model_name="recording",
                    name="path",
                    field=models.TextField(help_text="path under the import root"),
                ),
            ],
        ),
        migrations.RunPython(move_bytes, migrations.RunPython.noop),
        migrations.DeleteModel(name="Blob"),
    ]
