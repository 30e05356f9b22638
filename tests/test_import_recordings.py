from __future__ import annotations

import gc
import os
import re
import sqlite3
from collections import Counter
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspector import batches, importer, parsing
from inspector.importer import import_paths, walk
from inspector.models import (
    ImportFailure,
    LegacyIndex,
    Message,
    Recording,
    Source,
    Stream,
    ToolCall,
)
from inspector.rows import suite_of

MAX = 64 * 1024 * 1024

GOOD = {
    "test_id": "tests/integration/inference/test_chat.py::TestChat::test_hello[txt=openai/gpt-4o]",
    "request": {
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "headers": {},
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]},
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o",
    },
    "response": {
        "body": {
            "__type__": "openai.types.chat.chat_completion.ChatCompletion",
            "__data__": {
                "choices": [
                    {
                        "finish_reason": "stop",
                        "index": 0,
                        "message": {"role": "assistant", "content": "Hi there"},
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        },
        "is_streaming": False,
    },
}


def write(path: Path, document: object | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (
        document
        if isinstance(document, bytes)
        else orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    )
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "inference" / "recordings" / ("a" * 64 + ".json"), GOOD)
    return tmp_path


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_imports_the_whole_corpus_as_the_manifest_describes(corpus, manifest):
    report = import_paths([corpus], max_bytes=MAX)
    assert (report.failed, report.failures) == (0, [])

    rows = [row for row in manifest if row["path"].endswith(".json")]
    assert report.imported == len(rows) == Recording.objects.count()
    stored = {
        r["path"]: (r["endpoint"], r["is_streaming"], r["chunk_count"], r["model"])
        for r in Recording.objects.values(
            "path", "endpoint", "is_streaming", "chunk_count", "model"
        )
    }
    expected = {
        row["path"].removeprefix("recordings/"): (
            # The manifest marks a passthrough's endpoint `http:/v1/messages`; an endpoint is a
            # path (the kind says it passed through).
            row["endpoint"].removeprefix("http:"),
            row["is_streaming"] == "true",
            int(row["chunks"]),
            row["model"],
        )
        for row in rows
    }
    assert stored == expected
    # Both legacy index.sqlite files are kept, with their rows.
    indexes = [
        row["path"].removeprefix("recordings/") for row in manifest if row["kind"] == "legacy_index"
    ]
    assert sorted(LegacyIndex.objects.values_list("path", flat=True)) == sorted(indexes)
    legacy = Recording.objects.filter(path="legacy/responses/3c3f13cb7794.json").get()
    assert legacy.legacy
    assert legacy.has_timing
    assert legacy.legacy_request_hash.startswith("3c3f13cb7794")
    assert legacy.legacy_timestamp


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_gives_every_corpus_recording_the_suite_of_its_folder(corpus, manifest):
    """`<suite>/recordings/<file>` is `<suite>`, whatever the suite is called: `responses`, the
    largest suite upstream, was once taken for the legacy layout's folder."""
    import_paths([corpus], max_bytes=MAX)
    suites = dict(Recording.objects.values_list("path", "suite"))
    expected = {}
    for row in manifest:
        current = re.fullmatch(r"tests/integration/(.+)/recordings/[^/]+\.json", row["source_path"])
        if current:
            expected[row["path"].removeprefix("recordings/")] = current[1]
        elif row["path"].endswith(".json"):  # the legacy layout: the folders above responses/
            folder = row["path"].removeprefix("recordings/").rsplit("/responses/", 1)[0]
            expected[row["path"].removeprefix("recordings/")] = folder
    assert {path: suites[path] for path in expected} == expected
    assert sum(suite == "responses" for suite in expected.values()) == 100


@pytest.mark.parametrize(
    ("root", "rel", "legacy", "suite"),
    [
        ("/x/tests/integration", "agents/recordings/a.json", False, "agents"),
        ("/x/tests/integration", "responses/recordings/a.json", False, "responses"),
        ("/x/tests/integration", "providers/nvidia/recordings/a.json", False, "providers/nvidia"),
        ("/x/tests/integration", "recordings/responses/abc.json", True, "integration"),
        ("/x/responses/recordings", "a.json", False, "responses"),
        ("/x/inference/recordings", "a.json", False, "inference"),
        ("/x/recordings", "responses/abc.json", True, "x"),
        ("/x/suite", "a.json", False, "suite"),
        ("/", "a.json", False, ""),
    ],
)
def test_it_names_the_suite_by_the_folder_above_recordings(root, rel, legacy, suite):
    assert suite_of(rel, Path(root), legacy) == suite


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_keeps_every_streamed_tool_call_of_the_corpus_as_valid_json(corpus):
    import_paths([corpus], max_bytes=MAX)
    calls = ToolCall.objects.filter(recording__is_streaming=True, message_index=None)
    assert calls.count() > 10
    invalid = [
        (c.recording.path, c.name, c.arguments)
        for c in calls
        if not c.arguments_valid or not parsing.arguments_parse(c.arguments)
    ]
    assert invalid == []


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_reassembles_the_seed_recordings(corpus):
    import_paths([corpus / "responses"], max_bytes=MAX)
    texts = dict(
        Recording.objects.filter(file_name__regex=r"^(f2d3e4a2f61f|3dec1b35f0f0)").values_list(
            "request_hash", "response_text"
        )
    )
    assert {k[:12]: v for k, v in texts.items()} == {
        "f2d3e4a2f61f": "Currently, it is raining in San Francisco, while Los Angeles is "
        "experiencing cloudy weather. So, Los Angeles has better weather at the moment.",
        "3dec1b35f0f0": "The boiling point recorded in the 'boiling_point' experiment is 100°C.",
    }


@pytest.mark.django_db
def test_it_mirrors_a_recording_in_the_models(tree):
    report = import_paths([tree], max_bytes=MAX)
    assert report.line() == "imported 1, updated 0, unchanged 0, missing 0, failed 0"
    rec = Recording.objects.get()
    assert {
        "path": rec.path,
        "suite": rec.suite,
        "test_file": rec.test_file,
        "test_class": rec.test_class,
        "test_function": rec.test_function,
        "test_params": rec.test_params,
        "kind": rec.kind,
        "provider": rec.provider,
        "endpoint": rec.endpoint,
        "model": rec.model,
        "response_text": rec.response_text,
        "finish_reason": rec.finish_reason,
        "total_tokens": rec.total_tokens,
        "request_hash": rec.request_hash,
    } == {
        "path": "inference/recordings/" + "a" * 64 + ".json",
        "suite": "inference",
        "test_file": "tests/integration/inference/test_chat.py",
        "test_class": "TestChat",
        "test_function": "test_hello",
        "test_params": "txt=openai/gpt-4o",
        "kind": "inference",
        "provider": "openai",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o",
        "response_text": "Hi there",
        "finish_reason": "stop",
        "total_tokens": 5,
        "request_hash": "a" * 64,
    }
    assert list(Message.objects.values_list("role", "text")) == [("user", "Hello")]
    path = tree / rec.path
    assert bytes(Source.objects.get().data) == path.read_bytes()
    assert rec.size == path.stat().st_size
    assert rec.mtime_ns == path.stat().st_mtime_ns


@pytest.mark.django_db
def test_it_skips_unchanged_files_and_updates_changed_ones_in_place(tree):
    import_paths([tree], max_bytes=MAX)
    first = Recording.objects.get()
    assert import_paths([tree], max_bytes=MAX).line() == (
        "imported 0, updated 0, unchanged 1, missing 0, failed 0"
    )
    changed = {**GOOD, "test_id": "tests/t.py::test_renamed"}
    path = write(tree / first.path, changed)
    os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    assert import_paths([tree], max_bytes=MAX).line() == (
        "imported 0, updated 1, unchanged 0, missing 0, failed 0"
    )
    again = Recording.objects.get()
    assert (again.pk, again.path, again.test_function) == (first.pk, first.path, "test_renamed")
    assert bytes(Source.objects.get().data) == path.read_bytes()
    assert Message.objects.count() == 1  # children replaced, not duplicated
    # Touched but identical bytes: unchanged, and the new mtime remembered.
    os.utime(path, ns=(again.mtime_ns + 10**9, again.mtime_ns + 10**9))
    assert import_paths([tree], max_bytes=MAX).unchanged == 1
    assert Recording.objects.get().mtime_ns == path.stat().st_mtime_ns


@pytest.mark.django_db
def test_it_marks_vanished_files_missing_and_prunes_only_when_asked(tree):
    extra = write(tree / "agents" / "recordings" / ("b" * 64 + ".json"), GOOD)
    import_paths([tree], max_bytes=MAX)
    extra.unlink()
    assert import_paths([tree], max_bytes=MAX).line() == (
        "imported 0, updated 0, unchanged 1, missing 1, failed 0"
    )
    assert Recording.objects.filter(missing=True).count() == 1
    assert Recording.objects.count() == 2
    report = import_paths([tree], max_bytes=MAX, prune=True)
    assert (report.missing, report.pruned, Recording.objects.count()) == (1, 1, 1)
    # A file that comes back is no longer missing.
    write(extra, GOOD)
    assert import_paths([tree], max_bytes=MAX).imported == 1


BAD_FILES: dict[str, bytes] = {
    "empty.json": b"",
    "truncated.json": b'{"request": {"method": "POST", "url": "http://x',
    "malformed.json": b'{"request": {} "response": {}}',
    "array.json": b"[1, 2, 3]",
    "no_request.json": b'{"response": {"body": null}}',
    "no_response.json": b'{"request": {"method": "POST"}}',
    "latin1.json": b'{"request": {"x": "caf\xe9"}, "response": {}}',
    "deep.json": b"[" * 1500 + b"]" * 1500,
    "large.json": b'{"request": {}, "response": {"body": "' + b"x" * 4096 + b'"}}',
}

REASONS = {
    "empty.json": "empty file",
    "truncated.json": "truncated JSON (ends early at line 1 column 48)",
    "malformed.json": "malformed JSON (unexpected character, expected ',' or '}' at line 1 "
    "column 16)",
    "array.json": "wrong top-level type: expected an object, found an array",
    "no_request.json": "missing request",
    "no_response.json": "missing response",
    "latin1.json": "not UTF-8 (byte 22 is not valid UTF-8)",
    "deep.json": "nesting too deep (more than 1024 levels)",
    "large.json": "larger than --max-bytes (4137 > 4096 bytes)",
}


@pytest.mark.django_db
def test_it_reports_each_bad_file_and_still_imports_the_good_one(tree, capsys):
    bad = tree / "bad" / "recordings"
    for name, data in BAD_FILES.items():
        write(bad / name, data)
    unreadable = write(bad / "unreadable.json", orjson.dumps(GOOD))
    unreadable.chmod(0)
    is_root = os.geteuid() == 0  # root reads anything: make the file a dangling link instead
    if is_root:
        unreadable.unlink()
        unreadable.symlink_to(bad / "nowhere.json")

    with pytest.raises(SystemExit) as exit_status:
        call_command("import_recordings", str(tree), "--max-bytes", "4096")
    assert exit_status.value.code == 1

    out, err = capsys.readouterr()
    assert out.strip() == "imported 1, updated 0, unchanged 0, missing 0, failed 10"
    expected = {f"bad/recordings/{name}": reason for name, reason in REASONS.items()}
    expected["bad/recordings/unreadable.json"] = (
        "unreadable (No such file or directory)" if is_root else "unreadable (Permission denied)"
    )
    lines = dict(line.split(": ", 1) for line in err.strip().splitlines())
    assert lines == expected
    assert dict(ImportFailure.objects.values_list("path", "reason")) == expected
    assert Recording.objects.count() == 1

    # Mend one file: its error goes away on the next import.
    write(bad / "empty.json", GOOD)
    with pytest.raises(SystemExit):
        call_command("import_recordings", str(tree), "--max-bytes", "4096")
    assert not ImportFailure.objects.filter(path="bad/recordings/empty.json").exists()
    assert Recording.objects.filter(path="bad/recordings/empty.json").exists()


@pytest.mark.django_db
def test_it_exits_zero_and_says_so_when_nothing_changed(tree, capsys):
    call_command("import_recordings", str(tree))
    call_command("import_recordings", str(tree))
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "imported 1, updated 0, unchanged 0, missing 0, failed 0",
        "imported 0, updated 0, unchanged 1, missing 0, failed 0",
    ]


@pytest.mark.django_db
def test_it_imports_a_single_file_under_its_known_root(tree):
    import_paths([tree], max_bytes=MAX)
    single = write(tree / "inference" / "recordings" / ("c" * 64 + ".json"), GOOD)
    import_paths([single], max_bytes=MAX)
    assert sorted(Recording.objects.values_list("path", flat=True)) == [
        "inference/recordings/" + "a" * 64 + ".json",
        "inference/recordings/" + "c" * 64 + ".json",
    ]


@pytest.mark.django_db
def test_it_survives_symlink_loops(tree):
    (tree / "inference" / "loop").symlink_to(tree)
    report = import_paths([tree], max_bytes=MAX)
    assert (report.imported, report.failed) == (1, 0)


@pytest.mark.django_db
def test_it_stores_text_postgres_cannot_hold_and_keeps_the_bytes(tree):
    nul = {**GOOD, "test_id": "t.py::test_nul\u0000"}
    path = write(tree / "x" / "recordings" / "nul.json", nul)
    import_paths([tree], max_bytes=MAX)
    rec = Recording.objects.get(path="x/recordings/nul.json")
    assert rec.test_id == "t.py::test_nul\ufffd"
    assert bytes(Source.objects.get(pk=rec.source_id).data) == path.read_bytes()


@pytest.mark.django_db
def test_it_keeps_chunks_compactly_in_order(tmp_path):
    stream = {
        **GOOD,
        "response": {
            "is_streaming": True,
            "body": [
                {
                    "__type__": "x.ChatCompletionChunk",
                    "__data__": {"choices": [{"index": 0, "delta": {"content": word}}]},
                }
                for word in ("Hel", "lo", "!")
            ],
        },
    }
    write(tmp_path / "s" / "recordings" / "s.json", stream)
    import_paths([tmp_path], max_bytes=MAX)
    chunks = Stream.objects.get().chunks
    assert [c["content"] for c in chunks] == ["Hel", "lo", "!"]
    assert Recording.objects.get().response_text == "Hello!"


@pytest.mark.django_db
def test_it_imports_every_fixture_without_failure():
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    report = import_paths([fixtures], max_bytes=MAX)
    assert report.failed == 0, report.failures
    kinds = Counter(Recording.objects.values_list("kind", flat=True))
    assert set(kinds) == {"inference", "http_passthrough", "tool_invoke", "file_processor"}
    assert Recording.objects.filter(is_streaming=True).exists()
    assert Recording.objects.filter(legacy=True, has_timing=True).exists()
    assert Recording.objects.filter(is_exception=True).exists()
    assert Recording.objects.filter(embedding_dims__gt=0).exists()
    assert Recording.objects.exclude(listed_models=[]).exists()
    assert Message.objects.filter(image_count__gt=0).exists()
    assert ToolCall.objects.filter(answered_by__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_it_never_leaves_half_a_recording_when_interrupted(tree, monkeypatch):
    write(tree / "agents" / "recordings" / ("b" * 64 + ".json"), GOOD)

    write_rows = batches.write_rows

    def interrupted(model, objects):
        if model is Message:
            raise KeyboardInterrupt  # Ctrl-C while the batch's messages are being written
        write_rows(model, objects)

    monkeypatch.setattr(batches, "write_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_paths([tree], max_bytes=MAX)
    assert Recording.objects.count() == 0
    assert Source.objects.count() == 0
    monkeypatch.undo()
    assert import_paths([tree], max_bytes=MAX).imported == 2


# --------------------------------------------------------------------------- at scale


def legacy_index(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A 2025 `index.sqlite` with one (request_hash, response_file, timestamp) row each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as index:
        index.execute(
            "CREATE TABLE recordings (request_hash TEXT PRIMARY KEY, response_file TEXT,"
            " endpoint TEXT, model TEXT, timestamp TEXT, is_streaming BOOLEAN)"
        )
        index.executemany(
            "INSERT INTO recordings VALUES (?, ?, '/api/generate', 'llama3.2:3b', ?, 0)", rows
        )
    index.close()
    return path


@pytest.fixture
def small_batches(monkeypatch):
    """Batches, lookups and sweeps of a few files, so that a dozen files cross every boundary."""
    monkeypatch.setattr(importer, "BATCH_FILES", 3)
    monkeypatch.setattr(importer, "LOOKUP_FILES", 4)
    monkeypatch.setattr(importer, "SWEEP_IDS", 2)


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """13 recordings in four folders, 5 of them in the legacy layout with an index."""
    for suite, count in (("agents", 2), ("inference", 3), ("safety", 3)):
        for n in range(count):
            write(tmp_path / suite / "recordings" / f"{suite[0] * 63}{n}.json", GOOD)
    rows = [(f"{n}" * 64, f"{n}{'b' * 11}.json", f"2025-07-29 23:2{n}:00") for n in range(6)]
    legacy_index(tmp_path / "legacy" / "index.sqlite", rows)
    legacy = {**GOOD, "test_id": None}
    for n in range(5):  # row 5 points to a missing file
        write(tmp_path / "legacy" / "responses" / f"{n}{'b' * 11}.json", legacy)
    return tmp_path


def stored(root: Path) -> dict[str, tuple]:
    return {
        r.path: (r.missing, r.legacy_request_hash[:1], r.size == (root / r.path).stat().st_size)
        for r in Recording.objects.all()
    }


@pytest.mark.django_db
def test_it_imports_and_resyncs_many_files_in_small_batches(many, small_batches):
    files = sorted(p.relative_to(many).as_posix() for p in many.rglob("*.json"))
    report = import_paths([many], max_bytes=MAX)
    assert report.line() == "imported 13, updated 0, unchanged 0, missing 0, failed 0"
    hashes = {p: p[len("legacy/responses/")] if p.startswith("legacy/") else "" for p in files}
    assert stored(many) == {p: (False, hashes[p], True) for p in files}
    assert Source.objects.count() == Message.objects.count() == 13
    assert sorted(Recording.objects.values_list("path", flat=True)) == files
    assert import_paths([many], max_bytes=MAX).line() == (
        "imported 0, updated 0, unchanged 13, missing 0, failed 0"
    )

    # Five files go, one changes, one is touched, one turns bad: each one is seen as such.
    gone = files[0:2] + files[5:7] + files[-1:]
    for rel in gone:
        (many / rel).unlink()
    write(many / files[2], {**GOOD, "test_id": "t.py::test_changed"})
    os.utime(many / files[3], ns=(10**18, 10**18))
    write(many / files[4], b"{")
    report = import_paths([many], max_bytes=MAX)
    assert report.line() == "imported 0, updated 1, unchanged 6, missing 5, failed 1"
    assert sorted(Recording.objects.filter(missing=True).values_list("path", flat=True)) == gone
    assert Recording.objects.get(path=files[2]).test_function == "test_changed"
    assert Recording.objects.get(path=files[3]).mtime_ns == 10**18
    assert list(ImportFailure.objects.values_list("path", flat=True)) == [files[4]]

    # The bad file mended (as it was), the missing ones pruned: no failure left, 8 recordings.
    write(many / files[4], GOOD)
    report = import_paths([many], max_bytes=MAX, prune=True)
    assert (report.line(), report.pruned) == (
        "imported 0, updated 0, unchanged 8, missing 5, failed 0",
        5,
    )
    assert sorted(Recording.objects.values_list("path", flat=True)) == sorted(
        set(files) - set(gone)
    )
    assert not ImportFailure.objects.exists()
    assert Source.objects.count() == Message.objects.count() == 8


@pytest.mark.django_db
def test_it_forgets_the_failure_of_a_file_that_is_gone(tree):
    bad = write(tree / "bad" / "recordings" / "bad.json", b"{")
    assert import_paths([tree], max_bytes=MAX).failed == 1
    assert ImportFailure.objects.count() == 1
    bad.unlink()
    assert import_paths([tree], max_bytes=MAX).line() == (
        "imported 0, updated 0, unchanged 1, missing 0, failed 0"
    )
    assert not ImportFailure.objects.exists()


@pytest.mark.django_db
def test_it_keeps_a_legacy_index_and_its_rows_and_rewrites_it_only_when_it_changes(many):
    path = many / "legacy" / "index.sqlite"
    import_paths([many], max_bytes=MAX)
    index = LegacyIndex.objects.get()
    with sqlite3.connect(path) as source:
        source.row_factory = sqlite3.Row
        rows = [dict(row) for row in source.execute("SELECT * FROM recordings")]
    source.close()
    assert (index.path, bytes(index.data), index.rows, index.missing) == (
        "legacy/index.sqlite",
        path.read_bytes(),
        rows,
        False,
    )
    assert Recording.objects.get(path="legacy/responses/3bbbbbbbbbbb.json").legacy_timestamp == (
        "2025-07-29 23:23:00"
    )

    # Unchanged (same size and mtime): not written again.
    with CaptureQueriesContext(connection) as queries:
        import_paths([many], max_bytes=MAX)
    writes = [q["sql"] for q in queries if '"data"' in q["sql"] and "SELECT" not in q["sql"]]
    assert writes == []

    with sqlite3.connect(path) as source:
        source.execute("UPDATE recordings SET timestamp = 'later'")
    source.close()
    import_paths([many], max_bytes=MAX)
    assert {row["timestamp"] for row in LegacyIndex.objects.get().rows} == {"later"}
    assert bytes(LegacyIndex.objects.get().data) == path.read_bytes()

    path.unlink()
    import_paths([many], max_bytes=MAX)
    assert LegacyIndex.objects.get().missing


@pytest.mark.django_db
def test_it_reports_an_unreadable_legacy_index_and_still_imports_its_files(many):
    (many / "legacy" / "index.sqlite").write_bytes(b"not a database")
    report = import_paths([many], max_bytes=MAX)
    assert (report.imported, report.failures) == (
        13,
        [("legacy/index.sqlite", "unreadable legacy index (file is not a database)")],
    )
    assert not Recording.objects.exclude(legacy_request_hash="").exists()


@pytest.mark.django_db
def test_it_counts_progress_over_the_recordings_only(many):
    calls: list[tuple[int, int]] = []
    import_paths([many], max_bytes=MAX, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 13) for n in range(1, 14)]


def test_it_walks_folder_by_folder_in_name_order(tmp_path):
    for rel in ("b/x.json", "a/z.json", "a/c/y.json", "a/y.txt", "a/index.sqlite", ".git/x.json"):
        write(tmp_path / rel, b"{}")
    assert [p.removeprefix(f"{tmp_path}/") for p in walk(str(tmp_path))] == [
        "a/index.sqlite",
        "a/z.json",
        "a/c/y.json",
        "b/x.json",
    ]


@pytest.mark.django_db
def test_it_gives_ids_in_import_order_and_later_rows_come_after(many, small_batches):
    """The list's newest-first order is the id's: ids follow the walk, batch after batch
    (PostgreSQL reserves them from the sequence for COPY), and rows added later get higher
    ones."""
    import_paths([many], max_bytes=MAX)
    walked = [str(Path(p).relative_to(many)) for p in walk(str(many)) if p.endswith(".json")]
    by_id = list(Recording.objects.order_by("id").values_list("path", flat=True))
    assert len(by_id) == 13
    assert by_id == walked
    last = Recording.objects.order_by("id").last()
    write(many / "z" / "recordings" / ("f" * 64 + ".json"), GOOD)
    import_paths([many], max_bytes=MAX)
    newest = Recording.objects.order_by("id").last()
    assert newest.path == "z/recordings/" + "f" * 64 + ".json"
    assert newest.pk > last.pk
    assert newest.messages.count() == 1  # children found by the reserved id


@pytest.mark.django_db
def test_it_leaves_nothing_of_a_batch_for_the_garbage_collector(many):
    """Bytes and chunks held in reference cycles wait for a full collection: on a big import
    that was tens of MB, growing with the number of files."""
    gc.collect()
    gc.disable()
    try:
        import_paths([many], max_bytes=MAX)
        alive = [o for o in gc.get_objects() if type(o) in {Recording, Source, Stream, Message}]
    finally:
        gc.enable()
    assert alive == []
