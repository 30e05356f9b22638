"""The legacy layout's `index.sqlite`: its rows, read as an import needs them."""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import orjson


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
