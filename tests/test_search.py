from __future__ import annotations

import pytest
from django.core.management.color import no_style
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


def test_it_matches_quotes_and_the_ends_of_long_words(tmp_path):
    """On SQLite the index is asked for the trigrams that cover a word side by side (FTS5
    query syntax: quotes doubled), then each candidate's text is checked."""
    test_id = 'tests/t.py::test_say["hi" and "bye"]'
    write(tmp_path / "q" / "recordings" / f"{7:064x}.json", {**GOOD, "test_id": test_id})
    import_paths([tmp_path], max_bytes=10**6)
    assert search.covering_trigrams("inference") == ["inf", "ere", "nce"]
    assert search.covering_trigrams("gpt-4o") == ["gpt", "-4o"]
    assert search.covering_trigrams("k0042") == ["k00", "042"]
    for word in ['"hi"', 'say["hi" and "bye"]', '"bye', "0000000000000000000000007.json"]:
        assert found(word) == [test_id], word
        assert search.newest([word], 0, 5) == [Recording.objects.get().pk], word
    assert found('"hi" and "byeX') == []


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
            # Three rows: a scan would win. Leave the planner only indexes it can search with.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = qs.query.sql_with_params()
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "VIRTUAL TABLE INDEX" in plan
    else:
        # One trigram index per partition of the search table (migration 0007).
        assert "Bitmap Index Scan on inspector_recording_search_p" in plan


@pytest.fixture
def many(tmp_path):
    """60 recordings in three suites, imported one suite after another (as a folder walk does),
    so that the oldest third is the only one holding "alpha"."""
    for number in range(60):
        suite = ["alpha", "beta", "gamma"][number // 20]
        test_id = f"tests/integration/{suite}/test_x.py::test_case_{number:02d}[n={number % 7}]"
        write(tmp_path / suite / "recordings" / f"{number:064x}.json", {**GOOD, "test_id": test_id})
        import_paths([tmp_path / suite], max_bytes=10**6)
    return tmp_path


def newest_by_orm(words: list[str]) -> list[int]:
    qs = Recording.objects.all()
    for word in words:
        qs = qs.filter(search.contains(word))
    return list(qs.order_by("-id").values_list("id", flat=True))


@pytest.fixture
def spread(many):
    """The same 60 recordings again, newest first, on ids 5,000 apart: on PostgreSQL most fall
    alone in a partition of the search table, some partitions are empty, the oldest holds all
    60 originals."""
    copies = []
    for number, recording in enumerate(Recording.objects.order_by("-id")):
        recording.pk = 100_000 + number * 5000
        recording.path = f"copy/{recording.path}"
        copies.append(recording)
    Recording.objects.bulk_create(copies)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [search.TABLE]
            )
            assert cursor.fetchone()[0] > 30
    return many


WORDS = [
    ["alpha"], ["test_case"], ["gamma", "n=3"], ["beta", "zzz"], ["x.py::test_case_0"], ["N=6]"],
    # Four words: the index takes three, the fourth is checked on the rows it finds.
    ["integration", "x.py", "test_case_1", "n=2]"],
    # Its pieces (alp, ha/, tes, t_case) are all in the alpha rows, in that order; it is not.
    ["alpha/test_case"],
]  # fmt: skip


@pytest.mark.parametrize("words", WORDS)
@pytest.mark.parametrize("rows", ["many", "spread"])
def test_it_lists_a_page_of_matches_newest_first_from_the_index(request, rows, words):
    request.getfixturevalue(rows)
    everything = newest_by_orm(words)
    assert search.newest(words, 0, 200) == everything
    assert search.newest(words, 0, 7) == everything[:7]
    assert search.newest(words, 7, 14) == everything[7:14]
    assert search.newest(words, 25, 45) == everything[25:45]
    assert search.newest(words, 200, 250) == []


def test_it_leaves_short_words_to_a_scan(many):
    assert search.newest(["alpha", "n="], 0, 10) is None
    assert search.newest([], 0, 10) is None


def test_it_empties_the_index_with_the_table(many):
    """Django's flush (between tests, `manage.py flush`) truncates tables on PostgreSQL: the
    shadow table must follow, or a new recording could reuse an old id's search text."""
    tables = [Recording._meta.db_table, *connection.introspection.django_table_names()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # as outside this test's transaction
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in connection.ops.sql_flush(no_style(), tables, allow_cascade=True):
            cursor.execute(sql)
        cursor.execute(f"SELECT count(*) FROM {search.TABLE}")
        assert cursor.fetchone() == (0,)
    assert search.newest(["alpha"], 0, 10) == []


def segments() -> int:
    """SQLite: how many segments the search index's FTS5 table is in."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT segid) FROM {search.TABLE}_idx")
        return cursor.fetchone()[0]


def test_a_large_import_leaves_the_index_merged_and_a_small_one_leaves_it_be(tmp_path):
    """Three imports, each writing at least a tenth of the rows, then one writing a thirty-first:
    on SQLite the first three merge FTS5's segments into one (a page newest first reads every
    segment), the last does not pay for merging the whole index. The searches find the same
    either way; PostgreSQL has nothing to merge."""
    for batch in range(3):
        for number in range(10):
            test_id = f"tests/t{batch}.py::test_case_{number:02d}_ab12cd34ef"
            write(
                tmp_path / f"s{batch}" / "recordings" / f"{batch}{number:063x}.json",
                {**GOOD, "test_id": test_id},
            )
        import_paths([tmp_path / f"s{batch}"], max_bytes=10**6)
        if connection.vendor == "sqlite":
            assert segments() == 1, batch
    write(
        tmp_path / "s3" / "recordings" / f"3{0:063x}.json",
        {**GOOD, "test_id": "t3.py::test_case_ab12cd34ef"},
    )
    assert search.compact(1) is False  # one row written: too few
    import_paths([tmp_path / "s3"], max_bytes=10**6)
    if connection.vendor == "sqlite":
        assert segments() == 2
    assert search.newest(["_ab12cd34ef"], 0, 100) == newest_by_orm(["_ab12cd34ef"])
    assert len(search.newest(["test_case_0"], 0, 100)) == 30
    assert search.compact(100) is (connection.vendor == "sqlite")
    if connection.vendor == "sqlite":
        assert segments() == 1
