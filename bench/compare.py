"""/compare of two roots of ~3,000 files: the llama-stack corpus copied into suites until 3,000
files, a second copy with 150 files re-recorded as noise (`created` changed) and 50 removed,
each imported with `--root`. Times /compare.json and /compare with the cache cleared, in one
process (Django's test client), on SQLite or the PostgreSQL of --pg-url. Target: under 3 s.

    .venv/bin/python bench/compare.py [--db sqlite|postgres] [--pg-url URL]

Prints a table and writes bench/compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = Path(os.environ.get("INSPECTOR_CORPUS", ROOT.parent / "shared" / "corpus")) / "recordings"
TARGET_S = 3.0
FILES = 3000


def build(folder: Path) -> tuple[Path, Path]:
    """Two trees: `a`, and `b` with noise in 150 files and 50 files removed."""
    files = [f for f in CORPUS.rglob("*.json") if "legacy" not in f.parts]
    a, b = folder / "a", folder / "b"
    count = 0
    for copy_number in range(FILES // max(len(files), 1) + 1):
        for file in files[: FILES - count]:
            rel = Path(f"s{copy_number}") / file.relative_to(CORPUS)
            for tree in (a, b):
                (tree / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(file, tree / rel)
            count += 1
    chosen = random.Random(1).sample(sorted(b.rglob("*.json")), 200)
    for file in chosen[:150]:
        file.write_text(file.read_text().replace('"created": 0', '"created": 1', 1))
    for file in chosen[150:]:
        file.unlink()
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", ""))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    if args.db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    else:
        os.environ["DATABASE_URL"] = args.pg_url
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from inspector.models import ImportRoot

    call_command("migrate", verbosity=0)
    ImportRoot.objects.all().delete()
    a, b = build(folder)
    for name, tree in (("a", a), ("b", b)):
        call_command("import_recordings", str(tree), root=name, no_progress=True)
    client, results = Client(), {}
    for url in ("/compare.json", "/compare"):
        times = []
        for _ in range(args.rounds):
            cache.clear()
            start = time.perf_counter()
            response = client.get(url, {"a": "a", "b": "b"}, HTTP_HOST="127.0.0.1")
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        results[url] = {"median_s": statistics.median(times), "max_s": max(times)}
    body = client.get("/compare.json", {"a": "a", "b": "b"}, HTTP_HOST="127.0.0.1").json()
    shape = {key: len(body[key]) for key in ("added", "removed", "changed")}
    shape["unchanged"] = body["unchanged"]
    print(f"compare, {args.db}: {shape}")
    print(f"{'page':<16} {'median':>10} {'max':>10}  target < {TARGET_S:.0f} s")
    for url, figures in results.items():
        print(f"{url:<16} {figures['median_s']:>9.3f}s {figures['max_s']:>9.3f}s")
    out = {"db": args.db, "files": FILES, "found": shape, "pages": results, "target_s": TARGET_S}
    (HERE / "compare.json").write_text(json.dumps(out, indent=2) + "\n")
    ImportRoot.objects.all().delete()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
