"""`import_recordings --git REV PATH`: the recordings of a git repository at a revision, read
from its objects, with no checkout: `git ls-tree` lists the revision's files under PATH,
`git cat-file --batch` gives their bytes one at a time as the import comes to them (memory stays
as flat as a folder's import). The import itself is the folder's (`inspector.importer`), fed
blobs instead of files.

A revision never changes: its root is `<PATH>@<commit>`, and importing it again finds every
file unchanged. Its name (in URLs, `/compare?a=...`) is the REV as given when it makes a name
(`main`, `v1.2`), else the commit's first 12 hex digits."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from inspector import roots, search
from inspector.import_report import Progress, Report
from inspector.importer import Importer
from inspector.models import ImportRoot
from inspector.walking import LEGACY_INDEX, RECORDING_ENDINGS, Unreadable, text_of_path

SYMLINK_MODE = "120000"
SHORT = 12  # hex digits of a commit in a root's name


class GitError(Exception):
    """PATH is no git repository, or REV no revision of it: the command's error."""


@dataclass(frozen=True)
class Blob:
    """A file of the revision: its path under PATH, its object and size."""

    rel: str
    oid: str
    size: int


@dataclass(frozen=True)
class BlobStat:
    """What the importer reads of a file's status, for a blob: a regular file of its size,
    modified when its commit was made."""

    st_size: int
    st_mtime_ns: int
    st_mode: int = 0o100644


def git(folder: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed") from None
    return done.stdout


@dataclass(frozen=True)
class Revision:
    commit: str
    prefix: str  # PATH within the repository, "" or ending in "/"
    time_ns: int


def resolve(folder: Path, rev: str) -> Revision:
    """`rev` of the repository `folder` is in (`git rev-parse`)."""
    if not folder.is_dir():
        raise GitError(f"{folder}: no such folder")
    if rev.startswith("-"):
        raise GitError(f"{rev}: not a revision")
    commit = git(folder, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    commit_text = commit.decode().strip()
    prefix = git(folder, "rev-parse", "--show-prefix").decode().strip()
    seconds = git(folder, "show", "-s", "--format=%ct", commit_text).decode().strip()
    return Revision(commit_text, prefix, int(seconds or 0) * 1_000_000_000)


def blobs(folder: Path, revision: Revision) -> tuple[list[Blob], int]:
    """The files an import reads under PATH at the revision (as a folder's walk finds them:
    recording endings and legacy indexes, no hidden folders), in path order; and how many
    symlinks were left out (a blob holding a path, not followed)."""
    listing = git(
        folder,
        "ls-tree",
        "-r",
        "-z",
        "--long",
        "--full-tree",
        f"{revision.commit}:{revision.prefix}",
    )
    found, symlinks = [], 0
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid, size = meta.decode().split()
        rel = text_of_path(os.fsdecode(raw_path))
        parts = PurePosixPath(rel).parts
        if kind != "blob" or any(part.startswith(".") for part in parts[:-1]):
            continue
        if not (rel.endswith(RECORDING_ENDINGS) or parts[-1] == LEGACY_INDEX):
            continue
        if mode == SYMLINK_MODE:
            symlinks += 1
            continue
        found.append(Blob(rel, oid, int(size)))
    return found, symlinks


class BlobReader:
    """One `git cat-file --batch` for a whole import: a blob's bytes when asked for."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            ["git", "-C", str(folder), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self.stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]

    def read(self, oid: str) -> bytes:
        self.stdin.write(f"{oid}\n".encode())
        self.stdin.flush()
        header = self.stdout.readline().split()
        if len(header) != 3:
            raise OSError(f"git has no object {oid}")
        data = self.stdout.read(int(header[2]))
        self.stdout.read(1)  # the newline after the object
        return data

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=10)


class GitImporter(Importer):
    """The importer of a folder, reading blobs: `run` is given Blobs for files, and the paths
    of legacy indexes written to a temporary folder (sqlite reads files only)."""

    def __init__(self, *args: object, reader: BlobReader, time_ns: int, scratch: str) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.reader, self.time_ns, self.scratch = reader, time_ns, os.path.join(scratch, "")

    def rel(self, file: Blob | str) -> str:  # type: ignore[override]
        if isinstance(file, Blob):
            return file.rel
        return text_of_path(file.removeprefix(self.scratch))

    def stat(self, file: Blob) -> BlobStat:  # type: ignore[override]
        return BlobStat(file.size, self.time_ns)

    def read_bytes(self, file: Blob, max_bytes: int) -> tuple[bytes, BlobStat]:  # type: ignore[override]
        st = self.stat(file)
        if file.size > max_bytes:
            raise Unreadable(f"larger than --max-bytes ({file.size} > {max_bytes} bytes)", st)  # type: ignore[arg-type]
        try:
            return self.reader.read(file.oid), st
        except OSError as exc:
            raise Unreadable(f"unreadable ({exc})", st) from None  # type: ignore[arg-type]


def root_name(rev: str, commit: str, path: str, name: str = "") -> str:
    """The root's name: `name` when given, else the REV as given when it makes a name no other
    root has, else the commit's first SHORT hex digits."""
    others = ImportRoot.objects.exclude(path=path)
    if name:
        other = others.filter(name=name).first()
        if other is not None:
            raise GitError(f"--root {name}: already the name of {other.path}")
        return name
    if roots.valid_name(rev) and not others.filter(name=rev).exists():
        return rev
    return commit[:SHORT]


def import_git(
    folder: str | Path,
    rev: str,
    *,
    max_bytes: int,
    name: str = "",
    prune: bool = False,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    report: Report | None = None,
) -> tuple[Report, ImportRoot]:
    """Import the recordings under `folder` (a repository or a folder inside one) at `rev`;
    raises GitError when it is no repository or `rev` no revision of it."""
    report = Report() if report is None else report
    folder = Path(folder).absolute()
    revision = resolve(folder, rev)
    found, symlinks = blobs(folder, revision)
    path = text_of_path(f"{folder}@{revision.commit}")
    root, _ = ImportRoot.objects.update_or_create(
        path=path,
        defaults={"name": root_name(rev, revision.commit, path, name), "revision": revision.commit},
    )
    reader = BlobReader(folder)
    try:
        with tempfile.TemporaryDirectory(prefix="inspector-git-") as scratch:
            indexes = []
            for blob in found:
                if PurePosixPath(blob.rel).name == LEGACY_INDEX:
                    # sqlite reads a file: the index written out, dated as its commit.
                    target = os.path.join(scratch, *PurePosixPath(blob.rel).parts)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as handle:
                        handle.write(reader.read(blob.oid))
                    os.utime(target, ns=(revision.time_ns, revision.time_ns))
                    indexes.append(target)
            files = [blob for blob in found if PurePosixPath(blob.rel).name != LEGACY_INDEX]
            importer = GitImporter(
                root,
                folder,
                max_bytes,
                report,
                progress,
                on_failure,
                reader=reader,
                time_ns=revision.time_ns,
                scratch=scratch,
            )
            importer.run(indexes, files, len(files), whole_tree=True, prune=prune)
    finally:
        reader.close()
    report.skipped += symlinks
    search.compact(report.imported + report.updated)
    roots.refresh()
    return report, root
