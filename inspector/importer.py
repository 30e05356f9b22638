"""Import recording files into the database: walk, skip what is unchanged, parse, write in
batches. Each batch is one transaction, so a crash or Ctrl-C never leaves half a recording.

Nothing in one file stops the run: whatever goes wrong reading, parsing or writing it becomes
that file's import failure (one line, one `ImportFailure` row), and a batch the database refuses
is written again file by file, so that only the file it refuses is left out.

Memory stays flat however many files there are: the walk is a generator, what the database
knows about the files is looked up a few hundred paths at a time, legacy index rows are read
from the index when their files come by, and the only per-file state is an 8-byte id."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from django.db import connection, reset_queries, transaction
from django.db.models import TextField, Value
from django.utils import timezone

from inspector import parsing, roots, search
from inspector.auditing import audit_root
from inspector.batches import write_batch
from inspector.contents import write_contents
from inspector.formats import exchanges_in
from inspector.import_report import Progress, Report
from inspector.legacy import Legacy, legacy_rows_json
from inspector.models import ImportFailure, ImportRoot, LegacyIndex, Recording, Source
from inspector.rows import Pending, clean, recording_fields
from inspector.storing import chunks, copy_in, unseen
from inspector.walking import (
    MAX_PATH_BYTES,
    Unreadable,
    error_text,
    file_error,
    is_index,
    read_file,
    stored_path,
    text_of_path,
    walk,
)

# Flush a batch at this many files or bytes: big enough that per-statement cost is amortised,
# small enough that memory stays flat however many files there are.
BATCH_FILES = 100
BATCH_BYTES = 2 * 1024 * 1024
# Paths looked up in the database at a time: one query per this many files keeps a re-sync
# fast without loading every known path up front.
LOOKUP_FILES = 500
# Ids per statement in the final sweep: under SQLite's bound-parameter limit.
SWEEP_IDS = 1000


def import_paths(
    paths: list[str | Path],
    *,
    max_bytes: int,
    prune: bool = False,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    report: Report | None = None,
    name: str = "",
) -> Report:
    """Import each path; `report` (a new one if None) counts what was written as it goes, so
    that a caller interrupted half way can still say what was. `name`: the root's, in URLs."""
    report = Report() if report is None else report
    for target in paths:
        target = Path(target).absolute()
        whole_tree = target.is_dir()
        root_path = target if whole_tree else roots.enclosing_root(target) or target.parent
        root, _ = ImportRoot.objects.update_or_create(
            path=text_of_path(str(root_path)), defaults={"name": name} if name else {}
        )
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
            walked = walk(str(target), on_error=importer.fail_folder)
            files = (file for file in walked if not is_index(file))
            importer.run(indexes, files, total, whole_tree=True, prune=prune)
        elif is_index(str(target)):
            importer.run([str(target)], [], 0, whole_tree=False, prune=prune)
        else:
            importer.run([], [str(target)], 1, whole_tree=False, prune=prune)
    search.compact(report.imported + report.updated)
    roots.refresh()
    return report


