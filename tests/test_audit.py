"""The name audit's pages and command: the list's verdict facet and column, the recording page
and its twin, /audit and /audit.json (counts, the files not found, unused recordings from a
collect-only output), and `audit_recordings` for CI."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inspector.importer import import_paths
from inspector.llama_stack import hashing
from inspector.llama_stack.naming import MODELS_FILE
from inspector.llama_stack.verdicts import VERDICTS
from inspector.models import Recording

pytestmark = pytest.mark.django_db
MAX = 64 * 1024 * 1024
HOSTILE = "<img src=x onerror=alert(1)>"  # no slash: it is a file name
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def document(path: Path) -> dict:
    return json.loads(path.read_text())


def current_chats(corpus: Path) -> list[Path]:
    """Corpus recordings of chat requests, named by today's rule, in path order."""
    found = []
    for path in sorted(corpus.glob("*/recordings/*.json")):
        if MODELS_FILE.match(path.stem):
            continue
        data = document(path)
        body = data["request"].get("body")
        if not (isinstance(body, dict) and body.get("messages") and data.get("test_id")):
            continue
        if hashing.request_hashes(data["request"], data["test_id"]).get("current") == path.stem:
            found.append(path)
    return found


def place(source: Path, to: Path, data: dict | None = None) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        shutil.copyfile(source, to)
    else:
        to.write_text(json.dumps(data, indent=2))
    return to


def imported(path: Path) -> None:
    report = import_paths([path], max_bytes=MAX)
    assert report.failed == 0, report.failures


@pytest.fixture(scope="session")
def chats(corpus) -> list[Path]:
    found = current_chats(corpus)
    assert len(found) >= 3
    return found


@pytest.fixture
def tree(corpus, chats, tmp_path) -> dict[str, str]:
    """A tree with a file of each kind, by role: its paths."""
    root = tmp_path / "integration"
    good, edited_from, twin = chats[0], chats[1], chats[2]
    paths = {
        "current": good.relative_to(corpus).as_posix(),
        "unreachable": edited_from.relative_to(corpus).as_posix(),
        "duplicate": twin.relative_to(corpus).as_posix(),
        # A copy of the same request under a name that needs escaping wherever it shows.
        "hostile": twin.relative_to(corpus).with_name(f"{HOSTILE}.json").as_posix(),
    }
    place(good, root / paths["current"])
    data = document(edited_from)
    user = next(m for m in data["request"]["body"]["messages"] if m["role"] == "user")
    user["content"] = f"{user['content']} (edited)"
    place(edited_from, root / paths["unreachable"], data)
    place(twin, root / paths["duplicate"])
    place(twin, root / paths["hostile"])
    listing = next(corpus.glob("*/recordings/models-*.json"))
    paths["n/a"] = f"common/recordings/{listing.name}"
    place(listing, root / paths["n/a"])
    imported(root)
    paths["root"] = str(root)
    paths["test_ids"] = {
        role: document(root / paths[role]).get("test_id") for role in ("current", "duplicate")
    }
    return paths


def verdict_of(path: str) -> str:
    return Recording.objects.get(path=path).name_verdict


def test_the_tree_has_each_verdict(tree):
    assert verdict_of(tree["current"]) == "current"
    assert verdict_of(tree["unreachable"]) == "unreachable"
    assert verdict_of(tree["duplicate"]) == "duplicate"
    assert verdict_of(tree["hostile"]) == "duplicate"
    assert verdict_of(tree["n/a"]) == "n/a"


# --------------------------------------------------------------------------- the list


def test_it_narrows_the_list_by_verdict(client, tree):
    body = client.get("/recordings.json", {"verdict": "duplicate"}).json()
    assert sorted(r["path"] for r in body["recordings"]) == sorted(
        [tree["duplicate"], tree["hostile"]]
    )
    assert body["count"] == 2
    page = client.get("/", {"verdict": "unreachable"}).content.decode()
    assert tree["unreachable"].removesuffix(".json") in page
    assert tree["current"].removesuffix(".json") not in page
    assert client.get("/", {"verdict": "stale"}).status_code == 400


def test_it_counts_the_verdicts_as_a_facet(client, tree):
    page = client.get("/facets").content.decode()
    assert "<h3>verdict</h3>" in page
    assert 'href="?verdict=duplicate"' in page
    chosen = client.get("/facets", {"verdict": "current"}).content.decode()
    assert 'class="chosen"><a href="?"' in chosen


