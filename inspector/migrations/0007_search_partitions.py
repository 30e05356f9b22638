"""PostgreSQL: the search table split into partitions of WIDTH consecutive ids, each with its own
trigram index. A GIN index cannot list matches in id order, so a page of a common word's newest
matches read and sorted every match in the table (25,000 for 'gpt-4o' at 100,000 recordings:
25-75 ms); now it reads the newest partitions' matches, one partition after another, and stops
when the page is full (inspector/search.py). SQLite's FTS5 index lists rowids in order itself:
nothing changes there."""

from django.db import DatabaseError, migrations

TABLE = "inspector_recording_search"
WIDTH = 8192  # ids per partition: a partition of one word's matches sorts in a few ms

# The insert trigger (migration 0005's, plus partitions for ids past the last one). Creating a
# partition locks the table until the import's batch commits (100 files); it happens once in
# WIDTH recordings.
INSERT = f"""CREATE OR REPLACE FUNCTION {TABLE}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE part bigint;
BEGIN
    FOR part IN SELECT DISTINCT id / {WIDTH} FROM fresh LOOP
        IF to_regclass(format('{TABLE}_p%s', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE {TABLE}_p%s PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)',
                part, part * {WIDTH}, (part + 1) * {WIDTH});
        END IF;
    END LOOP;
    INSERT INTO {TABLE} (id, search) SELECT id, search FROM fresh;
    RETURN NULL;
END $$"""
# Every match of every pattern, newest first, up to `wanted`: partition after partition, newest
# first, stopping when there are enough. In the database, since each partition's question costs
# ~0.25 ms there and a round trip from Django as much again.
NEWEST = rf"""CREATE OR REPLACE FUNCTION {TABLE}_newest(patterns text[], wanted integer)
RETURNS SETOF bigint LANGUAGE plpgsql STABLE
-- The planner guesses how many rows several words match as if they were independent, and then
-- scans a partition (8,192 rows: ~10 ms) rather than check the trigram index's candidates.
SET enable_seqscan = off AS $$
DECLARE
    part regclass;
    matches text := (SELECT string_agg(format('search LIKE %L', p), ' AND ') FROM unnest(patterns) p);
    got bigint := 0;
    more bigint;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '{TABLE}'::regclass
        ORDER BY substring(inhrelid::regclass::text FROM '_p(\d+)$')::bigint DESC
    LOOP
        -- `id + 0`: sort the trigram index's matches, rather than walk the primary key, which
        -- reads the whole partition when its matches are few.
        RETURN QUERY EXECUTE format('SELECT id FROM %s WHERE %s ORDER BY id + 0 DESC LIMIT %s',
            part, matches, wanted - got);
        GET DIAGNOSTICS more = ROW_COUNT;
        got := got + more;
        EXIT WHEN got >= wanted;
    END LOOP;
END $$"""
# Migration 0005's, for going back.
PLAIN_INSERT = f"""CREATE OR REPLACE FUNCTION {TABLE}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO {TABLE} (id, search) SELECT id, search FROM fresh; RETURN NULL; END $$"""


def has_trigram_index(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [f"{TABLE}_trgm_idx"])
    return cursor.fetchone() is not None


def trigram_index(cursor) -> None:
    try:
        cursor.execute("SAVEPOINT trgm")
        cursor.execute(f"CREATE INDEX {TABLE}_trgm_idx ON {TABLE} USING gin (search gin_trgm_ops)")
        cursor.execute("RELEASE SAVEPOINT trgm")
    except DatabaseError:
        cursor.execute("ROLLBACK TO SAVEPOINT trgm")  # no pg_trgm (see 0005): search scans


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        indexed = has_trigram_index(cursor)
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, search text NOT NULL)"
            " PARTITION BY RANGE (id)"
        )
        cursor.execute(f"SELECT DISTINCT id / {WIDTH} FROM inspector_recording")
        for (part,) in cursor.fetchall():
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{part} PARTITION OF {TABLE}"
                f" FOR VALUES FROM ({part * WIDTH}) TO ({(part + 1) * WIDTH})"
            )
        cursor.execute(f"INSERT INTO {TABLE} (id, search) SELECT id, search FROM inspector_recording")
        if indexed:
            trigram_index(cursor)
        cursor.execute(INSERT)
        cursor.execute(NEWEST)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        indexed = has_trigram_index(cursor)
        cursor.execute(f"DROP TABLE {TABLE}")  # and its partitions
        cursor.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, search text NOT NULL)")
        cursor.execute(f"INSERT INTO {TABLE} (id, search) SELECT id, search FROM inspector_recording")
        if indexed:
            trigram_index(cursor)
        cursor.execute(PLAIN_INSERT)
        cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_newest(text[], integer)")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0006_lz4"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
