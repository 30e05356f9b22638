"""The request hash llama-stack's recorder names a file by, under today's rule and the older
rules that files in real trees still follow (FORMAT.md, "The file name" and "Replay,
precisely"). Pure: a request dict and a test id in, hex digests out.

The recorder hashes `json.dumps({method, endpoint, body, test_id}, sort_keys=True)` for
inference, `{test_id, url, method, payload}` for passthrough and `{provider, tool_name,
kwargs}` (no test id, no normalization) for tool invocations. Its body normalization grew over
time; each stage is a rule here, newest first, so that a file's name tells which rule wrote it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import orjson

from inspector.wire.common import key_of

CURRENT = "current"
BEFORE_FILE_SEARCH = "before file-search normalization"
BEFORE_ROUNDING = "before float rounding"
LEGACY_INDEX = "legacy index"  # 2025: index.sqlite, names of 12 hex digits, no test id

# Model listings are shared between tests: their hash leaves the test id out.
UNSCOPED_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})

FLOAT_IN_STRING = re.compile(r"(-?\d+\.\d{4,})")
UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
FILE_SEARCH_SCORE = re.compile(r"score:\s*[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")
FILE_SEARCH_ATTRIBUTES = re.compile(r",?\s*attributes:\s*\{[^}]*\}")
FILE_SEARCH_DOCUMENT_ID = re.compile(rf"document_id:\s*{UUID}")
FILE_SEARCH_CITATION = re.compile(rf"<\|{UUID}\|>")
FILE_SEARCH_MARKS = ("score:", "attributes:", "document_id:", "<|")  # found by C, not regex
MARK_BYTES = tuple(mark.encode() for mark in FILE_SEARCH_MARKS)
# A float as orjson writes it: `0.7`, or `1e-06` for small ones.
FLOAT_BYTES = re.compile(rb"\d\.\d|\d[eE][-+]?\d")


@dataclass(frozen=True)
class Rule:
    """One stage of the recorder's normalization."""

    name: str
    rounds_floats: bool
    file_search: bool
    drops_project_id: bool
    bedrock_stream_options: bool  # `stream_options` left out when the host is Bedrock's


RULES = (
    Rule(CURRENT, True, True, True, True),
    Rule(BEFORE_FILE_SEARCH, True, False, True, True),
    Rule(BEFORE_ROUNDING, False, False, False, False),
)
RULE_NAMES = tuple(rule.name for rule in RULES)


def rounded_literals(text: str) -> str:
    if "." not in text:  # most strings (base64 images among them): one scan in C, no regex
        return text
    return FLOAT_IN_STRING.sub(lambda match: f"{float(match[0]):.5f}", text)


def file_search_placeholders(text: str) -> str:
    if not any(mark in text for mark in FILE_SEARCH_MARKS):
        return text
    text = FILE_SEARCH_SCORE.sub("score: __NORMALIZED__", text)
    text = FILE_SEARCH_ATTRIBUTES.sub("", text)
    text = FILE_SEARCH_DOCUMENT_ID.sub("document_id: __NORMALIZED__", text)
    return FILE_SEARCH_CITATION.sub("<|__NORMALIZED__|>", text)


def untouched(value: Any) -> bool:
    """Whether no float or string inside `value` can change under any rule: its JSON (written
    by orjson, ~50 times faster than walking it in Python) has no float (`0.7`, `1e-06`) and
    no file-search mark. Most bodies of a real tree walk nowhere then (base64 has no dot)."""
    try:
        data = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return FLOAT_BYTES.search(data) is None and not any(m in data for m in MARK_BYTES)


