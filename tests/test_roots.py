"""Two or more import roots side by side: names, `/<root>/...` addresses, links that carry them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inspector import roots
from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording
from inspector.views.common import find_exchange, get_exchange
from tests.cassette_trees import CHAT, write_tree

pytestmark = pytest.mark.django_db

MAX = 64 * 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|hx-get|src|sse-connect)="([^"#?]*)', html)


def recording_links(html: str) -> list[str]:
    """Links to a recording (its page, file, sections, player, values, images)."""
    pattern = re.compile(r"^(/[^/]+)?/(r|raw|play|stream|chunk|chunks|i|v)/")
    return [link for link in hrefs(html) if pattern.match(link)]


@pytest.fixture
def two_roots(tmp_path: Path) -> tuple[Path, Path]:
    """fixtures/ twice, as `old` and `new`; in `new` a chat answer says something else."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(FIXTURES, old)
    shutil.copytree(FIXTURES, new)
    target = (
        new
        / "inference"
        / "recordings"
        / "8ec881e9dca82fd0987ea297e698645fe4faaba2d2e6b3ced9725ae98621e416.json"
    )
    document = json.loads(target.read_text())
    body = document["response"]["body"]
    if isinstance(body, dict):
        body["__data__"]["choices"][0]["message"]["content"] = "A NEW ANSWER"
    else:  # a stream: its first content piece
        first = next(
            c for c in body if (c["__data__"]["choices"] or [{}])[0].get("delta", {}).get("content")
        )
        first["__data__"]["choices"][0]["delta"]["content"] = "A NEW ANSWER"
    target.write_text(json.dumps(document, indent=2) + "\n")
    assert import_paths([old], max_bytes=MAX, name="old").failed == 0
    assert import_paths([new], max_bytes=MAX, name="new").failed == 0
    return old, new


CHANGED = "inference/recordings/8ec881e9dca82fd0987ea297e698645fe4faaba2d2e6b3ced9725ae98621e416"


def test_it_shows_each_root_s_version_at_its_prefixed_address(client, two_roots):
    old = client.get(f"/old/r/{CHANGED}").content.decode()
    new = client.get(f"/new/r/{CHANGED}").content.decode()
    assert "A NEW ANSWER" in new
    assert "A NEW ANSWER" not in old
    # Unprefixed: the newest import wins, as before there were names.
    assert "A NEW ANSWER" in client.get(f"/r/{CHANGED}").content.decode()
    # The files themselves, byte for byte.
    assert (
        client.get(f"/old/r/{CHANGED}.json").content
        == (two_roots[0] / f"{CHANGED}.json").read_bytes()
    )
    assert (
        client.get(f"/new/r/{CHANGED}.json").content
        == (two_roots[1] / f"{CHANGED}.json").read_bytes()
    )
    assert "A NEW ANSWER" in client.get(f"/new/raw/{CHANGED}").content.decode()
    assert "A NEW ANSWER" not in client.get(f"/old/raw/{CHANGED}").content.decode()


def test_every_link_of_a_root_s_pages_carries_its_name(client, two_roots):
    for rec in Recording.objects.filter(root__name="old"):
        page = rec.path.removesuffix(".json")
        response = client.get(f"/old/r/{page}")
        assert response.status_code == 200, rec.path
        links = recording_links(response.content.decode())
        assert links, rec.path
        assert all(link.startswith("/old/") for link in links), (rec.path, links)
        for link in set(links):
            if link.startswith("/old/stream/"):
                continue  # a replay: tests/test_stream_views.py plays them
            # Without their query (a chunk's number...) some are a 400; none is a 500, and
            # every page and file is there.
            status = client.get(link).status_code
            assert status == 200 if re.match(r"/old/(r|raw)/", link) else status < 500, link
    # Reached unprefixed, a page links within the root it shows: the newest.
    links = recording_links(client.get(f"/r/{CHANGED}").content.decode())
    assert links
    assert all(link.startswith("/new/") for link in links)


def test_the_list_and_the_test_page_link_each_recording_in_its_root(client, two_roots):
    html = client.get("/", {"_size": 500}).content.decode()
    links = recording_links(html)
    assert {link.split("/")[1] for link in links} == {"old", "new"}
    assert f"/old/r/{CHANGED}" in links
    assert f"/new/r/{CHANGED}" in links
    rows = client.get("/recordings.json", {"_size": 500}).json()["recordings"]
    assert {row["url"].split("/")[1] for row in rows} == {"old", "new"}
    assert all(row["raw_url"].startswith(row["url"].split("/r/")[0]) for row in rows)
    test_id = Recording.objects.filter(path=f"{CHANGED}.json").values_list("test_id", flat=True)[0]
    by_test = client.get("/test", {"id": test_id}).content.decode()
    assert f"/old/r/{CHANGED}" in by_test
    assert f"/new/r/{CHANGED}" in by_test


