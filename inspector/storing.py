"""Writing an import's rows: COPY on PostgreSQL, bulk_create on SQLite; and the id batches its
sweeps work in."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import Field, Model, Value


def write_rows(model: type[Model], objects: list[Model]) -> None:
    """Insert a batch's rows of one child table (nothing needs their ids back)."""
    if connection.vendor == "postgresql":
        copy_in(model, objects)
    else:
        model.objects.bulk_create(objects, batch_size=500)


def create_rows(model: type[Model], objects: list[Model]) -> None:
    """Insert new rows (sources, recordings), giving each its id, in order. PostgreSQL: ids
    reserved from the table's sequence, then the rows by COPY: bulk_create's text arrays were
    ~15% of a cold import's time there, and it sends bytes as hex."""
    if connection.vendor != "postgresql" or not objects:
        model.objects.bulk_create(objects)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, len(objects)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
    copy_in(model, objects, with_id=True)
    for obj in objects:
        obj._state.adding = False


def copy_in(model: type[Model], objects: list[Model], with_id: bool = False) -> None:
    """PostgreSQL: COPY rows in, in binary. The stored bytes, streams and messages are most of
    what an import writes; bulk_create sends them as text arrays that psycopg escapes quote by
    quote in Python, and bytes as hex: COPY takes them as they are, in a fraction of the time."""
    fields = [f for f in model._meta.concrete_fields if with_id or f is not model._meta.auto_field]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([f.db_type(connection).split("(")[0] for f in fields])
        for obj in objects:
            copy.write_row([db_value(f, obj) for f in fields])


def db_value(field: Field, obj: Model) -> Any:
    value = field.pre_save(obj, add=True)
    if isinstance(value, Value):
        return value.value  # already as the database takes it
    return field.get_db_prep_save(value, connection)


# Of the importer's sweeps: ids in batches a statement takes, and the ids a run did not see.
def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def unseen(ids: Iterable[int], seen: list[int] | array) -> array:
    """The ids not in `seen` (sorted)."""
    gone = array("q")
    for pk in ids:
        at = bisect_left(seen, pk)
        if at == len(seen) or seen[at] != pk:
            gone.append(pk)
    return gone
