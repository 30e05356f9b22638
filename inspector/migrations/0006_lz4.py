"""PostgreSQL: the stored files and chunks compressed with lz4 rather than pglz, which took about
a sixth of a cold import's time (and reading them back, a part of every page of a big stream)."""

from django.db import DatabaseError, migrations

COLUMNS = [("inspector_blob", "data"), ("inspector_stream", "chunks")]


def lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("SAVEPOINT lz4")
            for table, column in COLUMNS:
                # Only values written from now on: existing rows keep pglz and stay readable.
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
            cursor.execute("RELEASE SAVEPOINT lz4")
        except DatabaseError:
            cursor.execute("ROLLBACK TO SAVEPOINT lz4")  # a server built without lz4


def pglz(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, column in COLUMNS:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0005_search_table"),
    ]

    operations = [migrations.RunPython(lz4, pglz)]
