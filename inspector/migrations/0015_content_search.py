"""The content search (`?text=`): what each recording says, in a side table
(`RecordingContent`, written by the importer: `inspector.contents`), and the database's
full-text index over its words (queries: `inspector.content_search`).

Recordings imported before this migration get their content here, read again from their
files' stored bytes: the next import would skip them, their files being unchanged.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

TABLE = "inspector_recordingcontent"
FTS = "inspector_content_fts"

SQLITE = [
    # External content: FTS5 keeps only its index and reads `words` from the side table.
    # `unicode61` splits the words (already folded, one space apart) on the spaces;
    # remove_diacritics 0: the words are already without accents.
    f"""CREATE VIRTUAL TABLE {FTS} USING fts5(words, content='{TABLE}',
    content_rowid='recording_id', tokenize='unicode61 remove_diacritics 0')""",
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE}
    BEGIN INSERT INTO {FTS}(rowid, words) VALUES (new.recording_id, new.words); END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE}
    BEGIN INSERT INTO {FTS}({FTS}, rowid, words) VALUES ('delete', old.recording_id, old.words);
    END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE ON {TABLE}
    BEGIN INSERT INTO {FTS}({FTS}, rowid, words) VALUES ('delete', old.recording_id, old.words);
    INSERT INTO {FTS}(rowid, words) VALUES (new.recording_id, new.words); END""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]

POSTGRES = [
    # Generated, so that COPY and bulk_create (which list the model's columns) fill it too.
    # `simple`: words as they are (no stemming, no stop words), whatever the language.
    f"""ALTER TABLE {TABLE} ADD COLUMN vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED""",
    # Serves `vector @@ tsquery`: every content search (inspector/content_search.py).
    f"CREATE INDEX {TABLE}_vector_idx ON {TABLE} USING gin (vector)",
]
POSTGRES_DROP = [
    f"DROP INDEX IF EXISTS {TABLE}_vector_idx",
    f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS vector",
]


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for statement in SQLITE if vendor == "sqlite" else POSTGRES:
            cursor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for statement in SQLITE_DROP if vendor == "sqlite" else POSTGRES_DROP:
            cursor.execute(statement)


def fill(apps, schema_editor):
    """Content for the recordings already there, a hundred files at a time. Uses today's
    readers (a migration's own copy would drift from what imports write)."""
    from inspector import contents, formats

    Source = apps.get_model("inspector", "Source")
    Recording = apps.get_model("inspector", "Recording")
    RecordingContent = apps.get_model("inspector", "RecordingContent")
    last = 0
    while True:
        after = Source.objects.filter(pk__gt=last).order_by("pk")
        sources = list(after.values_list("pk", "path", "data")[:100])
        if not sources:
            return
        last = sources[-1][0]
        ids = {
            (source_id, index): pk
            for pk, source_id, index in Recording.objects.filter(
                source_id__in=[s[0] for s in sources]
            ).values_list("pk", "source_id", "index")
        }
        rows = []
        for source_id, path, data in sources:
            try:
                found = formats.exchanges_in(bytes(data), path)
            except Exception:  # a file that no longer parses keeps its rows, without content
                continue
            if found is None:
                continue
            for index, parsed in enumerate(found[1]):
                pk = ids.get((source_id, index))
                if pk is None:
                    continue
                text = contents.content_of(parsed, getattr(parsed, formats.BODIES, ()))
                words = contents.words_of(text)
                rows.append(RecordingContent(recording_id=pk, text=text, words=words))
        RecordingContent.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0014_name_audit"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordingContent",
            fields=[
                (
                    "recording",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="content",
                        serialize=False,
                        to="inspector.recording",
                    ),
                ),
                (
                    "text",
                    models.TextField(
                        help_text="capped (contents.CAP_BYTES); snippets are cut from it"
                    ),
                ),
                ("words", models.TextField(blank=True, default="")),
            ],
        ),
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
