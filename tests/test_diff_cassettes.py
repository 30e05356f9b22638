"""`/diff` between two cassette exchanges and between two cassettes (exchanges paired in
order): two copies of corpus cassettes in two import roots, the second edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from django.utils.html import escape

from inspector.diffing.classify import NOISE_ONLY, REQUEST_CHANGED, RESPONSE_CHANGED, UNCHANGED
from inspector.importer import import_paths
from tests.test_diff import choices_of

MAX = 64 * 1024 * 1024
FOLDER = "mirascope/tests/e2e/input/cassettes/test_structured_output_resume_stream"
CHAT = f"{FOLDER}/openai_gpt_4o_completions"  # two streamed exchanges
TOOL = f"{FOLDER}/tool/openai_gpt_4o_completions"  # the same, answered by a tool call
XSS = "<script>alert(1)</script>"


def copy_root(corpus: Path, folder: Path) -> Path:
    for name in (CHAT, TOOL):
        target = folder / f"{name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / f"{name}.yaml", target)
    return folder


def edit(folder: Path, name: str, change) -> None:
    """Rewrite the cassette `<folder>/<name>.yaml` after `change(its interactions)`."""
    path = folder / f"{name}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["interactions"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def replace_in_response(interaction: dict, old: str, new: str, count: int = 1) -> None:
    body = interaction["response"]["body"]
    assert old in body["string"], old
    body["string"] = body["string"].replace(old, new, count)


def events(interaction: dict) -> list[str]:
    return interaction["response"]["body"]["string"].split("\n\n")


@pytest.fixture
def roots(cassette_corpus, tmp_path, db):
    return copy_root(cassette_corpus, tmp_path / "before"), copy_root(
        cassette_corpus, tmp_path / "after"
    )


def imported(roots) -> None:
    for folder in roots:
        report = import_paths([folder], max_bytes=MAX)
        assert report.failed == 0, report.failures


def get_json(client, a: str, b: str, status: int = 200) -> dict:
    response = client.get("/diff.json?" + urlencode({"a": a, "b": b}))
    assert response.status_code == status, response.content[:500]
    return response.json()


def exchange_json(client, name: str, n: int = 1) -> dict:
    return get_json(client, f"before/{name}/{n}", f"after/{name}/{n}")


def exchange_html(client, name: str, n: int = 1) -> str:
    query = urlencode({"a": f"before/{name}/{n}", "b": f"after/{name}/{n}"})
    response = client.get(f"/diff?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# --------------------------------------------------------------------------- two exchanges


def test_it_names_the_path_of_a_changed_message(client, roots):
    def change(interactions):
        request = interactions[0]["request"]
        request["body"] = request["body"].replace("a lucky number", "an unlucky number")

    edit(roots[1], CHAT, change)
    imported(roots)
    found = exchange_json(client, CHAT)
    assert found["class"] == REQUEST_CHANGED
    assert [(d["path"], d["kind"], d["changes_hash"]) for d in found["request"]] == [
        ("messages[0].content", "changed", True)
    ]
    html = exchange_html(client, CHAT)
    assert "<del>a lucky </del>" in html
    assert "<ins>an unlucky </ins>" in html


def test_it_shows_no_difference_when_only_noise_changed(client, roots):
    def change(interactions):
        first = interactions[0]
        replace_in_response(first, '"created":1770674968', '"created":1770679999', count=-1)
        replace_in_response(first, '"obfuscation":"DnydHUrSlVZszS"', '"obfuscation":"x"')
        first["response"]["headers"]["Date"] = ["Tue, 10 Feb 2026 09:00:00 GMT"]
        first["request"]["headers"]["User-Agent"] = ["OpenAI/Python 2.17.0"]

    edit(roots[1], CHAT, change)
    imported(roots)
    found = exchange_json(client, CHAT)
    assert found["class"] == NOISE_ONLY
    assert found["request"] == []
    assert [op["op"] for op in found["response"]["text"]] == ["equal"]
    assert found["response"]["usage"] == {}
    assert found["chunks"]["same"] is True
    html = exchange_html(client, CHAT)
    assert "The requests are the same" in html
    assert "The assembled responses are the same" in html
    assert exchange_json(client, CHAT, 2)["class"] == UNCHANGED


def test_it_marks_the_words_of_a_changed_response_and_usage(client, roots):
    def change(interactions):
        replace_in_response(interactions[0], '"content":"7"', '"content":"8"')
        replace_in_response(interactions[0], '"prompt_tokens":62', '"prompt_tokens":63')

    edit(roots[1], CHAT, change)
    imported(roots)
    found = exchange_json(client, CHAT)
    assert found["class"] == RESPONSE_CHANGED
    assert found["response"]["text"] == [
        {"op": "equal", "text": '{"output":'},
        {"op": "delete", "text": "7"},
        {"op": "insert", "text": "8"},
        {"op": "equal", "text": "}"},
    ]
    assert found["response"]["usage"] == {"prompt": {"a": 62, "b": 63}}
    html = exchange_html(client, CHAT)
    assert "<del>7</del>" in html
    assert "<ins>8</ins>" in html
    assert "<ins>63</ins>" in html


def test_it_lists_a_tool_call_whose_arguments_changed(client, roots):
    def change(interactions):
        replace_in_response(interactions[0], '"arguments":"7"', '"arguments":"9"')

    edit(roots[1], TOOL, change)
    imported(roots)
    found = exchange_json(client, TOOL)
    assert found["class"] == RESPONSE_CHANGED
    changed = found["response"]["tool_calls"]["changed"]
    assert [(c["name"]["b"], c["arguments"], c["differences"]) for c in changed] == [
        (
            "__mirascope_formatted_output_tool__",
            {"a": {"output": 7}, "b": {"output": 9}},
            [{"path": "output", "kind": "changed", "a": 7, "b": 9}],
        )
    ]


def test_it_shows_where_two_streams_are_chunked_differently(client, roots):
    def change(interactions):
        # `output` arrives as `out` and `put`: the same text in one chunk more.
        lines = events(interactions[0])
        at = next(i for i, line in enumerate(lines) if '"content":"output"' in line)
        data = json.loads(lines[at].strip().removeprefix("data: "))
        halves = []
        for text in ("out", "put"):
            data["choices"][0]["delta"]["content"] = text
            halves.append("data: " + json.dumps(data, separators=(",", ":")))
        lines[at : at + 1] = halves
        interactions[0]["response"]["body"]["string"] = "\n\n".join(lines)

    edit(roots[1], CHAT, change)
    imported(roots)
    found = exchange_json(client, CHAT)
    assert found["class"] == NOISE_ONLY
    chunks = found["chunks"]
    assert chunks["count"]["b"] == chunks["count"]["a"] + 1
    assert chunks["first_boundary"] == {
        "offset": 5,
        "a": {"chunk": 2, "end": 8, "text": "output"},
        "b": {"chunk": 2, "end": 5, "text": "out"},
    }
    assert "first cut differently at character 5" in exchange_html(client, CHAT)


def test_it_escapes_recorded_text(client, roots):
    def change(interactions):
        replace_in_response(interactions[0], '"content":"7"', json.dumps({"content": XSS})[1:-1])

    edit(roots[1], CHAT, change)
    imported(roots)
    html = exchange_html(client, CHAT)
    assert XSS not in html
    assert escape(XSS) in html


# --------------------------------------------------------------------------- two cassettes


def test_it_pairs_two_cassettes_exchange_by_exchange(client, roots):
    def change(interactions):
        replace_in_response(interactions[1], '"prompt_tokens":', '"prompt_tokens":1')
        interactions.append(interactions[1])

    edit(roots[1], CHAT, change)
    imported(roots)
    for a, b in (
        (f"before/{CHAT}.yaml", f"after/{CHAT}.yaml"),
        (f"/before/r/{CHAT}", f"/after/r/{CHAT}"),
    ):
        found = get_json(client, a, b)
        assert (found["a"], found["b"]) == (f"{CHAT}.yaml", f"{CHAT}.yaml")
        assert found["exchanges"] == {"a": 2, "b": 3}
        assert [(p["n"], p["only"], p["class"]) for p in found["pairs"]] == [
            (1, None, UNCHANGED),
            (2, None, RESPONSE_CHANGED),
            (3, "b", None),
        ]
        assert found["pairs"][2]["b"] == f"{CHAT}/3"
        assert set(found["pairs"][1]["response"]["usage"]) == {"prompt"}
    html = client.get("/diff?" + urlencode({"a": f"before/{CHAT}", "b": f"after/{CHAT}"}))
    page = html.content.decode()
    assert "Exchange 3" in page
    assert "Only in B" in page
    assert f'href="/after/r/{CHAT}/3"' in page


def test_it_refuses_a_cassette_against_one_exchange(client, roots):
    imported(roots)
    found = get_json(client, f"before/{CHAT}.yaml", f"after/{CHAT}/1", status=400)
    assert "b" in found["fields"]


def test_it_links_a_cassette_and_its_exchanges_to_their_diffs(client, roots):
    imported(roots)
    cassette = client.get(f"/before/r/{CHAT}").content.decode()
    assert "Compare with" in cassette
    assert f'value="before/{CHAT}.yaml"' in cassette
    link = "/diff?" + urlencode({"a": f"before/{CHAT}.yaml", "b": f"after/{CHAT}.yaml"})
    assert f'href="{escape(link)}"' in choices_of(client, f"before/{CHAT}.yaml")
    exchange = client.get(f"/before/r/{CHAT}/1").content.decode()
    assert f'value="before/{CHAT}/1"' in exchange
    # The test's other recording is the cassette's second exchange.
    second = "/diff?" + urlencode({"a": f"before/{CHAT}/1", "b": f"before/{CHAT}/2"})
    assert f'href="{escape(second)}"' in choices_of(client, f"before/{CHAT}/1")


def test_it_counts_a_changed_query_as_a_changed_request(client, roots):
    def change(interactions):
        interactions[0]["request"]["uri"] += "?api-version=2"

    edit(roots[1], CHAT, change)
    imported(roots)
    found = exchange_json(client, CHAT)
    assert found["class"] == REQUEST_CHANGED
    assert [(d["path"], d["b"]) for d in found["request"]] == [
        ("url", "https://api.openai.com/v1/chat/completions?api-version=2")
    ]
    assert found["hashed"] is False
