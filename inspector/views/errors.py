from __future__ import annotations

from pathlib import PurePath

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inspector.models import ImportFailure, ImportRoot


@require_safe
def import_errors(request: HttpRequest) -> HttpResponse:
    """The files that failed to import, by their path under their import root: the server's
    own folders are nobody else's business (the root shows as its folder's name)."""
    failures = ImportFailure.objects.select_related("root").order_by("root__path", "path")
    shown = list(failures[:1000])
    names = root_names({f.root for f in shown})
    rows = [
        {
            "path": f.path,
            "reason": without_root(f.reason, f.root.path),
            "root": names[f.root.pk],
            "size": f.size,
        }
        for f in shown
    ]
    return render(
        request, "inspector/import_errors.html", {"failures": rows, "count": failures.count()}
    )


def root_names(roots: set[ImportRoot]) -> dict[int, str]:
    """Each root's folder name, with its number where two share one."""
    names = {root.pk: PurePath(root.path).name or str(root.pk) for root in roots}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {pk: f"{name} #{pk}" if name in shared else name for pk, name in names.items()}


def without_root(reason: str, root: str) -> str:
    """A reason quoting the failed file's full path (an OSError's) quotes it under its root."""
    return reason.replace(root.rstrip("/") + "/", "")
