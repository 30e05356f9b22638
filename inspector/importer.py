"""Import recording files into the database: walk, skip what is unchanged, parse, write in
batches. Each batch is one transaction, so a crash or Ctrl-C never leaves half a recording.

Memory stays flat however many files there are: the walk is a generator, what the database
knows about the files is looked up a few hundred paths at a time, legacy index rows are read
from the index when their files come by, and the only per-file state is an 8-byte id."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import urllib.parse
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from django.db import connection, reset_queries, transaction
from django.db.models import Field, Model, TextField, Value
from django.utils import timezone

from inspector import parsing, search
from inspector.models import (
    Blob,
    ImportFailure,
    ImportRoot,
    LegacyIndex,
    Message,
    Recording,
    Stream,
    ToolCall,
    ToolDef,
)

LEGACY_INDEX = "index.sqlite"
# Flush a batch at this many files or bytes: big enough that per-statement cost is amortised,
# small enough that memory stays flat however many files there are.
BATCH_FILES = 100
BATCH_BYTES = 2 * 1024 * 1024
# Paths looked up in the database at a time: one query per this many files keeps a re-sync
# fast without loading every known path up front.
LOOKUP_FILES = 500
# Ids per statement in the final sweep: under SQLite's bound-parameter limit.
SWEEP_IDS = 1000
INT32 = 2**31 - 1


@dataclass
class Report:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    failed: int = 0
    pruned: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"missing {self.missing}, failed {self.failed}"
        )


Progress = Callable[[int, int], None]


@dataclass
class Pending:
    """A parsed file waiting for its batch to be written."""

    rel: str
    data: bytes
    sha256: str
    st: os.stat_result
    parsed: parsing.Recording
    legacy_row: dict[str, Any] | None
    existing_id: int | None


def import_paths(
    paths: list[str | Path],
    *,
    max_bytes: int,
    prune: bool = False,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> Report:
    report = Report()
    for target in paths:
        target = Path(target).absolute()
        whole_tree = target.is_dir()
        root_path = target if whole_tree else enclosing_root(target) or target.parent
        root, _ = ImportRoot.objects.get_or_create(path=str(root_path))
        importer = Importer(root, root_path, max_bytes, report, progress, on_failure)
        if whole_tree:
            # Walked twice rather than held: the first walk (~1 ms per thousand files) finds
            # the legacy indexes, imported before their files, and counts for the progress bar.
            indexes, total = [], 0
            for file in walk(str(target)):
                if is_index(file):
                    indexes.append(file)
                else:
                    total += 1
            files = (file for file in walk(str(target)) if not is_index(file))
            importer.run(indexes, files, total, whole_tree=True, prune=prune)
        elif is_index(str(target)):
            importer.run([str(target)], [], 0, whole_tree=False, prune=prune)
        else:
            importer.run([], [str(target)], 1, whole_tree=False, prune=prune)
    search.compact(report.imported + report.updated)
    return report


def enclosing_root(file: Path) -> Path | None:
    """A single file inside an already imported folder keeps that folder's relative path."""
    for root in ImportRoot.objects.values_list("path", flat=True).order_by("-path"):
        if file.is_relative_to(root):
            return Path(root)
    return None


def walk(top: str) -> Iterator[str]:
    """Every `.json` file and legacy index under `top`, folder by folder in name order (a
    folder's files before its subfolders), following symlinks but never a loop. Holds one
    folder's names at a time, never the whole tree's."""
    visited: set[tuple[int, int]] = set()

    def folder(directory: str) -> Iterator[str]:
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in visited:
                return
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as entries:
                files, folders = [], []
                for entry in entries:
                    if is_folder(entry):
                        if not entry.name.startswith("."):
                            folders.append(entry.name)
                    elif entry.name.endswith(".json") or entry.name == LEGACY_INDEX:
                        files.append(entry.name)
        except OSError:
            return
        for name in sorted(files):
            yield os.path.join(directory, name)
        for name in sorted(folders):
            yield from folder(os.path.join(directory, name))

    return folder(top)


def is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False


def is_index(path: str) -> bool:
    return os.path.basename(path) == LEGACY_INDEX


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


