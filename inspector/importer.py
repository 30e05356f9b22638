"""Import recording files into the database: walk, skip what is unchanged, parse, write in
batches. Each batch is one transaction, so a crash or Ctrl-C never leaves half a recording."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import reset_queries, transaction
from django.utils import timezone

from inspector import parsing
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
        if target.is_dir():
            root_path, files = target, list(walk(target))
            whole_tree = True
        else:
            root_path = enclosing_root(target) or target.parent
            files, whole_tree = [target], False
        root, _ = ImportRoot.objects.get_or_create(path=str(root_path))
        Importer(root, root_path, max_bytes, report, progress, on_failure).run(
            files, whole_tree, prune
        )
    return report


def enclosing_root(file: Path) -> Path | None:
    """A single file inside an already imported folder keeps that folder's relative path."""
    for root in ImportRoot.objects.values_list("path", flat=True).order_by("-path"):
        if file.is_relative_to(root):
            return Path(root)
    return None


def walk(top: Path) -> Iterator[Path]:
    """Every `.json` file and legacy index under `top`, following symlinks but never a loop."""
    seen: set[tuple[int, int]] = set()
    for directory, dirnames, filenames in os.walk(top, followlinks=True):
        try:
            info = os.stat(directory)
        except OSError:
            dirnames[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".json") or name == LEGACY_INDEX:
                yield Path(directory, name)


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


