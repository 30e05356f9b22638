"""`/export.zip` and `/recordings.jsonl`: the list's selection taken away, streamed."""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
import zipfile
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse

from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording, Source
from inspector.zipping import Member, zip_chunks

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def files_under(top: Path, *, suffixes: tuple[str, ...] = (".json", ".sqlite", ".yaml")) -> dict:
    """Every recording, index and cassette under `top`, by path: what an import keeps."""
    return {
        p.relative_to(top).as_posix(): p.read_bytes()
        for p in sorted(top.rglob("*"))
        if p.is_file() and p.name.endswith(suffixes)
    }


def zip_of(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == len(set(names)), "a file twice"
    return {name: archive.read(name) for name in names}


def lines_of(response) -> list[dict]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/x-ndjson"
    body = b"".join(response.streaming_content)
    assert body == b"" or body.endswith(b"\n")
    return [json.loads(line) for line in body.splitlines()]


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_zips_every_file_of_two_roots_byte_for_byte_under_their_names(
    corpus, cassette_corpus, client
):
    assert import_paths([corpus], max_bytes=MAX).failed == 0
    assert import_paths([cassette_corpus], max_bytes=MAX).failed == 0
    response = client.get("/export.zip")
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="recordings-all.zip"'
    expected = {f"recordings/{p}": data for p, data in files_under(corpus).items()} | {
        f"cassettes/{p}": data for p, data in files_under(cassette_corpus).items()
    }
    # The corpus's legacy indexes are among them, whole.
    assert "recordings/legacy/index.sqlite" in expected
    assert len(expected) == 271 + 792
    assert zip_of(response) == expected


@pytest.mark.django_db
@pytest.mark.corpus
def test_a_facet_narrows_the_zip_to_its_files(corpus, client):
    import_paths([corpus], max_bytes=MAX)
    files = files_under(corpus)
    agents = {p: data for p, data in files.items() if p.startswith("agents/")}
    assert agents
    zipped = zip_of(client.get("/export.zip?suite=agents"))
    # One root: no name in front; a narrowed selection has no legacy index.
    assert zipped == agents
    # Several values of one facet: any of them.
    both = zip_of(client.get("/export.zip?suite=agents&suite=safety"))
    safety = {p: data for p, data in files.items() if p.startswith("safety/")}
    assert safety
    assert both == agents | safety


@pytest.mark.django_db
@pytest.mark.corpus
def test_a_cassette_comes_once_whole_for_any_of_its_exchanges(cassette_corpus, client):
    import_paths([cassette_corpus], max_bytes=MAX)
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    streamed = {r["path"] for r in rows if int(r["sse_exchanges"])}
    assert 0 < len(streamed) < len(rows)
    # Some of these cassettes hold plain exchanges too: the file is whole all the same.
    zipped = zip_of(client.get("/export.zip?streaming=yes&format=vcr"))
    assert zipped == {p: (cassette_corpus / p).read_bytes() for p in streamed}


@pytest.mark.django_db
def test_the_zip_is_the_selection_of_the_list(fixture_recordings, client):
    listed = client.get("/recordings.json?group=source&_size=500&tools=yes").json()
    zipped = zip_of(client.get("/export.zip?tools=yes&group=source&_size=1"))
    # The page's size and grouping choose nothing: the zip holds every file the list has.
    assert sorted(zipped) == sorted(s["path"] for s in listed["sources"])
    assert zipped == {p: (FIXTURES / p).read_bytes() for p in zipped}


@pytest.mark.django_db
def test_it_names_the_download_after_the_selection(fixture_recordings, client):
    response = client.get("/export.zip?suite=agents&model=gpt-4o&_sort=-size")
    assert response["Content-Disposition"] == (
        'attachment; filename="recordings-suite-agents-model-gpt-4o.zip"'
    )
    response = client.get("/export.zip?" + "q=" + quote('"; evil\r\nX: y'))
    name = response["Content-Disposition"]
    assert name == 'attachment; filename="recordings-q-evil-X-y.zip"'


@pytest.mark.django_db
def test_bad_parameters_are_a_400(fixture_recordings, client):
    for url in (
        "/export.zip?streaming=maybe",
        "/export.zip?_size=0",
        "/export.zip?format=nope",
        "/recordings.jsonl?_sort=nope",
        "/recordings.jsonl?verdict=" + "x" * 5000,
    ):
        response = client.get(url)
        assert response.status_code == 400, url
    assert "streaming" in client.get("/recordings.jsonl?streaming=maybe").json()["fields"]
    assert client.post("/export.zip").status_code == 405


SIZE, COUNT = 512 * 1024, 60


def big_sources() -> None:
    """60 files of 512 KB (30 MB, incompressible), as if imported."""
    root = ImportRoot.objects.create(path="/synthetic")
    size, count = SIZE, COUNT
    Source.objects.bulk_create(
        Source(
            root=root,
            path=f"big/{n:03}.json",
            format="llama-stack",
            size=size,
            sha256="0" * 64,
            mtime_ns=0,
            data=os.urandom(size),
        )
        for n in range(count)
    )


def traced_peak(chunks) -> tuple[int, int]:
    """The bytes read from `chunks`, and the most memory Python held meanwhile (any thread)."""
    total = 0
    tracemalloc.start()
    try:
        for chunk in chunks:
            total += len(chunk)
            del chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return total, peak


@pytest.mark.django_db
def test_it_never_holds_more_than_a_few_files(client):
    """The zip is made file by file, each sent on before the next is read."""
    big_sources()
    response = client.get("/export.zip")
    assert isinstance(response, StreamingHttpResponse)
    total, peak = traced_peak(response.streaming_content)
    assert total > SIZE * COUNT
    # One batch of files (exporting.BATCH_BYTES, 4 MB) and what it compressed to, not 30 MB.
    assert peak < 14 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.django_db
def test_jsonl_lines_are_the_twins_in_the_lists_order(fixture_recordings, client):
    listed = client.get("/recordings.json?_size=500&_sort=model").json()["recordings"]
    assert len(listed) > 20
    lines = lines_of(client.get("/recordings.jsonl?_sort=model"))
    assert [line["path"] for line in lines] == [r["path"] for r in listed]
    for line, row in zip(lines, listed, strict=True):
        twin = client.get(row["url"], {"_format": "json"})
        assert line == twin.json(), row["path"]


@pytest.mark.django_db
@pytest.mark.corpus
def test_jsonl_of_a_selection_over_both_corpora(corpus, cassette_corpus, client):
    import_paths([corpus], max_bytes=MAX)
    import_paths([cassette_corpus], max_bytes=MAX)
    lines = lines_of(client.get("/recordings.jsonl?tools=yes"))
    expected = Recording.objects.filter(tool_call_count__gt=0).order_by("-id")
    assert [line["path"] for line in lines] == list(expected.values_list("path", flat=True))
    assert {line["format"] for line in lines} == {"llama-stack", "llama-stack-legacy", "vcr"}
    assert all(line["tool_calls"] or line["response"]["tool_calls"] for line in lines)
    assert lines_of(client.get("/recordings.jsonl?q=no-such-recording-anywhere")) == []


@pytest.mark.django_db
def test_the_command_and_the_page_select_the_same_files(fixture_recordings, client, tmp_path):
    for query, options in (
        ("suite=agents", ["--suite", "agents"]),
        ("streaming=yes&tools=no", ["--streaming", "yes", "--tools", "no"]),
        ("q=guardrails", ["--q", "guardrails"]),
        ("suite=agents&suite=inference", ["--suite", "agents", "--suite", "inference"]),
        ("", []),
    ):
        zipped = zip_of(client.get(f"/export.zip?{query}"))
        out = tmp_path / (query or "all").replace("&", "+")
        call_command("export_recordings", str(out), *options)
        written = {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }
        assert written == zipped, query
        assert zipped, query
        target = tmp_path / f"{out.name}.zip"
        call_command("export_recordings", "--zip", str(target), *options)
        with zipfile.ZipFile(target) as archive:
            assert {n: archive.read(n) for n in archive.namelist()} == zipped


def test_it_streams_under_asgi(asgi_server, recwarn):
    import_paths([FIXTURES], max_bytes=MAX)
    with urlopen(f"{asgi_server}/export.zip?suite=agents") as response:
        assert response.status == 200
        # Sent as it is made: no length known up front.
        assert response.headers["Content-Length"] is None
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "attachment" in response.headers["Content-Disposition"]
        body = response.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        zipped = {n: archive.read(n) for n in archive.namelist()}
    agents = files_under(FIXTURES / "agents")
    assert zipped == {f"agents/{p}": data for p, data in agents.items()}
    with urlopen(f"{asgi_server}/recordings.jsonl?suite=agents") as response:
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.read().splitlines()]
    assert sorted(line["path"] for line in lines) == sorted(zipped)
    # Django reads a synchronous iterator whole before sending it under ASGI, and says so.
    assert not [w for w in recwarn if "must consume" in str(w.message)]


