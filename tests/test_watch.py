"""Live updates: `serve --watch` imports what changes under the import roots (inspector.watching),
and an open list learns of it from /changes (inspector/views/changes.py)."""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from inspector import watching
from inspector.facets import data_version
from inspector.importer import Importer, import_paths
from inspector.models import ImportFailure, ImportRoot, Recording, Source
from inspector.watcher import Watcher
from tests.documents import chat_recording
from tests.test_serving import free_port

ROOT = Path(__file__).resolve().parent.parent
MAX = 64 * 1024 * 1024
# The target: a change shows within this many seconds.
WITHIN = 2.0
# The watcher is a thread with its own database connection: it sees only what is committed.
pytestmark = pytest.mark.django_db(transaction=True)


def recording(prompt: str, answer: str = "Hi there", model: str = "gpt-4o") -> dict[str, Any]:
    """A small llama-stack chat recording."""
    test_id = f"tests/integration/inference/test_chat.py::test_chat[{prompt}]"
    return chat_recording(prompt, answer, test_id=test_id, model=model)


def write(path: Path, document: dict[str, Any] | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = document if isinstance(document, bytes) else orjson.dumps(document)
    # Whole or not at all, as a recorder writes it: the watcher never sees half a file.
    partial = path.parent / f".{path.name}.part"
    partial.write_bytes(data)
    partial.rename(path)
    return path


def name(n: int) -> str:
    return f"{n:064x}.json"


def eventually(check: Callable[[], Any], within: float = WITHIN) -> Any:
    """`check()`'s first true value, asked every 50 ms (leaving the watcher the time to work);
    fails once `within` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {within} s"
        time.sleep(0.05)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A served folder of three recordings, imported."""
    folder = tmp_path / "served"
    for n in range(3):
        write(folder / "inference" / "recordings" / name(n), recording(f"prompt {n}"))
    report = import_paths([folder], max_bytes=MAX)
    assert report.imported == 3
    return folder


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The files the importer reads from now on (its `read_bytes` seam), by name."""
    read: list[str] = []
    original = Importer.read_bytes

    def counted(self, file, max_bytes):
        read.append(os.path.basename(file))
        return original(self, file, max_bytes)

    monkeypatch.setattr(Importer, "read_bytes", counted)
    return read


class Started:
    """A running watcher, and what it said and reported."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.failures: list[tuple[str, str]] = []
        self.watcher = Watcher(MAX, self.said.append, self.failed)

    def failed(self, path: str, reason: str) -> None:
        self.failures.append((path, reason))

    def watching(self) -> Started:
        self.watcher.start()
        eventually(lambda: self.said)
        for root in ImportRoot.objects.filter(revision=""):
            if os.path.isdir(root.path):
                self.live(Path(root.path))
        return self

    def live(self, folder: Path) -> None:
        """Wait until the watch of `folder` has begun: a probe written there (no recording's
        name, so nothing is imported) comes back as a batch."""
        batches = self.watcher.batches
        for attempt in range(40):
            (folder / "watch-probe.txt").write_text(str(attempt))
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline and self.watcher.batches == batches:
                time.sleep(0.02)
            if self.watcher.batches > batches:
                break
        assert self.watcher.batches > batches, f"{folder} is not watched"
        time.sleep(0.3)  # a later batch of the probe's lands before the test goes on

    def after(self, batches: int) -> None:
        """Wait until a batch after the first `batches` has been applied."""
        eventually(lambda: self.watcher.batches > batches)


@pytest.fixture
def watch() -> Iterator[Callable[[], Started]]:
    """Start the real watcher (a thread with its own database connection, as under
    `serve --watch`) over the roots imported so far; stopped when the test ends."""
    from django.db import connection

    if connection.vendor == "sqlite":
        # The tests' SQLite database is in memory, shared by the threads' connections with
        # table locks (not a file's WAL, as served): the test's reads must not lock the
        # watcher's writes out. It reads what the watcher has not committed yet, and so waits
        # for what it checks to be whole.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")
    started: list[Started] = []

    def start() -> Started:
        started.append(Started().watching())
        return started[-1]

    yield start
    for one in started:
        one.watcher.stop()
        assert not one.watcher.thread.is_alive()


def listed(client) -> dict[str, str]:
    """/recordings.json's recordings: path -> status."""
    body = client.get("/recordings.json?_size=200").json()
    return {row["path"]: row["status"] for row in body["recordings"]}


def rel(n: int) -> str:
    return f"inference/recordings/{name(n)}"


def test_it_shows_a_new_a_changed_and_a_removed_file_within_2_s_reading_only_them(
    tree, watch, reads, client
):
    started = watch()
    recordings = tree / "inference" / "recordings"
    write(recordings / name(7), recording("prompt 7"))
    write(recordings / name(1), recording("prompt 1", answer="Changed"))
    (recordings / name(2)).unlink()
    written = time.monotonic()

    def shown() -> bool:
        return (
            Recording.objects.filter(path=rel(7), missing=False).exists()
            and Recording.objects.filter(path=rel(1), response_text="Changed").exists()
            and Recording.objects.filter(path=rel(2), missing=True).exists()
        )

    eventually(shown)
    assert time.monotonic() - written < WITHIN
    assert listed(client) == {
        rel(0): "ok",
        rel(1): "ok",
        rel(2): "missing",
        rel(7): "ok",
    }
    # Only what changed was read: not the unchanged file, not the removed one.
    assert sorted(reads) == sorted([name(7), name(1)])
    assert Source.objects.get(path=rel(2)).missing
    assert started.failures == []

    # Said as import_recordings says it, in one batch or a few (as the writes came).
    def said() -> Counter:
        counts = Counter()
        for line in started.said:
            if line.startswith(f"watch: {tree}: "):
                counts.update({key: int(n) for key, n in re.findall(r"(\w+) (\d+)", line)})
        return counts

    eventually(lambda: said() == Counter(imported=1, updated=1, missing=1))


def test_it_follows_a_cassette_added_cut_short_and_removed(tree, watch):
    import yaml

    from tests.cassette_trees import CHAT, chat_cassette

    watch()
    cassette = tree / f"{CHAT}.yaml"
    exchanges = Recording.objects.filter(path__startswith=f"{CHAT}/")
    both = chat_cassette()
    write(cassette, yaml.safe_dump(both).encode())
    eventually(lambda: exchanges.filter(missing=False).count() == 2)
    assert set(exchanges.values_list("path", "format")) == {
        (f"{CHAT}/1", "vcr"),
        (f"{CHAT}/2", "vcr"),
    }
    both["interactions"] = both["interactions"][:1]
    write(cassette, yaml.safe_dump(both).encode())
    eventually(lambda: exchanges.count() == 1)
    cassette.unlink()
    eventually(lambda: exchanges.filter(missing=True).count() == 1)
    assert Source.objects.get(path=f"{CHAT}.yaml").missing


def test_it_gives_a_bad_file_its_import_error_and_imports_the_others(tree, watch):
    started = watch()
    recordings = tree / "inference" / "recordings"
    write(recordings / "bad.json", b'{"request": {"method": "POST", "url": "http://x')
    write(recordings / name(8), recording("prompt 8"))
    eventually(lambda: Recording.objects.filter(path=rel(8)).exists())
    reason = "truncated JSON (ends early at line 1 column 48)"
    eventually(lambda: started.failures)
    # The same one line `import_recordings` gives (its on_failure: path, reason).
    assert started.failures == [("inference/recordings/bad.json", reason)]
    assert list(ImportFailure.objects.values_list("path", "reason")) == [
        ("inference/recordings/bad.json", reason)
    ]
    # Mended, its error goes; removed, so does the recording it became.
    write(recordings / "bad.json", recording("mended"))
    eventually(lambda: Recording.objects.filter(path="inference/recordings/bad.json").exists())
    eventually(lambda: not ImportFailure.objects.exists())
    write(recordings / "worse.json", b"[1, 2, 3]")
    eventually(lambda: ImportFailure.objects.filter(path="inference/recordings/worse.json"))
    (recordings / "worse.json").unlink()
    eventually(lambda: not ImportFailure.objects.exists())
    assert started.watcher.thread.is_alive()


def verdicts() -> dict[str, tuple[str, str]]:
    return {r.path: (r.name_verdict, r.name_reason) for r in Recording.objects.all()}


def test_it_audits_the_groups_a_change_touches_as_a_whole_audit_would(tree, watch):
    """A batch audits only the groups of files whose requests hash alike that its files were
    or are in; the verdicts are those a whole re-audit (`audit_root`) gives."""
    from inspector.auditing import audit_root

    root = ImportRoot.objects.get()
    started = watch()
    recordings = tree / "inference" / "recordings"
    batches = started.watcher.batches
    write(recordings / name(90), (recordings / name(0)).read_bytes())  # the same request twice
    started.after(batches)
    assert Recording.objects.filter(name_verdict="duplicate").count() == 2
    watched = verdicts()
    audit_root(root)
    assert verdicts() == watched
    batches = started.watcher.batches
    (recordings / name(90)).unlink()
    started.after(batches)
    assert Recording.objects.get(path=rel(90)).missing
    assert Recording.objects.get(path=rel(0)).name_verdict != "duplicate"
    watched = verdicts()
    audit_root(root)
    assert verdicts() == watched


def test_it_changes_the_data_version_that_facet_counts_key_on(tree, watch, client):
    before = data_version()
    facets_before = client.get("/facets").content.decode()
    assert "gpt-4o-mini" not in facets_before
    watch()
    write(tree / "inference" / "recordings" / name(9), recording("p", model="gpt-4o-mini"))
    eventually(lambda: data_version() != before)
    assert "gpt-4o-mini" in client.get("/facets").content.decode()


@pytest.mark.parametrize("terms", [watching.FOLDER_TERMS, 0])
def test_it_takes_a_folder_moved_in_and_marks_a_folder_removed_missing(
    tree, tmp_path, watch, monkeypatch, terms
):
    # With no terms, the removed paths' files are found by reading the root's paths instead.
    monkeypatch.setattr(watching, "FOLDER_TERMS", terms)
    elsewhere = tmp_path / "elsewhere" / "recordings"
    write(elsewhere / name(20), recording("moved 20"))
    write(elsewhere / name(21), recording("moved 21"))
    for n in range(3):  # other files beside the recordings, removed with them
        (tree / "inference" / f"notes-{n}").mkdir()
        (tree / "inference" / f"notes-{n}" / "notes.txt").write_text("not a recording")
    watch()
    # Moved in: watchfiles reports the folder only, its files are found by walking it.
    shutil.move(str(elsewhere.parent), str(tree / "moved"))
    moved = {f"moved/recordings/{name(20)}", f"moved/recordings/{name(21)}"}
    paths = Recording.objects.filter(path__in=moved).values_list("path", flat=True)
    eventually(lambda: set(paths.all()) == moved)
    shutil.rmtree(tree / "inference")
    eventually(lambda: Recording.objects.filter(missing=True).count() == 3)
    assert set(Recording.objects.filter(missing=False).values_list("path", flat=True)) == moved


def test_it_leaves_alone_what_no_import_reads(tree, watch, reads):
    started = watch()
    before = data_version()
    batches = started.watcher.batches
    (tree / "notes.txt").write_text("not a recording")
    write(tree / ".git" / "objects" / name(30), recording("hidden"))
    started.after(batches)
    assert reads == []
    assert data_version() == before
    assert not Recording.objects.filter(path__contains=name(30)).exists()


def test_it_survives_a_deleted_root_and_says_so_once(tmp_path, watch):
    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "recordings" / name(40), recording("first"))
    write(second / "recordings" / name(41), recording("second"))
    import_paths([first, second], max_bytes=MAX)
    started = watch()
    shutil.rmtree(first)
    gone = f"watch: {first} is gone"
    eventually(lambda: any(line.startswith(gone) for line in started.said), within=5)
    # Its files went with it: missing, as each removed file is.
    eventually(lambda: Recording.objects.filter(path=f"recordings/{name(40)}", missing=True))
    write(second / "recordings" / name(42), recording("still watched"))
    eventually(lambda: Recording.objects.filter(path=f"recordings/{name(42)}").exists())
    time.sleep(2.5)  # the roots are read again every 2 s: the folder is still gone
    assert sum(line.startswith(gone) for line in started.said) == 1
    # Back, it is imported again whole, and watched again.
    write(first / "recordings" / name(40), recording("first"))
    eventually(lambda: f"watch: {first} is back: importing it again" in started.said, 5)
    eventually(lambda: sum(line.startswith("watch: watching") for line in started.said) == 2)
    started.live(first)
    assert Recording.objects.filter(missing=True).count() == 0
    write(first / "recordings" / name(43), recording("back"))
    eventually(lambda: Recording.objects.filter(path=f"recordings/{name(43)}").exists())
    assert started.watcher.thread.is_alive()