def test_a_streamed_recording_plays_within_its_root(client, two_roots):
    rec = Recording.objects.filter(root__name="old", is_streaming=True, chunk_count__gt=3).first()
    page = rec.path.removesuffix(".json")
    response = client.get(f"/old/r/{page}")
    assert response.context["player_url"] == f"/old/play/{page}"
    assert response.context["chunks_url"] == f"/old/chunks/{page}"
    player = client.get(f"/old/play/{page}", {"at": 2})
    assert player.status_code == 200
    assert player["HX-Replace-Url"].startswith(f"/old/r/{page}?")
    assert client.get(f"/old/chunks/{page}", {"page": 0}).status_code == 200
    assert client.get(f"/old/chunk/{page}", {"n": 1}).status_code == 200


def test_with_one_root_no_link_carries_a_name(client, tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "only")
    assert import_paths([tmp_path / "only"], max_bytes=MAX, name="only").failed == 0
    html = client.get("/", {"_size": 500}).content.decode()
    links = recording_links(html)
    assert links
    assert all(link.startswith("/r/") for link in links)
    page = client.get(f"/r/{CHANGED}").content.decode()
    assert all(not link.startswith("/only/") for link in recording_links(page))
    # Its name still resolves, for links made while there were two.
    assert client.get(f"/only/r/{CHANGED}").status_code == 200


def test_it_names_roots_by_their_folder_unique_and_never_as_a_route(tmp_path):
    for folder in ("a/recordings", "b/recordings", "r", "x y"):
        (tmp_path / folder).mkdir(parents=True)
        import_paths([tmp_path / folder], max_bytes=MAX)
    assert list(roots.refresh().values()) == ["recordings", "recordings-2", "r-root", "x-y"]
    assert roots.names_of([(1, "", "/t/recordings"), (2, "recordings", "/u")]) == {
        1: "recordings-2",
        2: "recordings",
    }


def test_it_answers_unknown_roots_with_404(client, two_roots):
    assert client.get(f"/nope/r/{CHANGED}").status_code == 404
    assert client.get(f"/nope/raw/{CHANGED}").status_code == 404
    assert client.get("/old/r/no/such/recording").status_code == 404
    assert client.get("/old/play/no/such", {"at": 1}).status_code == 404


def test_get_exchange_takes_a_root_name_in_front(two_roots):
    old = ImportRoot.objects.get(name="old")
    new = ImportRoot.objects.get(name="new")
    assert get_exchange(f"old/{CHANGED}").root_id == old.pk
    assert get_exchange(f"new/{CHANGED}").root_id == new.pk
    assert get_exchange(CHANGED).root_id == new.pk
    assert find_exchange(f"nope/{CHANGED}") is None


def test_cassette_pages_link_within_their_root(client, tmp_path):
    first = write_tree(tmp_path / "one")
    second = write_tree(tmp_path / "two")
    assert import_paths([first], max_bytes=MAX, name="one").failed == 0
    assert import_paths([second], max_bytes=MAX, name="two").failed == 0
    for name in ("one", "two"):
        response = client.get(f"/{name}/r/{CHAT}")
        assert response.status_code == 200
        links = recording_links(response.content.decode())
        assert f"/{name}/r/{CHAT}/1" in links
        assert all(link.startswith(f"/{name}/") for link in links)
        exchange = client.get(f"/{name}/r/{CHAT}/2").content.decode()
        assert all(link.startswith(f"/{name}/") for link in recording_links(exchange))
        assert f"/{name}/r/{CHAT}" in recording_links(exchange)


def test_the_command_names_a_root(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    call_command("import_recordings", str(tmp_path / "a"), "--root", "main", "--no-progress")
    assert ImportRoot.objects.get(path=str(tmp_path / "a")).name == "main"
    call_command("import_recordings", str(tmp_path / "a"), "--root", "trunk", "--no-progress")
    assert ImportRoot.objects.get(path=str(tmp_path / "a")).name == "trunk"
    with pytest.raises(CommandError, match="already the name of"):
        call_command("import_recordings", str(tmp_path / "b"), "--root", "trunk")
    for bad in ("r", "compare", "a/b", "", "..", "x y"):
        if bad:
            with pytest.raises(CommandError, match="--root"):
                call_command("import_recordings", str(tmp_path / "b"), "--root", bad)
    with pytest.raises(CommandError, match="one PATH"):
        call_command("import_recordings", str(tmp_path / "a"), str(tmp_path / "b"), "--root", "x")
