"""The benchmark's Django side, run in a subprocess so that each import starts from a fresh
process (its peak RSS is its own) against the database named by DATABASE_URL.

    python bench/worker.py import ROOT [--resync N]   cold import, then N re-syncs
    python bench/worker.py grow ROOT ROWS --seed S --extra ROOT2
        import ROOT2 (the big stream) and add rows until there are ROWS recordings

Prints one JSON object on its last line of output.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import orjson


def proc_status(field: str) -> int:
    """A `/proc/self/status` memory figure in bytes (VmHWM: peak RSS, VmRSS: current)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")
    import django

    django.setup()


def cmd_import(root: Path, resync: int) -> dict[str, Any]:
    setup()
    from django.conf import settings
    from django.db import connection

    from inspector.importer import import_paths

    connection.ensure_connection()  # connecting is not importing
    rss_before = proc_status("VmRSS")
    start = time.perf_counter()
    report = import_paths([root], max_bytes=settings.INSPECTOR_MAX_BYTES)
    seconds = time.perf_counter() - start
    peak = proc_status("VmHWM")
    result: dict[str, Any] = {
        "seconds": seconds,
        "rss_before": rss_before,
        "peak_rss": peak,
        "report": report.line(),
        "imported": report.imported,
        "failed": report.failed,
        "resync": [],
        "debug": settings.DEBUG,
    }
    for _ in range(resync):
        start = time.perf_counter()
        again = import_paths([root], max_bytes=settings.INSPECTOR_MAX_BYTES)
        result["resync"].append(time.perf_counter() - start)
        result["resync_report"] = again.line()
        if again.imported or again.updated or again.failed:
            raise SystemExit(f"re-sync changed something: {again.line()}")
    return result


def cmd_grow(root: Path, rows: int, seed: int, extra: Path) -> dict[str, Any]:
    """Bring the database to `rows` recordings: the files of `root` are imported already; add
    the big stream, then insert the `Recording` rows that the files numbered
    `len(root's files)..rows-1` of the synthetic set would give (see synth.py). Each row's
    values come from the importer itself (`Importer.fields_of` on the source's parsed file with
    that copy's path and test id), so every derived column, the search column included, is
    what an import would write; the app's triggers and indexes see ordinary inserts.
    Only `Recording` grows: the list and the search read no other table (each added row
    points to its copy-0 file's source, never read)."""
    setup()
    import dataclasses
    import hashlib

    from django.conf import settings
    from django.db import connection, transaction

    from inspector import parsing, search
    from inspector.importer import Importer, Report, import_paths
    from inspector.models import ImportRoot, Recording
    from inspector.rows import Pending

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import synth

    start = time.perf_counter()
    import_paths([extra], max_bytes=settings.INSPECTOR_MAX_BYTES)
    root = root.absolute()
    base_root = ImportRoot.objects.get(path=str(root))
    have = Recording.objects.count()
    srcs = synth.sources()
    base_count = Recording.objects.filter(root=base_root).count()
    if base_count < len(srcs):
        raise SystemExit(f"the import set must hold at least one copy ({len(srcs)} files)")

    importer = Importer(base_root, root, settings.INSPECTOR_MAX_BYTES, Report(), None, None)
    fields = [f for f in Recording._meta.concrete_fields if f.column != "id"]
    base = []  # per source: its copy-0 file parsed, and its row as imported
    for source in srcs:
        rel = synth.synth_rel(seed, 0, source.rel)
        data = (root / rel).read_bytes()
        row = Recording.objects.get(root=base_root, path=rel)
        sha = hashlib.sha256(data).hexdigest()
        base.append((parsing.parse(data), sha, (root / rel).stat(), row))

    def row_of(number: int) -> list[Any]:
        source, copy = srcs[number % len(srcs)], number // len(srcs)
        parsed, sha, st, row = base[number % len(srcs)]
        rel = synth.synth_rel(seed, copy, source.rel)
        test_id = synth.synth_test_id(source.test_id, copy)
        legacy = None
        if row.legacy_request_hash:  # as the copy's line of the legacy index.sqlite says
            stem = rel.rsplit("/", 1)[-1].removesuffix(".json")
            legacy = {
                "request_hash": synth.new_hash(seed, copy, stem),
                "timestamp": row.legacy_timestamp,
            }
        parsed = dataclasses.replace(parsed, test_id=parsing.split_test_id(test_id))
        item = Pending(rel, b"", sha, st, "llama-stack", [parsed], legacy, None)
        # Imported when its copy-0 file was: a real import's timestamps follow the walk, which
        # goes folder by folder, so rows of one suite sit together in the default order.
        new = Recording(
            root=base_root,
            source_id=row.source_id,
            imported=row.imported,
            updated=row.updated,
            **importer.fields_of(item, 0),
        )
        return [f.get_db_prep_save(getattr(new, f.attname), connection) for f in fields]

    table = Recording._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # In the order a folder-by-folder import would insert them: ids, which the list's default
    # order follows, group a suite's rows together as the timestamps do.
    numbers = sorted(
        range(base_count, base_count + max(0, rows - have)),
        key=lambda number: (base[number % len(srcs)][3].imported, number),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for number in numbers:
                    copy.write_row(row_of(number))
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            for begin in range(0, len(numbers), 5000):
                cursor.executemany(sql, [row_of(n) for n in numbers[begin : begin + 5000]])
    # As an import of as many rows would (SQLite: FTS5's segments merged into one).
    search.compact(len(numbers))
    if connection.vendor == "postgresql":
        # Autovacuum would vacuum and analyze the grown tables (the search table grows with
        # them, by trigger) within a minute; do it now so that plans and hint bits do not
        # depend on when the measurement starts. SQLite gets nothing: the app never runs
        # ANALYZE, so its users have no statistics either.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}, {search.TABLE}")
    return {
        "seconds": time.perf_counter() - start,
        "recordings": Recording.objects.count(),
        "added": len(numbers),
        "checkpoint": checkpoint(),
    }


def checkpoint() -> str:
    """Write what the imports and the growth left in memory and in the log out to the tables,
    so that the searches after it are not timed against the server doing so (PostgreSQL
    spreads a checkpoint over minutes: one ran through a whole search phase once, and the
    empty search's median went from 4 to 13 ms). PostgreSQL needs the role pg_checkpoint
    (tests/services.sh grants it to its role); without it the run says so and goes on."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return "written"
        cursor.execute(
            "SELECT CASE WHEN to_regrole('pg_checkpoint') IS NULL THEN false"
            " ELSE pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') END"
            " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        )
        if not cursor.fetchone()[0]:
            return "not permitted: grant pg_checkpoint to the role"
        cursor.execute("CHECKPOINT")
        return "written"


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="action", required=True)
    one = sub.add_parser("import")
    one.add_argument("root", type=Path)
    one.add_argument("--resync", type=int, default=0)
    grow = sub.add_parser("grow")
    grow.add_argument("root", type=Path)
    grow.add_argument("rows", type=int)
    grow.add_argument("--seed", type=int, required=True)
    grow.add_argument("--extra", type=Path, required=True)
    args = parser.parse_args()
    if args.action == "import":
        result = cmd_import(args.root, args.resync)
    else:
        result = cmd_grow(args.root, args.rows, args.seed, args.extra)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
