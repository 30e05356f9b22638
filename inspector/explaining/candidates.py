"""The recordings a missed request most likely meant, best first. Found by indexed lookups only
(the file's name, the test id, the test function, the request's and the prompt's keys, the
model; a cassette's own exchanges), each capped, then ranked by what their rows say; only the
best few have their bodies read and diffed. At 100,000 recordings that is a handful of index
probes and at most DIFFED documents, where diffing every body would read them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from django.db.models import QuerySet

from inspector.diffing.requests import Difference, json_differences, request_differences
from inspector.explaining.questions import Question, hashed_part, read_messages, request_key
from inspector.formats import VCR
from inspector.llama_stack import hashing
from inspector.models import Recording, Source
from inspector.rows import prompt_key
from inspector.views.common import NEWEST_ROOT_FIRST, document_of
from inspector.wire.common import dumps

# Rows read per lookup, and documents diffed: the cap is what keeps /explain in its 300 ms.
PER_LOOKUP = 60
DIFFED = 10
SHOWN = 10
COLUMNS = (
    "id", "root_id", "source_id", "index", "format", "path", "file_name", "request_hash",
    "computed_hash", "request_key", "prompt_key", "test_id", "test_file", "test_function",
    "method", "url", "endpoint", "model", "message_count", "missing", "name_verdict",
    "name_reason",
)  # fmt: skip
# Scores: what the row says first (the same test, endpoint and model outrank everything but
# the request itself), then, below 1, how alike the bodies are.
SAME_REQUEST = 5.0
SAME_TEST = 3.0
SAME_TEST_OTHER_MODEL = 2.0
SAME_TEST_OTHER_ENDPOINT = 1.5
SAME_FUNCTION = 1.0
# A value longer than this (a base64 image, a long document) is shown shortened.
SHOWN_CHARS = 2000


@dataclass
class Candidate:
    recording: Recording
    score: float
    reason: str
    hint: float = 0.0  # what the row's keys say of the bodies, before they are diffed
    differences: list[Difference] = field(default_factory=list)
    diffed: bool = False


def rows(queryset: QuerySet[Recording], limit: int = PER_LOOKUP) -> list[Recording]:
    return list(queryset.only(*COLUMNS).order_by("-id")[:limit])


def cassette_of(path: str) -> Source | None:
    """The imported cassette the test process named, by the longest tail of its path that an
    imported path is (the process names it from its own working directory)."""
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = (
        Source.objects.filter(path__in=tails, format=VCR).defer("data").order_by(*NEWEST_ROOT_FIRST)
    )
    return max(found, key=lambda source: len(source.path), default=None)


def gather(question: Question, cassette: Source | None) -> dict[int, Recording]:
    """Every row a lookup finds, by id."""
    found: dict[int, Recording] = {}
    names = {h for h in (question.looked_for, *question.computed.values()) if h}
    lookups: list[QuerySet[Recording]] = []
    if names:
        lookups.append(Recording.objects.filter(request_hash__in=names))
    if question.looked_for:
        lookups.append(Recording.objects.filter(computed_hash=question.looked_for))
    if cassette is not None:
        lookups.append(Recording.objects.filter(source=cassette))
    test = question.test
    if question.test_id:
        lookups.append(Recording.objects.filter(test_id=question.test_id))
        if test.function:
            lookups.append(
                Recording.objects.filter(test_file=test.file, test_function=test.function)
            )
    key = request_key(question)
    if key:
        lookups.append(Recording.objects.filter(request_key=key))
    prompt = prompt_key(read_messages(question)) if question.request else ""
    if prompt:
        lookups.append(Recording.objects.filter(prompt_key=prompt))
    for lookup in lookups:
        for recording in rows(lookup):
            found.setdefault(recording.id, recording)
    if question.model and len(found) < PER_LOOKUP and not question.is_vcr:
        # The last resort: recent requests to the same model.
        for recording in rows(Recording.objects.filter(model=question.model)):
            found.setdefault(recording.id, recording)
    return found


def infer_test_id(question: Question, found: dict[int, Recording]) -> str | None:
    """The test id under which the pasted request hashes to the printed hash, among the
    found rows' test ids: a miss without its FAILED line still names its test so."""
    if not (question.looked_for and question.request) or question.test_id:
        return None
    for test_id in dict.fromkeys(r.test_id for r in found.values() if r.test_id):
        hashes = hashing.request_hashes(question.request, test_id)
        if hashes.get(hashing.CURRENT) == question.looked_for:
            return test_id
    return None


