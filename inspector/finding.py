"""Finding a file from what a user pastes into the search box: a quoted hash, a `<hash>.json`
file name, an absolute path from a CI log or another checkout. Each is reduced to what the
list's search (`q`, a substring of the test id or the path) finds, and a full request hash
(bare or quoted) that exactly one recording has opens that recording at once.

A pasted replay miss is not handled here: views.listing sends it to /explain first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django_htmx.http import HttpResponseClientRedirect

from inspector.cassettes.naming import strip_extension
from inspector.models import ImportRoot, Recording, Source
from inspector.views.common import page_path

QUOTES = ("'", '"', "`")
# A request hash as a file name carries it: llama-stack's sha256 (64 hex digits), or the
# 2025 legacy index's 12 digits. Those 12 open a recording only when quoted: typed bare, they
# are also the first letters of a sha256 being typed, which must not jump away mid-word.
FULL_HASH = re.compile(r"[0-9a-f]{64}")
LEGACY_HASH = re.compile(r"[0-9a-f]{12}")
# An absolute path: POSIX, a home folder, or Windows (`C:\...`, `C:/...`).
ABSOLUTE = re.compile(r"(/|~/|[A-Za-z]:[\\/])")
# Components of a pasted path that are tried as a path under an import root: enough for
# `<suite>/recordings/<hash>.json` and a cassette's deep `tests/cassettes/<module>/<test>.yaml`
# (one query of at most this many values).
MAX_COMPONENTS = 12


@dataclass(frozen=True)
class Found:
    q: str  # what the list searches for
    page: str | None = None  # a recording's page to open instead of listing it

    def query(self, params: QueryDict) -> QueryDict:
        """The list's parameters with `q` replaced by what was found in it."""
        if params.get("q", "") == self.q:
            return params
        changed = params.copy()
        changed["q"] = self.q
        return changed


def find(q: str) -> Found:
    """What the search box's text finds: the text itself, unless it is a file reference."""
    text = unquoted(q.strip())
    if not text:
        return Found(q.strip())  # nothing, or `''`: searched as typed
    quoted = text != q.strip()
    if FULL_HASH.fullmatch(text) or (quoted and LEGACY_HASH.fullmatch(text)):
        return Found(text, single_match(text))
    if ABSOLUTE.match(text) and is_file_name(text) and not any(c.isspace() for c in text):
        text = under_a_root(text)
    elif "/" not in text and not any(c.isspace() for c in text):
        text = strip_extension(text)  # `<hash>.json`, `<hash>.yaml`: its stem
    return Found(text)


def is_file_name(text: str) -> bool:
    """Whether this ends in a recording's or a cassette's extension: `/v1/chat` and
    `/recordings/` are searched as typed."""
    return strip_extension(text) != text


def unquoted(text: str) -> str:
    """A single quoted token without its quotes: `'ea75...'`, `"ea75..."`, `` `ea75...` ``.
    Quoted words with spaces are left as they are (the quotes may be what is searched)."""
    for quote in QUOTES:
        if len(text) >= 2 and text[0] == quote and text[-1] == quote:
            inner = text[1:-1].strip()
            if not any(c.isspace() for c in inner):
                return inner
    return text


def under_a_root(absolute: str) -> str:
    """An absolute path as the list knows it: the path under the import root that holds it,
    else its longest ending that is an imported file's path (another machine's checkout of the
    same tree), else its file name. Without the file's extension, which a cassette exchange's
    path does not carry."""
    posix = absolute.replace("\\", "/")
    for root in ImportRoot.objects.values_list("path", flat=True):
        if posix.startswith(root.rstrip("/") + "/"):
            return strip_extension(posix[len(root.rstrip("/")) + 1 :])
    parts = [p for p in PurePosixPath(posix).parts if p not in ("/", "~")]
    endings = ["/".join(parts[i:]) for i in range(max(0, len(parts) - MAX_COMPONENTS), len(parts))]
    known = Source.objects.filter(path__in=endings).values_list("path", flat=True)
    longest = max(known, key=len, default=None)
    return strip_extension(longest if longest else parts[-1] if parts else posix)


def single_match(full_hash: str) -> str | None:
    """The page of the one recording whose file name carries this request hash; None when
    none or several do (those are listed)."""
    found = list(
        Recording.objects.filter(request_hash=full_hash).values_list("path", "root_id")[:2]
    )
    return page_path(*found[0]) if len(found) == 1 else None


def open_recording(request: HttpRequest, page: str) -> HttpResponse:
    """The recording's page: a redirect, or for htmx (which asked for rows) a full load."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(page)
    return HttpResponseRedirect(page)
