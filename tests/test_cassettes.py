"""inspector.cassettes: VCR.py / pytest-recording cassettes read into interactions, with no
database. The shared corpus's cassettes read as its MANIFEST.tsv says; each variant FORMAT.md
lists reads the same exchange; secrets are masked; anything else is a CassetteError."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.cassettes import (
    MASK,
    CassetteError,
    Interaction,
    TestId,
    bodies,
    looks_like_cassette,
    naming,
    read_cassette,
)

PROPERTY = settings(derandomize=True, database=None, max_examples=200, deadline=None)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
REPLY = {"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "Hello"}}]}
STREAM = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: [DONE]\n\n'
URL = "https://api.openai.com/v1/chat/completions"


def vcr_request(body: Any, **headers: list[str]) -> dict[str, Any]:
    return {
        "body": body,
        "headers": {"content-type": ["application/json"], **headers},
        "method": "POST",
        "uri": URL,
    }


def vcr_response(body: Any, content_type: str = "application/json", **headers: Any) -> dict:
    return {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": [content_type], **headers},
        "body": body,
    }


def cassette_yaml(*interactions: dict[str, Any]) -> bytes:
    return yaml.safe_dump({"interactions": list(interactions), "version": 1}).encode()


def facts(interaction: Interaction) -> dict[str, Any]:
    """What every variant of one exchange must agree on."""
    return {
        "method": interaction.method,
        "url": interaction.url,
        "host": interaction.host,
        "request_json": interaction.request_json,
        "status": interaction.status,
        "response_json": interaction.response_json,
        "is_sse": interaction.is_sse,
        "events": [(e["event"], e["data"]) for e in interaction.sse_events],
    }


JSON_FACTS = {
    "method": "POST",
    "url": URL,
    "host": "api.openai.com",
    "request_json": CHAT,
    "status": 200,
    "response_json": REPLY,
    "is_sse": False,
    "events": [],
}
SSE_FACTS = {
    **JSON_FACTS,
    "response_json": None,
    "is_sse": True,
    "events": [("message", '{"choices":[{"delta":{"content":"Hel"}}]}'), ("message", "[DONE]")],
}


@pytest.mark.corpus
def test_it_reads_every_cassette_of_the_corpus_as_its_manifest_says(cassette_corpus: Path) -> None:
    with open(cassette_corpus / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    expected, found, errors = {}, {}, {}
    for row in rows:
        expected[row["path"]] = (
            *(int(row[key]) for key in ("exchanges", "sse_exchanges", "json_exchanges")),
            row["hosts"],
            row["methods"],
            True,
        )
        data = (cassette_corpus / row["path"]).read_bytes()
        try:
            cassette = read_cassette(data, row["path"])
        except CassetteError as error:
            errors[row["path"]] = str(error)
            continue
        exchanges = cassette.interactions
        found[row["path"]] = (
            len(exchanges),
            sum(exchange.is_sse for exchange in exchanges),
            sum(exchange.response_json is not None for exchange in exchanges),
            ",".join(dict.fromkeys(exchange.host for exchange in exchanges)),
            ",".join(dict.fromkeys(exchange.method for exchange in exchanges)),
            looks_like_cassette(data, row["path"]),
        )
    assert errors == {}
    assert found == expected
    assert len(rows) == 792
    assert sum(counts[0] for counts in found.values()) == 1247


def test_it_reads_a_vcrpy_cassette_with_string_bodies() -> None:
    data = cassette_yaml(
        {"request": vcr_request(json.dumps(CHAT)), "response": vcr_response(json.dumps(REPLY))},
        {
            "request": vcr_request(json.dumps(CHAT)),
            "response": vcr_response({"string": STREAM}, "text/event-stream; charset=utf-8"),
        },
    )
    cassette = read_cassette(data, "tests/cassettes/test_chat/test_it.yaml")
    assert [facts(i) for i in cassette.interactions] == [JSON_FACTS, SSE_FACTS]
    assert [i.index for i in cassette.interactions] == [0, 1]
    assert (cassette.serializer, cassette.compressed, cassette.version) == ("yaml", False, 1)
    second = cassette.interactions[1]
    assert second.response_body == STREAM.encode()
    assert second.content_type == "text/event-stream; charset=utf-8"
    assert second.request_body == json.dumps(CHAT).encode()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("", lambda body: body)],
)
def test_it_reads_binary_bodies_and_undoes_their_content_encoding(encoding, pack) -> None:
    """yaml.safe_dump writes bytes as `!!binary`, as vcrpy does for a compressed body."""
    headers = {"Content-Encoding": [encoding]} if encoding else {}
    response = vcr_response({"string": pack(json.dumps(REPLY).encode())}, **headers)
    data = cassette_yaml({"request": vcr_request(json.dumps(CHAT).encode()), "response": response})
    assert b"!!binary" in data
    [interaction] = read_cassette(data, "x.yaml").interactions
    assert facts(interaction) == JSON_FACTS
    assert interaction.response_body == json.dumps(REPLY).encode()


def test_it_reads_pydantic_ai_parsed_bodies() -> None:
    """pydantic-ai writes JSON bodies as mappings (`parsed_body`), SSE as a literal block."""
    data = f"""interactions:
