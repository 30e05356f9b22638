"""Import roots by name, and the `/<root name>` in front of links once two or more roots exist.

A root's name is its `ImportRoot.name` (`import_recordings --root NAME`, or a git revision),
else the last component of its folder, made safe for an address and unique (`recordings`,
`recordings-2`). With one root no link carries a name, so that the links of a single import stay
what they always were; with two, every link to a recording carries its root's, and `/<name>/r/...`
(and `raw/`, `play/`...) resolve within that root. An address without a name still works: the
newest root holding the path wins, as it always did.

The names are read once and kept in the cache for ROOTS_SECONDS (list pages call `prefix` for
every row, and must stay at their fixed number of queries): an import refreshes them when it
ends (`refresh`), and a name not among them is looked up again before it is a 404, so that a
server process sees another process's new root at once."""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse

from inspector.models import ImportRoot

ROOTS_KEY = "inspector:roots"
ROOTS_SECONDS = 5
# The first component of the app's own addresses: no root may be named so.
RESERVED = frozenset((
    "r", "raw", "play", "stream", "chunk", "chunks", "i", "v", "test", "errors", "facets",
    "compare", "compare.json", "diff", "diff.json", "recordings.json", "static", "audit",
    "audit.json", "explain", "explain.json", "admin", "overview", "overview.json",
    "export.zip", "recordings.jsonl", "changes", "test.json", "favicon.ico",
))  # fmt: skip
UNSAFE = re.compile(r"[^A-Za-z0-9._~-]+")
NAME = re.compile(r"[A-Za-z0-9._~-]+")

# The root a request named (`/<name>/r/...`): lookups in inspector.views.common stay in it.
CURRENT: ContextVar[int | None] = ContextVar("inspector_root", default=None)


def safe_name(text: str) -> str:
    """`text` as a name fit for an address's first component (never reserved, never empty)."""
    name = UNSAFE.sub("-", text).strip("-.") or "root"
    return f"{name}-root" if name.lower() in RESERVED else name


def valid_name(name: str) -> bool:
    return bool(NAME.fullmatch(name)) and name.lower() not in RESERVED and name.strip(".") != ""


def names_of(rows: list[tuple[int, str, str]]) -> dict[int, str]:
    """Each root's name by id, from (id, name, path) in id order: a given name as it is (the
    command checked it), else its folder's last component, with `-2`, `-3`... when taken."""
    names: dict[int, str] = {}
    taken = {name for _, name, _ in rows if name}
    for pk, name, path in rows:
        if name and name not in names.values():
            names[pk] = name
            continue
        base = safe_name(name or path.rstrip("/").rpartition("/")[2])
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        names[pk] = candidate
    return names


def refresh() -> dict[int, str]:
    rows = list(ImportRoot.objects.order_by("id").values_list("id", "name", "path"))
    names = names_of(rows)
    cache.set(ROOTS_KEY, names, ROOTS_SECONDS)
    return names


def names() -> dict[int, str]:
    """Every root's name, by id."""
    found = cache.get(ROOTS_KEY)
    return refresh() if found is None else found


def prefix(root_id: int | None) -> str:
    """What a link to a recording of this root starts with: "" while there is one root, else
    `/<its name>`."""
    if root_id is None:  # a recording not stored (built in memory): no root to name
        return ""
    known = names()
    if len(known) < 2:
        return ""
    name = known.get(root_id)
    if name is None:  # a root newer than the names kept
        name = refresh().get(root_id)
    return f"/{name}" if name else ""


def root_named(name: str) -> int | None:
    """The id of the root of that name, or None; looked up again when not among those kept."""
    for known in (names(), None):
        if known is None:
            known = refresh()
        for pk, root_name in known.items():
            if root_name == name:
                return pk
    return None


def split(path: str) -> tuple[int | None, str]:
    """`<root name>/<path>` as (that root's id, the path); (None, path) when the first component
    names no root. Only known names are looked at, so it costs no query while they are kept."""
    head, slash, rest = path.partition("/")
    if not slash or not rest:
        return None, path
    for pk, name in names().items():
        if name == head:
            return pk, rest
    return None, path


def within_root(view: Any) -> Any:
    """The view at `/<root>/...`: 404 for a name no root has; else the view, its lookups within
    that root (`CURRENT`)."""

    @wraps(view)
    def wrapped(request: HttpRequest, root: str, **kwargs: Any) -> HttpResponse:
        pk = root_named(root)
        if pk is None:
            raise Http404(f"No import root named {root}")
        token = CURRENT.set(pk)
        try:
            return view(request, **kwargs)
        finally:
            CURRENT.reset(token)

    return wrapped


def within_root_async(view: Any) -> Any:
    """`within_root` for an async view (`/stream/`): the name is looked up in a thread."""
    from asgiref.sync import sync_to_async

    @wraps(view)
    async def wrapped(request: HttpRequest, root: str, **kwargs: Any) -> HttpResponse:
        pk = await sync_to_async(root_named)(root)
        if pk is None:
            raise Http404(f"No import root named {root}")
        token = CURRENT.set(pk)
        try:
            return await view(request, **kwargs)
        finally:
            CURRENT.reset(token)

    return wrapped


def scope() -> dict[str, int]:
    """The filter that keeps a lookup within the root the request named, if it named one."""
    pk = CURRENT.get()
    return {} if pk is None else {"root_id": pk}


def enclosing_root(file: Path) -> Path | None:
    """A single file inside an already imported folder keeps that folder's relative path."""
    for root in ImportRoot.objects.values_list("path", flat=True).order_by("-path"):
        if file.is_relative_to(root):
            return Path(root)
    return None
