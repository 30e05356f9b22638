"""Live updates (`manage.py serve --watch`): the import roots' folders are watched with
watchfiles, and each batch of changes is imported as a re-import would import it, reading only
the files that changed.

A batch is one importer run per root over the changed paths (`importer.Importer`: unchanged
files skipped by their size and time, changed ones updated in place, new ones added, a bad one
one import failure), and the files that went are marked missing as a re-import marks a file it
no longer finds (`Importer.mark_gone`). The run ends by setting the root's `last_import`, so
that caches keyed on `facets.data_version()` see the change.

The watching thread itself is `inspector.watcher.Watcher`. Git roots (`import_recordings
--git`) are read from git objects, not folders: never watched."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q

from inspector import roots, search
from inspector.auditing import GROUP_VERDICTS, mark_group, own_verdict, verdicts
from inspector.formats import LEGACY, LLAMA_STACK, VCR
from inspector.import_report import Report
from inspector.importer import SWEEP_IDS, Importer
from inspector.models import ImportFailure, ImportRoot, LegacyIndex, Recording, Source
from inspector.rows import name_audit
from inspector.storing import chunks
from inspector.walking import (
    LEGACY_INDEX,
    RECORDING_ENDINGS,
    is_index,
    stored_path,
    text_of_path,
    walk,
)

# Removed paths whose imported files are looked up by a term each (`path LIKE 'p/%'`); more
# are looked up by one read of the root's paths (`holding_sources`).
FOLDER_TERMS = 50
Say = Callable[[str], None]
Failure = Callable[[str, str], None]


def watched_roots() -> list[ImportRoot]:
    """The roots read from folders (not git revisions), deepest first: a file belongs to every
    root it is under, as a re-import of each would find it."""
    return list(ImportRoot.objects.filter(revision="").order_by("-path"))


def outermost(folders: Iterable[str]) -> list[str]:
    """The folders to give watchfiles: those inside another are watched with it."""
    kept: list[str] = []
    for folder in sorted(folders):
        if not within(folder, kept):
            kept.append(folder)
    return kept


def within(path: str, folders: Iterable[str]) -> bool:
    return any(path == top or path.startswith(os.path.join(top, "")) for top in folders)


def relative(path: str, root_path: str) -> str | None:
    """`path` relative to the root (with `/`), or None when it is not under it (or is it)."""
    prefix = os.path.join(root_path, "")
    if not path.startswith(prefix):
        return None
    return path.removeprefix(prefix).replace(os.sep, "/")


def is_hidden(rel: str) -> bool:
    """Under a folder the walk skips (`.git`, `.venv`...): its files are no recordings."""
    return any(part.startswith(".") for part in rel.split("/")[:-1])


def is_recording_name(path: str) -> bool:
    return path.endswith(RECORDING_ENDINGS) or os.path.basename(path) == LEGACY_INDEX


@dataclass
class RootChanges:
    """One root's share of a batch: what exists now is imported, what does not went."""

    present: list[str] = field(default_factory=list)  # files, absolute
    gone_files: list[str] = field(default_factory=list)  # relative paths
    gone_folders: list[str] = field(default_factory=list)  # relative paths (maybe files)

    def __bool__(self) -> bool:
        return bool(self.present or self.gone_files or self.gone_folders)


def sort_changes(paths: Iterable[str], root_path: str, importer: Importer) -> RootChanges:
    """The changed paths under one root, by what is on disk now (not by the kind of change:
    a file written then removed in one batch is gone). A folder that came (moved in) is walked:
    watchfiles reports only the folder."""
    found = RootChanges()
    present: set[str] = set()
    for path in sorted(set(paths)):
        rel = relative(path, root_path)
        if rel is None or is_hidden(rel):
            continue
        if os.path.isdir(path):
            if not os.path.basename(path).startswith("."):
                present.update(walk(path, on_error=importer.fail_folder))
        elif os.path.lexists(path):
            if is_recording_name(path):
                present.add(path)
        elif is_recording_name(path):
            found.gone_files.append(text_of_path(rel))
        else:
            # A folder, or a file the import never reads: whatever was imported under it went.
            found.gone_folders.append(text_of_path(rel))
    found.present = sorted(present)
    # A folder removed is reported with everything under it: the folder alone says it all.
    found.gone_folders = outermost(found.gone_folders)
    if len(found.gone_folders) > FOLDER_TERMS:
        found.gone_folders = holding_sources(importer.root, found.gone_folders)
    return found


def holding_sources(root: ImportRoot, folders: list[str]) -> list[str]:
    """Of many removed paths (a tree of other files, say), those that held imported files,
    found by one read of the root's paths: a query of a term per path would be too deep."""
    wanted, found = set(folders), set()
    for path in Source.objects.filter(root=root, missing=False).values_list("path", flat=True):
        parts = path.split("/")
        for end in range(1, len(parts)):
            folder = "/".join(parts[:end])
            if folder in wanted:
                found.add(folder)
                break
    return sorted(found)


def mark_gone(importer: Importer, changes: RootChanges) -> None:
    """What went, as a re-import that no longer finds it marks it: its sources and recordings
    missing, its legacy index missing, its import failure cleared."""
    root = importer.root
    if not changes.gone_files and not changes.gone_folders:
        return
    folders = under(changes)
    with transaction.atomic():
        sources = Source.objects.filter(root=root, missing=False)
        gone: list[int] = []
        for rels in chunks(changes.gone_files, SWEEP_IDS):
            gone.extend(sources.filter(path__in=rels).values_list("id", flat=True))
        if changes.gone_folders:
            gone.extend(sources.filter(folders).values_list("id", flat=True))
        importer.mark_gone(sorted(set(gone)), prune=False)
        indexes = LegacyIndex.objects.filter(root=root, missing=False)
        index_rels = [rel for rel in changes.gone_files if is_index(rel)]
        if index_rels:
            indexes.filter(path__in=index_rels).update(missing=True)
        if changes.gone_folders:
            indexes.filter(folders).update(missing=True)
        failures = ImportFailure.objects.filter(root=root)
        for rels in chunks(changes.gone_files, SWEEP_IDS):
            failures.filter(path__in=[stored_path(rel) for rel in rels]).delete()
        if changes.gone_folders:
            failures.filter(folders).delete()


