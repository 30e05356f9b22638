"""The content search (`?text=`) over `models.RecordingContent`, and the snippets of its hits.

SQLite: an FTS5 table over the rows' words (migration 0015), external content (it stores no
second copy), a phrase query per term. FTS5 lists its matches in rowid order, the recording's
id: a page newest first walks the index backwards and stops at the page's end, however common
the word. PostgreSQL: a GIN index over a `tsvector` of the words (the `simple` configuration:
no stemming, no stop words; any language) and `phraseto_tsquery` per term; a page is the
primary key walked backwards when the newest rows hold it, else the index's matches sorted
(`newest_sql`).

The words are folded in Python (`contents.fold`) on both sides, so that the index and the
query always agree. Known limit: PostgreSQL keeps word positions up to 16,383 only, so a
phrase after ~16,000 words of a recording's content is not found there (SQLite has no limit).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from inspector.contents import fold
from inspector.models import RecordingContent

TABLE = "inspector_recordingcontent"
FTS = "inspector_content_fts"
Terms = list[tuple[str, ...]]

# PostgreSQL: how many of the newest rows are checked before choosing a plan (`_common`).
NEWEST = 1000
# A snippet: this many characters of context before the first match, and its whole length.
BEFORE = 60
LENGTH = 220
# The first match is looked for this many characters at a time, each window reaching this
# much into the next (a phrase is at most 500 characters: forms.RecordingFilter.text).
WINDOW = 8192
OVERLAP = 512


def _where(terms: Terms) -> tuple[str, str, list[str]]:
    """(the id column, the condition for rows holding every term, params)."""
    if connection.vendor == "sqlite":
        # Each term a phrase ("the weather in"), all of them (AND). Words are letters and
        # digits only (contents.WORD): nothing in them is FTS5 syntax.
        match = " AND ".join('"' + " ".join(words) + '"' for words in terms)
        return "rowid", f"{FTS} MATCH %s", [match]
    query = " && ".join(["phraseto_tsquery('simple', %s)"] * len(terms))
    return "recording_id", f"vector @@ ({query})", [" ".join(words) for words in terms]


def _table() -> str:
    return FTS if connection.vendor == "sqlite" else TABLE


def matching(terms: Terms) -> Q:
    """Recordings whose content holds every term, for queries the index cannot order (other
    filters, other sorts)."""
    key, where, params = _where(terms)
    hits = f"SELECT {key} FROM {_table()} WHERE {where}"
    if connection.vendor == "postgresql":
        # The hits as an array, worked out once. As `IN (SELECT ...)` the planner, misled by
        # a table not yet analyzed, joined each recording to a scan of every row's tsvector:
        # a 1,500-recording test took ten minutes.
        hits = f"SELECT unnest(ARRAY({hits}))"
    return Q(id__in=RawSQL(hits, params))


def newest_sql(terms: Terms, start: int, stop: int) -> tuple[str, list[Any]]:
    """(a statement, its params) listing the ids of the recordings holding every term, newest
    first, from `start` to `stop`."""
    key, where, params = _where(terms)
    order = key
    if connection.vendor == "postgresql" and not _common(where, params, stop):
        # Not a page among the newest rows: the GIN index's matches, sorted (`+ 0` keeps the
        # planner off the primary key). For a word missing from its statistics the planner
        # guesses a few percent of rows and walks the key backwards, checking every row's
        # tsvector: a word in no recording took 0.5 s at 100,000 (bench/text_search.py).
        order = f"{key} + 0"
    sql = f"SELECT {key} FROM {_table()} WHERE {where} ORDER BY {order} DESC LIMIT %s OFFSET %s"
    return sql, [*params, stop - start, start]


def _common(where: str, params: list[str], stop: int) -> bool:
    """PostgreSQL: whether the newest NEWEST rows hold the page (`stop` matches), so that
    walking the primary key backwards finds it at once. Checking those rows costs a few
    milliseconds, however rare or common the words are."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM (SELECT recording_id, vector FROM {TABLE}"
            f" ORDER BY recording_id DESC LIMIT {NEWEST}) AS newest WHERE {where}"
            f" LIMIT {int(stop)}) AS found",
            params,
        )
        return cursor.fetchone()[0] >= stop


# --------------------------------------------------------------------------- snippets


def _term_re(words: tuple[str, ...]) -> str:
    return r"[\W_]+".join(map(re.escape, words))