def test_the_zip_writer_reads_a_file_only_when_the_last_is_sent():
    read: list[str] = []
    files = [
        Member("ü/ñ 1.json", os.urandom(100_000), 1_700_000_000 * 10**9),
        Member("empty.json", b"", 0),
        Member("big/a.yaml", os.urandom(3 * 1024 * 1024), 2**62),
        *(Member(f"small/{n}.json", b'{"n": %d}' % n, 0) for n in range(20)),
    ]

    def members():
        for member in files:
            read.append(member.name)
            yield member

    chunks = zip_chunks(members())
    pieces = [next(chunks)]
    assert read == ["ü/ñ 1.json"]
    pieces.append(next(chunks))
    assert read[-1] == "big/a.yaml"
    pieces += list(chunks)
    # The 3 MB file went out in pieces of about a megabyte, not whole.
    assert max(len(p) for p in pieces) < 2.5 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == {m.name: m.data for m in files}
        dates = {i.filename: i.date_time for i in archive.infolist()}
    assert dates["empty.json"] == (1980, 1, 1, 0, 0, 0)
    assert dates["big/a.yaml"] == (2107, 12, 31, 23, 59, 58)


def test_it_never_holds_more_than_a_few_files_under_asgi(asgi_server):
    """The server runs in this process: its memory is traced too. Given a synchronous iterator,
    Django would have read the whole 30 MB into a list first."""
    big_sources()
    with urlopen(f"{asgi_server}/export.zip") as response:
        total, peak = traced_peak(iter(lambda: response.read(256 * 1024), b""))
    assert total > SIZE * COUNT
    assert peak < 14 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    # A client that leaves half way: the server goes on answering.
    with urlopen(f"{asgi_server}/export.zip") as response:
        assert len(response.read(100_000)) == 100_000
    with urlopen(f"{asgi_server}/recordings.jsonl") as response:
        assert response.read() == b""  # files without exchanges: no twins
