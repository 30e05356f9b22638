"""What a recording says, as one text for the content search (`?text=`): its messages, the
assembled response and reasoning, tool names, tool-call arguments, tool results, error
messages, and for a cassette's exchange its request and response bodies. Written at import
into a side table (`models.RecordingContent`), which the database's own full-text index
serves (migration 0015; the queries are in `inspector.content_search`).

Words are what both databases, the snippets and the tests agree on: runs of letters and
digits (`WORD`), casefolded and stripped of accents (`fold`). Each row keeps those words one
space apart (`words_of`), so that neither SQLite's tokenizer nor PostgreSQL's parser has
anything left to decide (PostgreSQL's would read `api.weather.com` as one host name, and
FTS5's keeps `$` and `+` inside words): a word matches whole, a phrase is its words in a row,
whatever punctuation stood between them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from inspector import formats, parsing
from inspector.models import Recording, RecordingContent
from inspector.rows import Pending, clean
from inspector.storing import write_rows

# What is kept of one recording's content. Long enough for every conversation of the corpus
# (its largest content is ~40 KB); a 1,000,000-chunk stream's assembled text (tens of MB)
# would make each row, its index entries and every snippet read that much, for words a user
# finds at the top anyway. 256 KiB of words also stays under PostgreSQL's 1 MB tsvector.
CAP_BYTES = 256 * 1024
# A word: letters and digits (`_` joins nothing: `get_weather` is the phrase "get weather").
WORD = re.compile(r"[^\W_]+")
# The accents NFD splits off letters (Latin, Greek, Cyrillic). Only these: stripping every
# combining mark would strip the vowel signs of Indic scripts, changing their words.
ACCENTS = re.compile("[\u0300-\u036f]+")
# A search's terms: a quoted phrase, or a word.
TERM = re.compile(r'"([^"]*)"?|(\S+)')


def fold(text: str) -> str:
    """`text` casefolded and without accents (Café -> cafe, STRASSE = straße), same length
    for almost every text (see `content_search.snippet`)."""
    if text.isascii():
        return text.lower()
    stripped = ACCENTS.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", stripped).casefold()


def words_of(text: str) -> str:
    """The folded words of `text`, one space apart: what the index reads."""
    return " ".join(WORD.findall(fold(text)))


def terms_of(text: str) -> list[tuple[str, ...]]:
    """A search's terms, each the folded words that must appear in a row: a word alone, a
    quoted phrase, or a word with punctuation inside (`get_weather`: get, weather). Terms
    without any letter or digit are left out."""
    found = []
    for phrase, word in TERM.findall(text):
        words = tuple(WORD.findall(fold(phrase or word)))
        if words and words not in found:
            found.append(words)
    return found


def capped(text: str) -> str:
    if len(text) * 4 <= CAP_BYTES:  # short enough, however wide its characters
        return text
    return text.encode()[:CAP_BYTES].decode("utf-8", "ignore")


def body_text(body: bytes) -> str:
    """A body as text, or "" for bytes that are no text (an image, gzip left as is)."""
    head = body[:CAP_BYTES]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not a character cut at the cap: binary
            return ""
        text = head[: error.start].decode("utf-8")
    return "" if "\x00" in text else text


def content_of(parsed: parsing.Recording, bodies: Iterable[bytes] = ()) -> str:
    """Everything `parsed` says, one piece a line, capped (CAP_BYTES)."""
    pieces: list[str] = []
    for message in parsed.messages:  # tool results are messages too
        pieces += [message.name, message.text, message.reasoning]
    pieces += [parsed.response.reasoning, parsed.response.text]
    pieces += [tool.name for tool in parsed.tools]
    for call in parsed.tool_calls:
        pieces += [call.name, call.arguments]
    if parsed.failure is not None:
        pieces += [parsed.failure.type, parsed.failure.message]
    pieces += [body_text(body) for body in bodies]
    # Joined until the cap: a long stream's text is not copied whole to be cut.
    kept, size = [], 0
    for piece in pieces:
        if piece:
            kept.append(piece)
            size += len(piece) + 1
            if size >= CAP_BYTES:
                break
    return capped(clean("\n".join(kept)))


def rows_of(item: Pending, ids: list[int]) -> list[RecordingContent]:
    """The content rows of a file's exchanges, whose recordings' ids are `ids` (in order)."""
    rows = []
    for pk, parsed in zip(ids, item.exchanges, strict=True):
        text = content_of(parsed, getattr(parsed, formats.BODIES, ()))
        rows.append(RecordingContent(recording_id=pk, text=text, words=words_of(text)))
    return rows


def write_contents(batch: list[Pending], created: list[int]) -> None:
    """The content rows of a batch just written (`batches.write_batch`, in the same
    transaction): `created`, the ids of the sources it created, in the order of the batch's
    new files. A changed file's rows are written again."""
    fresh = iter(created)
    source_of = [item.existing_id or next(fresh) for item in batch]
    if not source_of:
        return
    changed = [item.existing_id for item in batch if item.existing_id is not None]
    if changed:
        RecordingContent.objects.filter(recording__source_id__in=changed).delete()
    ids: dict[tuple[int, int], int] = {}
    found = Recording.objects.filter(source_id__in=source_of).values_list(
        "id", "source_id", "index"
    )
    for pk, source_id, index in found:
        ids[(source_id, index)] = pk
    rows = []
    for item, source_id in zip(batch, source_of, strict=True):
        pks = [ids[(source_id, index)] for index in range(len(item.exchanges))]
        rows += rows_of(item, pks)
    write_rows(RecordingContent, rows)