- request:
    headers:
      content-type: [application/json]
    method: POST
    parsed_body:
      model: gpt-4o-mini
      messages:
      - {{role: user, content: Hi}}
    uri: {URL}
  response:
    headers:
      content-type: [application/json]
    parsed_body:
      id: chatcmpl-1
      choices:
      - message: {{role: assistant, content: Hello}}
    status: {{code: 200, message: OK}}
- request:
    headers:
      content-type: [application/json]
    method: POST
    parsed_body: {{model: gpt-4o-mini, messages: [{{role: user, content: Hi}}]}}
    uri: {URL}
  response:
    body:
      string: |+
        data: {{"choices":[{{"delta":{{"content":"Hel"}}}}]}}

        data: [DONE]

    headers:
      content-type: [text/event-stream]
    status: {{code: 200, message: OK}}
version: 1
""".encode()
    interactions = read_cassette(data, "test_x.yaml").interactions
    assert [facts(i) for i in interactions] == [JSON_FACTS, SSE_FACTS]


def test_it_reads_the_json_serializer_gzipped_files_and_base64_of_gzip() -> None:
    document = {
        "interactions": [
            {"request": vcr_request(json.dumps(CHAT)), "response": vcr_response(json.dumps(REPLY))}
        ],
        "version": 1,
    }
    as_json = json.dumps(document, indent=4).encode()
    as_yaml = cassette_yaml(*document["interactions"])
    variants = {
        "x.json": (as_json, "json", False),
        "x.json.gz": (gzip.compress(as_json), "json", True),
        "x.yaml.gz": (gzip.compress(as_yaml), "yaml", True),
        "x.yaml": (base64.encodebytes(gzip.compress(as_yaml)), "yaml", True),
    }
    for name, (data, serializer, compressed) in variants.items():
        cassette = read_cassette(data, name)
        assert (cassette.serializer, cassette.compressed) == (serializer, compressed), name
        assert [facts(i) for i in cassette.interactions] == [JSON_FACTS], name
        assert looks_like_cassette(data, name), name


def test_it_reads_langchain_parallel_requests_and_responses() -> None:
    """LangChain's serializer: yaml.safe_dump of `requests`/`responses`, gzipped, bodies bytes."""
    document = {
        "requests": [vcr_request(json.dumps(CHAT)), vcr_request(json.dumps(CHAT))],
        "responses": [
            vcr_response({"string": json.dumps(REPLY).encode()}),
            vcr_response({"string": STREAM.encode()}, "text/event-stream"),
        ],
    }
    data = gzip.compress(yaml.safe_dump(document).encode())
    cassette = read_cassette(data, "tests/cassettes/test_chat.yaml.gz")
    assert cassette.layout == "requests/responses"
    assert [facts(i) for i in cassette.interactions] == [JSON_FACTS, SSE_FACTS]
    assert looks_like_cassette(data, "test_chat.yaml.gz")


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (b"interactions: {}\n", ""),
        (b"interactions: []\nversion: 1\n", ""),
        (b"interactions:\n  1be2feb5: [{text: Okay, token: 32313}]\n", "a mapping of 1 entries"),
    ],
)
def test_it_reads_empty_cassettes(data: bytes, note: str) -> None:
    cassette = read_cassette(data, "test_x.yaml")
    assert cassette.interactions == []
    assert note in cassette.note
    assert bool(cassette.note) == bool(note)
    assert looks_like_cassette(data, "test_x.yaml")


