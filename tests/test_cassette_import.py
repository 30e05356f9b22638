"""The shared corpus's cassettes imported as sources and exchanges, on either database: no
failure, as many exchanges per file as its MANIFEST.tsv says, every file's bytes given back."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import orjson
import pytest
import yaml

from inspector.exporting import export_to
from inspector.importer import import_paths
from inspector.models import Recording, Source

MAX = 64 * 1024 * 1024


@pytest.fixture
def cassettes_imported(db, cassette_corpus: Path) -> list[dict[str, str]]:
    report = import_paths([cassette_corpus], max_bytes=MAX)
    assert report.failures == []
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert report.imported == len(rows) == 792
    return rows


def test_every_cassette_imports_with_its_exchanges_in_order(cassettes_imported):
    counts = dict(Source.objects.values_list("path", "exchange_count"))
    assert counts == {row["path"]: int(row["exchanges"]) for row in cassettes_imported}
    assert Recording.objects.count() == sum(int(r["exchanges"]) for r in cassettes_imported)
    assert set(Source.objects.values_list("format", flat=True)) == {"vcr"}
    streamed = Recording.objects.filter(is_streaming=True).count()
    assert streamed == sum(int(r["sse_exchanges"]) for r in cassettes_imported) == 442
    # Exchange n of a cassette is at `<its path without extension>/<n>`, n from 1.
    row = next(r for r in cassettes_imported if int(r["exchanges"]) >= 3)
    stem = row["path"].removesuffix(".yaml")
    exchanges = Recording.objects.filter(source__path=row["path"]).order_by("index")
    assert [(e.index, e.path) for e in exchanges] == [
        (n, f"{stem}/{n + 1}") for n in range(int(row["exchanges"]))
    ]
    hosts = {h for h in row["hosts"].split(",") if h}
    assert {e.base_url.split("://")[-1] for e in exchanges} <= hosts


def test_a_cassettes_exchanges_carry_its_test(cassettes_imported):
    folder = "mirascope/tests/e2e/input/cassettes/test_authentication_error"
    exchange = Recording.objects.get(source__path=f"{folder}/openai_gpt_4o_completions.yaml")
    assert exchange.test_function == "test_authentication_error"
    assert exchange.test_params == "openai_gpt_4o_completions"
    assert exchange.provider == "openai"
    assert exchange.endpoint == "/v1/chat/completions"
    assert exchange.suite == "mirascope/tests/e2e/input"
    assert exchange.status == 401
    assert exchange.is_exception


def test_export_gives_back_every_cassettes_bytes(cassettes_imported, cassette_corpus, tmp_path):
    written, same = export_to(tmp_path, {}, overwrite=False)
    assert (written, same) == (792, 0)
    for row in cassettes_imported:
        assert (tmp_path / row["path"]).read_bytes() == (cassette_corpus / row["path"]).read_bytes()


@pytest.mark.django_db
def test_a_cassette_changed_or_gone_is_written_again_or_marked(tmp_path):
    def cassette(*contents: str) -> bytes:
        def user(text: str) -> dict:
            return {"role": "user", "content": text}

        def answer(text: str) -> dict:
            return {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}

        interactions = [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/chat/completions",
                    "body": orjson.dumps({"model": "gpt-4o", "messages": [user(c)]}).decode(),
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": orjson.dumps({"choices": [answer(f"re: {c}")]}).decode()},
                },
            }
            for c in contents
        ]
        return yaml.safe_dump({"interactions": interactions, "version": 1}).encode()

    path = tmp_path / "tests" / "cassettes" / "test_mod" / "test_a.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(cassette("one", "two"))
    (tmp_path / "tests" / "config.yaml").write_text("interactions_are: not a cassette\n")
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.failed, report.skipped) == (1, 0, 1)
    first = list(Recording.objects.order_by("index").values_list("id", "response_text"))
    assert [text for _, text in first] == ["re: one", "re: two"]

    path.write_bytes(cassette("uno", "dos", "tres"))
    assert import_paths([tmp_path], max_bytes=MAX).updated == 1
    again = list(Recording.objects.order_by("index").values_list("id", "response_text"))
    assert [text for _, text in again] == ["re: uno", "re: dos", "re: tres"]
    assert [pk for pk, _ in again[:2]] == [pk for pk, _ in first]  # rewritten in place

    path.write_bytes(cassette("solo"))
    assert import_paths([tmp_path], max_bytes=MAX).updated == 1
    assert list(Recording.objects.values_list("path", "response_text")) == [
        ("tests/cassettes/test_mod/test_a/1", "re: solo")
    ]

    gz = path.with_name("test_b.yaml.gz")
    gz.write_bytes(gzip.compress(cassette("zipped")))
    path.unlink()
    report = import_paths([tmp_path], max_bytes=MAX)
    assert (report.imported, report.missing) == (1, 1)
    assert Recording.objects.get(path="tests/cassettes/test_mod/test_a/1").missing
    assert Recording.objects.get(path="tests/cassettes/test_mod/test_b/1").response_text == (
        "re: zipped"
    )


@pytest.mark.django_db
def test_a_key_in_a_url_is_masked_before_it_is_stored(tmp_path):
    key = "AIzaSyD-live-looking-key-0123456789"
    interaction = {
        "request": {
            "method": "POST",
            "uri": f"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?alt=json&key={key}",
            "body": orjson.dumps(
                {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
            ).decode(),
            "headers": {"x-goog-api-key": [key]},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"]},
            "body": {
                "string": orjson.dumps(
                    {"candidates": [{"content": {"role": "model", "parts": [{"text": "hello"}]}}]}
                ).decode()
            },
        },
    }
    path = tmp_path / "cassettes" / "test_gemini.yaml"
    path.parent.mkdir()
    path.write_bytes(yaml.safe_dump({"interactions": [interaction], "version": 1}).encode())
    assert import_paths([tmp_path], max_bytes=MAX).imported == 1
    exchange = Recording.objects.get()
    assert exchange.provider == "gemini"
    assert exchange.response_text == "hello"
    stored = orjson.dumps(list(Recording.objects.values())).decode()
    assert key not in stored
    assert "alt=json" in exchange.url
    assert bytes(Source.objects.get().data) == path.read_bytes()  # the export keeps the bytes
