"""Search reads a narrow shadow table (id, search) kept in step by triggers, and the list's
default order becomes descending id (see inspector/search.py)."""

from django.db import DatabaseError, migrations

TABLE = "inspector_recording_search"

SQLITE = [
    # 0002's FTS5 table read each candidate's text from the wide recording row.
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TABLE IF EXISTS {TABLE}",
    "DROP INDEX IF EXISTS recording_list_search_idx",
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(search, tokenize='trigram')",
    f"""CREATE TRIGGER {TABLE}_insert AFTER INSERT ON inspector_recording
    BEGIN INSERT INTO {TABLE}(rowid, search) VALUES (new.id, new.search); END""",
    f"""CREATE TRIGGER {TABLE}_delete AFTER DELETE ON inspector_recording
    BEGIN DELETE FROM {TABLE} WHERE rowid = old.id; END""",
    f"""CREATE TRIGGER {TABLE}_update AFTER UPDATE OF search ON inspector_recording
    BEGIN UPDATE {TABLE} SET search = new.search WHERE rowid = old.id; END""",
    f"INSERT INTO {TABLE}(rowid, search) SELECT id, search FROM inspector_recording",
]

POSTGRES = [
    "DROP INDEX IF EXISTS recording_search_trgm_idx",
    f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, search text NOT NULL)",
    # Statement triggers with transition tables: one INSERT ... SELECT per bulk insert or COPY.
    f"""CREATE FUNCTION {TABLE}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO {TABLE} (id, search) SELECT id, search FROM fresh; RETURN NULL; END $$""",
    f"""CREATE TRIGGER {TABLE}_insert AFTER INSERT ON inspector_recording
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_insert()""",
    f"""CREATE FUNCTION {TABLE}_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM {TABLE} WHERE id IN (SELECT id FROM gone); RETURN NULL; END $$""",
    f"""CREATE TRIGGER {TABLE}_delete AFTER DELETE ON inspector_recording
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_delete()""",
    f"""CREATE FUNCTION {TABLE}_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE {TABLE} SET search = NEW.search WHERE id = NEW.id; RETURN NULL; END $$""",
    f"""CREATE TRIGGER {TABLE}_update AFTER UPDATE OF search ON inspector_recording
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_update()""",
    # Django empties tables between tests with TRUNCATE, which fires no row or DELETE trigger.
    f"""CREATE FUNCTION {TABLE}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN TRUNCATE {TABLE}; RETURN NULL; END $$""",
    f"""CREATE TRIGGER {TABLE}_truncate AFTER TRUNCATE ON inspector_recording
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_truncate()""",
    f"INSERT INTO {TABLE} (id, search) SELECT id, search FROM inspector_recording",
]
POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Serves every search word of three letters or more: LIKE '%word%'.
    f"CREATE INDEX {TABLE}_trgm_idx ON {TABLE} USING gin (search gin_trgm_ops)",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    try:
        with schema_editor.connection.cursor() as cursor:
            for statement in SQLITE if vendor == "sqlite" else POSTGRES:
                cursor.execute(statement)
    except DatabaseError:
        if vendor != "sqlite":
            raise
        # An SQLite without FTS5's trigram tokenizer (before 3.34): search scans.
        return
    if vendor == "postgresql":
        try:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("SAVEPOINT trgm")
                for statement in POSTGRES_INDEX:
                    cursor.execute(statement)
                cursor.execute("RELEASE SAVEPOINT trgm")
        except DatabaseError:
            # A role that may not create pg_trgm: search still works, by scanning the table.
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("ROLLBACK TO SAVEPOINT trgm")


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            for statement in SQLITE[:4]:
                cursor.execute(statement)
        else:
            for kind in ("insert", "delete", "update", "truncate"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{kind} ON inspector_recording")
                cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{kind}()")
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0004_facet_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="recording", name="recording_newest_idx"),
        migrations.RunPython(create, drop),
    ]
