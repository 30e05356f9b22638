"""The "Compare with" block of recording, cassette and `/test` pages: the test's other
recordings, the same path in other import roots, each as a link to its `/diff`."""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from urllib.parse import urlencode

from inspector import roots
from inspector.formats import VCR
from inspector.models import Recording, Source

# "Compare with" lists at most this many other recordings of the test (its page has all).
SAME_TEST_SHOWN = 20


def diff_url(a: str, b: str) -> str:
    return "/diff?" + urlencode({"a": a, "b": b})


def param_of(path: str, root_id: int) -> str:
    """What `/diff` is given for the recording or cassette at `path` in root `root_id`: the
    path, after its root's name once two or more roots exist (as its page's address is)."""
    names = roots.names()
    return f"{names[root_id]}/{path}" if len(names) > 1 and root_id in names else path


def compare_with(rec: Recording) -> dict[str, Any]:
    """The recording page's "Compare with": the test's other recordings (in this root), the
    same path in other import roots, and a form for any path. Two queries."""
    a = param_of(rec.path, rec.root_id)
    same_test: list[dict[str, str]] = []
    rows: list[tuple[str, int, str, int]] = []
    if rec.test_id:
        rows = list(
            Recording.objects.filter(test_id=rec.test_id, root_id=rec.root_id)
            .exclude(pk=rec.pk)
            .order_by("message_count", "index", "path")
            .values_list("path", "index", "format", "message_count")[: SAME_TEST_SHOWN + 1]
        )
    for path, index, fmt, messages in rows[:SAME_TEST_SHOWN]:
        label = path.rsplit("/", 1)[-1].removesuffix(".json")
        if fmt == VCR:
            label = f"{path.rsplit('/', 2)[-2]} #{index + 1}"
        detail = f"{messages} message{'s' if messages != 1 else ''}"
        url = diff_url(a, param_of(path, rec.root_id))
        same_test.append({"label": label, "detail": detail, "url": url})
    others = (
        Recording.objects.filter(path=rec.path)
        .exclude(root_id=rec.root_id)
        .values_list("root_id", flat=True)
    )
    return {
        "a": a,
        "same_test": same_test,
        "more": len(rows) > SAME_TEST_SHOWN,
        "other_roots": other_roots(a, rec.path, list(others)),
    }


def other_roots(a: str, path: str, root_ids: list[int]) -> list[dict[str, str]]:
    names = roots.names()
    return [
        {"label": names.get(pk, str(pk)), "url": diff_url(a, param_of(path, pk))} for pk in root_ids
    ]


def cassette_compare_with(source: Source, test_id: str | None) -> dict[str, Any]:
    """A cassette page's "Compare with": the other cassettes of its test (in this root), the
    same file in other import roots, and a form."""
    a = param_of(source.path, source.root_id)
    same_test = []
    if test_id:
        paths = (
            Recording.objects.filter(test_id=test_id, format=VCR, root_id=source.root_id)
            .exclude(source_id=source.pk)
            .order_by("source__path")
            .values_list("source__path", flat=True)
            .distinct()[:SAME_TEST_SHOWN]
        )
        for path in paths:
            url = diff_url(a, param_of(path, source.root_id))
            same_test.append({"label": path, "detail": "", "url": url})
    others = (
        Source.objects.filter(path=source.path, format=VCR)
        .exclude(root_id=source.root_id)
        .values_list("root_id", flat=True)
    )
    return {
        "a": a,
        "same_test": same_test,
        "more": False,
        "other_roots": other_roots(a, source.path, list(others)),
    }


def consecutive_diffs(recordings: list[Recording]) -> list[str | None]:
    """For `/test`: the diff of each recording with the one before it (None for the first)."""
    params = [param_of(r.path, r.root_id) for r in recordings]
    return [None] + [diff_url(a, b) for a, b in pairwise(params)]