def test_it_shows_a_short_badge_with_the_reason_as_its_title(client, tree):
    page = client.get("/").content.decode()
    unreachable = Recording.objects.get(path=tree["unreachable"])
    assert (
        f'<span class="tag verdict" data-verdict="unreachable" title="unreachable: '
        f'{unreachable.name_reason}">unreachable</span>'
    ) in page
    assert 'data-verdict="n/a"' in page
    files = client.get("/", {"group": "source"}).content.decode()
    assert 'data-verdict="duplicate"' in files


def test_every_row_of_recordings_json_carries_its_verdict(client, tree):
    rows = client.get("/recordings.json").json()["recordings"]
    assert {r["path"]: r["name_verdict"] for r in rows} == {
        p.path: p.name_verdict for p in Recording.objects.all()
    }
    sources = client.get("/recordings.json", {"group": "source"}).json()["sources"]
    assert {s["path"]: s["name_verdict"] for s in sources} == {
        p.path: p.name_verdict for p in Recording.objects.all()
    }


def test_it_escapes_paths_and_reasons_in_the_list(client, tree):
    page = client.get("/", {"verdict": "duplicate"}).content.decode()
    assert HOSTILE not in page
    assert ESCAPED in page


# --------------------------------------------------------------------------- the recording


def test_the_recording_page_shows_its_verdict_and_reason(client, tree):
    rec = Recording.objects.get(path=tree["unreachable"])
    page = client.get("/r/" + rec.path.removesuffix(".json")).content.decode()
    assert 'data-verdict="unreachable" href="/audit?verdict=unreachable"' in page
    assert rec.name_reason in page
    twin = client.get("/r/" + rec.path.removesuffix(".json"), {"_format": "json"}).json()
    assert twin["name_verdict"] == "unreachable"
    assert twin["name_reason"] == rec.name_reason


def test_the_recording_page_escapes_the_paths_of_a_duplicates_reason(client, tree):
    page = client.get("/r/" + tree["duplicate"].removesuffix(".json")).content.decode()
    folder = tree["duplicate"].rsplit("/", 1)[0]
    assert f"the same request and test id as {folder}/{ESCAPED}.json" in page
    assert HOSTILE not in page


# --------------------------------------------------------------------------- /audit


def test_audit_json_counts_every_verdict(client, tree):
    body = client.get("/audit.json").json()
    assert body["counts"] == {
        "current": 1,
        "older rule": 0,
        "unreachable": 1,
        "duplicate": 2,
        "shared tool hash": 0,
        "n/a": 1,
    }
    assert body["unaudited"] == 0
    assert [f["path"] for f in body["files"]] == sorted([tree["unreachable"]]) + sorted(
        [tree["duplicate"], tree["hostile"]]
    )
    assert body["files"][0] == {
        "path": tree["unreachable"],
        "url": "/r/" + tree["unreachable"].removesuffix(".json"),
        "verdict": "unreachable",
        "reason": Recording.objects.get(path=tree["unreachable"]).name_reason,
        "test_id": Recording.objects.get(path=tree["unreachable"]).test_id,
        "missing": False,
    }
    assert body["next"] is None


def test_audit_json_has_every_key_with_nothing_imported(client, db):
    body = client.get("/audit.json").json()
    assert body["counts"] == dict.fromkeys(VERDICTS, 0)
    assert body["files"] == []


def test_the_audit_page_links_each_count_to_the_list(client, tree, django_assert_num_queries):
    with django_assert_num_queries(2):  # the counts, the page of files
        page = client.get("/audit").content.decode()
    for verdict in VERDICTS:
        assert f'href="/?verdict={verdict.replace(" ", "+").replace("/", "%2F")}"' in page
    assert '<a class="n" href="/?verdict=duplicate" title="These recordings in the list" ' in page
    assert f'href="/r/{tree["unreachable"].removesuffix(".json")}"' in page
    assert HOSTILE not in page
    assert ESCAPED in page
    assert '<a href="/audit">Name audit</a>' in page


def test_the_audit_page_takes_the_lists_selection(client, tree):
    suite = Recording.objects.get(path=tree["duplicate"]).suite
    body = client.get("/audit.json", {"suite": suite}).json()
    in_suite = Recording.objects.filter(suite=suite)
    assert body["counts"] == {v: in_suite.filter(name_verdict=v).count() for v in VERDICTS}
    assert body["counts"]["duplicate"] == 2
    page = client.get("/audit", {"suite": suite}).content.decode()
    assert f'href="/?suite={suite}&amp;verdict=duplicate"' in page
    only = client.get("/audit.json", {"verdict": "n/a"}).json()
    assert [f["path"] for f in only["files"]] == [tree["n/a"]]
    assert only["counts"]["current"] == 1  # counts stay those of every verdict