def test_it_does_not_watch_git_roots_and_watches_a_root_imported_meanwhile(tmp_path, watch):
    folder = tmp_path / "checkout"
    folder.mkdir()
    ImportRoot.objects.create(path=str(folder), name="v1", revision="0" * 40)
    started = watch()
    assert started.said == ["watch: no import root to watch yet"]
    served = tmp_path / "served"
    write(served / name(50), recording("new root"))
    import_paths([served], max_bytes=MAX)  # a root imported while the server runs
    eventually(lambda: f"watch: watching {served}" in started.said, within=5)
    started.live(served)
    write(folder / name(51), recording("in the git root's folder"))
    write(served / name(52), recording("in the served folder"))
    eventually(lambda: Recording.objects.filter(path=name(52)).exists())
    assert not Recording.objects.filter(path=name(51)).exists()


# --------------------------------------------------------------------------- /changes


def notice_of(body: str) -> str:
    found = re.search(r'<div id="changes-notice".*?</div>', body, re.S)
    assert found, body
    return found.group(0)


def poll_url(notice: str) -> str:
    return html.unescape(re.search(r'hx-get="([^"]+)"', notice).group(1))


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_tells_an_open_list_what_changed_and_refreshes_it_in_place(tree, watch, client):
    page = client.get("/?q=prompt")
    poll = poll_url(notice_of(page.content.decode()))
    assert poll.startswith("/changes?since=")
    current = {**HTMX, "HTTP_HX_CURRENT_URL": "http://127.0.0.1/?q=prompt"}
    assert client.get(poll, **current).status_code == 204
    watch()
    recordings = tree / "inference" / "recordings"
    write(recordings / name(60), recording("prompt 60"))
    write(recordings / name(0), recording("prompt 0", answer="Changed"))
    (recordings / name(1)).unlink()
    answer = eventually(lambda: (r := client.get(poll, **current)).status_code == 200 and r)
    notice = notice_of(answer.content.decode())
    # The notice alone: the live region around it stays, so that its new text is announced.
    assert "<html" not in answer.content.decode()
    assert 'role="status"' not in answer.content.decode()
    assert 'role="status" aria-live="polite">\n<div id="changes-notice"' in page.content.decode()
    eventually(
        lambda: "3 new or changed recordings" in client.get(poll, **current).content.decode()
    )
    notice = notice_of(client.get(poll, **current).content.decode())
    link = re.search(r"<a [^>]*>", notice).group(0)
    assert 'href="/?q=prompt"' in link
    assert 'hx-get="/?q=prompt"' in link
    assert 'hx-target="#results"' in link
    assert 'hx-select="#results"' in link
    # Told once: the same count again swaps nothing.
    again = poll_url(notice)
    assert "shown=3" in again
    assert client.get(again, **current).status_code == 204
    # The refreshed list has the new rows and a notice of its own, which has nothing to say.
    refreshed = client.get("/?q=prompt", **HTMX).content.decode()
    assert name(60).removesuffix(".json") in refreshed
    assert client.get(poll_url(notice_of(refreshed)), **current).status_code == 204