def normalized(value: Any, rule: Rule, *, bedrock: bool = False, root: bool = True) -> Any:
    """A body as `rule` hashes it. What the rule leaves alone is returned as the same object
    (`is`), so that rules that agree on a body hash it once (`hashes_of`)."""
    if not rule.rounds_floats:
        return value
    if isinstance(value, dict):
        walk = not (root and untouched(value))
        out = {
            key: normalized(item, rule, root=False) if walk else item for key, item in value.items()
        }
        if bedrock and rule.bedrock_stream_options:
            out.pop("stream_options", None)
        if root and rule.drops_project_id:
            for key in ("extra_body", "extra_query"):
                if isinstance(out.get(key), dict) and "project_id" in out[key]:
                    out[key] = {k: v for k, v in out[key].items() if k != "project_id"}
        same = len(out) == len(value) and all(out[k] is value[k] for k in out)
        return value if same else out
    if isinstance(value, list):
        items = [normalized(item, rule, root=False) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, float):
        rounded = round(value, 5)
        return value if rounded == value else rounded
    if isinstance(value, str):
        return rounded_literals(file_search_placeholders(value) if rule.file_search else value)
    return value


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def hashed_documents(
    request: dict[str, Any], test_id: str | None, rules: tuple[Rule, ...] = RULES
) -> dict[str, dict[str, Any]]:
    """What each rule hashes for this request, by rule name; {} for a request no rule hashes
    (file processing, unknown shapes). Tool invocations have one rule: they were never
    normalized."""
    if "tool_name" in request:
        keys = ("provider", "tool_name", "kwargs")
        return {CURRENT: {key: request.get(key) for key in keys}}
    if "file_id" in request:
        return {}
    url = request.get("url")
    if not isinstance(url, str):
        return {}
    method = request.get("method")
    method = method.upper() if isinstance(method, str) else method
    if "payload" in request:
        return {
            rule.name: {
                "test_id": test_id,
                "url": url,
                "method": method,
                "payload": normalized(request.get("payload"), rule),
            }
            for rule in rules
        }
    if "body" not in request:
        return {}
    parsed = urlparse(url)
    bedrock = "bedrock" in parsed.netloc
    documents = {}
    for rule in rules:
        document = {
            "method": method,
            "endpoint": parsed.path,
            "body": normalized(request["body"], rule, bedrock=bedrock),
        }
        if parsed.path not in UNSCOPED_PATHS:
            document["test_id"] = test_id
        documents[rule.name] = document
    return documents


def request_hashes(request: dict[str, Any], test_id: str | None) -> dict[str, str]:
    """The hash of this request under each rule (the same digest may repeat: a body with no
    float and no file-search text hashes alike under all of them); {} for a request that
    Python's json cannot write (nested past its recursion limit: no recorder wrote it)."""
    try:
        return hashes_of(request, test_id)
    except (RecursionError, ValueError, TypeError):
        return {}


def hashes_of(request: dict[str, Any], test_id: str | None) -> dict[str, str]:
    hashes: dict[str, str] = {}
    by_values: dict[tuple[int, ...], str] = {}  # rules that left the body alone hash it once
    for name, document in hashed_documents(request, test_id).items():
        values = tuple(map(id, document.values()))
        hashes[name] = by_values.get(values) or by_values.setdefault(values, digest(document))
    if "body" in request and isinstance(request.get("url"), str):
        method = request.get("method")
        legacy = {
            "method": method.upper() if isinstance(method, str) else method,
            "endpoint": urlparse(request["url"]).path,
            "body": request["body"],
        }
        hashes[LEGACY_INDEX] = digest(legacy)[:12]
    return hashes


def current_document(request: dict[str, Any], test_id: str | None) -> dict[str, Any] | None:
    """What today's rule hashes of this request; None when no rule hashes it."""
    try:
        return hashed_documents(request, test_id, RULES[:1]).get(CURRENT)
    except (RecursionError, ValueError, TypeError):  # see request_hashes
        return None


def current_hash(request: dict[str, Any], test_id: str | None) -> tuple[str, dict[str, Any] | None]:
    """The request's hash under today's rule, the name the harness looks for ("" when no rule
    hashes it), and the document hashed. What an import computes of every file (the older
    rules only for a file whose name is not this: `request_hashes`)."""
    document = current_document(request, test_id)
    if document is None:
        return "", None
    try:
        return digest(document), document
    except (RecursionError, ValueError, TypeError):  # see request_hashes
        return "", None


def rule_of_name(name_hash: str, hashes: dict[str, str]) -> str | None:
    """The first rule (newest first) whose hash is the file's name, or None."""
    for rule, value in hashes.items():
        if value == name_hash:
            return rule
    return None


def request_key(request: dict[str, Any], document: dict[str, Any] | None = None) -> str:
    """What the request asked, without its test id, as today's rule normalizes it (`document`,
    when the caller has it): two tests that sent the same request have the same key."""
    document = document or current_document(request, None)
    if document is None:
        return key_of(request) if request else ""
    return key_of({key: value for key, value in document.items() if key != "test_id"})