def test_the_audit_page_lists_a_page_at_a_time(client, tree):
    seen = []
    url = "/audit.json?_size=1"
    while url:
        body = client.get(url).json()
        seen += [f["path"] for f in body["files"]]
        url = body["next"]
    assert seen == [f["path"] for f in client.get("/audit.json").json()["files"]]
    assert len(seen) == 3
    page = client.get("/audit", {"_size": 1, "_next": 1}).content.decode()
    assert 'rel="prev" href="/audit?_size=1"' in page
    assert 'rel="next" href="/audit?_size=1&amp;_next=2"' in page


@pytest.mark.parametrize(
    "query",
    [
        {"_size": "0"},
        {"_next": str(2**70)},
        {"verdict": "everything"},
        {"collected": "x" * 5000},
    ],
)
def test_the_audit_page_refuses_bad_parameters_with_a_400(client, db, query):
    assert client.get("/audit", query).status_code == 400
    assert client.get("/audit.json", query).status_code == 400


@pytest.mark.parametrize(
    "value",
    ["../../etc/passwd", "/etc", "/dev/zero", "", " ", "~", HOSTILE, "ü✓\u202e", "/proc/self/mem"],
)
def test_the_audit_page_answers_any_collected_path_without_a_5xx(client, tree, value):
    response = client.get("/audit", {"collected": value})
    assert response.status_code == 200
    assert HOSTILE not in response.content.decode()
    assert client.get("/audit.json", {"collected": value}).status_code in (200, 400)


# --------------------------------------------------------------------------- unused


def collect_output(tmp_path: Path, *node_ids: str) -> Path:
    path = tmp_path / "collected.txt"
    path.write_text("\n".join([*node_ids, "", f"{len(node_ids)} tests collected in 0.42s", ""]))
    return path


def relative(test_id: str) -> str:
    """A node id as pytest prints it when run from tests/integration."""
    return test_id.removeprefix("tests/integration/")


def test_the_audit_page_lists_the_recordings_no_collected_test_has(client, tree, tmp_path):
    kept = tree["test_ids"]["current"]
    collected = collect_output(tmp_path, relative(kept))
    page = client.get("/audit", {"collected": str(collected)}).content.decode()
    assert "1 collected test read" in page
    unused = {tree["unreachable"], tree["duplicate"], tree["hostile"]}
    unused = {p for p in unused if Recording.objects.get(path=p).test_id != kept}
    body = client.get("/audit.json", {"collected": str(collected)}).json()["unused"]
    assert {r["path"] for r in body["recordings"]} == unused
    assert body["count"] == len(unused)
    assert tree["current"] not in {r["path"] for r in body["recordings"]}
    # The model listing has no test id: never unused.
    assert tree["n/a"] not in {r["path"] for r in body["recordings"]}
    for path in unused:
        shown = path.removesuffix(".json").replace("<", "&lt;").replace(">", "&gt;")
        assert f'<a href="/r/{shown}"><code>' in page
    assert HOSTILE not in page


def test_the_audit_page_says_in_one_line_why_a_collected_file_cannot_be_read(
    client, tree, tmp_path
):
    page = client.get("/audit", {"collected": str(tmp_path / "absent.txt")}).content.decode()
    assert f'<p class="form-error" role="alert">{tmp_path}/absent.txt: no such file</p>' in page
    page = client.get("/audit", {"collected": str(tmp_path)}).content.decode()
    assert "a folder, not a file" in page
    (tmp_path / "empty.txt").write_text("\n0 tests collected in 0.01s\n")
    response = client.get("/audit.json", {"collected": str(tmp_path / "empty.txt")})
    assert response.status_code == 400
    assert "no test ids in it" in response.json()["error"]


def test_the_audit_form_keeps_the_selection(client, tree, tmp_path):
    page = client.get("/audit", {"suite": "agents", "collected": "x.txt"}).content.decode()
    assert '<input type="hidden" name="suite" value="agents">' in page
    assert 'value="x.txt"' in page


# --------------------------------------------------------------------------- the command


