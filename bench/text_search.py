"""The content search (`?text=`) at 100,000 recordings: p95 and median of the list page and
of /recordings.json for a rare word, an uncommon one, a common one, phrases and a word with no
match, on SQLite (FTS5) and PostgreSQL (tsvector + GIN). Target: p95 under 100 ms. Also what
writing the content rows adds to an import (the same files imported with and without them,
alternating, medians), against the parse floor of bench/run.py.

    .venv/bin/python bench/text_search.py [--db sqlite|postgres|both] [--quick]

Builds its database as bench/explain.py does (bench/synth.py's set imported, then grown to
--rows recordings by bench/worker.py). The grown rows are `Recording` rows only; each gets the
content row of the file it copies (`grow_contents`), as an import of that copy would write.
One recording, the oldest, also says a word no other does (the rare word). Prints a table,
writes bench/text_search.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import databases
import orjson
import synth
from run import DEFAULT_PG_URL, code_version, fmt_s, measure_floor, say, time_requests, worker
from serving import Server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
RESULTS = HERE / "text_search.json"
P95_MAX_S = 0.100
RARE = "xylophonequartz"
# label -> what the user types. Shares at 100,000 recordings of the synthetic set (copies of
# the corpus's 269 recordings): rare 1 recording, uncommon 2%, two words 3%, common 63%,
# phrase 4%, common phrase 18%.
SEARCHES = {
    "rare word": RARE,
    "uncommon word": "polyjuice",
    "common word": "the",
    "two words": "weather tokyo",
    "phrase": '"the weather in"',
    "common phrase": '"of the"',
    "no match": "zzzznotaword",
    # Not the default order: the ORM's path (the index's hits, then sorted).
    "common word, by size": ("the", {"_sort": "-size"}),
}
ENDPOINTS = ("/", "/recordings.json")


# --------------------------------------------------------------------------- in a subprocess


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")
    import django

    django.setup()


def grow_contents() -> dict[str, Any]:
    """Each recording without content (bench/worker.py's grown rows) gets its file's: the row
    of the recording imported from the same source at the same index. The oldest recording
    also says RARE."""
    django_setup()
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO inspector_recordingcontent (recording_id, text, words)
            SELECT r.id, c.text, c.words FROM inspector_recording r
            JOIN inspector_recording b ON b.source_id = r.source_id AND b."index" = r."index"
            JOIN inspector_recordingcontent c ON c.recording_id = b.id
            WHERE NOT EXISTS (
                SELECT 1 FROM inspector_recordingcontent h WHERE h.recording_id = r.id)"""
        )
        cursor.execute(
            "UPDATE inspector_recordingcontent SET text = text || %s, words = words || %s"
            " WHERE recording_id = (SELECT min(recording_id) FROM inspector_recordingcontent)",
            [f"\n{RARE}", f" {RARE}"],
        )
        if connection.vendor == "sqlite":  # as an import of as many rows (search.compact)
            cursor.execute(
                "INSERT INTO inspector_content_fts(inspector_content_fts) VALUES ('optimize')"
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE inspector_recordingcontent")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(length(text)), sum(length(words)) FROM inspector_recordingcontent"
        )
        rows, text_chars, word_chars = cursor.fetchone()
    return {
        "seconds": time.perf_counter() - start,
        "content_rows": rows,
        "text_chars": int(text_chars or 0),
        "words_chars": int(word_chars or 0),
    }


def import_once(root: Path, with_contents: bool) -> dict[str, Any]:
    """One import of `root` into the (fresh) database; without content rows when asked."""
    django_setup()
    from django.conf import settings
    from django.db import connection

    from inspector import importer

    if not with_contents:
        importer.write_contents = lambda batch, created: None
    connection.ensure_connection()
    start = time.perf_counter()
    report = importer.import_paths([root], max_bytes=settings.INSPECTOR_MAX_BYTES)
    return {"seconds": time.perf_counter() - start, "report": report.line()}


def here(database_url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.PIPE,
    )
    return orjson.loads(done.stdout.splitlines()[-1])


# --------------------------------------------------------------------------- measurements


