"""Find the files an import reads under a folder (llama-stack's `.json` files and legacy
indexes, and every file named as a cassette may be: `.yaml`, `.yml`, their gzipped forms and
`.json.gz`), and read them.

The walk is a loop over a stack of folders, not a recursion: a tree 990 folders deep is walked
like any other. A folder that cannot be read is reported (`on_error`), never skipped silently."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator

LEGACY_INDEX = "index.sqlite"
# Linux's PATH_MAX, with the terminating NUL: system calls refuse longer paths.
PATH_MAX = 4096

OnError = Callable[[str, str], None]
# The longest path (UTF-8 bytes) stored whole: the (root, path) unique index's entries must fit
# in a PostgreSQL btree page's third (2,704 bytes). A longer path is an import failure, stored
# shortened (`stored_path`).
MAX_PATH_BYTES = 2000

# What a file's name ends with for the import to read it. Cassettes are told from other YAML by
# their content (`inspector.cassettes.looks_like_cassette`).
RECORDING_ENDINGS = (".json", ".yaml", ".yml", ".yaml.gz", ".yml.gz", ".json.gz")


def walk(top: str, on_error: OnError | None = None) -> Iterator[str]:
    """Every file with a RECORDING_ENDING and legacy index under `top`, folder by folder in
    name order (a folder's files before its subfolders), following symlinks but never a loop.
    Holds the names of one folder, and the subfolders still to walk of the folders above it.

    A folder that cannot be read is given to `on_error` as (its path, the reason)."""
    visited: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            files, folders = [], []
            with os.scandir(directory) as entries:
                for entry in entries:
                    if is_folder(entry):
                        if not entry.name.startswith("."):
                            folders.append(entry.name)
                    elif entry.name.endswith(RECORDING_ENDINGS) or entry.name == LEGACY_INDEX:
                        files.append(entry.name)
        except OSError as exc:
            if on_error:
                on_error(directory, folder_error(directory, exc))
            continue
        for name in sorted(files):
            yield os.path.join(directory, name)
        stack.extend(os.path.join(directory, name) for name in sorted(folders, reverse=True))


def is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False


def is_index(path: str) -> bool:
    return os.path.basename(path) == LEGACY_INDEX


def too_long(path: str) -> str:
    return f"path too long ({len(os.fsencode(path)):,} bytes; the system takes {PATH_MAX - 1:,})"


def file_error(path: str, exc: OSError) -> str:
    """The reason a file could not be read, in a few words."""
    if exc.errno == errno.ENAMETOOLONG:
        return too_long(path)
    return f"unreadable ({exc.strerror or exc})"


def folder_error(path: str, exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return too_long(path)
    return f"unreadable folder ({exc.strerror or exc})"


class Unreadable(Exception):
    """A file that cannot be imported as it is on disk; `reason` says why in a few words."""

    def __init__(self, reason: str, st: os.stat_result | None = None) -> None:
        super().__init__(reason)
        self.reason, self.st = reason, st


def read_file(path: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The file's bytes, and its status from just before they were read; raises Unreadable.

    Opened before it is looked at, and without blocking: what is checked is what is read, even
    when the path is replaced by a FIFO or a device in between. The size to keep is that of the
    bytes, and the modification time from before they were read: a file written meanwhile then
    differs from what was kept, and is read again by the next import."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise Unreadable(file_error(path, exc)) from None
    with open(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("not a regular file", st)
        if st.st_size > max_bytes:
            raise Unreadable(f"larger than --max-bytes ({st.st_size} > {max_bytes} bytes)", st)
        try:
            # As many bytes as the file holds, and one more to see whether it grew: a read of
            # max_bytes + 1 allocated that much first (64 MiB), ~4 ms a file, 8x the time of
            # parsing a small one.
            data = handle.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += handle.read(max_bytes + 1 - len(data))
        except OSError as exc:
            raise Unreadable(file_error(path, exc), st) from None
    if len(data) > max_bytes:
        raise Unreadable(f"larger than --max-bytes (grew past {max_bytes} bytes while read)", st)
    return data, st


def text_of_path(path: str) -> str:
    """A path as text any database takes: a name that is not UTF-8 (os.fsdecode gives its bad
    bytes as lone surrogates, which neither database stores) keeps them as `\\xff` escapes,
    so that two such names stay two paths."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def stored_path(rel: str) -> str:
    """A failure's path as stored: whole up to MAX_PATH_BYTES, else its start and a digest."""
    data = rel.encode()
    if len(data) <= MAX_PATH_BYTES:
        return rel
    head = data[: MAX_PATH_BYTES - 100].decode("utf-8", "ignore")
    return f"{head}... ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]})"


def error_text(exc: BaseException) -> str:
    """An unexpected exception in one line: its type and the first line of its message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(message) > 300:
        message = message[:300] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