def audit(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit_recordings", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_the_command_prints_the_files_not_found_and_fails_ci(tree):
    status, out = audit()
    assert status == 1
    lines = out.splitlines()
    unreachable = Recording.objects.get(path=tree["unreachable"])
    assert lines[0] == f"{tree['unreachable']}: unreachable: {unreachable.name_reason}"
    assert {line.split(": ")[0] for line in lines[1:3]} == {tree["duplicate"], tree["hostile"]}
    assert lines[-1] == (
        "current 1, older rule 0, unreachable 1, duplicate 2, shared tool hash 0, n/a 1"
    )
    assert len(lines) == 4  # n/a is counted, not listed
    assert len(audit("--all")[1].splitlines()) == 5


def test_the_command_passes_a_tree_the_harness_finds_whole(corpus, chats, tmp_path):
    place(chats[0], tmp_path / "agents" / "recordings" / chats[0].name)
    imported(tmp_path)
    status, out = audit()
    assert status == 0
    assert out == "current 1, older rule 0, unreachable 0, duplicate 0, shared tool hash 0, n/a 0\n"


def test_the_command_passes_older_rules_and_fails_duplicates_alone(corpus, chats, tmp_path):
    legacy = next(corpus.glob("legacy/responses/*.json"))
    place(legacy, tmp_path / "legacy" / "responses" / legacy.name)
    shutil.copyfile(corpus / "legacy" / "index.sqlite", tmp_path / "legacy" / "index.sqlite")
    imported(tmp_path)
    assert audit()[0] == 0
    place(chats[0], tmp_path / "agents" / "recordings" / chats[0].name)
    place(chats[0], tmp_path / "common" / "recordings" / chats[0].name)
    imported(tmp_path)
    status, out = audit()
    assert status == 1
    assert "duplicate 2" in out


def test_the_command_narrows_to_a_root_and_a_suite(tree):
    suite = Recording.objects.get(path=tree["current"]).suite
    in_suite = Recording.objects.filter(suite=suite)
    totals = ", ".join(f"{v} {in_suite.filter(name_verdict=v).count()}" for v in VERDICTS)
    assert audit("--suite", suite)[1].splitlines()[-1] == totals
    with pytest.raises(CommandError, match="no recordings to audit"):
        call_command("audit_recordings", "--root", tree["root"], "--suite", "nowhere")
    status, out = audit("--root", tree["root"])
    assert status == 1
    assert "duplicate 2" in out
    with pytest.raises(CommandError, match="no recordings were imported from it"):
        call_command("audit_recordings", "--root", "/nowhere")


def test_the_command_refuses_to_pass_with_nothing_imported(db):
    with pytest.raises(CommandError, match="import them first") as caught:
        call_command("audit_recordings")
    assert caught.value.returncode == 2


def test_the_command_writes_json(tree):
    status, out = audit("--json")
    assert status == 1
    body = json.loads(out)
    assert body["counts"] == client_counts()
    assert body["files"][0]["path"] == tree["unreachable"]


def client_counts() -> dict[str, int]:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1").get("/audit.json").json()["counts"]


def test_the_command_lists_the_unused_recordings(tree, tmp_path):
    kept = tree["test_ids"]["current"]
    collected = collect_output(tmp_path, relative(kept), "agents/test_gone.py::test_new")
    status, out = audit("--collected", str(collected))
    unused = [line for line in out.splitlines() if ": unused: " in line]
    expected = sorted(
        r.path
        for r in Recording.objects.exclude(test_id=kept).exclude(test_id__isnull=True)
        if r.test_id and r.format == "llama-stack"
    )
    assert [line.split(": unused: ")[0] for line in unused] == expected
    assert out.splitlines()[-1] == f"unused {len(expected)}"
    assert status == 1  # the unreachable file still fails the run
    body = json.loads(audit("--collected", str(collected), "--json")[1])
    assert [u["path"] for u in body["unused"]] == expected


def test_the_command_says_why_a_collected_file_cannot_be_read(tree, tmp_path):
    with pytest.raises(CommandError, match=r"absent\.txt: no such file") as caught:
        call_command("audit_recordings", "--collected", str(tmp_path / "absent.txt"))
    assert caught.value.returncode == 2


def test_the_command_prints_a_newline_in_a_path_escaped(corpus, chats, tmp_path):
    folder = tmp_path / "agents" / "recordings"
    place(chats[0], folder / "a\nb.json")
    imported(tmp_path)
    out = audit()[1]
    assert "agents/recordings/a\\nb.json: unreachable: " in out
