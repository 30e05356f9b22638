"""The list's facets: each one's values with counts over the current selection, kept per
selection until an import changes the data."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any

import orjson
from django.core.cache import cache

from inspector.forms import FACET_COLUMNS, FACETS, FLAG_HOLDS, RecordingFilter
from inspector.models import ImportRoot, Source

FACET_LIMIT = 12
FACET_SCAN = 10_000
# Facet counts are kept per selection and data version (`data_version`); this only bounds how
# long a change no finished import announced (an interrupted one) goes unseen.
FACET_CACHE_SECONDS = 3600
# The selection's parameters that facet counts do not depend on (counts are of exchanges,
# whether the list groups them by file or not).
NOT_SELECTION = ("_sort", "_size", "group")
COUNTING: dict[str, threading.Lock] = {}  # key: held while one thread counts it
COUNTING_LOCK = threading.Lock()


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
    at the data's current version."""
    selection = {k: v for k, v in form.state().items() if k not in ignored}
    if form.words:
        selection["q"] = " ".join(form.words)
    text = orjson.dumps([data_version(), sorted(selection.items())])
    return f"{kind}:" + hashlib.sha256(text).hexdigest()


def facet_counts_of(form: RecordingFilter) -> dict[str, Any]:
    """`count_facets`, kept until an import changes the data. Counting reads up to 10,000 rows
    per selection: 0.1 s alone, 7-23 s under 50 clients' load (the issue's figures, before this
    cache); at 20,000 recordings a /facets request took 30-50 ms alone counted, 3-5 ms from
    the cache (bench/load.py, "alone")."""
    key = facet_key(form)
    counts = cache.get(key)
    if counts is not None:
        return counts
    # One thread counts, the process's others asking for the same counts wait for it: after an
    # import every list page asks at once, and each of a process's request threads (~12 with
    # 50 clients on 4 processes) would count the same rows, ~45 ms of CPU each, side by side.
    with COUNTING_LOCK:
        lock = COUNTING.setdefault(key, threading.Lock())
    with lock:
        counts = cache.get(key)
        if counts is None:
            counts = count_facets(form)
            cache.set(key, counts, FACET_CACHE_SECONDS)
    with COUNTING_LOCK:
        COUNTING.pop(key, None)
    return counts


def count_facets(form: RecordingFilter) -> dict[str, Any]:
    """Each facet's most frequent values with counts, over the selection as narrowed by the
    other facets, and each flag's count of yes and of rows read. Counts cover at most the
    newest FACET_SCAN recordings of each selection, so that they stay quick at any size. One
    query per selection (the whole one, and one per chosen facet without its own choice)
    reads the facet columns of those rows; Python counts them."""
    scans: dict[str | None, list[dict[str, Any]]] = {}

    def scan(name: str) -> list[dict[str, Any]]:
        skip = name if form.cleaned_data.get(name) else None  # else: the whole selection
        if skip not in scans:
            scans[skip] = list(form.newest(FACET_SCAN + 1, skip=skip).values(*FACET_COLUMNS))
        return scans[skip][:FACET_SCAN]

    values = {}
    for name, column in FACETS.items():
        counts = Counter(row[column] for row in scan(name) if row[column])
        values[name] = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_LIMIT]
    flags = {}
    for name, holds in FLAG_HOLDS.items():
        rows = scan(name)
        flags[name] = (sum(1 for row in rows if holds(row)), len(rows))
    capped = any(len(rows) > FACET_SCAN for rows in scans.values())
    return {"values": values, "flags": flags, "capped": capped}


def facets(form: RecordingFilter) -> dict[str, Any]:
    """Each facet's values with counts (`facet_counts_of`) and the links that choose them; the
    page says when the counts stop at FACET_SCAN rows."""
    counted = facet_counts_of(form)
    found = []
    for name in FACETS:
        chosen = form.cleaned_data.get(name) or ""
        options = [
            {
                "value": value,
                "label": short_label(name, value),
                "count": n,
                "chosen": value == chosen,
                "url": form.query_string(**{name: "" if value == chosen else value}),
            }
            for value, n in counted["values"][name]
        ]
        if chosen and not any(o["chosen"] for o in options):
            options.insert(
                0,
                {
                    "value": chosen,
                    "label": short_label(name, chosen),
                    "count": None,
                    "chosen": True,
                    "url": form.query_string(**{name: ""}),
                },
            )
        found.append({"name": name, "options": options})
    for name in FLAG_HOLDS:
        chosen = form.cleaned_data.get(name) or ""
        yes, scanned = counted["flags"][name]
        counts = {"yes": yes, "no": scanned - yes}
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
        found.append({"name": name, "options": options})
    return {"groups": found, "capped": counted["capped"], "scan": FACET_SCAN}


FORMAT_LABELS = dict(Source.Format.choices)


def short_label(facet: str, value: str) -> str:
    """Test files are long paths; their last part tells them apart (the full one is a tooltip).
    Formats are named as people call them ("VCR.py cassette")."""
    if facet == "format":
        return FORMAT_LABELS.get(value, value)
    return value.rsplit("/", 1)[-1] if facet == "file" else value
