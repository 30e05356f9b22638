"""Write stored recordings back to files, byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspector.models import LegacyIndex, Recording, Source


def export_to(out: Path, filters: dict[str, Any], overwrite: bool) -> tuple[int, int]:
    """Write the source files of the selected recordings under `out` (a cassette once, whole,
    for any of its exchanges); returns (written, already identical)."""
    written = skipped = 0
    index_filters = {k: v for k, v in filters.items() if k in ("root__path", "path__startswith")}
    if set(filters) <= set(index_filters):
        # Files by where they are, those without exchanges too (an empty cassette).
        sources = Source.objects.filter(**filters)
    else:
        sources = Source.objects.filter(
            pk__in=Recording.objects.filter(**filters).values("source_id")
        )
    blobs = sources.values_list("path", "data").order_by("path")
    # iterator(): a few files' bytes in memory at a time, not the whole selection.
    for rel, data in blobs.iterator(chunk_size=50):
        done = write(out, rel, bytes(data), overwrite)
        written, skipped = written + done, skipped + (not done)
    if set(filters) <= set(index_filters):
        for rel, data in LegacyIndex.objects.filter(**index_filters).values_list("path", "data"):
            done = write(out, rel, bytes(data), overwrite)
            written, skipped = written + done, skipped + (not done)
    return written, skipped


def write(out: Path, rel: str, data: bytes, overwrite: bool) -> bool:
    target = out / rel
    if not target.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"{rel}: path leaves the export folder")
    if target.exists():
        if target.read_bytes() == data:
            return False
        if not overwrite:
            raise FileExistsError(0, "exists", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return True
