"""Take a selection of recordings away: their original files byte for byte, written under a
folder (`export_recordings`) or as a zip (`/export.zip`), and their JSON twins one a line
(`/recordings.jsonl`).

The page and the command select alike, through the list's own `RecordingFilter`: a cassette
comes once, whole, for any of its exchanges; a selection that nothing narrows (or only a root or
a folder, from the command) is every file there, empty cassettes and legacy `index.sqlite` files
too. With two or more import roots each file is named under its root's name (`inspector.roots`),
so that two roots' files at one path stay apart.

Files are read a batch at a time (at most BATCH_FILES, or BATCH_BYTES of them): only the ids and
sizes of the whole selection are held, so memory stays flat however large it is."""

from __future__ import annotations

import json
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.db.models import Model, QuerySet

from inspector import roots
from inspector.forms import RecordingFilter
from inspector.models import LegacyIndex, Message, Recording, Source, ToolCall
from inspector.twins import exchange_json
from inspector.zipping import Member

# Files read per query: a few files' bytes in memory at a time, not the whole selection.
BATCH_FILES = 100
BATCH_BYTES = 4 * 1024 * 1024
# Recordings per query for their twins (three queries a batch: rows, messages, tool calls).
TWIN_BATCH = 200
# What says where files are, not what they hold: a selection narrowed by these alone is every
# file there.
WHERE = ("root__path", "path__startswith")


@dataclass(frozen=True)
class Selection:
    """The recordings chosen, and whether that is every file where they are (`where`)."""

    recordings: QuerySet[Recording]
    whole: bool
    where: dict[str, Any] = field(default_factory=dict)

    def sources(self) -> QuerySet[Source]:
        if self.whole:  # by where they are: files without exchanges too (an empty cassette)
            return Source.objects.filter(**self.where)
        return Source.objects.filter(pk__in=self.recordings.values("source_id"))

    def members(self) -> Iterator[Member]:
        """The files, each named as it is exported, in order of root and path."""
        names = roots.names()
        named = len(names) >= 2
        tables: list[tuple[type[Model], QuerySet[Any]]] = [(Source, self.sources())]
        if self.whole:
            tables.append((LegacyIndex, LegacyIndex.objects.filter(**self.where)))
        for model, chosen in tables:
            ids, sizes = array("q"), array("q")
            for pk, size in chosen.order_by("root_id", "path").values_list("id", "size"):
                ids.append(pk)
                sizes.append(size)
            for batch in batches(ids, sizes):
                found = model.objects.filter(id__in=batch).values_list(
                    "id", "root_id", "path", "data", "mtime_ns"
                )
                files = {row[0]: row[1:] for row in found.iterator(chunk_size=BATCH_FILES)}
                for pk in batch:
                    if pk not in files:  # removed by an import since the ids were read
                        continue
                    root_id, path, data, mtime_ns = files.pop(pk)
                    name = f"{names[root_id]}/{path}" if named and root_id in names else path
                    yield Member(name, bytes(data), mtime_ns)


def batches(ids: array, sizes: array) -> Iterator[list[int]]:
    """Consecutive ids, at most BATCH_FILES of them or BATCH_BYTES of files (one file at least)."""
    batch: list[int] = []
    total = 0
    for pk, size in zip(ids, sizes, strict=True):
        if batch and (len(batch) >= BATCH_FILES or total + size > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(pk)
        total += size
    if batch:
        yield batch


def criteria(form: RecordingFilter) -> dict[str, Any]:
    """What in the list's state chooses recordings: not its sort, page, size or grouping."""
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if value not in (None, "", [], ()) and not name.startswith("_") and name != "group"
    }


def selection(
    form: RecordingFilter, where: dict[str, Any] | None = None, **narrowing: Any
) -> Selection:
    """The list's selection (a valid form), within `where` (a root, a folder) and narrowed by
    further lookups (`test_id__contains`)."""
    where = where or {}
    recordings = form.filtered().filter(**where, **narrowing)
    return Selection(recordings, whole=not (criteria(form) or narrowing), where=where)


# --------------------------------------------------------------------------- into a folder


def export_to(out: Path, filters: dict[str, Any], overwrite: bool) -> tuple[int, int]:
    """Write the files of the recordings matching `filters` (lookups on Recording) under `out`;
    returns (written, already identical)."""
    where = {k: v for k, v in filters.items() if k in WHERE}
    narrowing = {k: v for k, v in filters.items() if k not in WHERE}
    chosen = Selection(Recording.objects.filter(**filters), whole=not narrowing, where=where)
    return write_members(out, chosen.members(), overwrite)


def write_members(out: Path, members: Iterator[Member], overwrite: bool) -> tuple[int, int]:
    """Write each file under `out`; returns (written, already identical)."""
    written = skipped = 0
    for member in members:
        done = write(out, member.name, member.data, overwrite)
        written, skipped = written + done, skipped + (not done)
    return written, skipped


def write(out: Path, rel: str, data: bytes, overwrite: bool) -> bool:
    target = out / rel
    if not target.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"{rel}: path leaves the export folder")
    if target.exists():
        if target.read_bytes() == data:
            return False
        if not overwrite:
            raise FileExistsError(0, "exists", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return True


# --------------------------------------------------------------------------- JSON twins


def twin_lines(recordings: QuerySet[Recording]) -> Iterator[bytes]:
    """The JSON twin of each recording (`inspector.twins`, what `/r/<page>?_format=json`
    gives), one a line, in the queryset's order: a batch of lines at a time."""
    ids = array("q", recordings.values_list("id", flat=True))
    for start in range(0, len(ids), TWIN_BATCH):
        batch = ids[start : start + TWIN_BATCH].tolist()
        # The twin reads neither the kind-specific details nor the search text.
        rows = Recording.objects.filter(id__in=batch).defer("details", "listed_models", "search")
        found = {r.pk: r for r in rows}
        messages: dict[int, list[Message]] = defaultdict(list)
        for message in Message.objects.filter(recording_id__in=batch).defer("parts"):
            messages[message.recording_id].append(message)
        calls: dict[int, list[ToolCall]] = defaultdict(list)
        for call in ToolCall.objects.filter(recording_id__in=batch):
            calls[call.recording_id].append(call)
        yield b"".join(
            json_line(exchange_json(found[pk], messages[pk], calls[pk]))
            for pk in batch
            if pk in found
        )


def json_line(value: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(value) + b"\n"
    except orjson.JSONEncodeError:  # a lone surrogate, which orjson refuses: escaped instead
        return json.dumps(value).encode() + b"\n"