def bench_searches(server: Server, samples: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for label, search in SEARCHES.items():
        text, extra = search if isinstance(search, tuple) else (search, {})
        found[label] = {"text": text, **extra}
        for endpoint in ENDPOINTS:
            url = f"{endpoint}?{urlencode({'text': text, **extra})}"
            timed = time_requests(server, url, samples, budget=3.0)
            timed.pop("samples", None)
            found[label][endpoint] = timed
        page, twin = found[label]["/"], found[label]["/recordings.json"]
        say(
            f"  {label}: / p95 {fmt_s(page['p95'])}, .json p95 {fmt_s(twin['p95'])}"
            f" ({twin.get('first_page_rows', '?')} rows)"
        )
    return found


def bench_import(dbs: Any, roots: dict[str, Path], rounds: int) -> dict[str, Any]:
    """Each root imported into fresh databases, with and without content rows, alternating."""
    found: dict[str, Any] = {}
    for label, root in roots.items() if rounds else ():
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(rounds):
            for mode in ("with", "without"):
                url = dbs.fresh("text_import")
                done = here(
                    url, "--import-once", str(root), *(["--without"] if mode == "without" else [])
                )
                times[mode].append(done["seconds"])
                dbs.drop("text_import")
        with_s, without_s = statistics.median(times["with"]), statistics.median(times["without"])
        found[label] = {
            "with_median_s": with_s,
            "without_median_s": without_s,
            "added_share": with_s / without_s - 1,
            "samples": times,
        }
        added = found[label]["added_share"]
        say(f"  import {label}: {fmt_s(without_s)} -> {fmt_s(with_s)} with content ({added:+.0%})")
    return found


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--files", type=int, default=3200, help="files imported (default 3200)")
    parser.add_argument("--rows", type=int, default=100_000, help="recordings (default 100000)")
    parser.add_argument("--samples", type=int, default=20, help="timed requests per search")
    parser.add_argument(
        "--import-rounds", type=int, default=3, help="imports with and without (0: none)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--quick", action="store_true", help="3,000 recordings, a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    # In a subprocess, against $DATABASE_URL:
    parser.add_argument("--grow-contents", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--import-once", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--without", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.files, args.rows, args.samples, args.import_rounds = 300, 3000, 5, 1
    return args


def main() -> None:
    args = parse_args()
    if args.grow_contents:
        print(orjson.dumps(grow_contents()).decode())
        return
    if args.import_once:
        print(orjson.dumps(import_once(args.import_once, not args.without)).decode())
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")
    srcs = synth.sources()
    import_set = synth.build_set(args.files, args.seed, srcs)
    stream_root, _ = synth.build_stream(200, args.seed)
    cassettes = synth.CORPUS / "cassettes"
    import_roots = {f"{len(import_set.files):,} recordings": import_set.root}
    if cassettes.is_dir():
        import_roots["the corpus's cassettes"] = cassettes
    out: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": code_version(),
        "config": {
            k: v
            for k, v in vars(args).items()
            if k in ("db", "files", "rows", "samples", "import_rounds", "seed", "quick")
        },
        "load_average": os.getloadavg()[0],
        "target_p95_s": P95_MAX_S,
        "parse_floor": measure_floor(import_set.files, 3),
        "databases": {},
        "errors": {},
    }
    for vendor, dbs in databases.each_database(
        args.db, args.pg_url, "text_template", out["errors"], say
    ):
        url = dbs.fresh("text")
        worker(url, "import", str(import_set.root))
        grown = worker(
            url, "grow", str(import_set.root), str(args.rows), "--seed", str(args.seed),
            "--extra", str(stream_root),
        )  # fmt: skip
        contents = here(url, "--grow-contents")
        say(f"{vendor}: {grown['recordings']:,} recordings, {contents['content_rows']:,} contents")
        with Server(url, HERE / "cache" / f"uvicorn-text-{vendor}.log") as server:
            searches = bench_searches(server, args.samples)
        dbs.drop("text")
        imports = bench_import(dbs, import_roots, args.import_rounds)
        out["databases"][vendor] = {
            "recordings": grown["recordings"],
            "contents": contents,
            "searches": searches,
            "import": imports,
        }
        if vendor == "postgres":
            dbs.close()
    out["load_average_end"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(report(out))


def report(out: dict[str, Any]) -> str:
    rows = out["config"]["rows"]
    lines = [f"content search (?text=) at {rows:,} recordings (p95 target 100 ms)"]
    lines.append(f"  {'search':<22} {'db':<9} {'/ median':>9} {'/ p95':>9} {'.json p95':>10}")
    for vendor, found in out["databases"].items():
        for label, figures in found["searches"].items():
            page, twin = figures["/"], figures["/recordings.json"]
            worst = max(page["p95"], twin["p95"])
            ok = "" if worst <= P95_MAX_S or "," in label else "  MISSED"
            lines.append(
                f"  {label:<22} {vendor:<9} {fmt_s(page['p50']):>9} {fmt_s(page['p95']):>9} "
                f"{fmt_s(twin['p95']):>10}{ok}"
            )
    floor = out["parse_floor"]["seconds"]["median"]
    lines.append(f"  import (medians; parse floor of the recordings {fmt_s(floor)})")
    for vendor, found in out["databases"].items():
        for label, figures in found["import"].items():
            ratio = ""
            if "recordings" in label:
                ratio = f"  ({figures['with_median_s'] / floor:.1f}x the floor)"
            lines.append(
                f"  {label:<22} {vendor:<9} without {fmt_s(figures['without_median_s'])}, with "
                f"{fmt_s(figures['with_median_s'])} ({figures['added_share']:+.0%}){ratio}"
            )
    for vendor, error in out["errors"].items():
        lines.append(f"  {vendor}: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
