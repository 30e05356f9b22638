"""A zip archive written as it goes, for a download that never holds the whole archive.

Python's `zipfile` writes to a stream it cannot seek by putting each member's sizes and CRC in a
data descriptor after its bytes: it writes here into `Pending`, and `zip_chunks` hands on what
is pending after each member (small ones together, SEND_AT at a time; a large one each PIECE),
so that memory holds one member's bytes and what they compressed to, whatever the archive's
size. Knows nothing of Django."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A member's bytes go to the compressor this much at a time, and what that made is handed on
# once it reaches it: a 64 MB cassette never sits in memory twice over.
PIECE = 1024 * 1024
# Small files are sent together, once what they made reaches this: a piece sent is a step of
# the server (under ASGI a hop to the request's thread and back), and the corpus's files are
# a few kilobytes each.
SEND_AT = 64 * 1024
# Zip dates run from 1980 to 2107; a file dated outside is dated at the nearest end.
FIRST_DATE = (1980, 1, 1, 0, 0, 0)
LAST_DATE = (2107, 12, 31, 23, 59, 58)
# Members are plain files readable by everyone (rw-r--r--), whatever the database knows.
FILE_MODE = 0o100644


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name (a relative path, `/` between folders), its bytes, and
    when it last changed (nanoseconds since the epoch)."""

    name: str
    data: bytes
    mtime_ns: int


class Pending:
    """What `zipfile` writes, kept until taken. It has no `tell` or `seek`, so `zipfile` treats
    it as a stream and writes data descriptors instead of seeking back to fill in sizes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def zip_date(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    """A zip member's date (local time, as zip tools show it) from a file's mtime."""
    try:
        date = tuple(time.localtime(mtime_ns / 1e9)[:6])
    except (OverflowError, OSError, ValueError):  # beyond what the platform's time_t holds
        return LAST_DATE if mtime_ns > 0 else FIRST_DATE
    return min(max(date, FIRST_DATE), LAST_DATE)  # type: ignore[return-value]


def zip_chunks(members: Iterable[Member], *, level: int = 6) -> Iterator[bytes]:
    """The zip archive of `members`, deflated, as pieces of bytes to send one after another
    (none empty). Members are read one at a time, as the caller's iterable gives them."""
    out = Pending()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=zip_date(member.mtime_ns))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = FILE_MODE << 16
            # Known before writing: zipfile picks zip64 headers for a member from its size.
            info.file_size = len(member.data)
            view = memoryview(member.data)
            with zf.open(info, "w") as entry:
                for start in range(0, len(view), PIECE):
                    entry.write(view[start : start + PIECE])
                    if out.size >= PIECE:
                        yield out.take()
            if out.size >= SEND_AT:
                yield out.take()
    if out.size:  # the last files, and the central directory
        yield out.take()
