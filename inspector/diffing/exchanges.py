"""The diff of two exchanges (a llama-stack recording or a cassette's interaction each) and
of two cassettes (their exchanges paired in order), as the JSON `/diff.json` returns and the
page `/diff` shows. Pure: the view reads the rows and documents and passes them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inspector.diffing.classify import classify, request_key_of
from inspector.diffing.noise import denoised, is_noise
from inspector.diffing.requests import Difference, request_differences
from inspector.diffing.responses import Response, chunk_differences, response_differences
from inspector.wire.common import key_of


@dataclass
class Side:
    """One exchange as the diff reads it."""

    path: str  # the recording's path (an exchange's: `<cassette>/<n>`)
    url: str  # its page
    request: dict[str, Any] | None  # the recorded request document; None when not stored
    test_id: str | None
    response: Response
    raw: str  # a digest of its bytes (the file's, or the interaction's document's)
    answer: dict[str, Any] = field(default_factory=dict)  # classify.answer_of its Recording
    stored_key: str = ""  # Recording.request_key, when the request is not at hand
    hashed: bool = True  # named by the recorder's request hash (llama-stack), not a cassette

    def request_key(self) -> str:
        """A cassette's request whole (VCR matches the URI's host and query too); a
        llama-stack one as its recorder's normalization sees it."""
        if self.hashed or self.request is None:
            return request_key_of(self.request) or self.stored_key
        request = {k: self.request.get(k) for k in ("method", "url", "body")}
        try:
            return key_of(denoised(request))
        except RecursionError:
            return self.stored_key

    def summary(self) -> dict[str, Any]:
        """`classify`'s view of this side."""
        return {"request": self.request_key(), "response": self.answer, "raw": self.raw}


def shown_request_differences(
    a: dict[str, Any] | None, b: dict[str, Any] | None, test_a: str | None, test_b: str | None
) -> tuple[list[Difference], list[str]]:
    """(differences shown, paths of the noise left out). A different host of one endpoint is a
    `url` difference that changes no hash (0.0.0.0 and localhost are one Ollama)."""
    if a is None or b is None:
        whole = [] if a == b else [Difference("", "changed", a, b)]
        return whole, []
    try:
        found = request_differences(a, b, test_a, test_b)
        paths = {d.path for d in found}
        url_a, url_b = a.get("url"), b.get("url")
        if url_a != url_b and not paths & {"url", "endpoint"}:
            found.insert(0, Difference("url", "changed", url_a, url_b, changes_hash=False))
        noisy = [is_noise(d) for d in found]
    except RecursionError:  # nested past Python's limit: said so, not compared
        return [Difference("", "changed", "(too deeply nested to compare)", None)], []
    shown = [d for d, noise in zip(found, noisy, strict=True) if not noise]
    return shown, [d.path for d, noise in zip(found, noisy, strict=True) if noise]


def exchange_diff(a: Side, b: Side) -> dict[str, Any]:
    shown, noise = shown_request_differences(a.request, b.request, a.test_id, b.test_id)
    chunks = None
    if a.response.chunks is not None and b.response.chunks is not None:
        chunks = chunk_differences(a.response.chunks, b.response.chunks)
    return {
        "a": a.path,
        "b": b.path,
        "a_url": a.url,
        "b_url": b.url,
        "class": classify(a.summary(), b.summary()),
        # Whether `changes_hash` says what llama-stack's replay sees (both llama-stack files);
        # for cassettes it says what that rule would hash, VCR matching on method, URI, body.
        "hashed": a.hashed and b.hashed,
        "request": [d.as_dict() for d in shown],
        "request_noise": noise,
        "response": response_differences(a.response, b.response),
        "chunks": chunks,
    }


def cassette_diff(
    a_path: str, b_path: str, a_url: str, b_url: str, a: list[Side], b: list[Side]
) -> dict[str, Any]:
    """Exchange n of `a` against exchange n of `b`, in cassette order; an exchange only one
    cassette has is a pair with one side (`only`: "a" or "b")."""
    pairs = []
    for n in range(max(len(a), len(b))):
        left = a[n] if n < len(a) else None
        right = b[n] if n < len(b) else None
        if left is not None and right is not None:
            pairs.append({"n": n + 1, "only": None, **exchange_diff(left, right)})
            continue
        one = left or right
        pairs.append(
            {
                "n": n + 1,
                "only": "a" if left is not None else "b",
                "a": left.path if left else None,
                "b": right.path if right else None,
                "a_url": left.url if left else None,
                "b_url": right.url if right else None,
                "class": None,
                "summary": one.response.text[:200] if one else "",
            }
        )
    return {
        "a": a_path,
        "b": b_path,
        "a_url": a_url,
        "b_url": b_url,
        "exchanges": {"a": len(a), "b": len(b)},
        "pairs": pairs,
    }
