"""What a user asks about a miss, made into what to look up: the test id, the live request
(the pasted body wrapped as the recorder wraps it), its hash under every rule, the hash the
harness looked for, and the command that re-records the test. Pure: no Django."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from inspector.explaining import misses
from inspector.llama_stack import hashing
from inspector.llama_stack.naming import UNSCOPED_PATHS, split_test_id
from inspector.llama_stack.verdicts import lookup_folder
from inspector.wire.common import key_of
from inspector.wire.reading import read_body
from inspector.wire.types import INFERENCE, TestId
from inspector.wire.types import Recording as Parsed

# The URL a genai miss does not print: its recordings' (`vertexai:///generate_content`).
GENAI_SCHEME = "vertexai://"


@dataclass
class Question:
    miss: misses.Miss | None = None
    test_id: str | None = None
    test_id_source: str = ""  # "given", "the body's recording", "the pasted text", "inferred"
    request: dict[str, Any] | None = None  # the live request, as the recorder records it
    method: str | None = None
    url: str | None = None
    model: str | None = None
    looked_for: str | None = None
    computed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> str | None:
        """The URL's path: what the recorder hashes as the endpoint."""
        return urlparse(self.url).path if self.url else None

    @property
    def is_vcr(self) -> bool:
        return self.miss is not None and self.miss.kind == misses.VCR

    @property
    def test(self) -> TestId:
        return split_test_id(self.test_id)


def ask(
    text: str = "",
    test_id: str = "",
    body: Any = None,
    method: str = "",
    url: str = "",
) -> Question:
    """The question the inputs make. `body`: the parsed JSON pasted (a body, a request, or a
    whole recording), None when none was."""
    question = Question(miss=misses.parse_miss(text) if text else None)
    miss = question.miss
    if text and miss is None:
        question.notes.append("No replay miss message was found in the text.")
    question.method = (method or (miss.method if miss else None) or "POST").upper()
    question.url = url or (miss.url if miss else None)
    if miss and miss.kind == misses.GENAI and not question.url and miss.endpoint:
        question.url = GENAI_SCHEME + miss.endpoint
    question.model = miss.model if miss else None
    question.looked_for = miss.hash if miss else None
    document_test_id = None
    if body is not None:
        question.request, document_test_id = wrap(body, question)
    if test_id:
        question.test_id, question.test_id_source = test_id, "given"
    elif document_test_id:
        question.test_id, question.test_id_source = document_test_id, "the body's recording"
    elif text and (found := misses.find_test_id(text)):
        question.test_id, question.test_id_source = found, "the pasted text"
    if miss and miss.kind == misses.TOOL and question.request is None and miss.kwargs is not None:
        question.request = tool_request(miss, miss.kwargs)
    if question.request is not None and not question.is_vcr:  # VCR matches, it hashes nothing
        question.computed = hashing.request_hashes(question.request, question.test_id)
        if not question.computed:
            question.notes.append(
                "No rule hashes this request: give its URL (and method) with the body."
            )
    if question.looked_for is None and miss and miss.kind == misses.TOOL:
        # Tool calls print no hash: it is their arguments' (no test id in it).
        question.looked_for = question.computed.get(hashing.CURRENT)
    if question.model is None and question.request is not None:
        question.model = model_of(question.request)
    for name in ("test_id", "model", "url"):
        value = getattr(question, name)
        if isinstance(value, str) and "\x00" in value:  # no database stores a NUL (PostgreSQL)
            setattr(question, name, None)
            question.notes.append(f"The {name.replace('_', ' ')} holds a NUL character: ignored.")
    return question


def wrap(value: Any, question: Question) -> tuple[dict[str, Any] | None, str | None]:
    """(the request, the test id its recording names) of a pasted value: a whole recording
    (`{test_id, request, response}`), a request as recorded, or a body (wrapped with the
    method and URL given or printed)."""
    if not isinstance(value, dict):
        question.notes.append("The body is not a JSON object: no request is made of it.")
        return None, None
    if isinstance(value.get("request"), dict):
        request = value["request"]
        found = value.get("test_id", request.get("test_id"))
        adopt(request, question)
        return request, found if isinstance(found, str) else None
    if "tool_name" in value or ("payload" in value and "url" in value):
        adopt(value, question)
        found = value.get("test_id")
        return value, found if isinstance(found, str) else None
    if "body" in value and ("url" in value or "method" in value):
        adopt(value, question)
        return value, None
    miss = question.miss
    if miss and miss.kind == misses.TOOL:
        return tool_request(miss, value), None
    if miss and miss.kind in (misses.HTTPX, misses.HTTPX_STREAM, misses.RERANK):
        return {"url": question.url, "method": question.method, "payload": value}, None
    if not question.url:
        question.notes.append("No URL was given or printed: the body's hash needs one.")
    return {"method": question.method, "url": question.url, "body": value}, None


def adopt(request: dict[str, Any], question: Question) -> None:
    """A pasted request's own method and URL, unless others were given."""
    if isinstance(request.get("url"), str) and not question.url:
        question.url = request["url"]
    if isinstance(request.get("method"), str) and not (question.miss and question.miss.method):
        question.method = request["method"].upper()


def tool_request(miss: misses.Miss, kwargs: Any) -> dict[str, Any]:
    return {"provider": miss.provider, "tool_name": miss.tool, "kwargs": kwargs}


def model_of(request: dict[str, Any]) -> str | None:
    for part in ("body", "payload"):
        value = request.get(part)
        if isinstance(value, dict) and isinstance(value.get("model"), str):
            return value["model"]
    return None


def hashed_part(request: dict[str, Any] | None) -> Any:
    """What the request asked: its body, payload or kwargs."""
    if request is None:
        return None
    for key in ("body", "payload", "kwargs"):
        if key in request:
            return request[key]
    return request


def request_key(question: Question) -> str:
    """The request's key as the importer writes it (`Recording.request_key`)."""
    if question.request is None:
        return ""
    if question.is_vcr:
        return key_of([question.method, question.url, hashed_part(question.request)])
    return hashing.request_key(question.request)


def read_messages(question: Question) -> Parsed:
    """The request's messages and tools, read as an import reads them."""
    parsed = Parsed(test_id=split_test_id(question.test_id), kind=INFERENCE)
    body = hashed_part(question.request)
    if isinstance(body, dict):
        # A body no reader knows has no messages to match by.
        with suppress(ValueError, TypeError, KeyError, AttributeError, RecursionError):
            read_body(parsed, body)
    return parsed


def expected_paths(question: Question) -> list[str]:
    """Where the harness looked for the file: the test's folder, then the fallback."""
    if not question.looked_for or question.is_vcr:
        return []
    name = f"{question.looked_for}.json"
    fallback = f"tests/integration/common/recordings/{name}"
    if not question.test_id or question.path in UNSCOPED_PATHS:
        return [fallback]
    return ["/".join([*lookup_folder(question.test_id), name]), fallback]


def shell_quoted(text: str) -> str:
    """Single-quoted for a POSIX shell, whatever the text holds."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def rerecord_command(test_id: str | None, vcr: bool = False) -> str | None:
    """The command that re-records that one test; None without a test id."""
    if not test_id:
        return None
    if vcr:
        return f"pytest {shell_quoted(test_id)} --record-mode=rewrite"
    return f"pytest {shell_quoted(test_id)} --inference-mode record-if-missing"