def test_it_keeps_entries_that_are_not_http() -> None:
    frame = {"kind": "websocket", "direction": "sent", "data": '{"type":"session.update"}'}
    data = cassette_yaml(
        frame,
        {"request": vcr_request(json.dumps(CHAT)), "response": vcr_response(json.dumps(REPLY))},
    )
    first, second = read_cassette(data, "x.yaml").interactions
    assert (first.index, first.kind, first.response_json, first.status) == (
        0,
        "websocket",
        frame,
        None,
    )
    assert (second.index, second.kind, facts(second)) == (1, "http", JSON_FACTS)


def test_it_masks_every_secret_header_in_any_case() -> None:
    names = ["authorization", "x-api-key", "api-key", "cookie", "set-cookie", "x-goog-api-key"]
    secrets = {}
    for number, name in enumerate(names):
        for spelling in (name, name.upper(), name.title()):
            secrets[spelling] = f"sk-secret-{number}-{spelling}"
    headers = {name: [value] for name, value in secrets.items()}
    data = cassette_yaml(
        {
            "request": {**vcr_request(json.dumps(CHAT)), "headers": {**headers, "accept": ["*/*"]}},
            "response": vcr_response(json.dumps(REPLY), **headers),
        },
        {
            "request": {**vcr_request("{}"), "headers": secrets},  # old vcrpy: bare values
            "response": {**vcr_response("{}"), "headers": secrets},
        },
    )
    interactions = read_cassette(data, "x.yaml").interactions
    shown = repr(interactions)
    assert [secret for secret in secrets.values() if secret in shown] == []
    for interaction in interactions:
        for headers_shown in (interaction.request_headers, interaction.response_headers):
            assert {name: headers_shown[name] for name in secrets} == {
                key: [MASK] for key in secrets
            }
    assert interactions[0].request_headers["accept"] == ["*/*"]


def test_it_refuses_tags_that_build_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    data = (
        f"interactions:\n- request: !!python/object/apply:os.system ['touch {marker}']\n"
        "  response: {}\nversion: 1\n"
    ).encode()
    with pytest.raises(CassetteError, match="builds Python objects"):
        read_cassette(data, "x.yaml")
    assert not marker.exists()
    assert not looks_like_cassette(data, "x.yaml")
    with pytest.raises(CassetteError, match="builds Python objects"):
        read_cassette(b"interactions: !!python/object:vcr.request.Request {}\n", "x.yaml")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"test_id": null, "request": {}, "response": {}}', "no interactions"),
        (b"- 1\n- 2\n", "a list, not a mapping"),
        (b"just text", "a str, not a mapping"),
        (b"", "empty, not a mapping"),
        (b"interactions: [\n", "malformed YAML at line 2"),
        (b'{"interactions": [}', "malformed JSON"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff", "corrupt gzip"),
        (gzip.compress(b"interactions: []")[:-6], "truncated gzip"),
        (b"interactions: []\nversion: one\n", "version is a str"),
        (b"interactions: 3\nversion: 1\n", "interactions is a int"),
        (b"interactions: []\nwhen: 2024-13-45\n", "unreadable YAML"),
        (b"interactions: \x80\x81\n", "malformed YAML"),
    ],
)
def test_it_refuses_what_is_not_a_cassette_in_one_line(data: bytes, reason: str) -> None:
    with pytest.raises(CassetteError) as refused:
        read_cassette(data, "x.yaml")
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not looks_like_cassette(data, "x.yaml")


def test_it_refuses_a_parsed_body_of_aliases_that_expands_past_any_size(monkeypatch) -> None:
    """Nine levels of ten aliases are a billion values; four levels and a limit of a thousand
    show the same refusal without a machine's memory at stake."""
    monkeypatch.setattr(bodies, "MAX_VALUES", 1000)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 4)]
    data = "\n".join([*lines, "interactions:", "- request: {uri: x, parsed_body: *a3}"]).encode()
    with pytest.raises(CassetteError, match="aliases"):
        read_cassette(data, "x.yaml")
    monkeypatch.setattr(bodies, "MAX_VALUES", 20_000)
    [interaction] = read_cassette(data, "x.yaml").interactions
    assert interaction.request_json == [[[["x"] * 10] * 10] * 10] * 10


