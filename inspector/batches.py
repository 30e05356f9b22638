"""Writing one batch of parsed files: their sources, their exchanges and the exchanges' rows, in
one transaction, so that a crash or Ctrl-C never leaves half a file."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from inspector.models import ImportRoot, Message, Recording, Source, Stream, ToolCall, ToolDef
from inspector.rows import Pending, child_rows, recording_fields, source_fields
from inspector.storing import create_rows, write_rows


def write_batch(
    root: ImportRoot, root_path: Path, batch: list[Pending], touched: list[tuple[int, int]]
) -> list[int]:
    """Write parsed files, and the new times of files whose bytes are unchanged (`touched`:
    source id, mtime), in one transaction; the ids of the sources it created."""
    with transaction.atomic():
        fresh = [item for item in batch if item.existing_id is None]
        changed = [item for item in batch if item.existing_id is not None]
        sources = [Source(root=root, **source_fields(item)) for item in fresh]
        create_rows(Source, sources)
        # Not kept on the items: a batch the database refuses is written again item by item.
        source_ids = iter(source.pk for source in sources)
        source_of = [item.existing_id or next(source_ids) for item in batch]
        for item in changed:
            Source.objects.filter(pk=item.existing_id).update(**source_fields(item))
        # A changed file's exchanges are written again: in place where it had as many (same
        # rows, so ids and links stay), the ones beyond its new count deleted.
        earlier: dict[tuple[int, int], int] = {}
        if changed:
            ids = [item.existing_id for item in changed]
            old = Recording.objects.filter(source_id__in=ids)
            for pk, source_id, index in old.values_list("id", "source_id", "index"):
                earlier[(source_id, index)] = pk
            for model in (Message, ToolDef, ToolCall, Stream):
                model.objects.filter(recording__source_id__in=ids).delete()
        created, pairs = [], []
        for item, source_id in zip(batch, source_of, strict=True):
            for index, exchange in enumerate(item.exchanges):
                fields = recording_fields(item, index, root_path)
                pk = earlier.pop((source_id, index), None)
                if pk is None:
                    recording = Recording(root=root, source_id=source_id, index=index, **fields)
                    created.append(recording)
                    pairs.append((recording, exchange))
                else:
                    Recording.objects.filter(pk=pk).update(**fields, updated=timezone.now())
                    pairs.append((pk, exchange))
        if earlier:
            Recording.objects.filter(pk__in=list(earlier.values())).delete()
        create_rows(Recording, created)
        rows: dict[type, list] = {Message: [], ToolDef: [], ToolCall: [], Stream: []}
        for recording, exchange in pairs:
            pk = recording if isinstance(recording, int) else recording.pk
            for model, objects in child_rows(pk, exchange).items():
                rows[model].extend(objects)
        for model, objects in rows.items():
            write_rows(model, objects)
        for pk, mtime_ns in touched:
            Source.objects.filter(pk=pk).update(mtime_ns=mtime_ns, missing=False)
            Recording.objects.filter(source_id=pk).update(mtime_ns=mtime_ns, missing=False)
    return [source.pk for source in sources]