def read_legacy_index(data: bytes) -> list[dict[str, Any]]:
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute("SELECT * FROM recordings")]
    finally:
        connection.close()


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
        self.batch: list[Pending] = []
        self.batch_bytes = 0
        self.touched: list[tuple[int, int]] = []  # (id, mtime_ns) of files whose bytes are equal
        self.legacy_rows: dict[str, dict[str, Any]] = {}
        self.cleared_failures: list[str] = []
        self.failed_now: set[str] = set()
        self.index_paths: list[str] = []

    def rel(self, file: Path) -> str:
        return file.relative_to(self.root_path).as_posix()

    def run(self, files: list[Path], whole_tree: bool, prune: bool) -> None:
        existing = {
            path: (pk, size, mtime_ns, sha, missing)
            for pk, path, size, mtime_ns, sha, missing in Recording.objects.filter(
                root=self.root
            ).values_list("id", "path", "size", "mtime_ns", "sha256", "missing")
        }
        failed_before = set(
            ImportFailure.objects.filter(root=self.root).values_list("path", flat=True)
        )
        indexes = [f for f in files if f.name == LEGACY_INDEX]
        for index in indexes:
            self.import_legacy_index(index)
        seen: set[str] = set()
        recordings = [f for f in files if f.name != LEGACY_INDEX]
        for number, file in enumerate(recordings, 1):
            rel = self.rel(file)
            seen.add(rel)
            self.import_file(file, rel, existing.get(rel))
            if rel in failed_before and rel not in self.failed_now:
                self.cleared_failures.append(rel)
            if self.progress:
                self.progress(number, len(recordings))
        self.flush()
        with transaction.atomic():
            if self.cleared_failures:
                ImportFailure.objects.filter(
                    root=self.root, path__in=self.cleared_failures
                ).delete()
            if whole_tree:
                self.mark_missing(existing, seen, failed_before, prune)
            ImportRoot.objects.filter(pk=self.root.pk).update(last_import=timezone.now())

    def fail(self, rel: str, reason: str, st: os.stat_result | None = None) -> None:
        self.report.failed += 1
        self.report.failures.append((rel, reason))
        self.failed_now.add(rel)
        ImportFailure.objects.update_or_create(
            root=self.root,
            path=rel,
            defaults={
                "reason": reason,
                "size": st.st_size if st else None,
                "mtime_ns": st.st_mtime_ns if st else None,
            },
        )
        if self.on_failure:
            self.on_failure(rel, reason)

    def import_file(self, file: Path, rel: str, known: tuple | None) -> None:
        try:
            st = file.stat()
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
            data = file.read_bytes()
        except OSError as exc:
            self.fail(rel, f"unreadable ({exc.strerror or exc})", st)
            return
        sha = hashlib.sha256(data).hexdigest()
        if known and known[3] == sha:
            self.report.unchanged += 1
            self.touched.append((known[0], st.st_mtime_ns))
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
            Pending(
                rel, data, sha, st, parsed, self.legacy_rows.get(rel), known[0] if known else None
            )
        )
        self.batch_bytes += len(data)
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def import_legacy_index(self, file: Path) -> None:
        rel = self.rel(file)
        try:
            st = file.stat()
            data = file.read_bytes()
            rows = read_legacy_index(data)
        except (OSError, sqlite3.Error) as exc:
            self.fail(rel, f"unreadable legacy index ({exc})")
            return
        self.index_paths.append(rel)
        folder = PurePosixPath(rel).parent
        for row in rows:
            if row.get("response_file"):
                target = (folder / "responses" / str(row["response_file"])).as_posix()
                self.legacy_rows[target] = row
        sha = hashlib.sha256(data).hexdigest()
        LegacyIndex.objects.update_or_create(
            root=self.root,
            path=rel,
            defaults={
                "size": st.st_size,
                "sha256": sha,
                "mtime_ns": st.st_mtime_ns,
                "data": data,
                "rows": rows,
                "missing": False,
            },
        )

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

    def children(self, recording: Recording, parsed: parsing.Recording) -> dict[type, list]:
        messages = [
            Message(
                recording=recording,
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
                recording=recording,
                index=i,
                name=clean(t.name),
                description=clean(t.description),
                parameters=t.parameters,
            )
            for i, t in enumerate(parsed.tools)
        ]
        calls = [
            ToolCall(
                recording=recording,
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
        streams = [Stream(recording=recording, chunks=parsed.chunks)] if parsed.chunks else []
        return {Message: messages, ToolDef: tools, ToolCall: calls, Stream: streams}

    def flush(self) -> None:
        if not self.batch and not self.touched:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        touched, self.touched = self.touched, []
        with transaction.atomic():
            fresh = [item for item in batch if item.existing_id is None]
            changed = [item for item in batch if item.existing_id is not None]
            created = Recording.objects.bulk_create(
                [Recording(root=self.root, **self.fields_of(item)) for item in fresh]
            )
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
            pairs = list(zip(created, fresh, strict=True)) + [
                (Recording(pk=item.existing_id), item) for item in changed
            ]
            for recording, item in pairs:
                rows[Blob].append(Blob(recording=recording, data=item.data))
                for model, objects in self.children(recording, item.parsed).items():
                    rows[model].extend(objects)
            for model, objects in rows.items():
                model.objects.bulk_create(objects, batch_size=500)
            for pk, mtime_ns in touched:
                Recording.objects.filter(pk=pk).update(mtime_ns=mtime_ns, missing=False)
        self.report.imported += len(fresh)
        self.report.updated += len(changed)
        reset_queries()  # with DEBUG on, Django would keep every batch's SQL and bytes

    def mark_missing(
        self, existing: dict, seen: set[str], failed_before: set[str], prune: bool
    ) -> None:
        gone = [path for path in existing if path not in seen]
        for start in range(0, len(gone), 1000):  # stays under SQLite's bound-parameter limit
            recordings = Recording.objects.filter(
                root=self.root, path__in=gone[start : start + 1000]
            )
            if prune:
                self.report.pruned += recordings.delete()[1].get("inspector.Recording", 0)
            else:
                recordings.update(missing=True)
        self.report.missing += len(gone)
        stale = [path for path in failed_before if path not in seen]
        for start in range(0, len(stale), 1000):
            ImportFailure.objects.filter(
                root=self.root, path__in=stale[start : start + 1000]
            ).delete()
        indexes = LegacyIndex.objects.filter(root=self.root).exclude(path__in=self.index_paths)
        if prune:
            indexes.delete()
        else:
            indexes.update(missing=True)
