"""Import and pages on the real trees, as they are: `../shared/corpus/recordings` (llama-stack,
many small JSON files) and `../shared/corpus/cassettes` (VCR.py YAML cassettes).

    .venv/bin/python bench/real_trees.py [--db sqlite|postgres|both] [--repeat N]

For each tree and database, `--repeat` times: the parse floor (reading every file and parsing it
with orjson or PyYAML's CSafeLoader, nothing else), then a cold import in a fresh process into a
fresh database (bench/worker.py); the ratio is the median import over the median floor, both
measured in the same run. Then, under uvicorn, the page of the largest cassette and the playback
page of its first streamed exchange. Prints a table, writes bench/real_trees.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import databases
import orjson
import yaml
from serving import Server

BENCH = Path(__file__).resolve().parent
CORPUS = BENCH.parent.parent / "shared" / "corpus"
TREES = {"llama-stack": CORPUS / "recordings", "cassettes": CORPUS / "cassettes"}
DEFAULT_PG_URL = "postgres://inspector:inspector@127.0.0.1:5432/inspector"
IMPORT_RATIO_MAX = 5.0
CASSETTE_PAGE_MAX_S = 0.200


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {message}", file=sys.stderr)


def files_of(tree: Path) -> list[Path]:
    endings = (".json", ".yaml", ".yml", ".yaml.gz", ".yml.gz", ".json.gz")
    return sorted(p for p in tree.rglob("*") if p.name.endswith(endings) and p.is_file())


def parse_floor(files: list[Path]) -> float:
    """Seconds to read and parse every file with the fastest parser there is for it."""
    start = time.perf_counter()
    for file in files:
        data = file.read_bytes()
        if file.name.endswith(".gz"):
            data = gzip.decompress(data)
        if file.name.endswith((".json", ".json.gz")):
            orjson.loads(data)
        else:
            yaml.load(data, Loader=yaml.CSafeLoader)
    return time.perf_counter() - start


def cold_import(url: str, tree: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / "worker.py"), "import", str(tree), "--resync", "0"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"import of {tree} failed:\n{done.stderr[-2000:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def largest_cassette(tree: Path) -> str:
    """The largest cassette's path under the tree, from its MANIFEST.tsv."""
    rows = [line.split("\t") for line in (tree / "MANIFEST.tsv").read_text().splitlines()[1:]]
    return max(rows, key=lambda row: int(row[1]))[0]


def time_page(server: Server, url: str, repeat: int) -> dict[str, Any]:
    warm = server.get(url)
    samples = [server.get(url).seconds for _ in range(repeat)]
    return {"url": url, "status": warm.status, "median": statistics.median(samples)}


def bench_database(dbs: Any, repeat: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, tree in TREES.items():
        files = files_of(tree)
        parse_floor(files)  # the page cache warm, as for every import below
        floors, imports = [], []
        for _ in range(repeat):
            floors.append(parse_floor(files))
            url = dbs.fresh(f"real_{name}")
            result = cold_import(url, tree)
            if result["failed"]:
                raise SystemExit(f"{name}: {result['report']}")
            imports.append(result["seconds"])
        floor, took = statistics.median(floors), statistics.median(imports)
        found[name] = {
            "files": len(files),
            "floor": floor,
            "import": took,
            "ratio": took / floor,
            "report": result["report"],
            "peak_rss": result["peak_rss"],
        }
        say(f"{dbs.vendor} {name}: import {took:.2f} s, floor {floor:.3f} s, {took / floor:.1f}x")
    stem = largest_cassette(TREES["cassettes"]).removesuffix(".yaml")
    log = BENCH / "cache" / f"real_trees_{dbs.vendor}.log"
    with Server(url, log) as server:  # the cassettes' last import
        found["cassette_page"] = time_page(server, f"/r/{stem}", repeat * 3)
        found["exchange_page"] = time_page(server, f"/r/{stem}/1", repeat * 3)
    say(f"{dbs.vendor}: cassette page {found['cassette_page']['median'] * 1000:.0f} ms")
    return found


def table(results: dict[str, Any]) -> str:
    measured = results["databases"]
    rows = [
        "| measure | " + " | ".join(measured) + " | target |",
        "| --- " * (len(measured) + 2) + "|",
    ]
    for name in TREES:
        cells = [
            f"{db[name]['import']:.2f} s / {db[name]['floor']:.2f} s, {db[name]['ratio']:.1f}x"
            for db in measured.values()
        ]
        files = results["files"][name]
        rows.append(
            f"| import {name} as it is ({files:,} files) / parse floor | "
            + " | ".join(cells)
            + f" | <= {IMPORT_RATIO_MAX:.0f}x |"
        )
    cells = [
        f"{db['cassette_page']['median'] * 1e3:.0f} / {db['exchange_page']['median'] * 1e3:.0f} ms"
        for db in measured.values()
    ]
    rows.append(
        "| largest cassette's page / its first exchange | "
        + " | ".join(cells)
        + f" | < {CASSETTE_PAGE_MAX_S * 1000:.0f} ms |"
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: len(files_of(tree)) for name, tree in TREES.items()},
        "databases": {},
    }
    for kind in ("sqlite", "postgres"):
        if args.db not in (kind, "both"):
            continue
        try:
            if kind == "sqlite":
                dbs: Any = databases.SQLiteDatabases("real_template")
            else:
                url = os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_PG_URL
                dbs = databases.PostgresDatabases(url, "real_template")
        except databases.SetupError as exc:
            say(f"{kind}: skipped ({exc})")
            results["databases"][kind] = {"error": str(exc)}
            continue
        try:
            results["databases"][kind] = bench_database(dbs, args.repeat)
        finally:
            if kind == "postgres":
                dbs.close()
    measured = {k: v for k, v in results["databases"].items() if "error" not in v}
    print(table({**results, "databases": measured}))
    (BENCH / "real_trees.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
