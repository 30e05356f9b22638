"""The list's facets: each one's values with exact counts over the current selection, kept per
selection until an import changes the data."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from django.core.cache import cache
from django.db.models import Case, Count, F, QuerySet, TextField, Value, When

from inspector import search
from inspector.forms import FACETS, FLAG_FACETS, MAX_NUMBER, RecordingFilter
from inspector.models import ImportRoot, Recording, Source

# Values shown at once; the rest behind "show all".
FACET_LIMIT = 12
# Facet counts are kept per selection and data version (`data_version`); this only bounds how
# long a change no finished import announced (an interrupted one) goes unseen.
FACET_CACHE_SECONDS = 3600
# The selection's parameters that facet counts do not depend on (counts are of exchanges,
# whether the list groups them by file or not).
NOT_SELECTION = ("_sort", "_size", "group")
COUNTING: dict[str, threading.Lock] = {}  # key: held while one thread counts it
COUNTING_LOCK = threading.Lock()

T = TypeVar("T")


def data_version() -> str:
    """What changes whenever an import has changed the data: each import root's last import
    time, which a run sets once it has written everything (missing files and pruning
    included). A root whose first import is still running has none yet: its rows are counted
    once it ends, so an import costs one round of counting, not two. Read from the database,
    so every server process sees it: one query over a handful of rows."""
    roots = ImportRoot.objects.filter(last_import__isnull=False).order_by("id")
    return ",".join(
        f"{pk}:{when.isoformat()}" for pk, when in roots.values_list("id", "last_import")
    )


def facet_key(form: RecordingFilter) -> str:
    return selection_key("facets", form, NOT_SELECTION)


def selection_key(kind: str, form: RecordingFilter, ignored: tuple[str, ...]) -> str:
    """A cache key for what `kind` counts of the form's selection (but `ignored` parameters),
    at the data's current version. A facet's values are sorted: `?model=a&model=b` and
    `?model=b&model=a` are one selection."""
    selection = {
        k: sorted(v) if isinstance(v, list) else v
        for k, v in form.state().items()
        if k not in ignored
    }
    if form.words:
        selection["q"] = " ".join(form.words)
    # Once per request (a form is one request's): /facets keys both its counts and the count.
    version = form.__dict__.get("_data_version")
    if version is None:
        version = form.__dict__["_data_version"] = data_version()
    text = orjson.dumps([version, sorted(selection.items())])
    return f"{kind}:" + hashlib.sha256(text).hexdigest()


def kept(key: str, count: Callable[[], T]) -> T:
    """`count()`, kept under `key` until an import changes the data. One thread counts, the
    process's others asking for the same key wait for it: after an import every list page asks
    at once, and each of a process's request threads (~12 with 50 clients on 4 processes) would
    count the same rows side by side."""
    found = cache.get(key)
    if found is not None:
        return found
    with COUNTING_LOCK:
        lock = COUNTING.setdefault(key, threading.Lock())
    with lock:
        found = cache.get(key)
        if found is None:
            found = count()
            cache.set(key, found, FACET_CACHE_SECONDS)
    with COUNTING_LOCK:
        COUNTING.pop(key, None)
    return found


def facet_counts_of(form: RecordingFilter) -> dict[str, Any]:
    """`count_facets`, kept until an import changes the data: at 20,000 recordings a /facets
    request took 30-50 ms alone counted, 3-5 ms from the cache (bench/load.py, "alone")."""
    return kept(facet_key(form), lambda: count_facets(form))


def selected(form: RecordingFilter, *, skip: str | None = None) -> QuerySet[Recording]:
    """The selection's rows (but `skip`'s choice), to count. Search words alone are matched in
    the search index, as `listing.count_matches` does: the filter's `search.contains` reads
    every recording's wide row for a common word."""
    if not form.narrowed(skip=skip):
        ids = search.newest_query(form.words, MAX_NUMBER)
        if ids is not None:
            return Recording.objects.filter(id__in=ids)
    return form.filtered(skip=skip)


