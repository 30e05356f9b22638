"""Substring search over test ids and paths that stays fast at 100,000 recordings.

Each recording's `search` column holds its test id and path, lowercased. Triggers keep a copy of
it, beside the recording's id, in a narrow shadow table with a trigram index (migration 0005):
SQLite's FTS5 with the trigram tokenizer, PostgreSQL's pg_trgm GIN index. Checking a candidate
row then reads ~200 bytes, not the recording's wide row (response text, details: ~1 KB).
Words shorter than three letters have no trigram: they scan the recordings.

The list's default order is newest import first, which is descending id, the shadow table's own
key. FTS5 lists a page of matches in that order itself and stops at the page's end, however
common the words. A GIN index cannot order its matches: on PostgreSQL the shadow table is split
into partitions of 8,192 consecutive ids (migrations 0007, 0008), and a page reads the newest
partitions' matches, one partition after another (see `newest_sql`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

TABLE = "inspector_recording_search"
# SQLite: past this many matches a word is common (see `contains`).
COMMON = 2000
# SQLite: an import that writes at least 1/COMPACT_SHARE of the index's rows merges it (`compact`).
COMPACT_SHARE = 10
# PostgreSQL: from this length (hashes, test ids) the trigram index is asked for a word's pieces
# of three letters, not for every trigram in it (see `_pieces`).
LONG = 10
# What the database's schema holds, asked once per database: (database name, what) -> answer.
_schema: dict[tuple[str, str], bool] = {}


def _known(what: str, ask: Callable[[], bool]) -> bool:
    key = (connection.settings_dict["NAME"], what)
    if key not in _schema:
        _schema[key] = ask()
    return _schema[key]


def has_index() -> bool:
    return _known("index", lambda: TABLE in connection.introspection.table_names())


def partitioned() -> bool:
    """PostgreSQL: whether the shadow table is split by id (migrations 0007, 0008)."""

    def ask() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regproc(%s) IS NOT NULL", [f"{TABLE}_newest"])
            return bool(cursor.fetchone()[0])

    return _known("partitioned", ask)


def indexed(word: str) -> bool:
    return len(word) >= 3 and has_index()


def glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def covering_trigrams(word: str) -> list[str]:
    """Trigrams side by side that cover `word`: 'inference' -> inf, ere, nce."""
    found = [word[i : i + 3] for i in range(0, len(word) - 2, 3)]
    if (len(word) - 3) % 3:
        found.append(word[-3:])
    return found


def _pieces(word: str) -> str:
    """A LIKE pattern of `word`'s pieces of three letters, the last one longer: 'ea750e20ebccf3c9'
    -> '%ea7%50e%20e%bcc%f3c9%'. Every row holding the word matches it. The trigram index
    reads every row list of a pattern's trigrams: a 16-letter hash has 14, each a few thousand
    rows long; its pieces have 6. The rows found are then checked for the word itself."""
    count = max(1, len(word) // 3)
    pieces = [word[3 * i : 3 * i + 3] for i in range(count - 1)] + [word[3 * (count - 1) :]]
    return "%" + "%".join(like_literal(piece) for piece in pieces) + "%"


def compact(written: int) -> bool:
    """SQLite: after an import that wrote at least a tenth of the index's rows, merge FTS5's
    segments into one; whether it did. FTS5 writes a segment per transaction and merges them
    four at a time, and a page newest first reads each trigram's list in every segment
    backwards: at 100,000 rows in 15 segments a 31-letter test id took 4.6 ms, merged 2.5; a
    16-letter hash 1.2 -> 0.9 ms. Merging rewrites the whole index (~3 s at 100,000 rows), so
    small imports leave it to FTS5: their segments are small."""
    if connection.vendor != "sqlite" or written <= 0 or not has_index():
        return False
    with connection.cursor() as cursor:
        # The recordings' last id, as many as the index's rows or more: FTS5 finds its own
        # highest rowid by reading its index (~1 ms).
        cursor.execute("SELECT max(id) FROM inspector_recording")
        (rows,) = cursor.fetchone()
        if rows is None or written * COMPACT_SHARE < rows:
            return False
        cursor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")
    return True


def _finds_and_checks(words: list[str]) -> tuple[list[str], list[str]]:
    """PostgreSQL: the partitions' function's patterns (migration 0008): `finds` the trigram
    index answers (three at most), `checks` it checks on each row they find."""
    finds, checks = [], []
    for word in (w.lower() for w in words):
        exact = f"%{like_literal(word)}%"
        if len(finds) == 3:
            checks.append(exact)
        elif len(word) >= LONG:
            finds.append(_pieces(word))
            checks.append(exact)
        else:
            finds.append(exact)
    return finds, checks


def _matches(words: list[str]) -> tuple[str, list[str]]:
    """The WHERE condition on the shadow table for rows holding every word."""
    words = [w.lower() for w in words]
    if connection.vendor == "sqlite":
        # A GLOB makes FTS5 read the index entries of every trigram of the word (14 for a
        # 16-letter hash), each thousands of rows long. The trigrams that cover the word side
        # by side find the candidates from a third of them; the GLOB then checks each candidate
        # on its text (`search || ''` keeps FTS5 from reading the index for it too). About
        # twice as fast for every word of the benchmark's searches.
        match = " AND ".join(
            '"' + trigram.replace('"', '""') + '"'
            for w in words
            for trigram in covering_trigrams(w)
        )
        where = " AND ".join(["(search || '') GLOB %s"] * len(words))
        return f"{TABLE} MATCH %s AND {where}", [match, *(f"*{glob_literal(w)}*" for w in words)]
    return " AND ".join(["search LIKE %s"] * len(words)), [f"%{like_literal(w)}%" for w in words]


def _key() -> str:
    return "rowid" if connection.vendor == "sqlite" else "id"


def contains(word: str) -> Q:
    """Recordings whose test id or path contains `word`, case-insensitively, for queries the
    index cannot order (other filters, other sorts)."""
    word = word.lower()
    if not indexed(word):
        return Q(search__contains=word)
    where, params = _matches([word])
    hits = f"SELECT {_key()} FROM {TABLE} WHERE {where}"
    if connection.vendor == "sqlite":
        # FTS5 spends ~8 us per match: past a few thousand, checking each row of the
        # selection (already narrowed by a facet's index, or stopping at the page's end)
        # costs less than listing every match.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({hits} LIMIT {COMMON})", params)
            (found,) = cursor.fetchone()
        if found >= COMMON:
            return Q(search__contains=word)
    return Q(id__in=RawSQL(hits, params))


def _answerable(words: list[str]) -> bool:
    """Whether the index can list the matches of `words` (some words, each of three letters or
    more, and an index)."""
    return bool(words) and all(indexed(w) for w in words)


def _ordered(words: list[str]) -> tuple[str, list[str]]:
    """(every match newest first, params), for `_answerable` words."""
    where, params = _matches(words)
    # SQLite: FTS5 walks its index in rowid order itself and stops at the LIMIT. PostgreSQL:
    # `id + 0` keeps the planner off the primary key, whose walk looks cheap to it but reads
    # every row when the matches are all old; it sorts the GIN index's matches instead.
    order = "rowid DESC" if connection.vendor == "sqlite" else "id + 0 DESC"
    return f"SELECT {_key()} FROM {TABLE} WHERE {where} ORDER BY {order}", params


def newest_query(words: list[str], limit: int) -> RawSQL | None:
    """The ids of the newest `limit` recordings holding every word, as a subquery; None when
    the index cannot answer."""
    if not _answerable(words):
        return None
    sql, params = _ordered(words)
    return RawSQL(f"{sql} LIMIT {int(limit)}", params)


def newest_sql(words: list[str], start: int, stop: int) -> tuple[str, list[Any]] | None:
    """(a statement, its params) listing the ids of the recordings holding every word, newest
    first, from `start` to `stop`; None when the index cannot answer."""
    if not _answerable(words):
        return None
    if connection.vendor == "postgresql" and partitioned():
        # A common word's matches may all be old (a folder-by-folder import puts a suite's
        # rows together): partitions without any cost their index's answer, ~0.1 ms.
        finds, checks = _finds_and_checks(words)
        sql = f"SELECT id FROM {TABLE}_newest(%s, %s, %s) AS id ORDER BY id DESC OFFSET %s"
        return sql, [finds, checks, stop, start]
    sql, params = _ordered(words)
    return f"{sql} LIMIT %s OFFSET %s", [*params, stop - start, start]


def newest(words: list[str], start: int, stop: int) -> list[int] | None:
    """Ids of the recordings holding every word, newest first, from `start` to `stop`; None
    when the index cannot answer."""
    found = newest_sql(words, start, stop)
    if found is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(*found)
        return [row[0] for row in cursor.fetchall()]


def id_in(sql: str) -> str:
    """A condition on a recording's id: one of those `sql` lists."""
    if connection.vendor == "postgresql":
        # An array: the planner looks each id up by the primary key. For `IN (...)` it guesses
        # that a function returns 1,000 rows, and may join them to a scan of the table.
        return f"id = ANY(ARRAY({sql}))"
    return f"id IN ({sql})"