def path_of(url: str | None) -> str:
    return urlparse(url).path if url else ""


def same_endpoint(recording: Recording, question: Question) -> bool:
    wanted = {p for p in (question.path, question.miss and question.miss.endpoint) if p}
    if not wanted:
        return True  # nothing to compare with
    mine = {p for p in (recording.endpoint, path_of(recording.url)) if p}
    return bool(mine & wanted) or any(w.endswith(m) for w in wanted for m in mine if m != "/")


def same_model(recording: Recording, question: Question) -> bool:
    return not question.model or recording.model == question.model


def ranked(
    question: Question, found: dict[int, Recording], keys: dict[str, str]
) -> list[Candidate]:
    """The rows scored by what they say, best first."""
    similar = {(s.method, s.uri) for s in question.miss.similar} if question.miss else set()
    out = []
    for recording in found.values():
        if recording.format == VCR:
            score, reason = vcr_score(recording, question, similar)
        else:
            score, reason = row_score(recording, question)
        hint = 0.0
        hint += 0.6 if keys["request"] and recording.request_key == keys["request"] else 0
        hint += 0.2 if keys["prompt"] and recording.prompt_key == keys["prompt"] else 0
        hint += 0.1 if keys["messages"] and recording.message_count == keys["messages"] else 0
        hint += 0.05 if same_model(recording, question) else 0
        hint += 0.05 if same_endpoint(recording, question) else 0
        out.append(Candidate(recording, score, reason, hint))
    out.sort(key=lambda c: (-(c.score + c.hint), -c.recording.id))
    return out


def row_score(recording: Recording, question: Question) -> tuple[float, str]:
    wanted = question.looked_for
    if wanted and recording.computed_hash == wanted:
        return SAME_REQUEST, (
            f"its request hashes to {wanted} today, but its file is named "
            f"{recording.file_name}: rename it to {wanted}.json, or re-record"
        )
    if recording.request_hash in question.computed.values() and recording.request_hash != wanted:
        rule = next(r for r, h in question.computed.items() if h == recording.request_hash)
        return SAME_REQUEST, (
            f"its name is the pasted request's hash {rule}: today's harness looks for "
            f"{question.computed.get(hashing.CURRENT)}.json"
        )
    endpoint, model = same_endpoint(recording, question), same_model(recording, question)
    if question.test_id and recording.test_id == question.test_id:
        if endpoint and model:
            return SAME_TEST, "the same test, endpoint and model"
        if endpoint:
            return SAME_TEST_OTHER_MODEL, f"the same test, another model ({recording.model})"
        return SAME_TEST_OTHER_ENDPOINT, f"the same test, another endpoint ({recording.endpoint})"
    test = question.test
    if test.function and recording.test_function == test.function:
        return SAME_FUNCTION, "the same test function with other parameters"
    return 0.0, "another test asking alike"


def vcr_score(recording: Recording, question: Question, similar: set) -> tuple[float, str]:
    method = (recording.method or "").upper() == (question.method or "").upper()
    listed = (recording.method.upper(), recording.url) in similar
    extra = 0.5 if listed else 0.0
    note = "; VCR listed it as similar" if listed else ""
    if method and question.url and recording.url == question.url:
        return SAME_TEST + extra, f"the cassette's request with the same method and URL{note}"
    if method and question.url and path_of(recording.url) == path_of(question.url):
        return SAME_TEST_OTHER_MODEL + extra, f"the same method and path, another query{note}"
    if question.test_id and recording.test_id == question.test_id:
        return SAME_FUNCTION + extra, f"another request of the same test{note}"
    return extra, f"another exchange{note}"