def write_rows(model: type[Model], objects: list[Model]) -> None:
    """Insert a batch's rows of one child table (nothing needs their ids back)."""
    if connection.vendor == "postgresql":
        copy_in(model, objects)
    else:
        model.objects.bulk_create(objects, batch_size=500)


def create_recordings(recordings: list[Recording]) -> None:
    """Insert new recordings, giving each its id, in order. PostgreSQL: ids reserved from the
    table's sequence, then the rows by COPY: bulk_create's text arrays were ~15% of a cold
    import's time there."""
    if connection.vendor != "postgresql" or not recordings:
        Recording.objects.bulk_create(recordings)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Recording._meta.db_table, len(recordings)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for recording, pk in zip(recordings, ids, strict=True):
        recording.pk = pk
    copy_in(Recording, recordings, with_id=True)
    for recording in recordings:
        recording._state.adding = False


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


def suite_of(rel: str, root: Path) -> str:
    """The test suite a file belongs to: the folders above its `recordings/` (or legacy
    `responses/`) folder, or, when the import root is that folder, the name of its parent."""
    folders = list(PurePosixPath(rel).parts[:-1])
    while folders and folders[-1] in ("recordings", "responses"):
        folders.pop()
    if folders:
        return "/".join(folders)
    above = [p for p in root.parts if p not in ("recordings", "responses")]
    return above[-1] if above else ""


def search_text(test_id: str | None, path: str) -> str:
    return f"{test_id or ''} {path}".lower()


