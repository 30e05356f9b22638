from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspector.importer import import_paths

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


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


# The command's options for the list's facets, and the column each narrows.
FACET_COLUMNS = {
    "suite": "suite",
    "file": "test_file",
    "endpoint": "endpoint",
    "model": "model",
    "provider": "provider",
    "format": "format",
    "verdict": "name_verdict",
}


def listed_files(client, query: str) -> set[str]:
    """The paths of the files the list shows for `query` (every page of them)."""
    found: set[str] = set()
    url = f"/recordings.json?group=source&_size=500&{query}"
    while url:
        body = client.get(url).json()
        found |= {source["path"] for source in body["sources"]}
        url = body["next"]
    return found


@pytest.mark.django_db
def test_it_selects_what_the_list_shows_for_each_facet(fixture_recordings, client, tmp_path):
    from inspector.models import Recording

    for option, column in FACET_COLUMNS.items():
        values = sorted(
            set(Recording.objects.exclude(**{column: ""}).values_list(column, flat=True))
        )
        assert values, option
        # The last value alone, then the first two together (any of them).
        for chosen in ([values[-1]], values[:2]):
            out = tmp_path / f"{option}-{len(chosen)}"
            args = [a for value in chosen for a in (f"--{option}", value)]
            call_command("export_recordings", str(out), *args)
            query = "&".join(f"{option}={quote(value)}" for value in chosen)
            assert set(files_under(out)) == listed_files(client, query), (option, chosen)


@pytest.mark.django_db
def test_its_flags_and_search_select_what_the_list_shows(fixture_recordings, client, tmp_path):
    for args, query in (
        (["--streaming", "yes"], "streaming=yes"),
        (["--tools", "yes", "--exception", "no"], "tools=yes&exception=no"),
        (["--status", "exception"], "status=exception"),
        (["--q", "openai responses"], "q=openai+responses"),
        (["--text", "weather"], "text=weather"),
        (["--text", "weather", "--streaming", "yes"], "text=weather&streaming=yes"),
        (["--q", "nothing-is-called-this"], "q=nothing-is-called-this"),
    ):
        out = tmp_path / query.replace("&", "+")
        call_command("export_recordings", str(out), *args)
        listed = listed_files(client, query)
        assert set(files_under(out)) == listed, query
        assert bool(listed) == ("nothing" not in query), query


@pytest.mark.django_db
def test_a_folder_alone_gives_its_legacy_index_too(fixture_recordings, tmp_path):
    call_command("export_recordings", str(tmp_path / "whole"), "--path", "legacy/")
    fixtures = files_under(FIXTURES / "legacy")
    assert files_under(tmp_path / "whole" / "legacy") == fixtures
    assert "index.sqlite" in fixtures
    call_command("export_recordings", str(tmp_path / "narrowed"), "--path", "legacy/", "--q", "a")
    assert "legacy/index.sqlite" not in files_under(tmp_path / "narrowed")
    call_command("export_recordings", str(tmp_path / "root"), "--root", str(FIXTURES))
    assert files_under(tmp_path / "root") == {
        rel: data
        for rel, data in files_under(FIXTURES).items()
        if rel.endswith((".json", "index.sqlite"))
    }


@pytest.mark.django_db
def test_it_writes_the_zip_the_page_gives(fixture_recordings, client, tmp_path):
    target = tmp_path / "agents.zip"
    call_command("export_recordings", "--zip", str(target), "--suite", "agents")
    page = b"".join(client.get("/export.zip?suite=agents").streaming_content)
    with zipfile.ZipFile(target) as written, zipfile.ZipFile(io.BytesIO(page)) as served:
        assert written.namelist() == served.namelist()
        assert all(written.read(n) == served.read(n) for n in written.namelist())
    with pytest.raises(CommandError, match="already exists"):
        call_command("export_recordings", "--zip", str(target))
    assert not target.with_name("agents.zip.partial").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["OUT", "--streaming", "maybe"], "--streaming:"),
        (["OUT", "--status", "gone"], "--status:"),
        (["OUT", "--format", "nope"], "--format:"),
        (["OUT", "--model", "x" * 2000], "--model:"),
        (["OUT", "--zip", "OUT.zip"], "one of them"),
        ([], "one of them"),
    ],
)
def test_a_bad_value_is_a_one_line_error(tmp_path, args, says):
    """Refused before anything is read or written, with a non-zero exit code."""
    import os
    import subprocess
    import sys

    manage = Path(__file__).resolve().parent.parent / "manage.py"
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, str(manage), "export_recordings"]
        + [str(out) + a.removeprefix("OUT") if a.startswith("OUT") else a for a in args],
        cwd=tmp_path,
        # A database of its own, which the command must not even open.
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert says in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
