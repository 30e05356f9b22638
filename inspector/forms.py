from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from inspector import content_search, search
from inspector.contents import terms_of
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
# How many values of one facet a selection may hold at once (`?model=a&model=b&...`).
MAX_FACET_VALUES = 100


class FacetValues(forms.Field):
    """Any number of one facet's values (`?model=a&model=b`: any of them matches), each
    checked as a CharField would (length, no NUL) and against `choices` when given. A plain
    string (a form made from a dict) is one value. Cleans to a list without repeats."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_length: int = 1000, choices: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.max_length = max_length
        self.choices = None if choices is None else {value for value, _ in choices}

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > MAX_FACET_VALUES:
            raise ValidationError(f"at most {MAX_FACET_VALUES} values")
        cleaned: list[str] = []
        for one in values:
            if not isinstance(one, str):
                raise ValidationError("a value must be text")
            one = one.strip()
            if len(one) > self.max_length:
                raise ValidationError(f"a value is longer than {self.max_length} characters")
            if "\x00" in one:
                raise ValidationError("null characters are not allowed")
            if self.choices is not None and one and one not in self.choices:
                raise ValidationError(f"{one!r} is not one of the choices")
            if one and one not in cleaned:
                cleaned.append(one)
        return cleaned


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
    # What the recordings say (inspector/content_search.py): words, "quoted phrases".
    text = forms.CharField(required=False, max_length=500, strip=True)
    suite = FacetValues()
    file = FacetValues()
    endpoint = FacetValues()
    model = FacetValues()
    provider = FacetValues()
    streaming = forms.ChoiceField(required=False, choices=YES_NO)
    tools = forms.ChoiceField(required=False, choices=YES_NO)
    exception = forms.ChoiceField(required=False, choices=YES_NO)
    status = forms.ChoiceField(required=False, choices=STATUSES)
    format = FacetValues(choices=FORMATS)
    verdict = FacetValues(choices=[(v, v) for v in VERDICTS])
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

    @property
    def terms(self) -> list[tuple[str, ...]]:
        """The content search's terms (`contents.terms_of`)."""
        return terms_of(self.cleaned_data.get("text") or "")

    def state(self, **changes: Any) -> dict[str, Any]:
        """The non-empty parameters of this state, with `changes` applied. A facet's value
        is a list (one value given alone is one item)."""
        values = {k: v for k, v in self.cleaned_data.items() if v not in (None, "", [])}
        values.pop("_next", None)
        values.pop("_facets", None)
        for name, value in changes.items():
            values[name] = [value] if name in FACETS and isinstance(value, str) else value
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    def state_pairs(self, **changes: Any) -> list[tuple[str, Any]]:
        """The state as (name, value) pairs, a facet's once per value: the hidden inputs."""
        return [
            (name, one)
            for name, value in self.state(**changes).items()
            for one in (value if isinstance(value, list) else [value])
        ]

    def query_string(self, **changes: Any) -> str:
        state = self.state(**changes)
        return f"?{urlencode(state, doseq=True)}" if state else "?"

    def filtered(self, *, skip: str | None = None) -> QuerySet[Recording]:
        """Recordings matching every criterion (but `skip`, for that facet's own counts)."""
        data = self.cleaned_data
        qs = Recording.objects.all()
        for word in self.words:
            # Case-insensitive substring of the test id, or of the path (file name, hash).
            qs = qs.filter(self.matching(word))
        if self.terms:
            qs = qs.filter(content_search.matching(self.terms))
        for name, column in FACETS.items():
            if name != skip and data.get(name):
                # Any of the chosen values; each as `column = value`, which LongText's lookup
                # turns into what its prefix index serves (an `IN` would not be).
                qs = qs.filter(reduce(or_, (Q(**{column: value}) for value in data[name])))
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
        """Whether anything but the `q` words narrows the selection (but `skip`); content
        words (`text`) do: only their own index lists their pages (`newest_sql`)."""
        names = [*FACETS, *FLAG_FACETS, "status", "text"]
        return any(self.cleaned_data.get(name) for name in names if name != skip)

    def newest_sql(self, start: int, stop: int) -> tuple[str, list[Any]] | None:
        """A statement listing the ids of rows `start` to `stop` when the search index can list
        them itself (search.newest_sql): only search words chosen, default order. None
        otherwise."""
        if self.sort != DEFAULT_SORT:
            return None
        if self.terms:  # content words alone: their index lists the page (content_search.py)
            if self.words or self.narrowed(skip="text"):
                return None
            return content_search.newest_sql(self.terms, start, stop)
        if self.narrowed():
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
