"""Substring search over test ids and paths that stays fast at 100,000 recordings.

Each recording's `search` column holds its test id and path, lowercased. A trigram index
answers "contains this word" without reading every row: SQLite's FTS5 with the trigram
tokenizer (a shadow table kept in step by triggers), PostgreSQL's pg_trgm GIN index (which
serves `LIKE '%word%'` directly). Words shorter than three letters have no trigram: they scan.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

logger = logging.getLogger(__name__)

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
# SQLite: the list's default order with the search column beside it, so that a common word is
# found by walking this index newest first and stopping at the page's last row, without
# reading the (wide) table rows that do not match.
SQLITE_LIST_INDEX = (
    "CREATE INDEX IF NOT EXISTS recording_list_search_idx "
    "ON inspector_recording (imported DESC, id DESC, search)"
)
# Past this many trigram hits a word is common: walking the list index finds a page sooner
# than collecting every hit.
COMMON = 2000
POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Serves every search word of three letters or more: LIKE '%word%' on `search`.
    "CREATE INDEX IF NOT EXISTS recording_search_trgm_idx ON inspector_recording "
    "USING gin (search gin_trgm_ops)",
]
_has_fts: dict[str, bool] = {}


def create_index(conn: Any) -> None:
    statements = {"sqlite": SQLITE_INDEX, "postgresql": POSTGRES_INDEX}.get(conn.vendor, [])
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except DatabaseError as exc:
        # An SQLite without FTS5's trigram tokenizer (before 3.34), or a PostgreSQL role that
        # may not create pg_trgm: search still works, by scanning.
        logger.warning("no trigram index for search (%s); search will scan", exc)


def drop_index(conn: Any) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            for suffix in ("_insert", "_delete", "_update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif conn.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS recording_search_trgm_idx")


def has_fts() -> bool:
    key = connection.settings_dict["NAME"]
    if key not in _has_fts:
        _has_fts[key] = FTS_TABLE in connection.introspection.table_names()
    return _has_fts[key]


def glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def contains(word: str) -> Q:
    """Recordings whose test id or path contains `word`, case-insensitively."""
    word = word.lower()
    if connection.vendor == "sqlite" and len(word) >= 3 and has_fts():
        pattern = f"*{glob_literal(word)}*"
        hits = f"SELECT rowid FROM {FTS_TABLE} WHERE search GLOB %s"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({hits} LIMIT {COMMON})", [pattern])
            (found,) = cursor.fetchone()
        if found < COMMON:  # a rare word: the trigram index lists its few rows
            return Q(id__in=RawSQL(hits, [pattern]))
    return Q(search__contains=word)
