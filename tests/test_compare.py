"""/compare and /compare.json: two copies of the corpus, one re-recorded with a change of every
class, compared exactly."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from inspector import comparing
from inspector.importer import import_paths
from inspector.llama_stack.hashing import request_hashes
from inspector.models import ImportRoot, Recording

MAX = 64 * 1024 * 1024

pytestmark = [pytest.mark.django_db, pytest.mark.corpus]


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")


def chat_files(folder: Path) -> list[Path]:
    """Non-streamed chat completions of a test, with a user message of plain text, one per test
    (each role below is played in a test of its own)."""
    found, tests = [], set()
    for file in sorted(folder.glob("**/recordings/*.json")):
        document = json.loads(file.read_text())
        response = document.get("response") or {}
        body = response.get("body")
        test_id = document.get("test_id")
        if response.get("is_streaming") or not isinstance(body, dict) or not test_id:
            continue
        if not str(body.get("__type__", "")).endswith("chat_completion.ChatCompletion"):
            continue
        messages = (document["request"].get("body") or {}).get("messages") or []
        if not any(m.get("role") == "user" and isinstance(m.get("content"), str) for m in messages):
            continue
        if test_id not in tests:
            tests.add(test_id)
            found.append(file)
    return found


def renamed_to_its_hash(file: Path, document: dict) -> Path:
    """The file written under the name its request now hashes to (and the old one gone)."""
    new_hash = request_hashes(document["request"], document.get("test_id"))["current"]
    target = file.with_name(f"{new_hash}.json")
    file.unlink()
    write_json(target, document)
    return target


@dataclass
class Rerecording:
    """Root `before` (the corpus as it is) and `after` with one change of each class, by the
    paths (relative) each change touched."""

    before: Path
    after: Path
    request: tuple[str, str]
    response: str
    noise: str
    removed: str
    added: str


def rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def rerecord(corpus: Path, tmp_path: Path) -> Rerecording:
    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(corpus, before)
    shutil.copytree(corpus, after)
    request_file, response_file, noise_file, removed_file, added_from = chat_files(after)[:5]

    # Request changed: the test asks something else, so the file has another name.
    document = json.loads(request_file.read_text())
    user = next(m for m in document["request"]["body"]["messages"] if m["role"] == "user")
    user["content"] += " Answer in French."
    request_new = renamed_to_its_hash(request_file, document)

    # Response changed: same request, another answer.
    document = json.loads(response_file.read_text())
    document["response"]["body"]["__data__"]["choices"][0]["message"]["content"] = "unsafe"
    write_json(response_file, document)

    # Noise only: the recorder's id and time, nothing the test reads.
    document = json.loads(noise_file.read_text())
    data = document["response"]["body"]["__data__"]
    data["id"], data["created"] = "rec-000000000000", 1700000000
    write_json(noise_file, document)

    removed_file.unlink()

    # Added: a request of a new test.
    document = json.loads(added_from.read_text())
    document["test_id"] = "tests/integration/agents/test_new.py::test_added"
    added_new = added_from.with_name("0" * 64 + ".json")
    write_json(added_new, document)
    added_new = renamed_to_its_hash(added_new, document)

    return Rerecording(
        before,
        after,
        (rel(request_file, after), rel(request_new, after)),
        rel(response_file, after),
        rel(noise_file, after),
        rel(removed_file, after),
        rel(added_new, after),
    )


@pytest.fixture
def rerecorded(corpus: Path, tmp_path: Path) -> Rerecording:
    changes = rerecord(corpus, tmp_path)
    assert import_paths([changes.before], max_bytes=MAX, name="before").imported
    assert import_paths([changes.after], max_bytes=MAX, name="after").imported
    return changes


def page(path: str) -> str:
    return path.removesuffix(".json")


def test_it_classes_every_change_exactly(client, rerecorded):
    body = client.get("/compare.json", {"a": "before", "b": "after"}).json()
    present = Recording.objects.filter(root__name="before", missing=False).count()
    assert body["unchanged"] == present - 4  # the request, response, noise and removed files
    assert body["added"] == [
        {
            "b": f"after/{page(rerecorded.added)}",
            "test_id": "tests/integration/agents/test_new.py::test_added",
            "url": f"/after/r/{page(rerecorded.added)}",
        }
    ]
    assert [item["a"] for item in body["removed"]] == [f"before/{page(rerecorded.removed)}"]
    old, new = rerecorded.request
    changed = {item["class"]: (item["a"], item["b"]) for item in body["changed"]}
    assert changed == {
        "request": (f"before/{page(old)}", f"after/{page(new)}"),
        "response": (f"before/{page(rerecorded.response)}", f"after/{page(rerecorded.response)}"),
        "noise": (f"before/{page(rerecorded.noise)}", f"after/{page(rerecorded.noise)}"),
    }
    assert len(body["changed"]) == 3
    assert body["counts"] == {"request": 1, "response": 1, "added": 1, "removed": 1, "noise": 1}
    for item in body["changed"]:
        assert item["diff"] == "/diff?" + urlencode({"a": item["a"], "b": item["b"]})
        assert item["test_id"]


def test_it_compares_in_a_few_queries_per_root(rerecorded, django_assert_max_num_queries):
    a = ImportRoot.objects.get(name="before").pk
    b = ImportRoot.objects.get(name="after").pk
    # Pairing columns, then the answers of the pairs whose bytes differ, per root; tool calls
    # only where a response has some.
    with django_assert_max_num_queries(6):
        comparison = comparing.compare(a, b)
    assert Counter(item.kind for item in comparison.items) == Counter(comparing.KINDS)


def test_it_compares_a_root_with_itself_as_unchanged(client, rerecorded):
    body = client.get("/compare.json", {"a": "after", "b": "after"}).json()
    assert (body["added"], body["removed"], body["changed"]) == ([], [], [])
    assert body["unchanged"] == Recording.objects.filter(root__name="after").count()


def test_it_filters_by_class_and_suite(client, rerecorded):
    noise = client.get("/compare.json", {"a": "before", "b": "after", "class": "noise"}).json()
    assert [item["class"] for item in noise["changed"]] == ["noise"]
    assert (noise["added"], noise["removed"]) == ([], [])
    suite = rerecorded.noise.split("/recordings/")[0]
    in_suite = client.get("/compare.json", {"a": "before", "b": "after", "suite": suite}).json()
    shown = [*in_suite["added"], *in_suite["removed"], *in_suite["changed"]]
    assert shown
    assert all(
        (item.get("b") or item.get("a")).split("/", 1)[1].startswith(f"{suite}/recordings/")
        for item in shown
    )
    nowhere = client.get("/compare.json", {"a": "before", "b": "after", "suite": "nope"}).json()
    assert (nowhere["added"], nowhere["removed"], nowhere["changed"]) == ([], [], [])


def test_its_page_lists_tests_most_changed_first_each_linked_to_its_diff(client, rerecorded):
    response = client.get("/compare", {"a": "before", "b": "after"})
    assert response.status_code == 200
    html = response.content.decode()
    tests = response.context["tests"]
    assert len(tests) == 5  # one test per change
    weights = [sum(n for label, n in t["counts"] if label != "noise only") for t in tests]
    assert weights == sorted(weights, reverse=True)
    assert tests[-1]["counts"] == [("noise only", 1)]
    old, new = rerecorded.request
    diff = "/diff?" + urlencode({"a": f"before/{page(old)}", "b": f"after/{page(new)}"})
    assert f'href="{diff.replace("&", "&amp;")}"' in html
    assert f'href="/before/r/{page(rerecorded.removed)}"' in html
    assert f'href="/after/r/{page(rerecorded.added)}"' in html
    for kind in comparing.KINDS:
        assert f'data-class="{kind}"' in html


def test_its_page_paginates_by_test(client, rerecorded):
    first = client.get("/compare", {"a": "before", "b": "after", "_size": 2})
    assert len(first.context["tests"]) == 2
    assert first.context["prev_url"] is None
    assert first.context["next_url"] == "/compare?a=before&b=after&_size=2&_next=2"
    last = client.get(first.context["next_url"].replace("_next=2", "_next=4"))
    assert len(last.context["tests"]) == 1
    assert last.context["next_url"] is None
    assert last.context["prev_url"] == "/compare?a=before&b=after&_size=2&_next=2"
    seen = [t["test"] for t in first.context["tests"]]
    seen += [t["test"] for t in client.get(first.context["next_url"]).context["tests"]]
    seen += [t["test"] for t in last.context["tests"]]
    assert len(set(seen)) == 5


BAD_QUERIES = [
    {},
    {"a": "before"},
    {"a": "before", "b": "after", "class": "bogus"},
    {"a": "before", "b": "after", "_size": 0},
    {"a": "before", "b": "after", "_size": 10**6},
    {"a": "before", "b": "after", "_next": -1},
    {"a": "before", "b": "after", "_next": "x"},
    {"a": "x" * 600, "b": "after"},
]


def test_it_answers_bad_parameters_with_400(client, rerecorded):
    for query in BAD_QUERIES:
        assert client.get("/compare", query).status_code == 400, query
        response = client.get("/compare.json", query)
        assert response.status_code == 400, query
        assert response.json()["error"] == "bad parameters"


def test_it_answers_an_unknown_root_with_404(client, rerecorded):
    assert client.get("/compare", {"a": "before", "b": "nope"}).status_code == 404
    response = client.get("/compare.json", {"a": "nope", "b": "after"})
    assert response.status_code == 404
    assert "nope" in response.json()["error"]
