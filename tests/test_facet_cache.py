from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspector.importer import import_paths
from inspector.models import ImportRoot
from tests.test_import_recordings import GOOD, write
from tests.test_index import facet_counts

pytestmark = pytest.mark.django_db

MAX = 10**6


def recording(model: str) -> dict:
    return {**GOOD, "request": {**GOOD["request"], "model": model}}


def counts(client, **params: str) -> dict[str, dict[str, int]]:
    """Each facet's counts as /facets shows them; facets without any value are empty."""
    found = facet_counts(client.get("/facets", params).content.decode())
    return {name: found.get(name, {}) for name in ("suite", "model", "streaming")}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    folder = tmp_path / "inference" / "recordings"
    write(folder / ("a" * 64 + ".json"), recording("gpt-4o"))
    write(folder / ("b" * 64 + ".json"), recording("gpt-4o"))
    import_paths([tmp_path], max_bytes=MAX)
    return folder


def test_it_serves_repeated_counts_from_the_cache(client, tree, django_assert_num_queries):
    chosen = {"q": "hello", "suite": "inference"}
    with CaptureQueriesContext(connection) as counting:
        first = client.get("/facets", {**chosen, "_sort": "size"}).content
    assert len(counting) >= 3  # the version, the selection, the one without the chosen suite
    # The data's version, and nothing else: neither scan runs again. Sort and page size do not
    # change the counts, so they share them.
    with django_assert_num_queries(1):
        again = client.get("/facets", {**chosen, "_sort": "-tokens", "_size": "10"})
    assert again.content.replace(b"-tokens", b"size").replace(b"&amp;_size=10", b"") == first
    # The page's own facets (without JavaScript) too: one query more than the page alone.
    with CaptureQueriesContext(connection) as alone:
        client.get("/", {**chosen, "_sort": "size"})
    with django_assert_num_queries(len(alone) + 1):
        client.get("/", {**chosen, "_facets": "on", "_sort": "size"})


def test_it_counts_each_selection_apart(client, tree):
    write(tree / ("c" * 64 + ".json"), recording("llama3"))
    import_paths([tree.parents[1]], max_bytes=MAX)
    assert counts(client)["model"] == {"gpt-4o": 2, "llama3": 1}
    assert counts(client, model="llama3")["model"] == {"gpt-4o": 2, "llama3": 1}
    assert counts(client, model="llama3")["suite"] == {"inference": 1}
    assert counts(client, q="zzqx9")["model"] == {}


def test_it_counts_a_file_added_at_once_after_its_import(client, tree):
    assert counts(client)["model"] == {"gpt-4o": 2}
    write(tree / ("c" * 64 + ".json"), recording("llama3"))
    import_paths([tree.parents[1]], max_bytes=MAX)
    assert counts(client)["model"] == {"gpt-4o": 2, "llama3": 1}


def test_it_counts_a_file_changed_at_once_after_its_import(client, tree):
    assert counts(client, q="hello")["model"] == {"gpt-4o": 2}
    write(tree / ("a" * 64 + ".json"), recording("llama3"))
    import_paths([tree / ("a" * 64 + ".json")], max_bytes=MAX)  # one file, under its root
    assert counts(client, q="hello")["model"] == {"gpt-4o": 1, "llama3": 1}


def test_it_counts_a_file_removed_at_once_after_its_import(client, tree):
    assert counts(client)["model"] == {"gpt-4o": 2}
    assert counts(client, status="missing")["model"] == {}
    (tree / ("a" * 64 + ".json")).unlink()
    import_paths([tree.parents[1]], max_bytes=MAX)  # marked missing
    assert counts(client, status="missing")["model"] == {"gpt-4o": 1}
    import_paths([tree.parents[1]], max_bytes=MAX, prune=True)
    assert counts(client)["model"] == {"gpt-4o": 1}


def test_it_sees_an_import_made_by_another_process(client, tree):
    """What another server process or `import_recordings` leaves is the database alone: an
    import's end, its root's `last_import`, is what the counts are keyed on."""
    assert counts(client)["model"] == {"gpt-4o": 2}
    write(tree / ("c" * 64 + ".json"), recording("llama3"))
    import_paths([tree.parents[1]], max_bytes=MAX)
    import_paths([tree.parents[1]], max_bytes=MAX)  # nothing changed: still counted again
    assert counts(client)["model"] == {"gpt-4o": 2, "llama3": 1}
    from inspector.models import Recording

    Recording.objects.filter(model="llama3").update(model="mistral")  # as an import would
    assert counts(client)["model"] == {"gpt-4o": 2, "llama3": 1}  # not announced yet
    ImportRoot.objects.update(last_import=timezone.now())
    assert counts(client)["model"] == {"gpt-4o": 2, "mistral": 1}


def test_it_counts_a_first_import_once_it_ends(client, tree):
    """A root's first import changes the counts once, at its end: not again at its start."""
    from inspector.models import Recording

    assert counts(client)["model"] == {"gpt-4o": 2}
    root = ImportRoot.objects.create(path=str(tree.parents[2] / "elsewhere"))  # under way
    row = Recording.objects.first()
    row.pk, row.root, row.model = None, root, "llama3"
    row.save()
    assert counts(client)["model"] == {"gpt-4o": 2}
    ImportRoot.objects.filter(pk=root.pk).update(last_import=timezone.now())
    assert counts(client)["model"] == {"gpt-4o": 2, "llama3": 1}
