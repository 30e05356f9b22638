"""`/compare?a=<root>&b=<root>`: what a re-recording changed, test by test (`inspector.comparing`),
and its JSON twin `/compare.json`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inspector import comparing, roots
from inspector.comparing import LABELS, Comparison, Entry, Item
from inspector.facets import data_version
from inspector.forms import MAX_NUMBER, MAX_SIZE
from inspector.views.common import bad_request, page_path

PAGE_TESTS = 50
# A comparison is kept until an import changes either root (`data_version`): paging through
# one reads it once. Its size: a few hundred bytes an item.
COMPARISON_SECONDS = 600


class CompareQuery(forms.Form):
    a = forms.CharField(max_length=500, help_text="the root before (its name)")
    b = forms.CharField(max_length=500, help_text="the root after, the re-recording")
    suite = forms.CharField(required=False, max_length=1000, strip=False)
    _size = forms.IntegerField(required=False, min_value=1, max_value=MAX_SIZE)
    _next = forms.IntegerField(required=False, min_value=0, max_value=MAX_NUMBER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `class`, a Python keyword: added here rather than declared.
        self.fields["class"] = forms.ChoiceField(
            required=False, choices=[("", "any"), *LABELS.items()]
        )


@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    return respond(request, as_json=False)


@require_safe
def compare_json(request: HttpRequest) -> HttpResponse:
    return respond(request, as_json=True)


def respond(request: HttpRequest, *, as_json: bool) -> HttpResponse:
    form = CompareQuery(request.GET)
    if not form.is_valid():
        return bad_request(request, form, json=as_json)
    names = {}
    for side in ("a", "b"):
        name = form.cleaned_data[side]
        names[side] = (name, roots.root_named(name))
        if names[side][1] is None:
            if as_json:
                return JsonResponse({"error": f"no import root named {name}"}, status=404)
            raise Http404(f"No import root named {name}")
    (a_name, a_id), (b_name, b_id) = names["a"], names["b"]
    comparison = comparison_of(a_id, b_id)  # type: ignore[arg-type]
    kind = form.cleaned_data["class"]
    suite = form.cleaned_data["suite"] if "suite" in request.GET else None
    selected = comparison.selected(kind, suite)
    links = Links(a_name, a_id, b_name, b_id)  # type: ignore[arg-type]
    if as_json:
        return JsonResponse(comparison_json(comparison, selected, links))
    size = form.cleaned_data["_size"] or PAGE_TESTS
    start = form.cleaned_data["_next"] or 0
    tests = comparing.tests_of(selected)
    shown = tests[start : start + size]
    # The page's state; `suite` None: not chosen ("" is a suite: files at a root's top).
    state = {"a": a_name, "b": b_name, "class": kind, "suite": suite}
    state["_size"] = form.cleaned_data["_size"]

    def url(path: str = "/compare", **changed: Any) -> str:
        merged = state | changed
        query = {k: v for k, v in merged.items() if v is not None and (v != "" or k == "suite")}
        return f"{path}?{urlencode(query)}"

    counts = comparison.counts()
    ctx = {
        "a": a_name,
        "b": b_name,
        "root_names": list(roots.names().values()),
        "unchanged": comparison.unchanged,
        "total": len(comparison.items),
        "classes": [
            {
                "kind": k,
                "label": LABELS[k],
                "count": counts[k],
                "chosen": k == kind,
                "url": url(**{"class": k, "_next": None}),
            }
            for k in comparing.KINDS
        ],
        "any_class_url": url(**{"class": "", "_next": None}),
        "kind": kind,
        "suite": suite,
        "suites": [
            {"name": s, "count": n, "chosen": s == suite, "url": url(suite=s, _next=None)}
            for s, n in comparison.suites().items()
        ],
        "any_suite_url": url(suite=None, _next=None),
        "tests": [test_view(test, links) for test in shown],
        "test_count": len(tests),
        "first": start + 1,
        "last": start + len(shown),
        "prev_url": url(_next=max(start - size, 0) or None) if start else None,
        "next_url": url(_next=start + size) if start + size < len(tests) else None,
        "json_url": url("/compare.json"),
    }
    return render(request, "inspector/compare.html", ctx)


def comparison_of(a_id: int, b_id: int) -> Comparison:
    key = f"compare:{a_id}:{b_id}:{data_version()}"
    found = cache.get(key)
    if found is None:
        found = comparing.compare(a_id, b_id)
        cache.set(key, found, COMPARISON_SECONDS)
    return found


class Links:
    """Addresses of a comparison's recordings: their pages in their roots, and their diff."""

    def __init__(self, a_name: str, a_id: int, b_name: str, b_id: int) -> None:
        self.a_name, self.a_id, self.b_name, self.b_id = a_name, a_id, b_name, b_id

    def named(self, side: str, entry: Entry) -> str:
        """`<root name>/<page path>`, what /diff's `a` and `b` take."""
        name = self.a_name if side == "a" else self.b_name
        return f"{name}/{entry.path.removesuffix('.json')}"

    def page(self, side: str, entry: Entry) -> str:
        return page_path(entry.path, self.a_id if side == "a" else self.b_id)

    def diff(self, item: Item) -> str | None:
        if item.a is None or item.b is None:
            return None
        return "/diff?" + urlencode({"a": self.named("a", item.a), "b": self.named("b", item.b)})


def test_view(test: comparing.TestChanges, links: Links) -> dict[str, Any]:
    return {
        "test_id": test.test_id,
        "test": test.test.partition(":")[2],
        "suite": test.suite,
        "counts": [(LABELS[k], n) for k in comparing.KINDS if (n := test.count(k))],
        "items": [
            {
                "kind": item.kind,
                "label": LABELS[item.kind],
                "a": item.a and {"path": item.a.path, "url": links.page("a", item.a)},
                "b": item.b and {"path": item.b.path, "url": links.page("b", item.b)},
                "diff": links.diff(item),
            }
            for item in test.items
        ],
    }


def comparison_json(comparison: Comparison, selected: list[Item], links: Links) -> dict[str, Any]:
    added, removed, changed = [], [], []
    for item in selected:
        entry = item.entry
        if item.kind == comparing.ADDED:
            added.append(
                {
                    "b": links.named("b", entry),
                    "test_id": entry.test_id,
                    "url": links.page("b", entry),
                }
            )
        elif item.kind == comparing.REMOVED:
            removed.append(
                {
                    "a": links.named("a", entry),
                    "test_id": entry.test_id,
                    "url": links.page("a", entry),
                }
            )
        else:
            changed.append(
                {
                    "a": links.named("a", item.a),  # type: ignore[arg-type]
                    "b": links.named("b", item.b),  # type: ignore[arg-type]
                    "class": item.kind,
                    "test_id": entry.test_id,
                    "diff": links.diff(item),
                }
            )
    return {
        "a": links.a_name,
        "b": links.b_name,
        "added": added,
        "removed": removed,
        "changed": changed,
        "unchanged": comparison.unchanged,
        "counts": comparison.counts(),
    }