def pattern_of(terms: Terms) -> re.Pattern[str]:
    """The terms in folded text: each one's words in a row, whole (not inside a longer
    word), whatever stands between them. Longer terms first: at one place, the longest."""
    ordered = sorted(terms, key=lambda words: -sum(map(len, words)))
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(map(_term_re, ordered))})(?![^\W_])")


@lru_cache(maxsize=256)
def _starts(terms: tuple[tuple[str, ...], ...]) -> list[tuple[str, re.Pattern[str]]]:
    """Each term's first word, and the term's pattern to check where that word is found."""
    return [(words[0], re.compile(rf"(?<![^\W_]){_term_re(words)}(?![^\W_])")) for words in terms]


def _first(folded: str, terms: Terms) -> tuple[int, int] | None:
    """(start, end) of the first match in folded text. Each term's first word is looked for
    with `str.find`, and only where it is the whole term is checked: a pattern that starts
    with a lookbehind is tried at every character (~100 ns each: 0.3 s for a page of the
    corpus's largest contents, where `find` takes a few milliseconds)."""
    best: tuple[int, int] | None = None
    for word, pattern in _starts(tuple(terms)):
        at = folded.find(word)
        while at != -1 and (best is None or at < best[0]):
            found = pattern.match(folded, at)
            if found:
                best = (at, found.end())
                break
            at = folded.find(word, at + 1)
    return best


def folded(text: str) -> tuple[str, list[int] | None]:
    """`text` folded, and where in `text` each folded character is from: None when that is
    where it is (almost always); a character at a time for the few texts whose folding
    changes their length (ß -> ss, ﬁ -> fi)."""
    whole = fold(text)
    if len(whole) == len(text):
        return whole, None
    out, origins = [], []
    for i, character in enumerate(text):
        one = fold(character)
        out.append(one)
        origins.extend([i] * len(one))
    origins.append(len(text))
    return "".join(out), origins


def first_match(text: str, terms: Terms) -> int | None:
    """Where in `text` the first match starts. Read a window at a time: the first match is
    most often near the start, and folding a 256 KiB text whole for it took ~0.1 s a row
    when its folding changed its length."""
    for begin in range(0, len(text), WINDOW):
        stop = begin + WINDOW + OVERLAP
        window, origins = folded(text[begin:stop])
        found = _first(window, terms)
        if found is None or (found[1] == len(window) and stop < len(text)):
            continue  # none, or maybe a word cut at the window's end: the next one has it whole
        return begin + (found[0] if origins is None else origins[found[0]])
    return None


def snippet(text: str, terms: Terms, pattern: re.Pattern[str]) -> list[dict[str, Any]]:
    """The part of `text` around its first match, as pieces to show, the matches marked:
    `[{"text": ..., "mark": bool}, ...]`; [] when nothing matches. `pattern`: the terms'
    (`pattern_of`). Pieces are text: the template escapes them."""
    start = first_match(text, terms)
    if start is None:
        return []
    begin = max(0, start - BEFORE)
    if begin:  # from the start of a word
        space = text.find(" ", begin, start)
        begin = space + 1 if space != -1 else begin
    end = min(len(text), begin + LENGTH)
    space = text.find(" ", end, end + OVERLAP)  # to the end of a word
    end = space if space != -1 else min(len(text), end + OVERLAP)
    part = text[begin:end]
    window, origins = folded(part)
    pieces: list[dict[str, Any]] = [{"text": "…", "mark": False}] if begin else []
    done = 0
    for found in pattern.finditer(window):
        a, b = found.start(), found.end()
        if origins is not None:
            a, b = origins[a], origins[b]
        pieces.append({"text": part[done:a], "mark": False})
        pieces.append({"text": part[a:b], "mark": True})
        done = b
    pieces.append({"text": part[done:] + ("…" if end < len(text) else ""), "mark": False})
    return [piece for piece in pieces if piece["text"]]


def snippets(ids: list[int], terms: Terms) -> dict[int, list[dict[str, Any]]]:
    """The snippets of the recordings `ids` (a page's), from their stored content."""
    if not ids or not terms:
        return {}
    pattern = pattern_of(terms)
    found = RecordingContent.objects.filter(recording_id__in=ids).values_list(
        "recording_id", "text"
    )
    return {pk: snippet(text, terms, pattern) for pk, text in found}