def count_facets(form: RecordingFilter) -> dict[str, Any]:
    """Every value of each facet with its exact count over the selection as narrowed by the
    other facets (a facet's own choice left out, so that its other values can be added), and
    each flag's count of yes and no. The database counts, in two statements at most:

    - the whole selection grouped by every facet and flag at once, one row per combination
      that occurs (hundreds, where the rows are 100,000s), summed here per facet: one scan of
      the selection, where a GROUP BY per facet was one each (SQLite at 100,000 recordings,
      `streaming=yes&format=vcr`, each scan walking the format index: 5.9 s -> 1.2 s);
    - each chosen facet's own values over the selection without its choice, one GROUP BY
      each, joined by UNION ALL."""
    expressions = {name: answer_of(name) for name in (*FLAG_FACETS, *FACETS)}
    chosen = [name for name in expressions if form.cleaned_data.get(name)]
    counts: dict[str, Counter[str]] = {name: Counter() for name in expressions}
    # Flags first: grouped by an indexed column first, SQLite walks that index to group
    # without sorting, reading each row out of order (2x slower at 100,000 recordings).
    combinations = (
        selected(form).order_by().values(**{f"by_{n}": e for n, e in expressions.items()})
    )
    for row in combinations.annotate(n=Count("id")):
        for name in expressions:
            if name not in chosen:
                counts[name][row[f"by_{name}"]] += row["n"]
    parts = [
        selected(form, skip=name).order_by().values_list(Value(name), expressions[name])
        for name in chosen
    ]
    parts = [part.annotate(n=Count("id")) for part in parts]
    if parts:
        for name, value, n in parts[0].union(*parts[1:], all=True):
            counts[name][value] += n
    values = {
        name: sorted(
            ((value, n) for value, n in counts[name].items() if value),  # "", NULL: no value
            key=lambda item: (-item[1], item[0]),
        )
        for name in FACETS
    }
    flags = {name: {"yes": counts[name]["yes"], "no": counts[name]["no"]} for name in FLAG_FACETS}
    return {"values": values, "flags": flags}


def answer_of(name: str) -> Any:
    """What a facet groups by: its column, or a flag's "yes" / "no"."""
    if name in FACETS:
        return F(FACETS[name])
    return Case(
        When(FLAG_FACETS[name], then=Value("yes")), default=Value("no"), output_field=TextField()
    )


def facets(form: RecordingFilter) -> dict[str, Any]:
    """Each facet's values with counts (`facet_counts_of`) and the links that add a value to
    the facet's choice or take it away: the first FACET_LIMIT shown, the rest in `more`."""
    counted = facet_counts_of(form)
    found = []
    for name in FACETS:
        chosen = form.cleaned_data.get(name) or []
        options = [
            {
                "value": value,
                "label": short_label(name, value),
                "count": n,
                "chosen": value in chosen,
                "url": form.query_string(**{name: toggled(chosen, value)}),
            }
            for value, n in counted["values"][name]
        ]
        # A chosen value that no row of the rest of the selection has: still shown, to undo.
        counted_values = {o["value"] for o in options}
        options[:0] = [
            {
                "value": value,
                "label": short_label(name, value),
                "count": None,
                "chosen": True,
                "url": form.query_string(**{name: toggled(chosen, value)}),
            }
            for value in chosen
            if value not in counted_values
        ]
        more = options[FACET_LIMIT:]
        found.append(
            {
                "name": name,
                "options": options[:FACET_LIMIT],
                "more": more,
                "total": len(options),
                "more_chosen": any(o["chosen"] for o in more),
            }
        )
    for name in FLAG_FACETS:
        chosen = form.cleaned_data.get(name) or ""
        counts = counted["flags"][name]
        options = [
            {
                "value": value,
                "label": value,
                "count": counts[value],
                "chosen": chosen == value,
                "url": form.query_string(**{name: "" if chosen == value else value}),
            }
            for value in ("yes", "no")
        ]
        found.append({"name": name, "options": options, "more": [], "total": 2})
    return {"groups": found}


def toggled(chosen: list[str], value: str) -> list[str]:
    """The facet's choice with `value` taken away when it is in it, else added."""
    return [v for v in chosen if v != value] if value in chosen else [*chosen, value]


FORMAT_LABELS = dict(Source.Format.choices)


def short_label(facet: str, value: str) -> str:
    """Test files are long paths; their last part tells them apart (the full one is a tooltip).
    Formats are named as people call them ("VCR.py cassette")."""
    if facet == "format":
        return FORMAT_LABELS.get(value, value)
    return value.rsplit("/", 1)[-1] if facet == "file" else value
