from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.db.models import Q, QuerySet

from inspector import search
from inspector.llama_stack.verdicts import VERDICTS
from inspector.models import Prefix, Recording, Source

# _sort keys users may ask for, and the ORM ordering each means (id breaks ties, so pages are
# stable). "-" in front reverses.
SORTS = {
    "imported": ("id",),  # ids follow the import (models.Recording.imported)
    # Texts of any length are indexed by their Prefix (models.LongText): ordered by it first, the
    # index serves the sort. SQLite at 100,000 recordings: by test 290 -> 18 ms, by model 82 -> 25.
    "test": (Prefix("test_id"), "test_id", "id"),
    "suite": ("suite", "id"),
    "endpoint": (Prefix("endpoint"), "endpoint", "id"),
    "model": (Prefix("model"), "model", "id"),
    "provider": (Prefix("provider"), "provider", "id"),
    "tokens": ("total_tokens", "id"),
    "size": ("size", "id"),
    "chunks": ("chunk_count", "id"),
    "calls": ("tool_call_count", "id"),
}
DEFAULT_SORT = "-imported"
DEFAULT_SIZE = 50
MAX_SIZE = 500
# The largest offset, position or chunk number asked for: no list or stream comes near it, and
# 2**64 overflowed the database's 64-bit integers (a 500) once a page's size was added to it.
MAX_NUMBER = 10**15

YES_NO = [("", "any"), ("yes", "yes"), ("no", "no")]
STATUSES = [("", "any"), ("ok", "ok"), ("exception", "exception"), ("missing", "missing")]
FORMATS = [("", "any"), *Source.Format.choices]
# `group`: one row per exchange (the default), or one per source file (a cassette's exchanges
# together). Files are listed in import order only: any other sort would sort aggregates.
GROUPS = [("", "exchanges"), ("source", "files")]
GROUP_SORTS = {"imported", "-imported"}

# Facets: the field each narrows, shown with counts of the current selection.
FACETS = {
    "format": "format",
    "suite": "suite",
    "file": "test_file",
    "endpoint": "endpoint",
    "model": "model",
    "provider": "provider",
    "verdict": "name_verdict",  # the name audit: can the harness still find the file?
}
FLAG_FACETS = {
    "streaming": Q(is_streaming=True),
    "tools": Q(tool_call_count__gt=0),
    "exception": Q(is_exception=True),
}
# The same conditions on a row of FACET_COLUMNS: facet counts are made in Python.
FLAG_HOLDS = {
    "streaming": lambda row: row["is_streaming"],
    "tools": lambda row: row["tool_call_count"] > 0,
    "exception": lambda row: row["is_exception"],
}
FACET_COLUMNS = [*FACETS.values(), "is_streaming", "tool_call_count", "is_exception"]


