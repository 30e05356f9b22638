from django.db import DatabaseError, migrations, models
from django.db.models import Value
from django.db.models.functions import Coalesce, Concat, Lower

# The search index as this migration made it (0005 replaced it with a narrow shadow table).
FTS_TABLE = "inspector_recording_search"
SQLITE_INDEX = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search, "
    "content='inspector_recording', content_rowid='id', tokenize='trigram')",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON inspector_recording
    BEGIN INSERT INTO {FTS_TABLE}(rowid, search) VALUES (new.id, new.search); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON inspector_recording
    BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search)
          VALUES ('delete', old.id, old.search); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF search
    ON inspector_recording
    BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search)
          VALUES ('delete', old.id, old.search);
          INSERT INTO {FTS_TABLE}(rowid, search) VALUES (new.id, new.search); END""",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS recording_search_trgm_idx ON inspector_recording "
    "USING gin (search gin_trgm_ops)",
]


def fill_and_index(apps, schema_editor):
    Recording = apps.get_model("inspector", "Recording")
    text = models.TextField()
    Recording.objects.update(
        search=Lower(
            Concat(
                Coalesce("test_id", Value(""), output_field=text),
                Value(" "),
                "path",
                output_field=text,
            )
        )
    )
    create_index(schema_editor.connection)


def create_index(conn):
    statements = {"sqlite": SQLITE_INDEX, "postgresql": POSTGRES_INDEX}.get(conn.vendor, [])
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except DatabaseError:
        pass  # no FTS5 trigram tokenizer, or no right to create pg_trgm: search scans


def drop_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            for suffix in ("_insert", "_delete", "_update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif schema_editor.connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS recording_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="recording",
            name="search",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(fill_and_index, drop_index),
    ]
