"""Two import roots compared, recording by recording (`/compare`): a re-recording reviewed.

Within a test (a llama-stack test id; a cassette is its own test, its exchanges paired in
order), recordings at one path in both roots are one request: equal bytes are unchanged, else
the answer changed (*response*: `diffing.classify.ANSWER_COLUMNS`) or only the bytes did
(*noise*: ids, `created`, indentation, chunking).
Those left over in a test pair up, a removed one with an added one of the same endpoint (same
prompt first, then in order), as *request* changed: the test now asks something else, so the
file's name (its request's hash) is another. What is left is added or removed.

Everything is read from stored columns, never from the files: one query per root for what pairs
recordings, one per root for what tells a response change from noise (only of the pairs whose
bytes differ), and one per root for their response's tool calls (only where there are some)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from inspector.diffing.classify import ANSWER_COLUMNS
from inspector.diffing.responses import arguments_value
from inspector.formats import VCR
from inspector.models import Recording, ToolCall

ADDED, REMOVED = "added", "removed"
REQUEST, RESPONSE, NOISE = "request", "response", "noise"
CHANGES = (REQUEST, RESPONSE, NOISE)
KINDS = (REQUEST, RESPONSE, ADDED, REMOVED, NOISE)  # the order a test lists them in
LABELS = {
    REQUEST: "request changed",
    RESPONSE: "response changed",
    NOISE: "noise only",
    ADDED: "added",
    REMOVED: "removed",
}
# What pairs recordings, per root.
PAIRING = (
    "id", "path", "test_id", "suite", "format", "sha256", "request_key", "prompt_key",
    "endpoint",
)  # fmt: skip
IDS_PER_QUERY = 2000  # under SQLite's bound-parameter limit (32,766), a few queries at most


@dataclass(frozen=True)
class Entry:
    pk: int
    path: str
    test_id: str | None
    suite: str
    format: str
    sha256: str
    request_key: str
    prompt_key: str
    endpoint: str

    @property
    def test(self) -> str:
        """What it pairs within: its test id, or for a cassette exchange its cassette."""
        if self.format == VCR:
            return "cassette:" + self.path.rpartition("/")[0]
        return "test:" + (self.test_id or "")


@dataclass(frozen=True)
class Item:
    """One recording added or removed, or one pair changed (`kind`: one of KINDS)."""

    kind: str
    a: Entry | None
    b: Entry | None

    @property
    def entry(self) -> Entry:
        return self.b or self.a  # type: ignore[return-value]


@dataclass
class TestChanges:
    """What changed in one test, its items in KINDS order."""

    test: str
    test_id: str | None
    suite: str
    items: list[Item] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(item.kind == kind for item in self.items)

    @property
    def weight(self) -> tuple[int, int]:
        """How much changed: what the test now asks or gets, then noise."""
        return (len(self.items) - self.count(NOISE), self.count(NOISE))


@dataclass
class Comparison:
    items: list[Item]
    unchanged: int

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for item in self.items:
            counts[item.kind] += 1
        return counts

    def suites(self) -> dict[str, int]:
        """Each suite with its number of items, most first."""
        counted: dict[str, int] = defaultdict(int)
        for item in self.items:
            counted[item.entry.suite] += 1
        return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))

    def selected(self, kind: str = "", suite: str | None = None) -> list[Item]:
        return [
            item
            for item in self.items
            if (not kind or item.kind == kind) and (suite is None or item.entry.suite == suite)
        ]


def tests_of(items: Iterable[Item]) -> list[TestChanges]:
    """The items by test, the test with the most changes first (then by test id)."""
    tests: dict[str, TestChanges] = {}
    for item in items:
        entry = item.entry
        test = tests.get(entry.test)
        if test is None:
            test = tests[entry.test] = TestChanges(entry.test, entry.test_id, entry.suite)
        test.items.append(item)
    for test in tests.values():
        test.items.sort(key=lambda item: (KINDS.index(item.kind), item.entry.path))
    weight = lambda t: (-t.weight[0], -t.weight[1], t.test_id or "", t.test)  # noqa: E731
    return sorted(tests.values(), key=weight)


def entries(root_id: int) -> dict[str, Entry]:
    rows = Recording.objects.filter(root_id=root_id, missing=False).values_list(*PAIRING)
    return {row[1]: Entry(*row) for row in rows.iterator(chunk_size=5000)}


def compare(a_id: int, b_id: int) -> Comparison:
    """Root `b` (the re-recording) against root `a`."""
    before, after = entries(a_id), entries(b_id)
    items: list[Item] = []
    unchanged = 0
    differing: list[tuple[Entry, Entry]] = []
    for path, a in before.items():
        b = after.get(path)
        if b is None:
            continue
        if a.sha256 == b.sha256:
            unchanged += 1
        elif a.format == VCR and a.request_key != b.request_key:
            items.append(Item(REQUEST, a, b))  # exchanges pair in order: this one asks anew
        else:
            differing.append((a, b))
    removed = [a for path, a in before.items() if path not in after]
    added = [b for path, b in after.items() if path not in before]
    items.extend(pair_leftovers(removed, added))
    items.extend(classify(differing))
    return Comparison(items, unchanged)


def pair_leftovers(removed: list[Entry], added: list[Entry]) -> Iterator[Item]:
    """In each test, a removed and an added recording of one endpoint are one request asked
    anew: of the same prompt first, then in order (import order: the files' names). Recordings
    of no test (requests made outside any) pair only by their prompt."""
    added_by_test: dict[str, list[Entry]] = defaultdict(list)
    for entry in sorted(added, key=lambda e: e.pk):
        added_by_test[entry.test].append(entry)
    removed_by_test: dict[str, list[Entry]] = defaultdict(list)
    for entry in sorted(removed, key=lambda e: e.pk):
        removed_by_test[entry.test].append(entry)
    for test, gone in removed_by_test.items():
        new = added_by_test.pop(test, [])
        by_prompt_only = test == "test:"
        for same_prompt in (True, False):
            if not same_prompt and by_prompt_only:
                break
            left = []
            for a in gone:
                match = next(
                    (
                        b
                        for b in new
                        if b.endpoint == a.endpoint
                        and (not same_prompt or (a.prompt_key and b.prompt_key == a.prompt_key))
                    ),
                    None,
                )
                if match is None:
                    left.append(a)
                else:
                    new.remove(match)
                    yield Item(REQUEST, a, match)
            gone = left
        yield from (Item(REMOVED, a, None) for a in gone)
        yield from (Item(ADDED, None, b) for b in new)
    for new in added_by_test.values():
        yield from (Item(ADDED, None, b) for b in new)


def classify(pairs: list[tuple[Entry, Entry]]) -> Iterator[Item]:
    """Pairs of one path whose bytes differ: a response change, or noise only."""
    if not pairs:
        return
    answers = answers_of([a.pk for a, _ in pairs]) | answers_of([b.pk for _, b in pairs])
    counts = {pk: answer.pop("tool_call_count") for pk, answer in answers.items()}
    with_calls = [pk for a, b in pairs for pk in (a.pk, b.pk) if counts[a.pk] or counts[b.pk]]
    calls = response_calls(with_calls)
    for a, b in pairs:
        same = answers[a.pk] == answers[b.pk] and calls.get(a.pk) == calls.get(b.pk)
        yield Item(NOISE if same else RESPONSE, a, b)


def batches(ids: list[int]) -> Iterator[list[int]]:
    iterator = iter(ids)
    while batch := list(islice(iterator, IDS_PER_QUERY)):
        yield batch


def answers_of(ids: list[int]) -> dict[int, dict[str, Any]]:
    found = {}
    for batch in batches(ids):
        # tool_call_count: whose calls to read (`classify` takes it out of the answer).
        columns = ("id", "tool_call_count", *ANSWER_COLUMNS)
        for row in Recording.objects.filter(id__in=batch).values(*columns):
            found[row.pop("id")] = row
    return found


def response_calls(ids: list[int]) -> dict[int, list[tuple[str, Any]]]:
    """The tool calls of each recording's response: name and arguments (as JSON when they
    parse: `{"a": 1}` and `{"a":1}` are one call)."""
    calls: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for batch in batches(ids):
        rows = ToolCall.objects.filter(recording_id__in=batch, message_index__isnull=True)
        for pk, name, arguments in rows.order_by("recording_id", "position").values_list(
            "recording_id", "name", "arguments"
        ):
            calls[pk].append((name, arguments_value(arguments)))
    return dict(calls)
