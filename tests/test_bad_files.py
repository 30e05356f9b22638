"""Nothing in one file stops an import: each of tests/bad_files.py's files gives its one failure
or imports, whatever the others are."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from inspector import batches, importer, parsing, walking
from inspector.importer import import_paths
from inspector.models import ImportFailure, Recording
from inspector.walking import stored_path
from tests.bad_files import GOOD, dump, with_, write_bad_files, write_deep

MAX = 64 * 1024 * 1024
pytestmark = pytest.mark.django_db


@pytest.fixture
def tmp_path(deep_tmp_path: Path) -> Path:
    """These trees are deeper than pytest's own clean-up can remove (conftest.deep_tmp_path)."""
    return deep_tmp_path


def write_hostile(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """Files that are bad only while an import reads them, made so by patching what it calls;
    what importing them must give, as write_bad_files says it."""
    good = dump(GOOD)
    hostile = folder / "hostile"
    hostile.mkdir()
    # A folder the system refuses to list (chmod 000 does not stop root, who runs the tests).
    (hostile / "forbidden").mkdir()
    (hostile / "forbidden" / "inside.json").write_bytes(good)
    scandir = os.scandir

    def refusing(path: str = ".") -> object:
        if str(path).endswith("/forbidden"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(walking.os, "scandir", refusing)

    # A file replaced (renamed over) once opened: what was opened is what is kept.
    (hostile / "replaced.json").write_bytes(good)
    replacement = hostile / "replacement"
    replacement.write_bytes(dump(with_(GOOD, ("test_id", "t.py::test_new"))))
    open_file = os.open

    def replacing(path: str, flags: int, *args: object, **kwargs: object) -> int:
        fd = open_file(path, flags, *args, **kwargs)
        if str(path).endswith("/replaced.json") and replacement.exists():
            os.replace(replacement, path)
        return fd

    monkeypatch.setattr(walking.os, "open", replacing)
    # A file written to between its status and its bytes: the size kept is that of the bytes.
    (hostile / "growing.json").write_bytes(good)
    grow_once(monkeypatch, hostile / "growing.json")

    # A file the parser trips on (a bug of the parser's, not the file's).
    (hostile / "trips.json").write_bytes(dump(with_(GOOD, ("test_id", "t.py::test_trips"))))
    parse = parsing.parse

    def tripping(data: bytes) -> parsing.Recording:
        if b"test_trips" in data:
            raise ZeroDivisionError("division by zero")
        return parse(data)

    monkeypatch.setattr(parsing, "parse", tripping)

    # A file the database refuses, in a batch of good ones: only it fails.
    (hostile / "refused.json").write_bytes(dump(with_(GOOD, ("test_id", "t.py::test_refused"))))
    create_rows = batches.create_rows

    def refusing_some(model: type, objects: list) -> None:
        create_rows(model, objects)
        if model is Recording and any(r.test_id == "t.py::test_refused" for r in objects):
            raise DatabaseError("value refused")

    monkeypatch.setattr(batches, "create_rows", refusing_some)
    return {
        "hostile/forbidden/": "unreadable folder (Permission denied)",
        "hostile/replaced.json": None,
        "hostile/growing.json": None,
        "hostile/trips.json": "could not be parsed (ZeroDivisionError: division by zero)",
        "hostile/refused.json": "could not be stored (DatabaseError: value refused)",
    }


def grow_once(monkeypatch: pytest.MonkeyPatch, file: Path) -> None:
    """Make `file` grow right after the next look at its status."""
    stat, grown = os.stat, []

    def growing(path: object, *args: object, **kwargs: object) -> os.stat_result:
        st = stat(path, *args, **kwargs)
        if str(path) == str(file) and not grown:
            grown.append(True)
            with open(file, "ab") as handle:
                handle.write(b"\n" * 100)
        return st

    monkeypatch.setattr(os, "stat", growing)


def check(expected: dict[str, str | None], report: importer.Report) -> None:
    """Each bad file failed once, with its reason, and every good one imported."""
    failed = [path for path, _ in report.failures]
    bad = {path: reason for path, reason in expected.items() if reason is not None}
    assert sorted(failed) == sorted(bad)  # each one once, and nothing else
    wrong = {path: why for path, why in report.failures if bad[path] not in why}
    assert wrong == {}
    stored = dict(ImportFailure.objects.values_list("path", "reason"))
    assert stored == {stored_path(path): reason for path, reason in report.failures}
    good = sorted(path for path, reason in expected.items() if reason is None)
    assert sorted(Recording.objects.values_list("path", flat=True)) == good


def test_it_imports_every_good_file_and_fails_each_bad_one_once(tmp_path, monkeypatch):
    expected = write_bad_files(tmp_path)
    assert len([path for path, reason in expected.items() if reason]) >= 25
    assert len(expected) >= 60
    expected |= write_hostile(tmp_path, monkeypatch)

    report = import_paths([tmp_path], max_bytes=MAX)
    check(expected, report)
    replaced = Recording.objects.get(path="hostile/replaced.json")
    assert replaced.test_id == GOOD["test_id"]  # as opened, not as renamed over it
    growing = tmp_path / "hostile" / "growing.json"
    assert Recording.objects.get(path="hostile/growing.json").size == growing.stat().st_size
    failed = report.failed

    # Again: the same failures; the replaced file is read again (it changed), nothing else.
    second = import_paths([tmp_path], max_bytes=MAX)
    check(expected, second)
    assert (second.imported, second.updated, second.failed) == (0, 1, failed)
    assert Recording.objects.get(path="hostile/replaced.json").test_id == "t.py::test_new"
    third = import_paths([tmp_path], max_bytes=MAX)
    check(expected, third)
    assert (third.imported, third.updated, third.failed) == (0, 0, failed)
    assert third.unchanged == second.unchanged + 1


def test_it_says_each_failure_on_a_line_and_the_summary_last(tmp_path, monkeypatch, capsys):
    expected = write_bad_files(tmp_path) | write_hostile(tmp_path, monkeypatch)
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_recordings", str(tmp_path), "--no-progress")
    assert exit_status.value.code == 1
    out, err = capsys.readouterr()
    bad = {path: reason for path, reason in expected.items() if reason is not None}
    good = len(expected) - len(bad)
    assert out.splitlines() == [
        f"imported {good}, updated 0, unchanged 0, missing 0, failed {len(bad)}"
    ]
    lines = [line.split(": ", 1) for line in err.splitlines()]
    assert sorted(path for path, _ in lines) == sorted(bad)
    assert [path for path, reason in lines if bad[path] not in reason] == []


def test_it_stores_the_size_of_the_bytes_it_read(tmp_path, monkeypatch):
    """A file written to between its status and its bytes kept the status's size, so every
    later import found the size changed and read and hashed it again."""
    file = tmp_path / "s" / "recordings" / "growing.json"
    file.parent.mkdir(parents=True)
    file.write_bytes(dump(GOOD))
    grow_once(monkeypatch, file)
    import_paths([tmp_path], max_bytes=MAX)
    monkeypatch.undo()
    assert Recording.objects.get().size == file.stat().st_size
    # Its time may have been taken before it grew: the next import may read it once more, to
    # find the same bytes; then it is unchanged, and not read again.
    assert import_paths([tmp_path], max_bytes=MAX).unchanged == 1
    monkeypatch.setattr(importer, "read_file", lambda *args: pytest.fail("read again"))
    assert import_paths([tmp_path], max_bytes=MAX).line() == (
        "imported 0, updated 0, unchanged 1, missing 0, failed 0"
    )


def test_it_walks_a_tree_deeper_than_pythons_recursion_limit(tmp_path):
    names = ["d"] * 990  # its path still short enough to store: 1,986 bytes
    write_deep(tmp_path, [*names, "x.json"], dump(GOOD))
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (1, [])
    assert Recording.objects.get().path == "/".join([*names, "x.json"])


def test_it_fails_a_folder_it_cannot_read_and_imports_the_others(tmp_path, monkeypatch):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.json").write_bytes(dump(GOOD))
    scandir = os.scandir

    def refusing(path: str) -> object:
        if str(path).endswith("/a"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(walking.os, "scandir", refusing)
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (
        1,
        [("a/", "unreadable folder (Permission denied)")],
    )
    assert list(ImportFailure.objects.values_list("path", "reason")) == report.failures

    monkeypatch.undo()  # readable again: imported, and its failure forgotten
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (1, [])
    assert not ImportFailure.objects.exists()


def test_it_says_what_it_wrote_when_interrupted(tmp_path, monkeypatch, capsys):
    for n in range(5):
        path = tmp_path / "s" / "recordings" / f"{n}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump(GOOD))
    monkeypatch.setattr(importer, "BATCH_FILES", 2)
    write_rows, written = batches.write_rows, []

    def interrupted(model: type, objects: list) -> None:
        if model is batches.Message:
            written.append(len(objects))
            if len(written) == 2:
                raise KeyboardInterrupt  # Ctrl-C while the second batch is written
        write_rows(model, objects)

    monkeypatch.setattr(batches, "write_rows", interrupted)
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_recordings", str(tmp_path), "--no-progress")
    assert exit_status.value.code == 130
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "interrupted: imported 2, updated 0, unchanged 0, missing 0, failed 0"
    ]
    assert err == ""
    assert Recording.objects.count() == 2


def test_it_keeps_a_name_that_is_not_utf8_as_text(tmp_path):
    (tmp_path / os.fsdecode(b"r\xe9sum\xe9.json")).write_bytes(dump(GOOD))
    (tmp_path / os.fsdecode(b"r\xc3\xa9sum\xc3\xa9.json")).write_bytes(dump(GOOD))
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (2, [])
    assert sorted(Recording.objects.values_list("path", flat=True)) == [
        "r\\xe9sum\\xe9.json",
        "résumé.json",
    ]


def test_it_indexes_texts_longer_than_an_index_entry_and_finds_them_by_value(tmp_path):
    noise = os.urandom(2000).hex()  # incompressible: PostgreSQL's index entry holds 2,704 bytes
    document = with_(GOOD, ("test_id", f"t.py::test_{noise}"), ("request.model", noise))
    (tmp_path / "long.json").write_bytes(json.dumps(document).encode())
    (tmp_path / "short.json").write_bytes(json.dumps(GOOD).encode())
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failures) == (2, [])
    long = Recording.objects.get(model=noise)
    assert (long.path, long.test_id) == ("long.json", f"t.py::test_{noise}")
    # The same first characters, another end: another value.
    assert not Recording.objects.filter(model=noise[:-1] + "x").exists()
    assert not Recording.objects.filter(model=noise[:200]).exists()
    assert Recording.objects.filter(model="gpt-4o").get().path == "short.json"