class SharedFields(dict):
    """A form's fields, shared by its instances: Django deep-copies them for each (so that one
    may change its own), which cost RecordingFilter's 14 (now 16) ~0.6 ms a request."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


F = TypeVar("F", bound=type[forms.BaseForm])


def shared_fields(form: F) -> F:
    """For forms whose instances never change their fields (and render none with widgets)."""
    form.base_fields = SharedFields(form.base_fields)
    return form


def sort_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in SORTS] + [(f"-{key}", f"-{key}") for key in SORTS]


@shared_fields
class RecordingFilter(forms.Form):
    """The list's state: search words, facet values, sort, page. Every field is optional and
    every value is validated, so a bad query string is a 400, never a 500."""

    q = forms.CharField(required=False, max_length=500, strip=True)
    suite = forms.CharField(required=False, max_length=1000)
    file = forms.CharField(required=False, max_length=1000)
    endpoint = forms.CharField(required=False, max_length=1000)
    model = forms.CharField(required=False, max_length=1000)
    provider = forms.CharField(required=False, max_length=1000)
    streaming = forms.ChoiceField(required=False, choices=YES_NO)
    tools = forms.ChoiceField(required=False, choices=YES_NO)
    exception = forms.ChoiceField(required=False, choices=YES_NO)
    status = forms.ChoiceField(required=False, choices=STATUSES)
    format = forms.ChoiceField(required=False, choices=FORMATS)
    verdict = forms.ChoiceField(required=False, choices=[("", "any"), *((v, v) for v in VERDICTS)])
    group = forms.ChoiceField(required=False, choices=GROUPS)
    _sort = forms.ChoiceField(required=False, choices=sort_choices)
    _size = forms.IntegerField(required=False, min_value=1, max_value=MAX_SIZE)
    _next = forms.IntegerField(required=False, min_value=0, max_value=MAX_NUMBER)
    _facets = forms.BooleanField(required=False)  # counts in the page itself (no JavaScript)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("group") and (data.get("_sort") or DEFAULT_SORT) not in GROUP_SORTS:
            self.add_error("_sort", "files are listed in import order (imported or -imported)")
        return data

    @property
    def by_source(self) -> bool:
        return self.cleaned_data.get("group") == "source"

    @property
    def sort(self) -> str:
        return self.cleaned_data.get("_sort") or DEFAULT_SORT

    @property
    def size(self) -> int:
        return self.cleaned_data.get("_size") or DEFAULT_SIZE

    @property
    def offset(self) -> int:
        return self.cleaned_data.get("_next") or 0

    @property
    def words(self) -> list[str]:
        return (self.cleaned_data.get("q") or "").split()

    def state(self, **changes: Any) -> dict[str, Any]:
        """The non-empty parameters of this state, with `changes` applied."""
        values = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        values.pop("_next", None)
        values.pop("_facets", None)
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def query_string(self, **changes: Any) -> str:
        state = self.state(**changes)
        return f"?{urlencode(state)}" if state else "?"

    def filtered(self, *, skip: str | None = None) -> QuerySet[Recording]:
        """Recordings matching every criterion (but `skip`, for that facet's own counts)."""
        data = self.cleaned_data
        qs = Recording.objects.all()
        for word in self.words:
            # Case-insensitive substring of the test id, or of the path (file name, hash).
            qs = qs.filter(self.matching(word))
        for name, column in FACETS.items():
            if name != skip and data.get(name):
                qs = qs.filter(**{column: data[name]})
        for name, condition in FLAG_FACETS.items():
            if name != skip and data.get(name):
                qs = qs.filter(condition if data[name] == "yes" else ~condition)
        status = data.get("status")
        if status == "ok":
            qs = qs.filter(is_exception=False, missing=False)
        elif status == "exception":
            qs = qs.filter(is_exception=True)
        elif status == "missing":
            qs = qs.filter(missing=True)
        return qs

    def narrowed(self, *, skip: str | None = None) -> bool:
        """Whether anything but search words narrows the selection (but `skip`)."""
        names = [*FACETS, *FLAG_FACETS, "status"]
        return any(self.cleaned_data.get(name) for name in names if name != skip)

    def newest_sql(self, start: int, stop: int) -> tuple[str, list[Any]] | None:
        """A statement listing the ids of rows `start` to `stop` when the search index can list
        them itself (search.newest_sql): only search words chosen, default order. None
        otherwise."""
        if self.sort != DEFAULT_SORT or self.narrowed():
            return None
        return search.newest_sql(self.words, start, stop)

    def newest(self, limit: int, *, skip: str | None = None) -> QuerySet[Recording]:
        """The newest `limit` recordings of the selection (without `skip`), whatever the sort."""
        if not self.narrowed(skip=skip):
            ids = search.newest_query(self.words, limit)
            if ids is not None:
                return Recording.objects.filter(id__in=ids).order_by("-id")
        return self.filtered(skip=skip).order_by("-id")[:limit]

    def matching(self, word: str) -> Q:
        """search.contains(word), worked out once per request (it may ask the index)."""
        cache = self.__dict__.setdefault("_matching", {})
        if word not in cache:
            cache[word] = search.contains(word)
        return cache[word]

    def ordered(self, qs: QuerySet[Recording]) -> QuerySet[Recording]:
        key = self.sort
        descending = key.startswith("-")
        fields = SORTS[key.lstrip("-")]
        return qs.order_by(*(by(f, descending) for f in fields))


def by(field: str | Prefix, descending: bool) -> Any:
    """One key of an ordering: a field's name, or the prefix of a long text."""
    if isinstance(field, str):
        return f"-{field}" if descending else field
    return field.desc() if descending else field.asc()


@shared_fields
class TestQuery(forms.Form):
    """`/test`: a test by its id, or by its key (`conversation.test_key`) when the id is too long
    for an address."""

    id = forms.CharField(required=False, strip=False)
    key = forms.RegexField(required=False, regex=r"^[0-9a-f]{16}$")