def test_it_answers_a_poll_with_one_query_while_nothing_changed(
    tree, client, django_assert_num_queries
):
    poll = poll_url(notice_of(client.get("/").content.decode()))
    with django_assert_num_queries(1):
        response = client.get(poll, **HTMX)
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "since"),
        ("?since=", "since"),
        ("?since=yesterday", "since"),
        ("?since=2026-13-01T00:00", "since"),
        ("?since=2026-12-02T00:00:00%2B25:00", "since"),
        ("?since=99999-01-01T00:00", "since"),
        ("?since=2026-12-02T00:00%00", ""),  # refused before the view (middleware)
        ("?since=2026-12-02T00:00&shown=-1", "shown"),
        ("?since=2026-12-02T00:00&shown=many", "shown"),
    ],
)
def test_it_refuses_a_poll_without_a_time_with_a_400(client, query, field):
    response = client.get("/changes" + query)
    assert response.status_code == 400
    assert field in response.content.decode()


def test_it_counts_an_import_after_the_page_not_one_before(tree, client):
    poll = poll_url(notice_of(client.get("/").content.decode()))
    # Written again unchanged: nothing new (the page shows it as it is).
    import_paths([tree], max_bytes=MAX)
    assert client.get(poll, **HTMX).status_code == 204
    changed = copy.deepcopy(recording("prompt 2", answer="Other"))
    write(tree / "inference" / "recordings" / name(2), changed)
    import_paths([tree], max_bytes=MAX)
    body = client.get(poll, **HTMX).content.decode()
    assert "1 new or changed recording</strong>" in body
    # Without htmx (no current URL), the link is to the list itself.
    assert 'href="/"' in body


