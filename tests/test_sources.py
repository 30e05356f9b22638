"""Files are sources, recordings their exchanges: what migration 0012 does to a database
imported before, and what a re-import does to a file whose exchanges changed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from inspector.importer import import_paths
from inspector.models import Recording, Source
from tests.bad_files import dump
from tests.test_import_recordings import GOOD, MAX

BEFORE = [("inspector", "0011_provider_base_url")]
AFTER = [("inspector", "0012_sources")]


@pytest.mark.django_db(transaction=True)
def test_migrating_moves_each_recordings_bytes_to_a_source_of_its_own():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    root = old.get_model("inspector", "ImportRoot").objects.create(path="/tmp/tree")
    common = {"root": root, "sha256": "0" * 64, "size": 2, "mtime_ns": 5, "kind": "inference"}
    Recording_ = old.get_model("inspector", "Recording")
    current = Recording_.objects.create(**common, path="s/recordings/a.json", file_name="a.json")
    legacy = Recording_.objects.create(
        **common, path="recordings/responses/b.json", file_name="b.json", legacy=True
    )
    unstored = Recording_.objects.create(**common, path="s/recordings/c.json", file_name="c.json")
    Blob = old.get_model("inspector", "Blob")
    Blob.objects.create(recording=current, data=b"{}")
    Blob.objects.create(recording=legacy, data=b"[]")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        new = executor.loader.project_state(AFTER).apps
        rows = new.get_model("inspector", "Recording").objects.order_by("path")
        found = [
            (r.path, r.format, r.index, r.source.path, r.source.format, bytes(r.source.data))
            for r in rows.select_related("source")
        ]
        assert found == [
            (
                "recordings/responses/b.json",
                "llama-stack-legacy",
                0,
                "recordings/responses/b.json",
                "llama-stack-legacy",
                b"[]",
            ),
            ("s/recordings/a.json", "llama-stack", 0, "s/recordings/a.json", "llama-stack", b"{}"),
            # Its blob was gone: the source holds no bytes, and its page says so.
            ("s/recordings/c.json", "llama-stack", 0, "s/recordings/c.json", "llama-stack", b""),
        ]
        assert unstored.pk in rows.values_list("id", flat=True)
        source = new.get_model("inspector", "Source").objects.get(path="s/recordings/a.json")
        assert (source.size, source.sha256, source.mtime_ns, source.exchange_count) == (
            2,
            "0" * 64,
            5,
            1,
        )
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_a_recording_file_is_a_source_of_one_exchange(tmp_path):
    path = tmp_path / "s" / "recordings" / "a.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(dump(GOOD))
    assert import_paths([tmp_path], max_bytes=MAX).imported == 1
    recording = Recording.objects.select_related("source").get()
    assert (recording.index, recording.format, recording.path) == (
        0,
        "llama-stack",
        "s/recordings/a.json",
    )
    assert bytes(recording.source.data) == path.read_bytes()
    assert recording.source.path == "s/recordings/a.json"

    # Changed in place: same source, same recording row.
    path.write_bytes(dump(GOOD | {"test_id": "t.py::test_other"}))
    assert import_paths([tmp_path], max_bytes=MAX).updated == 1
    again = Recording.objects.get()
    assert (again.pk, again.source_id, again.test_id) == (
        recording.pk,
        recording.source_id,
        "t.py::test_other",
    )

    path.unlink()
    assert import_paths([tmp_path], max_bytes=MAX).missing == 1
    assert Source.objects.get().missing
    assert Recording.objects.get().missing
    assert import_paths([tmp_path], max_bytes=MAX, prune=True).pruned == 1
    assert not Source.objects.exists()
    assert not Recording.objects.exists()
