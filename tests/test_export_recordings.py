from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspector.importer import import_paths

MAX = 64 * 1024 * 1024


def files_under(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()
    }


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_exports_every_corpus_file_byte_for_byte(corpus, tmp_path, capsys):
    import_paths([corpus], max_bytes=MAX)
    out = tmp_path / "out"
    call_command("export_recordings", str(out))
    assert capsys.readouterr().out.strip() == f"exported 271 files to {out}"
    original = files_under(corpus)
    exported = files_under(out)
    assert sorted(exported) == sorted(original)
    assert [p for p in original if original[p] != exported[p]] == []


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_serves_every_corpus_file_byte_for_byte(corpus, client):
    import_paths([corpus], max_bytes=MAX)
    for path in sorted(corpus.rglob("*.json")):
        rel = path.relative_to(corpus).as_posix()
        response = client.get(f"/r/{rel}")
        assert response.status_code == 200, rel
        assert response["Content-Type"] == "application/json"
        assert response.content == path.read_bytes(), rel


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_exports_a_filtered_selection(corpus, tmp_path):
    import_paths([corpus], max_bytes=MAX)
    out = tmp_path / "out"
    call_command("export_recordings", str(out), "--suite", "agents")
    exported = files_under(out)
    assert exported == {
        rel: data for rel, data in files_under(corpus).items() if rel.startswith("agents/")
    }


@pytest.mark.django_db
def test_it_refuses_to_overwrite_a_different_file(tmp_path):
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    import_paths([fixtures], max_bytes=MAX)
    out = tmp_path / "out"
    call_command("export_recordings", str(out))
    victim = next(p for p in out.rglob("*.json"))
    victim.write_bytes(b"{}")

    with pytest.raises(CommandError, match="already exists"):
        call_command("export_recordings", str(out))
    assert victim.read_bytes() == b"{}"
    call_command("export_recordings", str(out), "--overwrite")
    recordings = {
        rel: data
        for rel, data in files_under(fixtures).items()
        if rel.endswith((".json", "index.sqlite"))
    }
    assert files_under(out) == recordings


@pytest.mark.django_db
def test_it_keeps_big_files_compressed_and_whole(tmp_path, client):
    """A 2 MB stream: stored compressed (lz4 on PostgreSQL, whose pglz took a sixth of an
    import), given back byte for byte, chunks included."""
    from django.db import connection

    from inspector.models import Source, Stream
    from tests.test_import_recordings import GOOD, write

    chunk = {
        "choices": [{"index": 0, "delta": {"content": "word "}}],
        "object": "chat.completion.chunk",
    }
    document = {
        **GOOD,
        "response": {
            "body": [
                {
                    "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
                    "__data__": chunk,
                }
            ]
            * 20_000,
            "is_streaming": True,
        },
    }
    path = write(tmp_path / "s" / "recordings" / ("c" * 64 + ".json"), document)
    assert import_paths([tmp_path], max_bytes=MAX).imported == 1
    assert client.get("/r/s/recordings/" + "c" * 64 + ".json").content == path.read_bytes()
    assert len(Stream.objects.get().chunks) == 20_000
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_column_compression(data) FROM inspector_source")
            assert cursor.fetchone() == ("lz4",)
            cursor.execute("SELECT pg_column_compression(chunks) FROM inspector_stream")
            assert cursor.fetchone() == ("lz4",)
    else:
        assert len(Source.objects.get().data) == path.stat().st_size