def known_indexes(root: ImportRoot, root_path: str, present: list[str]) -> list[str]:
    """The root's legacy indexes on disk, with those among the changes: their rows give a
    changed legacy file its index row, as in a re-import (unchanged ones cost a stat)."""
    stored = LegacyIndex.objects.filter(root=root, missing=False).values_list("path", flat=True)
    files = {os.path.join(root_path, *rel.split("/")) for rel in stored}
    files = {file for file in files if os.path.isfile(file)}
    return sorted(files | {file for file in present if is_index(file)})


class ChangeImporter(Importer):
    """The importer of one root's changes. Its name audit is that of the groups the changed
    files were in or are in now (files whose requests hash alike), not the whole root's: at
    3,000 recordings that re-read every grouped file, ~2-6 s a batch, over the 2 s target."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The changed files' sources; None: too many to name in a query (SWEEP_IDS, under
        # SQLite's bound-parameter limit), audited as an import audits.
        self.sources: Q | None = Q(pk__in=[])
        self.hashes: set[str] = set()  # their request hashes before the change

    def watch_sources(self, changes: RootChanges) -> None:
        rels = [self.rel(file) for file in changes.present]
        if len(rels) + len(changes.gone_files) > SWEEP_IDS:
            self.sources = None
            return
        self.sources = Q(path__in=rels) | Q(path__in=changes.gone_files) | under(changes)
        self.hashes = self.hashes_now()

    def hashes_now(self) -> set[str]:
        if self.sources is None:
            return set()
        sources = Source.objects.filter(root=self.root).filter(self.sources)
        recordings = Recording.objects.filter(root=self.root, source__in=sources)
        return set(recordings.exclude(computed_hash="").values_list("computed_hash", flat=True))

    def audit(self) -> None:
        hashes = self.hashes | self.hashes_now()
        if self.sources is None or len(hashes) > SWEEP_IDS:
            super().audit()
        else:
            audit_groups(self.root, hashes)


def audit_groups(root: ImportRoot, hashes: set[str]) -> None:
    """`auditing.audit_root` over the recordings of these request hashes only: each one's own
    verdict again where a group verdict may no longer hold, then their groups. (Cassettes and
    new files get theirs as they are written.)"""
    Recording.objects.filter(root=root, format=VCR, name_verdict="").update(
        name_verdict=verdicts.NOT_APPLICABLE, name_reason=name_audit(VCR, "", None, False)[1]
    )
    if not hashes:
        return
    recordings = Recording.objects.filter(
        root=root, format__in=[LLAMA_STACK, LEGACY], computed_hash__in=sorted(hashes)
    )
    stale = recordings.filter(name_verdict__in=["", *GROUP_VERDICTS])
    for recording in stale.only("id", "path", "source_id", "legacy", "format"):
        own_verdict(recording)
    present = recordings.filter(format=LLAMA_STACK, missing=False).exclude(
        name_verdict=verdicts.NOT_APPLICABLE
    )
    groups: dict[str, list[Recording]] = defaultdict(list)
    for recording in present.only("id", "path", "kind", "test_id", "name_verdict", "computed_hash"):
        groups[recording.computed_hash].append(recording)
    for members in groups.values():
        if len(members) > 1:
            mark_group(members)


def under(changes: RootChanges) -> Q:
    """Whatever is under the folders that went."""
    folders = Q(pk__in=[])
    for folder in changes.gone_folders:
        folders |= Q(path__startswith=f"{folder}/")
    return folders


def import_changes(
    root: ImportRoot, paths: Iterable[str], max_bytes: int, on_failure: Failure | None = None
) -> Report | None:
    """Import one root's changed paths: what changed is read, what went is marked missing.
    None when none of them is a recording's (nothing written, the data version unchanged)."""
    report = Report()
    root_path = root.path
    importer = ChangeImporter(root, Path(root_path), max_bytes, report, None, on_failure)
    changes = sort_changes(paths, root_path, importer)
    if not changes and not report.failed:
        return None
    importer.watch_sources(changes)
    mark_gone(importer, changes)
    files = [file for file in changes.present if not is_index(file)]
    indexes = known_indexes(root, root_path, changes.present)
    # Not a whole tree: nothing else is marked missing. The run's last step sets last_import.
    importer.run(indexes, files, len(files), whole_tree=False, prune=False)
    search.compact(report.imported + report.updated)
    return report


def apply_batch(
    changed: Iterable[str], known: list[ImportRoot], max_bytes: int, on_failure: Failure | None
) -> dict[ImportRoot, Report]:
    """A batch of changed paths, each given to every root it is under."""
    by_root: dict[int, list[str]] = {}
    for path in changed:
        for root in known:
            if relative(path, root.path) is not None:
                by_root.setdefault(root.pk, []).append(path)
    reports = {}
    for root in known:
        if root.pk in by_root:
            report = import_changes(root, by_root[root.pk], max_bytes, on_failure)
            if report is not None:
                reports[root] = report
    if reports:
        roots.refresh()
    return reports
