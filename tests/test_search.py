from __future__ import annotations

import pytest
from django.db import connection

from inspector import search
from inspector.importer import import_paths
from inspector.models import Recording
from tests.test_import_recordings import GOOD, write

pytestmark = pytest.mark.django_db

TEST_IDS = [
    "tests/integration/inference/test_chat.py::TestChat::test_ordering[txt=openai/gpt-4o]",
    "tests/integration/inference/test_chat.py::TestChat::test_ordering[txt=ollama/llama3.2:3b]",
    "tests/integration/agents/test_agents.py::test_tools[client_with_models-*odd?[x]_50%]",
]


@pytest.fixture
def tree(tmp_path):
    for number, test_id in enumerate(TEST_IDS):
        write(tmp_path / "s" / "recordings" / f"{number:064x}.json", {**GOOD, "test_id": test_id})
    import_paths([tmp_path], max_bytes=10**6)
    return tmp_path


def found(word: str) -> list[str]:
    return sorted(Recording.objects.filter(search.contains(word)).values_list("test_id", flat=True))


def test_it_matches_substrings_of_test_ids_and_paths_whatever_the_case(tree):
    assert found("ORDERING") == sorted(TEST_IDS[:2])
    assert found("gpt-4o") == [TEST_IDS[0]]
    assert found("Llama3.2:3b]") == [TEST_IDS[1]]
    assert found("0000000000000002") == [TEST_IDS[2]]  # a piece of the file name
    assert found("zz-not-there") == []


@pytest.mark.parametrize("word", ["*odd?", "[x]", "_50%", "?[x", "%]"])
def test_it_treats_wildcards_in_words_as_plain_characters(tree, word):
    assert found(word) == [TEST_IDS[2]]


def test_it_matches_short_words_too(tree):
    assert found("3b") == [TEST_IDS[1]]
    assert found("_") == sorted(TEST_IDS)  # every path has one


def test_it_keeps_the_index_in_step_with_changes(tree):
    rec = Recording.objects.get(test_id=TEST_IDS[0])
    Recording.objects.filter(pk=rec.pk).update(search="renamed/test_other.py a.json")
    assert found("gpt-4o") == []
    assert Recording.objects.filter(search.contains("test_other")).get().pk == rec.pk
    rec.delete()
    assert Recording.objects.filter(search.contains("test_other")).count() == 0


def test_it_uses_a_trigram_index(tree):
    qs = Recording.objects.filter(search.contains("ordering"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # three rows: make the planner show it
        sql, params = qs.query.sql_with_params()
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "VIRTUAL TABLE INDEX" in plan
    else:
        assert "recording_search_trgm_idx" in plan