# --------------------------------------------------------------------------- serve --watch


def test_it_watches_in_the_serving_process_while_uvicorn_runs_and_stops_with_it(
    tree, monkeypatch, capsys
):
    import threading

    import uvicorn
    from django.core.management import call_command

    running: list[list[str]] = []

    out: list[str] = []

    def said_watching() -> bool:
        out.append(capsys.readouterr().out)
        return "watch: watching" in "".join(out)

    def run(**options):
        eventually(said_watching)
        running.append([thread.name for thread in threading.enumerate()])

    monkeypatch.setattr(uvicorn, "run", run)
    call_command("serve", watch=True, workers=2)
    assert running[0].count("inspector-watch") == 1  # once, however many workers
    assert "inspector-watch" not in [thread.name for thread in threading.enumerate()]
    call_command("serve")  # without --watch: no watcher
    assert running[1].count("inspector-watch") == 0


def test_it_serves_with_watch_and_shows_a_new_file_over_http_within_2_s(tmp_path):
    """The real thing, as `make serve` runs it: migrate, import, then `serve --watch`."""
    folder = tmp_path / "served"
    write(folder / "recordings" / name(70), recording("served 70"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("WEB_CONCURRENCY", None)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["import_recordings", str(folder)]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*manage, "serve", "--watch", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/recordings.json"

    def paths() -> list[str] | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return [row["path"] for row in orjson.loads(response.read())["recordings"]]
        except OSError:
            assert server.poll() is None, log.read_text()
            return None

    try:
        eventually(lambda: f"watch: watching {folder}" in log.read_text(), within=60)
        assert eventually(paths, within=60) == [f"recordings/{name(70)}"]
        time.sleep(0.2)
        write(folder / "recordings" / name(71), recording("served 71"))
        eventually(lambda: f"recordings/{name(71)}" in (paths() or []))
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        code = server.wait(timeout=30)
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text
    assert "imported 1, updated 0, unchanged 0, missing 0, failed 0" in text


def test_it_shows_the_notice_in_a_browser_and_refreshes_the_list_in_place(tree, live_server, page):
    """Chromium, under the pages' Content-Security-Policy: the open list polls, says what
    changed, and its link swaps the new list in (same address, one history entry)."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/?q=prompt")
    rows = page.locator("#recording-list tbody tr")
    expect(rows).to_have_count(3)
    history = page.evaluate("history.length")
    notice = page.locator("#changes-notice")
    expect(notice).to_be_empty()
    write(tree / "inference" / "recordings" / name(80), recording("prompt 80"))
    import_paths([tree], max_bytes=MAX)  # as the watcher or another import would
    expect(notice).to_contain_text("1 new or changed recording", timeout=5000)
    expect(rows).to_have_count(3)  # told, not changed under the reader's eyes
    notice.get_by_role("link", name="refresh the list").click()
    expect(rows).to_have_count(4)
    expect(notice).to_be_empty()
    assert page.url == live_server.url + "/?q=prompt"
    assert page.evaluate("history.length") == history
    page.wait_for_timeout(2500)  # a poll of the fresh notice: nothing more to say
    expect(notice).to_be_empty()
    assert errors == []
