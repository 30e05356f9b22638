"""Two requests' differences as JSON paths (`messages[3].content`, `tools[0].function.
description`, `temperature`), each saying whether it changes the recorder's hash or whether its
normalization removes it (a float that rounds alike, a file-search score). DeepDiff finds them;
this module names them the way a user reads a request body. Pure: no Django."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from deepdiff import DeepDiff

from inspector.llama_stack import hashing

# DeepDiff's report kinds, as a user reads them.
KINDS = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
}
ABSENT = None  # `a` or `b` of a difference where the value is not there


@dataclass(frozen=True)
class Difference:
    path: str  # `messages[3].content`; "" for the whole value
    kind: str  # changed, added (only in b), removed (only in a)
    a: Any
    b: Any
    changes_hash: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def json_path(parts: list[Any]) -> str:
    """`["messages", 3, "content"]` as `messages[3].content`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def json_differences(
    a: Any, b: Any, exclude_regex_paths: list[str] | None = None
) -> list[Difference]:
    """Every difference between two JSON values, in path order. Lists are compared item by
    item (a message inserted shows as the messages after it changing, as a hash sees it)."""
    tree = DeepDiff(
        a,
        b,
        view="tree",
        verbose_level=2,
        exclude_regex_paths=exclude_regex_paths,
        threshold_to_diff_deeper=0,  # a dict with one key changed is that key, not the dict
    )
    found = []
    for report, levels in tree.items():
        kind = KINDS.get(report)
        if kind is None:
            continue
        for level in levels:
            left = ABSENT if kind == "added" else level.t1
            right = ABSENT if kind == "removed" else level.t2
            found.append(Difference(json_path(level.path(output_format="list")), kind, left, right))
    return sorted(found, key=lambda d: d.path)


def hashed_parts(request: dict[str, Any]) -> tuple[str, Any]:
    """(name, value) of the part of a recorded request that carries what was asked: an
    inference body, a passthrough payload, a tool call's kwargs; the whole request otherwise."""
    for key in ("body", "payload", "kwargs"):
        if key in request:
            return key, request[key]
    return "", request


def request_differences(
    a: dict[str, Any], b: dict[str, Any], test_a: str | None = None, test_b: str | None = None
) -> list[Difference]:
    """How request `b` differs from request `a` (both as recorded: `{method, url, body...}`),
    each difference marked with whether today's rule hashes it (`changes_hash`) or normalizes it
    away. Differences of method, URL path and test id come first: they change the hash too."""
    docs_a = hashing.hashed_documents(a, test_a).get(hashing.CURRENT)
    docs_b = hashing.hashed_documents(b, test_b).get(hashing.CURRENT)
    found: list[Difference] = []
    if docs_a is not None and docs_b is not None:
        for key in ("method", "endpoint", "url", "test_id", "provider", "tool_name"):
            if docs_a.get(key) != docs_b.get(key):
                found.append(Difference(key, "changed", docs_a.get(key), docs_b.get(key)))
    # Paths inside the body are the body's own (`messages[0].content`): what users write.
    raw = json_differences(hashed_parts(a)[1], hashed_parts(b)[1])
    if docs_a is None or docs_b is None:
        return found + raw
    hashed_a, hashed_b = hashed_parts(docs_a)[1], hashed_parts(docs_b)[1]
    kept = {d.path for d in json_differences(hashed_a, hashed_b)}
    for difference in raw:
        path = difference.path
        changes = path in kept or any(k.startswith((f"{path}.", f"{path}[")) for k in kept)
        found.append(Difference(**{**difference.as_dict(), "changes_hash": changes}))
    return found
