"""Which recordings no test collects any more, as llama-stack's `scripts/cleanup_recordings.py`
finds them: the output of `pytest --collect-only -q` read, and recordings' test ids matched
against it. Pure: no Django.

`-q` prints one node id a line, then a blank line and a summary (`123 tests collected in
1.2s`); errors and warnings add sections of their own. `-qq` prints `<file>: <count>` a file
instead. Node ids are relative to where pytest ran (its rootdir or the current folder), where
a recording's test id is relative to the repository: `agents/test_a.py::test_x` and
`tests/integration/agents/test_a.py::test_x` are one test. Two ids match when their tests
(what follows the file) are equal and one file is the other or ends with `/` and the other."""

from __future__ import annotations

import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# A collect-only listing of llama-stack's integration tests is ~1 MB (~8,000 tests); this is
# what a path typed in the browser may make the server read.
MAX_COLLECTED_BYTES = 16 * 1024 * 1024
# `-qq`: `tests/integration/agents/test_agents.py: 12`.
FILE_COUNT = re.compile(r"^(?P<file>\S+): \d+$")


class CollectedError(Exception):
    """A collect-only file that cannot be read, in one line."""


@dataclass
class Collected:
    """The tests a collect-only run listed: by test (what follows the file in the node id),
    the files holding it; and the files `-qq` listed whole."""

    tests: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    files: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        """How many node ids were read (the summary line's number, when the run had no
        error)."""
        return len(self.ids)

    def add(self, node_id: str) -> None:
        file, _, test = node_id.partition("::")
        self.tests[test].add(file)
        self.ids.add(node_id)

    def has(self, test_id: str) -> bool:
        """Whether a collected test is the recording's test (`test_id`: its node id)."""
        file, sep, test = test_id.partition("::")
        if not sep:
            return False
        if any(same_file(file, other) for other in self.tests.get(test, ())):
            return True
        return any(same_file(file, other) for other in self.files)

    def __bool__(self) -> bool:
        return bool(self.ids or self.files)


def same_file(a: str, b: str) -> bool:
    """One path, or one the other's suffix at a `/` (relative to two folders)."""
    if a == b:
        return True
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return bool(shorter) and longer.endswith("/" + shorter)


def parse_collected(text: str) -> Collected:
    """The node ids of a `pytest --collect-only -q` output: lines that hold a `::` after a
    file, not indented (a warning's source lines are); everything else (blank lines, the
    summary, `=== ERRORS ===` sections, `ERROR tests/x.py - ...`) is left out. `-qq` lines
    (`<file>: <count>`) stand for every test of their file."""
    collected = Collected()
    for line in text.splitlines():
        line = line.rstrip("\r\n").rstrip()
        if not line or line[0].isspace():
            continue
        file, sep, test = line.partition("::")
        if sep and test and file and not any(c.isspace() for c in file):
            collected.add(line)
            continue
        found = FILE_COUNT.match(line)
        if found and "::" not in line:
            collected.files.add(found["file"])
    return collected


def unused(test_ids: Iterable[str], collected: Collected) -> set[str]:
    """The test ids that no collected test has (empty ones are never unused: a request made
    outside any test)."""
    return {test_id for test_id in set(test_ids) if test_id and not collected.has(test_id)}


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def read_collected(path: str, limit: int = MAX_COLLECTED_BYTES) -> Collected:
    """A collect-only output file, read whole up to `limit` bytes; CollectedError in one line
    for a file that is missing, not a regular file (a FIFO would block the reader forever),
    empty, too large, unreadable, or holds no node id."""
    name = os.path.expanduser(path.strip())
    if not name:
        raise CollectedError("no file given")
    if "\x00" in name:
        raise CollectedError("a path holds no NUL character")
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise CollectedError(f"{path}: no such file") from None
    except PermissionError:
        raise CollectedError(f"{path}: permission denied") from None
    except (OSError, ValueError) as exc:
        raise CollectedError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CollectedError(f"{path}: a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise CollectedError(f"{path}: not a regular file")
    if info.st_size == 0:
        # Empty, or a file of /proc, whose size says nothing and whose read may never end.
        raise CollectedError(f"{path}: an empty file")
    if info.st_size > limit:
        raise CollectedError(f"{path}: larger than {size_text(limit)}")
    try:
        with Path(name).open("rb") as handle:
            data = handle.read(limit + 1)
    except PermissionError:
        raise CollectedError(f"{path}: permission denied") from None
    except OSError as exc:
        raise CollectedError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise CollectedError(f"{path}: larger than {size_text(limit)}")
    collected = parse_collected(data.decode("utf-8", errors="replace"))
    if not collected:
        raise CollectedError(
            f"{path}: no test ids in it (the output of pytest --collect-only -q, one a line)"
        )
    return collected
