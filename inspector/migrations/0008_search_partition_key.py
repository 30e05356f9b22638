"""PostgreSQL: the search table's partitions keyed by `id / WIDTH` rather than by ranges of id,
and its newest-first function made of static statements (inspector/search.py).

0007's function built one statement per partition and planned it each time: ~0.25 ms a partition,
most of a rare word's search (13 partitions at 100,000 recordings: 3.4 ms). A static statement
keeps one generic plan per connection and prunes the partitions it does not need when it runs.
For that the statement names its partition by the partition key; with 0007's key, `id >= $1 AND
id < $2`, the planner chose the primary key for it and read all 8,192 rows of the partition. No
index serves `id / WIDTH = $1`, so the plan asks the trigram index. The id index stays, for the
triggers; it cannot be unique (a partition key expression cannot be part of one): the recording
table's primary key keeps ids unique."""

from importlib import import_module

from django.db import migrations

previous = import_module("inspector.migrations.0007_search_partitions")
TABLE = previous.TABLE
WIDTH = previous.WIDTH

INSERT = f"""CREATE OR REPLACE FUNCTION {TABLE}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE part bigint;
BEGIN
    FOR part IN SELECT DISTINCT id / {WIDTH} FROM fresh LOOP
        IF to_regclass(format('{TABLE}_p%s', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE {TABLE}_p%s PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)',
                part, part, part + 1);
        END IF;
    END LOOP;
    INSERT INTO {TABLE} (id, search) SELECT id, search FROM fresh;
    RETURN NULL;
END $$"""
# `id / WIDTH = ...` names the one partition to update.
UPDATE = f"""CREATE OR REPLACE FUNCTION {TABLE}_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {TABLE} SET search = NEW.search WHERE id / {WIDTH} = NEW.id / {WIDTH} AND id = NEW.id;
        RETURN NULL;
    END $$"""
# Migration 0005's.
PLAIN_UPDATE = f"""CREATE OR REPLACE FUNCTION {TABLE}_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE {TABLE} SET search = NEW.search WHERE id = NEW.id; RETURN NULL; END $$"""
# The newest `wanted` rows matching every pattern of `finds` (the trigram index answers them)
# and of `checks` (checked on each row they find), partition after partition, newest first,
# until there are enough. One statement per number of `finds` (the index takes three at most).
# `id + 0`: sort the index's matches, rather than walk the id index. `search || ''`: check the
# rows found, rather than ask the index for `checks` too.
NEWEST = rf"""CREATE OR REPLACE FUNCTION {TABLE}_newest(finds text[], checks text[], wanted integer)
RETURNS SETOF bigint LANGUAGE plpgsql STABLE
-- The planner guesses how many rows several words match as if they were independent, and then
-- scans a partition (8,192 rows: ~10 ms) rather than check the trigram index's candidates.
SET enable_seqscan = off
-- Keep the plan that prunes partitions as it runs: custom plans look cheaper to the planner,
-- which cannot count the partitions pruned, but cost ~0.2 ms each to make.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    part bigint;
    got bigint := 0;
    more bigint;
BEGIN
    FOR part IN SELECT substring(inhrelid::regclass::text FROM '_p(\d+)$')::bigint AS number
        FROM pg_inherits WHERE inhparent = '{TABLE}'::regclass ORDER BY number DESC
    LOOP
        CASE cardinality(finds)
        WHEN 1 THEN
            RETURN QUERY SELECT id FROM {TABLE} WHERE id / {WIDTH} = part
                AND search LIKE finds[1] AND (search || '') LIKE ALL(checks)
                ORDER BY id + 0 DESC LIMIT wanted - got;
        WHEN 2 THEN
            RETURN QUERY SELECT id FROM {TABLE} WHERE id / {WIDTH} = part
                AND search LIKE finds[1] AND search LIKE finds[2] AND (search || '') LIKE ALL(checks)
                ORDER BY id + 0 DESC LIMIT wanted - got;
        ELSE
            RETURN QUERY SELECT id FROM {TABLE} WHERE id / {WIDTH} = part
                AND search LIKE finds[1] AND search LIKE finds[2] AND search LIKE finds[3]
                AND (search || '') LIKE ALL(checks)
                ORDER BY id + 0 DESC LIMIT wanted - got;
        END CASE;
        GET DIAGNOSTICS more = ROW_COUNT;
        got := got + more;
        EXIT WHEN got >= wanted;
    END LOOP;
END $$"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        indexed = previous.has_trigram_index(cursor)
        cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_newest(text[], integer)")
        cursor.execute(f"DROP TABLE {TABLE}")  # and its partitions
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigint NOT NULL, search text NOT NULL)"
            f" PARTITION BY RANGE ((id / {WIDTH}))"
        )
        cursor.execute(f"CREATE INDEX {TABLE}_id_idx ON {TABLE} (id)")
        cursor.execute(f"SELECT DISTINCT id / {WIDTH} FROM inspector_recording")
        for (part,) in cursor.fetchall():
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{part} PARTITION OF {TABLE}"
                f" FOR VALUES FROM ({part}) TO ({part + 1})"
            )
        cursor.execute(f"INSERT INTO {TABLE} (id, search) SELECT id, search FROM inspector_recording")
        if indexed:
            previous.trigram_index(cursor)
        cursor.execute(INSERT)
        cursor.execute(UPDATE)
        cursor.execute(NEWEST)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_newest(text[], text[], integer)")
        cursor.execute(PLAIN_UPDATE)
    previous.partition(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0007_search_partitions"),
    ]

    operations = [migrations.RunPython(forward, backward)]