def nearest(question: Question, cassette: Source | None = None) -> list[Candidate]:
    found = gather(question, cassette)
    inferred = infer_test_id(question, found)
    if inferred:
        question.test_id, question.test_id_source = inferred, "inferred"
        question.computed = hashing.request_hashes(question.request, inferred)
        found |= gather(question, None)
    parsed = read_messages(question) if question.request else None
    keys = {
        "request": request_key(question),
        "prompt": prompt_key(parsed) if parsed else "",
        "messages": len(parsed.messages) if parsed else 0,
    }
    candidates = ranked(question, found, keys)
    documents: dict[int, Any] = {}
    for candidate in candidates[:DIFFED] if question.request is not None else []:
        diff(candidate, question, documents)
    for candidate in candidates:
        candidate.score += similarity(candidate) if candidate.diffed else candidate.hint / 2
    candidates.sort(key=lambda c: (-c.score, -c.recording.id))
    return candidates[:SHOWN]


def diff(candidate: Candidate, question: Question, documents: dict[int, Any]) -> None:
    recording = candidate.recording
    document = documents.get(recording.id)
    if document is None:
        document = documents[recording.id] = document_of(recording)
    recorded = document.get("request") if isinstance(document, dict) else None
    if not isinstance(recorded, dict):
        return
    try:
        if recording.format == VCR:
            candidate.differences = vcr_differences(recorded, question)
        else:
            test_a = document.get("test_id", recorded.get("test_id"))
            test_a = test_a if isinstance(test_a, str) else None
            test_b = question.test_id if question.test_id else test_a
            candidate.differences = request_differences(recorded, question.request, test_a, test_b)
    except RecursionError:
        return  # nested too deep to compare
    candidate.diffed = True


def vcr_differences(recorded: dict[str, Any], question: Question) -> list[Difference]:
    """VCR matches on the request itself (method, URL, and the body when `match_on` says so):
    no normalization, so every difference may fail a matcher."""
    found = []
    for key, mine in (("method", question.method), ("url", question.url)):
        theirs = recorded.get(key)
        if mine and theirs != mine and str(theirs).upper() != str(mine).upper():
            found.append(Difference(key, "changed", theirs, mine))
    body = hashed_part(question.request)
    return found + json_differences(recorded.get("body"), body)


def similarity(candidate: Candidate) -> float:
    """Below 1: 1 for the same request, less for each difference, by its weight (one that
    the hash keeps weighs four that its normalization removes)."""
    hashed = sum(weight(d) for d in candidate.differences if d.changes_hash)
    removed = sum(weight(d) for d in candidate.differences if not d.changes_hash)
    return round(0.99 / (1 + hashed + removed / 4), 4)


def weight(difference: Difference) -> float:
    """1 for a value changed whole; down to 0.1 for a text edited a little (a sentence added
    to a long prompt), by how much of it the two keep at their ends."""
    a, b = difference.a, difference.b
    if not (isinstance(a, str) and isinstance(b, str)) or not (a or b):
        return 1.0
    longest = max(len(a), len(b))
    prefix = 0
    limit = min(len(a), len(b))
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return 1.0 - 0.9 * (prefix + suffix) / longest


def shown(value: Any) -> Any:
    """A difference's value as the answer shows it: long strings shortened."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return f"{value[: SHOWN_CHARS // 2]}… ({len(value):,} characters)"
    if isinstance(value, list | dict):
        text = dumps(value)
        if len(text) > SHOWN_CHARS:
            return f"{text[: SHOWN_CHARS // 2]}… ({len(text):,} characters of JSON)"
    return value