def test_it_finds_cassettes_by_content_and_by_name() -> None:
    data = cassette_yaml({"request": vcr_request(None), "response": vcr_response(None)})
    assert looks_like_cassette(data, "anywhere/fixtures/vcr/TestX.test_y.yml")
    assert not looks_like_cassette(data, "tests/cassettes/test_x.py")
    assert not looks_like_cassette(b"name: ci\non: push\n", ".github/workflows/ci.yaml")
    recording = {"test_id": None, "request": {"url": URL}, "response": {"body": {}}}
    assert not looks_like_cassette(json.dumps(recording).encode(), "recordings/abc.json")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "tests/cassettes/test_openai/test_chat.yaml",
            TestId("tests/test_openai.py", None, "test_chat", None),
        ),
        (
            "tests/integration/cassettes/test_openai/TestChat.test_stream[gpt-4o-True].yaml",
            TestId("tests/integration/test_openai.py", "TestChat", "test_stream", "gpt-4o-True"),
        ),
        (
            "tests/cassettes/test_x/test_y[a.b-c[1]].json.gz",
            TestId("tests/test_x.py", None, "test_y", "a.b-c[1]"),
        ),
        ("fixtures/vcr/TestX.test_y.yml", TestId(None, "TestX", "test_y", None)),
        ("tests/cassettes/test_flat.yaml", TestId(None, None, "test_flat", None)),
        (
            "tests/e2e/input/cassettes/test_resume/tool/openai_gpt_4o.yaml",
            TestId(None, None, "test_resume", "tool/openai_gpt_4o"),
        ),
        (
            "tests/e2e/mlx_lm_cassettes/test_caching_tool.yaml",
            TestId(None, None, "test_caching_tool", None),
        ),
    ],
)
def test_it_names_the_test_of_a_cassette_from_its_path(path: str, expected: TestId) -> None:
    assert naming.test_of_path(path) == expected


def test_it_writes_the_node_id_of_a_test() -> None:
    test = naming.test_of_path("tests/cassettes/test_m/TestC.test_f[p1-p2].yaml")
    assert test.node_id == "tests/test_m.py::TestC::test_f[p1-p2]"
    assert naming.test_of_path("vcr/case.yaml").node_id == "case"


json_ish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
words = st.sampled_from(
    ["interactions", "request", "response", "body", "string", "headers", "status", "uri",
     "parsed_body", "content-type", "content-encoding", "requests", "responses", "version"]
)  # fmt: skip
leaves = json_ish | st.sampled_from(["text/event-stream", "application/json", "gzip", "deflate"])
cassette_ish = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=4),
    max_leaves=30,
)
# Interactions of the right shape with anything in them, so that most examples reach the reader
# of an interaction rather than stop at the cassette's outline.
parts = st.dictionaries(words, cassette_ish, max_size=5) | cassette_ish
interactions = st.lists(
    st.fixed_dictionaries({"request": parts, "response": parts}) | cassette_ish, max_size=3
)


def read_or_refuse(data: bytes) -> None:
    try:
        cassette = read_cassette(data, "x.yaml")
    except CassetteError as error:
        reason = str(error)
    else:
        reason = ""
        assert all(isinstance(i.response_body, bytes) for i in cassette.interactions)
    assert "\n" not in reason
    looks_like_cassette(data, "x.yaml")


@PROPERTY
@given(st.binary(max_size=200) | st.binary(max_size=100).map(gzip.compress))
def test_it_reads_any_bytes_or_refuses_them(data: bytes) -> None:
    read_or_refuse(data)


@PROPERTY
@given(interactions | cassette_ish, st.sampled_from(["yaml", "json"]))
def test_it_reads_any_yaml_structure_or_refuses_it(document: Any, serializer: str) -> None:
    if serializer == "yaml":
        read_or_refuse(yaml.safe_dump({"interactions": document}).encode())
        read_or_refuse(yaml.safe_dump(document).encode())
    else:
        read_or_refuse(json.dumps({"interactions": document}, default=repr).encode())