class Importer:
    # Seams: inspector.gitsource reads a revision's blobs instead of files. Looked up when
    # called, so that tests that patch this module's os.stat and read_file still reach them.
    def stat(self, file: str) -> os.stat_result:
        return os.stat(file)

    def read_bytes(self, file: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
        return read_file(file, max_bytes)

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
        self.touched: list[tuple[int, int]] = []  # (source id, mtime_ns): bytes unchanged
        self.seen = array("q")  # ids of the sources this run found or created
        self.indexes: list[Legacy] = []
        self.failed_before: dict[str, int] = {}  # path: id of the failures before this run
        self.failing: set[int] = set()  # ids of the failures written by this run
        self.cleared: list[int] = []  # ids of the failures to delete

    def rel(self, file: str) -> str:
        return text_of_path(file.removeprefix(self.prefix).replace(os.sep, "/"))

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
            self.audit()
            # A file's failure is cleared when it comes by, but its batch may fail it again.
            cleared = [pk for pk in self.cleared if pk not in self.failing]
            for ids in chunks(cleared, SWEEP_IDS):
                ImportFailure.objects.filter(pk__in=ids).delete()
            ImportRoot.objects.filter(pk=self.root.pk).update(last_import=timezone.now())

    def audit(self) -> None:
        """The name audit across the root's files (a seam: inspector.watching audits only the
        groups its few files are in)."""
        audit_root(self.root)

    def lookup(self, rels: list[str]) -> tuple[dict[str, tuple], dict[str, dict[str, Any]]]:
        """What is known of these files: their sources, and their legacy index rows."""
        known = {
            path: (pk, size, mtime_ns, sha, missing)
            for path, pk, size, mtime_ns, sha, missing in Source.objects.filter(
                root=self.root, path__in=rels
            ).values_list("path", "id", "size", "mtime_ns", "sha256", "missing")
        }
        legacy = {path: row for index in self.indexes for path, row in index.rows(rels)}
        return known, legacy

    def came_by(self, rel: str) -> None:
        """A file the walk found: if it failed before and not this time, its failure goes."""
        failure = self.failed_before.pop(stored_path(rel), None)
        if failure is not None and failure not in self.failing:
            self.cleared.append(failure)

    def fail(self, rel: str, reason: str, st: os.stat_result | None = None) -> None:
        self.report.failed += 1
        self.report.failures.append((rel, reason))
        # Clean: a reason may quote the file (PostgreSQL text holds no NUL). Not caught: when
        # the database refuses this row, it refuses everything, and the run must stop.
        failure, _ = ImportFailure.objects.update_or_create(
            root=self.root,
            path=stored_path(rel),
            defaults={
                "reason": clean(reason),
                "size": st.st_size if st else None,
                "mtime_ns": st.st_mtime_ns if st else None,
            },
        )
        self.failing.add(failure.pk)
        if self.on_failure:
            self.on_failure(rel, reason)

    def fail_folder(self, folder: str, reason: str) -> None:
        """A folder the walk could not read: a failure of its own, its path ending in `/`."""
        self.fail(self.rel(os.path.join(folder, "")), reason)

    def import_file(
        self, file: str, rel: str, known: tuple | None, legacy_row: dict[str, Any] | None
    ) -> None:
        try:
            item = self.read(file, rel, known, legacy_row)
        except Exception as exc:  # whatever it is, it is this file's, not the run's
            self.fail(rel, f"could not be read ({error_text(exc)})")
            return
        if item is None:
            return
        self.batch.append(item)
        self.batch_bytes += len(item.data)
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def read(
        self, file: str, rel: str, known: tuple | None, legacy_row: dict[str, Any] | None
    ) -> Pending | None:
        """The file read and parsed, or None: unchanged, or failed (and reported)."""
        if len(rel.encode()) > MAX_PATH_BYTES:
            self.fail(
                rel,
                f"path too long to index ({len(rel.encode()):,} bytes; at most {MAX_PATH_BYTES:,})",
            )
            return None
        try:
            st = self.stat(file)
        except OSError as exc:
            self.fail(rel, file_error(file, exc))
            return None
        if (
            stat.S_ISREG(st.st_mode)
            and known
            and not known[4]
            and known[1] == st.st_size
            and known[2] == st.st_mtime_ns
        ):
            self.report.unchanged += 1
            return None
        try:
            data, st = self.read_bytes(file, self.max_bytes)
        except Unreadable as exc:
            self.fail(rel, exc.reason, exc.st or st)
            return None
        # Stored: the size of these bytes and the modification time from before they were
        # read. A file written meanwhile then differs from its row, and is read again next time.
        sha = hashlib.sha256(data).hexdigest()
        if known and known[3] == sha:
            self.report.unchanged += 1
            self.touched.append((known[0], st.st_mtime_ns))
            if len(self.touched) >= BATCH_FILES:
                self.flush()
            return None
        try:
            found = exchanges_in(data, rel)
        except parsing.RecordingError as exc:
            self.fail(rel, str(exc), st)
            return None
        except RecursionError:
            self.fail(rel, "nesting too deep", st)
            return None
        except Exception as exc:  # a shape the parser does not expect: its bug, this file's failure
            self.fail(rel, f"could not be parsed ({error_text(exc)})", st)
            return None
        if found is None:
            self.report.skipped += 1
            return None
        existing = known[0] if known else None
        file_format, exchanges = found
        return Pending(
            rel, data, sha, st, file_format, exchanges, legacy_row, existing, size=len(data)
        )

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
        except Exception as exc:
            self.fail(rel, f"unreadable legacy index ({error_text(exc)})")
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
        try:
            with transaction.atomic():
                stored.delete()
                if connection.vendor == "postgresql":
                    copy_in(LegacyIndex, [index])  # a third of the memory of query parameters
                else:
                    index.save()
        except Exception as exc:
            self.fail(rel, f"could not be stored ({error_text(exc)})", st)

    def fields_of(self, item: Pending, index: int) -> dict[str, Any]:
        return recording_fields(item, index, self.root_path)

    def flush(self) -> None:
        if not self.batch and not self.touched:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        touched, self.touched = self.touched, []
        try:
            self.write(batch, touched)
        except Exception:
            # Refused (a value the database will not take, say): each file again on its own,
            # so that the batch's other files land and only the refused one fails. Each retry
            # is its own transaction; after the batch's rollback nothing of it is left.
            for item in batch:
                try:
                    self.write([item], [])
                except Exception as exc:
                    self.fail(item.rel, f"could not be stored ({error_text(exc)})", item.st)
            if touched:
                self.write([], touched)
        reset_queries()  # with DEBUG on, Django would keep every batch's SQL and bytes

    def write(self, batch: list[Pending], touched: list[tuple[int, int]]) -> None:
        """One batch in one transaction (`batches.write_batch`), counted in the report only
        once it is committed."""
        with transaction.atomic():
            created = write_batch(self.root, self.root_path, batch, touched)
            write_contents(batch, created)  # what the recordings say, for `?text=`
        self.seen.extend(created)
        self.report.imported += len(created)
        self.report.updated += sum(item.existing_id is not None for item in batch)

    def mark_missing(self, prune: bool) -> None:
        """Sources (with their exchanges), failures and legacy indexes of the root that this
        run did not find."""
        sources = Source.objects.filter(root=self.root)
        gone = unseen(sources.values_list("id", flat=True).iterator(), sorted(self.seen))
        self.mark_gone(gone, prune)
        # Failures of files not found (those found were taken out as they came by).
        self.cleared.extend(pk for pk in self.failed_before.values() if pk not in self.failing)
        indexes = LegacyIndex.objects.filter(root=self.root).exclude(
            path__in=[index.path for index in self.indexes]
        )
        if prune:
            indexes.delete()
        else:
            indexes.update(missing=True)

    def mark_gone(self, gone: Iterable[int], prune: bool) -> None:
        """These sources (and their exchanges) are gone from disk: missing, or deleted. Also
        the seam of inspector.watching, which knows which files went. `updated`: what an open
        list counts as changed (inspector/views/changes.py)."""
        sources = Source.objects.filter(root=self.root)
        for ids in chunks(gone, SWEEP_IDS):
            if prune:
                deleted = sources.filter(pk__in=ids).delete()[1]
                self.report.pruned += deleted.get("inspector.Recording", 0)
            else:
                sources.filter(pk__in=ids).update(missing=True)
                Recording.objects.filter(source_id__in=ids, missing=False).update(
                    missing=True, updated=timezone.now()
                )
            self.report.missing += len(ids)