def clean(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; the original bytes keep it."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def int32(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -INT32 <= value <= INT32:
        return value
    return None


def legacy_rows_json(data: bytes) -> str:
    """The index's `recordings` table as the JSON text of a list of row objects, made row by
    row: at 30,000 files an index has ~15,000 rows, ~11 MB as dicts, 3 MB as text."""
    with closing(sqlite3.connect(":memory:")) as index:
        index.deserialize(data)
        rows = index.execute("SELECT * FROM recordings")
        names = [column[0] for column in rows.description]
        text = bytearray(b"[")
        for row in rows:
            if len(text) > 1:
                text += b","
            text += orjson.dumps(dict(zip(names, row, strict=True)))
        text += b"]"
        return text.decode()


@dataclass(frozen=True)
class Legacy:
    """A legacy index found by this run; its rows describe files under `<its folder>/responses/`."""

    file: str
    path: str

    @property
    def prefix(self) -> str:
        return (PurePosixPath(self.path).parent / "responses").as_posix() + "/"

    def rows(self, rels: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(path, row) of the rows that describe one of `rels`, in table order. Read from the
        file for each few hundred files: ~1 ms, where keeping every row would cost ~700 bytes
        per file for the whole import."""
        prefix = self.prefix
        names = [rel.removeprefix(prefix) for rel in rels if rel.startswith(prefix)]
        if not names:
            return
        # Read only (immutable: no lock, no journal), as the bytes imported were.
        uri = f"file:{urllib.parse.quote(self.file)}?immutable=1"
        try:
            with closing(sqlite3.connect(uri, uri=True)) as index:
                index.row_factory = sqlite3.Row
                # A name with a slash or a `.` is compared as the path it makes, below.
                rows = index.execute(
                    "SELECT * FROM recordings WHERE response_file IN"
                    f" ({', '.join('?' * len(names))})"
                    " OR instr(response_file, '/') OR response_file = '.'",
                    names,
                ).fetchall()
        except sqlite3.Error:
            return  # gone or changed since it was imported: its files get no row
        for row in rows:
            if row["response_file"]:
                yield (PurePosixPath(prefix) / str(row["response_file"])).as_posix(), dict(row)


class Importer:
    def __init__(
        self,
        root: ImportRoot,
        root_path: Path,
        max_bytes: int,
        report: Report,
        progress: Progress | None,
        on_failure: Callable[[str, str], None] | None,
    ) -> None:
        self.root, self.root_path, self.max_bytes = root, root_path, max_bytes
        self.report, self.progress, self.on_failure = report, progress, on_failure
        self.prefix = os.path.join(str(root_path), "")
        self.batch: list[Pending] = []
        self.batch_bytes = 0
        self.touched: list[tuple[int, int]] = []  # (id, mtime_ns) of files whose bytes are equal
        self.seen = array("q")  # ids of the recordings whose file this run found or created
        self.indexes: list[Legacy] = []
        self.failed_before: dict[str, int] = {}  # path: id of the failures before this run
        self.failing: set[int] = set()  # ids of the failures written by this run
        self.cleared: list[int] = []  # ids of the failures to delete

    def rel(self, file: str) -> str:
        return file.removeprefix(self.prefix).replace(os.sep, "/")

    def run(
        self,
        indexes: list[str],
        files: Iterable[str],
        total: int,
        *,
        whole_tree: bool,
        prune: bool,
    ) -> None:
        # Failures are few (each one is in the report too): read up front, each one taken out
        # as its file comes by.
        self.failed_before = dict(
            ImportFailure.objects.filter(root=self.root).values_list("path", "id")
        )
        for index in indexes:
            rel = self.rel(index)
            self.import_legacy_index(index, rel)
            self.came_by(rel)
        number = 0
        for chunk in chunks(files, LOOKUP_FILES):
            rels = [self.rel(file) for file in chunk]
            known, legacy = self.lookup(rels)
            for file, rel in zip(chunk, rels, strict=True):
                number += 1
                if rel in known:
                    self.seen.append(known[rel][0])
                self.import_file(file, rel, known.get(rel), legacy.get(rel))
                self.came_by(rel)
                if self.progress:
                    self.progress(number, max(total, number))
        self.flush()
        with transaction.atomic():
            if whole_tree:
                self.mark_missing(prune)
            for ids in chunks(self.cleared, SWEEP_IDS):
                ImportFailure.objects.filter(pk__in=ids).delete()
            ImportRoot.objects.filter(pk=self.root.pk).update(last_import=timezone.now())

    def lookup(self, rels: list[str]) -> tuple[dict[str, tuple], dict[str, dict[str, Any]]]:
        """What is known of these files: their recordings, and their legacy index rows."""
        known = {
            path: (pk, size, mtime_ns, sha, missing)
            for path, pk, size, mtime_ns, sha, missing in Recording.objects.filter(
                root=self.root, path__in=rels
            ).values_list("path", "id", "size", "mtime_ns", "sha256", "missing")
        }
        legacy = {path: row for index in self.indexes for path, row in index.rows(rels)}
        return known, legacy

    def came_by(self, rel: str) -> None:
        """A file the walk found: if it failed before and not this time, its failure goes."""
        failure = self.failed_before.pop(rel, None)
        if failure is not None and failure not in self.failing:
            self.cleared.append(failure)

    def fail(self, rel: str, reason: str, st: os.stat_result | None = None) -> None:
        self.report.failed += 1
        self.report.failures.append((rel, reason))
        failure, _ = ImportFailure.objects.update_or_create(
            root=self.root,
            path=rel,
            defaults={
                "reason": reason,
                "size": st.st_size if st else None,
                "mtime_ns": st.st_mtime_ns if st else None,
            },
        )
        self.failing.add(failure.pk)
        if self.on_failure:
            self.on_failure(rel, reason)

    def import_file(
        self, file: str, rel: str, known: tuple | None, legacy_row: dict[str, Any] | None
    ) -> None:
        try:
            st = os.stat(file)
        except OSError as exc:
            self.fail(rel, f"unreadable ({exc.strerror or exc})")
            return
        if not stat.S_ISREG(st.st_mode):
            self.fail(rel, "not a regular file", st)
            return
        if known and not known[4] and known[1] == st.st_size and known[2] == st.st_mtime_ns:
            self.report.unchanged += 1
            return
        if st.st_size > self.max_bytes:
            self.fail(rel, f"larger than --max-bytes ({st.st_size} > {self.max_bytes} bytes)", st)
            return
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            self.fail(rel, f"unreadable ({exc.strerror or exc})", st)
            return
        sha = hashlib.sha256(data).hexdigest()
        if known and known[3] == sha:
            self.report.unchanged += 1
            self.touched.append((known[0], st.st_mtime_ns))
            if len(self.touched) >= BATCH_FILES:
                self.flush()
            return
        try:
            parsed = parsing.parse(data)
        except parsing.RecordingError as exc:
            self.fail(rel, str(exc), st)
            return
        except RecursionError:
            self.fail(rel, "nesting too deep", st)
            return
        self.batch.append(
            Pending(rel, data, sha, st, parsed, legacy_row, known[0] if known else None)
        )
        self.batch_bytes += len(data)
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def import_legacy_index(self, file: str, rel: str) -> None:
        stored = LegacyIndex.objects.filter(root=self.root, path=rel)
        try:
            st = os.stat(file)
            before = stored.values_list("size", "mtime_ns", "missing").first()
            if before == (st.st_size, st.st_mtime_ns, False):
                self.indexes.append(Legacy(file, rel))  # unchanged: nothing to write
                return
            with open(file, "rb") as handle:
                data = handle.read()
            rows = legacy_rows_json(data)
        except (OSError, sqlite3.Error, orjson.JSONEncodeError) as exc:
            self.fail(rel, f"unreadable legacy index ({exc})")
            return
        self.indexes.append(Legacy(file, rel))
        index = LegacyIndex(
            root=self.root,
            path=rel,
            size=st.st_size,
            sha256=hashlib.sha256(data).hexdigest(),
            mtime_ns=st.st_mtime_ns,
            data=data,
            # The JSON text as is: the field would parse nothing but copy it twice more.
            rows=Value(rows, output_field=TextField()),
        )
        with transaction.atomic():
            stored.delete()
            if connection.vendor == "postgresql":
                copy_in(LegacyIndex, [index])  # a third of the memory of query parameters
            else:
                index.save()

    def fields_of(self, item: Pending) -> dict[str, Any]:
        parsed, test = item.parsed, item.parsed.test_id
        usage, failure, response = parsed.usage, parsed.failure, parsed.response
        legacy = item.legacy_row or {}
        file_name = PurePosixPath(item.rel).name
        in_legacy_layout = bool(legacy) or ("/responses/" in f"/{item.rel}" and not test.raw)
        values = {
            "path": item.rel,
            "file_name": file_name,
            "request_hash": parsing.name_hash(file_name),
            "size": item.st.st_size,
            "sha256": item.sha256,
            "mtime_ns": item.st.st_mtime_ns,
            "legacy": in_legacy_layout,
            "missing": False,
            "test_id": test.raw,
            "test_file": test.file,
            "test_class": test.klass,
            "test_function": test.function,
            "test_params": test.params,
            "suite": suite_of(item.rel, self.root_path),
            "search": search_text(test.raw, item.rel),
            "kind": parsed.kind,
            "method": parsed.method,
            "url": parsed.url,
            "provider": parsed.provider,
            "endpoint": parsed.endpoint,
            "model": parsed.model,
            "is_streaming": parsed.is_streaming,
            "chunk_count": parsed.chunk_count,
            "response_type": parsed.response_type,
            "status": int32(parsed.status),
            "is_exception": failure is not None,
            "exception_type": failure.type if failure else "",
            "exception_status": int32(failure.status) if failure else None,
            "exception_message": failure.message if failure else "",
            "response_role": response.role,
            "response_text": response.text,
            "response_reasoning": response.reasoning,
            "finish_reason": response.finish_reason,
            "prompt_tokens": int32(usage.prompt),
            "completion_tokens": int32(usage.completion),
            "total_tokens": int32(usage.total),
            "cached_tokens": int32(usage.cached),
            "reasoning_tokens": int32(usage.reasoning),
            "message_count": len(parsed.messages),
            "tool_count": len(parsed.tools),
            "tool_call_count": len(parsed.tool_calls),
            "has_timing": parsed.has_timing,
            "embedding_count": int32(parsed.embedding_count),
            "embedding_dims": int32(parsed.embedding_dims),
            "listed_models": parsed.listed_models,
            "details": parsed.details,
            "legacy_request_hash": str(legacy.get("request_hash") or ""),
            "legacy_timestamp": str(legacy.get("timestamp") or ""),
        }
        return {name: clean(value) for name, value in values.items()}

    def children(self, pk: int, parsed: parsing.Recording) -> dict[type, list]:
        # Rows point to their recording by id, not by instance: a `Blob(recording=r)` or
        # `Stream(recording=r)` links back from `r` too (one-to-one), a reference cycle that
        # kept each batch's bytes and chunks alive until the garbage collector came by.
        messages = [
            Message(
                recording_id=pk,
                index=m.index,
                role=clean(m.role),
                text=clean(m.text),
                parts=[p.as_dict() for p in m.parts],
                image_count=m.image_count,
                name=clean(m.name),
                tool_call_id=clean(m.tool_call_id),
                reasoning=clean(m.reasoning),
            )
            for m in parsed.messages
        ]
        tools = [
            ToolDef(
                recording_id=pk,
                index=i,
                name=clean(t.name),
                description=clean(t.description),
                parameters=t.parameters,
            )
            for i, t in enumerate(parsed.tools)
        ]
        calls = [
            ToolCall(
                recording_id=pk,
                position=position,
                index=int32(c.index) or 0,
                call_id=clean(c.call_id),
                name=clean(c.name),
                arguments=clean(c.arguments),
                arguments_valid=c.arguments_valid,
                message_index=c.message_index,
                answered_by=c.answered_by,
            )
            for position, c in enumerate(parsed.tool_calls)
        ]
        streams = [Stream(recording_id=pk, chunks=parsed.chunks)] if parsed.chunks else []
        return {Message: messages, ToolDef: tools, ToolCall: calls, Stream: streams}

    def flush(self) -> None:
        if not self.batch and not self.touched:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        touched, self.touched = self.touched, []
        with transaction.atomic():
            fresh = [item for item in batch if item.existing_id is None]
            changed = [item for item in batch if item.existing_id is not None]
            created = [Recording(root=self.root, **self.fields_of(item)) for item in fresh]
            create_recordings(created)
            for item in changed:
                # Updated in place: same row, same path, so its URL keeps working.
                Recording.objects.filter(pk=item.existing_id).update(
                    **self.fields_of(item), updated=timezone.now()
                )
            if changed:
                ids = [item.existing_id for item in changed]
                for model in (Message, ToolDef, ToolCall, Stream, Blob):
                    model.objects.filter(recording_id__in=ids).delete()
            rows: dict[type, list] = {Blob: [], Message: [], ToolDef: [], ToolCall: [], Stream: []}
            pairs = [(r.pk, item) for r, item in zip(created, fresh, strict=True)] + [
                (item.existing_id, item) for item in changed
            ]
            for pk, item in pairs:
                rows[Blob].append(Blob(recording_id=pk, data=item.data))
                for model, objects in self.children(pk, item.parsed).items():
                    rows[model].extend(objects)
            for model, objects in rows.items():
                write_rows(model, objects)
            for pk, mtime_ns in touched:
                Recording.objects.filter(pk=pk).update(mtime_ns=mtime_ns, missing=False)
        self.seen.extend(r.pk for r in created)
        self.report.imported += len(fresh)
        self.report.updated += len(changed)
        reset_queries()  # with DEBUG on, Django would keep every batch's SQL and bytes

    def mark_missing(self, prune: bool) -> None:
        """Recordings, failures and legacy indexes of the root that this run did not find."""
        recordings = Recording.objects.filter(root=self.root)
        gone = unseen(recordings.values_list("id", flat=True).iterator(), sorted(self.seen))
        for ids in chunks(gone, SWEEP_IDS):
            found = recordings.filter(pk__in=ids)
            if prune:
                self.report.pruned += found.delete()[1].get("inspector.Recording", 0)
            else:
                found.update(missing=True)
        self.report.missing += len(gone)
        # Failures of files not found (those found were taken out as they came by).
        self.cleared.extend(pk for pk in self.failed_before.values() if pk not in self.failing)
        indexes = LegacyIndex.objects.filter(root=self.root).exclude(
            path__in=[index.path for index in self.indexes]
        )
        if prune:
            indexes.delete()
        else:
            indexes.update(missing=True)
