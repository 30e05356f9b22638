"""Recording Inspector benchmark: import speed, re-sync, search, recording page, memory.

    make bench                                  # or: .venv/bin/python bench/run.py [options]
    .venv/bin/python bench/run.py --quick --db sqlite

See bench/README.md for what each number means. Prints a table, writes bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import databases
import orjson
import synth
from serving import Server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
DEFAULT_PG_URL = "postgres://inspector:inspector@127.0.0.1:5432/inspector"
MB = 1_000_000

# Targets (issue text).
COLD_RATIO_MAX = 5.0  # issue 15: at most 5x the parse floor
RESYNC_MAX_S = 0.3
SEARCH_P95_MAX_S = 0.050
GREP_RATIO_MIN = 20.0
PAGE_CORPUS_MAX_S = 0.150
PAGE_STREAM_MAX_S = 0.500
RSS_MAX_BYTES = 200 * 1024 * 1024
RSS_GROWTH_MAX = 1.10  # "not growing": the larger import peaks at most 10% higher

started = time.perf_counter()
# The 1-minute load average at every progress line: other work on the machine skews timings.
loads: list[float] = []


def say(message: str) -> None:
    loads.append(os.getloadavg()[0])
    print(
        f"[{time.perf_counter() - started:6.1f}s load {loads[-1]:.1f}] {message}",
        file=sys.stderr,
        flush=True,
    )


# --------------------------------------------------------------------------- numbers


def summary(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "samples": list(samples),
    }


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_range(stats: dict[str, Any]) -> str:
    return f"{fmt_s(stats['median'])} ({fmt_s(stats['min'])} .. {fmt_s(stats['max'])})"


def fmt_mb(n: float) -> str:
    return f"{n / 1024 / 1024:.0f} MiB"


# --------------------------------------------------------------------------- machine


def machine(dbs: dict[str, Any]) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    import sqlite3

    import django

    return {
        "code": code_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": dbs["postgres"].version() if "postgres" in dbs else None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def code_version() -> str:
    """The commit measured, `+dirty` when the app's files differ from it (bench/ and docs aside)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench", ":!Makefile", ":!*.md"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit.strip() + ("+dirty" if changes.strip() else "")


# --------------------------------------------------------------------------- measurements


def measure_floor(files: list[Path], repeat: int) -> dict[str, Any]:
    """Reading and orjson-parsing every file, nothing else: what no importer can beat."""
    total = sum(f.stat().st_size for f in files)
    for file in files:  # warm the page cache, as it is for every measurement below
        file.read_bytes()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for file in files:
            orjson.loads(file.read_bytes())
        samples.append(time.perf_counter() - start)
    stats = summary(samples)
    return {
        "seconds": stats,
        "files_per_s": len(files) / stats["median"],
        "mb_per_s": total / MB / stats["median"],
    }


def worker(database_url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.PIPE,
    )
    return orjson.loads(done.stdout.splitlines()[-1])


@dataclass(frozen=True)
class Query:
    label: str
    q: str
    by_name: bool = False  # a file-name search: users would use find, not grep


def search_queries(seed: int, srcs: list[synth.Source], copies: int) -> list[Query]:
    """A dozen searches, from one recording to all of them. `copies`: how many whole copies of
    the corpus the largest file set holds, so that grep finds what the database finds."""
    rare = min(100, copies - 1)
    medium = min(42, copies - 1)
    name = synth.synth_rel(seed, rare, srcs[0].rel).rsplit("/", 1)[-1]
    return [
        Query("rare: one test", f"test_langgraph_multi_node_{synth.token(rare)}"),
        Query("rare: hash prefix", name[:16], by_name=True),
        Query("medium: one copy's token", synth.token(medium)),
        Query("common: suite", "inference"),
        Query("common: mixed case", "OpenAI"),
        Query("common: parameter", "gpt-4o"),
        Query("almost all", "test_"),
        Query("3 common words", "responses openai gpt-4o"),
        Query("common + medium", f"agents {synth.token(medium)}"),
        Query("2 common words", "inference streaming"),
        Query("no match", "zzqx9"),
        Query("common + no match", "inference zzqx9"),
    ]


@dataclass(frozen=True)
class Page:
    label: str
    rel: str  # path under the import root, with .json
    limit: float


def recording_pages(seed: int, stream_rel: str, chunks: int) -> list[Page]:
    corpus = {
        "largest corpus stream (0ea7.., 1,399 chunks, 1.1 MB)": "responses/recordings/"
        "0ea735928993b5a2de3a444256136d53ab666dbfb7582e5562268f809aa8d5f3.json",
        "corpus stream 54ab.. (1,041 chunks, 0.8 MB)": "responses/recordings/"
        "54aba5b04617898ad9e3a7fa79ff188cf165e769e85a055a2609ac9e2fed8f8b.json",
        "legacy 8bba.. (138 chunks)": "legacy/responses/8bba71367e87.json",
        "legacy cd09.. (394 chunks, Ollama)": "legacy/responses/cd094caaf1c0.json",
    }
    pages = [
        Page(label, synth.synth_rel(seed, 0, rel), PAGE_CORPUS_MAX_S)
        for label, rel in corpus.items()
    ]
    pages.append(Page(f"synthetic {chunks:,}-chunk stream", stream_rel, PAGE_STREAM_MAX_S))
    return pages


def time_requests(server: Server, url: str, samples: int, budget: float) -> dict[str, Any]:
    """One untimed warm-up, then up to `samples` timed GETs: at least 3 (2 when one takes over a
    second, 20 times any target: its verdict is not in doubt), fewer than `samples` once `budget`
    seconds are spent, so that a slow page cannot eat the run."""
    warm = server.get(url)
    times: list[float] = []
    statuses = {warm.status}
    least = 2 if warm.seconds > 1.0 else 3
    while len(times) < samples and (len(times) < least or sum(times) < budget):
        timed = server.get(url)
        times.append(timed.seconds)
        statuses.add(timed.status)
    if url.startswith("/recordings.json") and warm.status == 200:
        body = orjson.loads(warm.body)
        shown = {"first_page_rows": len(body["recordings"]), "more_pages": bool(body["next"])}
    else:
        shown = {}
    return {
        **shown,
        "url": url,
        "status": sorted(statuses),
        "bytes": warm.bytes,
        "server_timing": warm.server_timing,
        "p50": percentile(times, 0.50),
        "p95": percentile(times, 0.95),
        **summary(times),
    }


# The first page of the list and its JSON twin carry the targets. The list's facet counts, where
# the app loads them apart from the rows (`/facets`, on load), are timed too, without a target.
SEARCH_ENDPOINTS = ("/", "/recordings.json")
FACETS_ENDPOINT = "/facets"


def bench_search(server: Server, queries: list[Query], samples: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    endpoints = list(SEARCH_ENDPOINTS)
    if server.get(FACETS_ENDPOINT).status == 200:
        endpoints.append(FACETS_ENDPOINT)
    for endpoint in endpoints:
        rows = []
        for query in queries:
            url = f"{endpoint}?{urlencode({'q': query.q})}"
            timed = time_requests(server, url, samples, budget=2.0)
            rows.append({"label": query.label, "q": query.q, **timed})
        pooled = [t for row in rows for t in row["samples"]]
        found[endpoint] = {
            "queries": rows,
            "pooled_p50": percentile(pooled, 0.50),
            "pooled_p95": percentile(pooled, 0.95),
            "worst_p95": max(row["p95"] for row in rows),
        }
        say(f"  search {endpoint}: worst p95 {fmt_s(found[endpoint]['worst_p95'])}")
    return found


def bench_pages(server: Server, pages: list[Page], repeat: int) -> list[dict[str, Any]]:
    found = []
    for page in pages:
        stem = page.rel.removesuffix(".json")
        html = time_requests(server, f"/r/{stem}", repeat, budget=10.0)
        raw = time_requests(server, f"/r/{page.rel}", repeat, budget=10.0)
        found.append({"label": page.label, "limit": page.limit, "page": html, "export": raw})
        say(f"  page {page.label}: {fmt_s(html['median'])}, export {fmt_s(raw['median'])}")
    return found


def bench_database(
    dbs: Any,
    args: argparse.Namespace,
    import_set: synth.CorpusSet,
    rss_set: synth.CorpusSet,
    stream_root: Path,
    queries: list[Query],
    pages: list[Page],
) -> dict[str, Any]:
    vendor = dbs.vendor
    cold, floor = [], []
    for rep in range(args.repeat):
        # A floor sample beside each import: the machine's speed drifts within minutes, and the
        # ratio should compare the two at the same speed.
        floor.append(measure_floor(import_set.files, 1)["seconds"]["median"])
        url = dbs.fresh("import")
        resync = args.repeat if rep == args.repeat - 1 else 0
        result = worker(url, "import", str(import_set.root), "--resync", str(resync))
        if result["failed"] or result["imported"] != import_set.count:
            raise SystemExit(f"{vendor}: the import set did not import cleanly: {result}")
        cold.append(result)
        say(f"{vendor}: cold import {rep + 1}/{args.repeat}: {fmt_s(result['seconds'])}")
    seconds = summary([r["seconds"] for r in cold])
    out: dict[str, Any] = {
        "floor": {"seconds": summary(floor)},
        "cold_import": {
            "seconds": seconds,
            "files_per_s": import_set.count / seconds["median"],
            "mb_per_s": import_set.bytes / MB / seconds["median"],
            "report": cold[-1]["report"],
        },
        "django_debug": cold[-1]["debug"],
        "resync": {"seconds": summary(cold[-1]["resync"]), "report": cold[-1]["resync_report"]},
    }
    say(f"{vendor}: re-sync {fmt_range(out['resync']['seconds'])}")

    big_url = dbs.fresh("big")
    big = worker(big_url, "import", str(rss_set.root))
    dbs.drop("big")
    out["rss"] = {
        "small_files": import_set.count,
        "small_peak": statistics.median(r["peak_rss"] for r in cold),
        "small_before": statistics.median(r["rss_before"] for r in cold),
        "big_files": rss_set.count,
        "big_peak": big["peak_rss"],
        "big_before": big["rss_before"],
        "big_seconds": big["seconds"],
    }
    say(
        f"{vendor}: peak RSS {fmt_mb(out['rss']['small_peak'])} at {import_set.count} files,"
        f" {fmt_mb(big['peak_rss'])} at {rss_set.count} ({fmt_s(big['seconds'])})"
    )

    grow = worker(
        url, "grow", str(import_set.root), str(args.rows), "--seed", str(args.seed),
        "--extra", str(stream_root),
    )  # fmt: skip
    out["grow"] = grow
    say(
        f"{vendor}: grew to {grow['recordings']} recordings in {fmt_s(grow['seconds'])};"
        f" checkpoint: {grow['checkpoint']}"
    )
    with Server(url, HERE / "cache" / f"uvicorn-{vendor}.log") as server:
        out["search"] = bench_search(server, queries, args.samples)
        out["pages"] = bench_pages(server, pages, args.repeat)
    out["database_url"] = url
    return out


def grep_command(query: Query, root: Path) -> str:
    """What a user types without the inspector: grep -rl for each word, narrowing the file list
    word by word; a file-name search is a find."""
    words = query.q.split()
    if query.by_name:
        return f"find {shlex.quote(str(root))} -iname {shlex.quote(f'*{query.q}*')}"
    first = f"grep -rliZ -- {shlex.quote(words[0])} {shlex.quote(str(root))}"
    rest = [f"xargs -0r grep -liZ -- {shlex.quote(word)}" for word in words[1:]]
    return " | ".join([first, *rest]) + " | tr '\\0' '\\n'"


def time_shell(command: str, repeat: int) -> tuple[dict[str, Any], int]:
    env = {**os.environ, "LC_ALL": "C"}  # grep's fastest locale: the comparison favours grep
    samples, matches = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, shell=True, env=env, stdout=subprocess.PIPE, check=False)
        samples.append(time.perf_counter() - start)
        matches = len(done.stdout.splitlines())
    return summary(samples), matches


def bench_grep(
    queries: list[Query], sets: list[synth.CorpusSet], rows: int, repeat: int
) -> dict[str, Any]:
    for corpus in sets:  # warm the page cache
        time_shell(grep_command(Query("warm", "zzqx9"), corpus.root), 1)
    results = []
    for query in queries:
        row: dict[str, Any] = {"label": query.label, "q": query.q, "sets": []}
        for corpus in sets:
            reps = repeat if corpus.count <= 5000 else min(repeat, 2)
            stats, matches = time_shell(grep_command(query, corpus.root), reps)
            row["sets"].append(
                {"files": corpus.count, "bytes": corpus.bytes, "seconds": stats, "matches": matches}
            )
        biggest = row["sets"][-1]
        # grep's time is linear in the bytes it reads: scale the largest measured set up.
        row["scaled_to_rows"] = biggest["seconds"]["median"] * rows / biggest["files"]
        row["command"] = grep_command(query, Path("DIR"))
        results.append(row)
        say(f"  grep {query.q!r}: {fmt_s(biggest['seconds']['median'])} at {biggest['files']}")
    return {"queries": results, "rows": rows}


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    db: str
    name: str
    value: str
    limit: str
    ok: bool

    def cells(self) -> list[str]:
        return ["PASS" if self.ok else "FAIL", self.db, self.name, self.value, self.limit]


def judge(results: dict[str, Any]) -> list[Target]:
    targets: list[Target] = []
    grep = {row["q"]: row["scaled_to_rows"] for row in results["grep"]["queries"]}
    for db, found in results["databases"].items():

        def add(name: str, value: str, limit: str, ok: bool, db: str = db) -> None:
            targets.append(Target(db, name, value, limit, ok))

        ratio = found["cold_import"]["seconds"]["median"] / found["floor"]["seconds"]["median"]
        add(
            "cold import / parse floor",
            f"{ratio:.1f}x",
            f"<= {COLD_RATIO_MAX:.0f}x",
            ratio <= COLD_RATIO_MAX,
        )
        resync = found["resync"]["seconds"]["median"]
        add(
            "re-sync of the unchanged set",
            fmt_s(resync),
            f"< {fmt_s(RESYNC_MAX_S)}",
            resync < RESYNC_MAX_S,
        )
        for endpoint in SEARCH_ENDPOINTS:
            search = found["search"][endpoint]
            worst = search["worst_p95"]
            add(
                f"search {endpoint} first page, worst p95",
                fmt_s(worst),
                f"< {fmt_s(SEARCH_P95_MAX_S)}",
                worst < SEARCH_P95_MAX_S,
            )
            ratios = [grep[row["q"]] / row["p95"] for row in search["queries"]]
            add(
                f"search {endpoint} vs grep -rl, lowest ratio",
                f"{min(ratios):.1f}x",
                f">= {GREP_RATIO_MIN:.0f}x",
                min(ratios) >= GREP_RATIO_MIN,
            )
        for page in found["pages"]:
            median = page["page"]["median"]
            ok = median < page["limit"] and page["page"]["status"] == [200]
            add(f"page: {page['label']}", fmt_s(median), f"< {fmt_s(page['limit'])}", ok)
        rss = found["rss"]
        for files, peak in (
            (rss["small_files"], rss["small_peak"]),
            (rss["big_files"], rss["big_peak"]),
        ):
            add(
                f"import peak RSS at {files:,} files",
                fmt_mb(peak),
                f"< {fmt_mb(RSS_MAX_BYTES)}",
                peak < RSS_MAX_BYTES,
            )
        growth = rss["big_peak"] / rss["small_peak"]
        add(
            "import peak RSS growth with file count",
            f"{growth:.2f}x",
            f"<= {RSS_GROWTH_MAX:.2f}x",
            growth <= RSS_GROWTH_MAX,
        )
    return targets  # fmt: skip


# --------------------------------------------------------------------------- report


def table(rows: list[list[str]], indent: str = "    ", left: int = 1) -> list[str]:
    """Rows of cells as aligned lines: the first `left` columns left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def report_lines(results: dict[str, Any], targets: list[Target]) -> list[str]:
    m, config, corpus = results["machine"], results["config"], results["corpus"]
    load = m["load_average"]
    debug = ", ".join(f"{db} {found['django_debug']}" for db, found in results["databases"].items())
    small, big = corpus["import_set"], corpus["rss_set"]
    floor = results["floor"]
    lines = [
        f"Recording Inspector {m['code']}, benchmark of {m['date']}, run took"
        f" {config['duration_s']:.0f} s",
        f"  {m['cpu']}, {m['cores']} cores, {m['memory']}; Python {m['python']},"
        f" Django {m['django']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql'] or '-'};"
        f" Django DEBUG (as the app sets it): {debug}",
        f"  1-minute load average: {load['start']:.1f} at start, {load['max']:.1f} at most"
        f" (the machine has {m['cores']} cores; more than the benchmark's own ~1 skews timings)",
        f"  import set {small['files']:,} files ({small['bytes'] / MB:.0f} MB); memory set"
        f" {big['files']:,} files ({big['bytes'] / MB:.0f} MB); {config['rows']:,} recordings"
        f" for search; repeat {config['repeat']}",
        "",
        f"parse floor (read + orjson.loads, {small['files']:,} files):"
        f" {fmt_range(floor['seconds'])}, {floor['files_per_s']:,.0f} files/s,"
        f" {floor['mb_per_s']:,.0f} MB/s",
    ]
    grep = {row["q"]: row["scaled_to_rows"] for row in results["grep"]["queries"]}
    for db, found in results["databases"].items():
        cold, rss = found["cold_import"], found["rss"]
        beside = found["floor"]["seconds"]["median"]
        ratio = cold["seconds"]["median"] / beside
        lines += [
            "",
            f"== {db}",
            f"  cold import           {fmt_range(cold['seconds'])}; {cold['files_per_s']:,.0f}"
            f" files/s, {cold['mb_per_s']:.1f} MB/s, {ratio:.1f}x the floor measured beside it"
            f" ({fmt_s(beside)})",
            f"  re-sync, unchanged    {fmt_range(found['resync']['seconds'])}",
            f"  import peak RSS       {fmt_mb(rss['small_peak'])} at {rss['small_files']:,} files,"
            f" {fmt_mb(rss['big_peak'])} at {rss['big_files']:,} files (before importing:"
            f" {fmt_mb(rss['small_before'])}; the {rss['big_files']:,}-file import took"
            f" {fmt_s(rss['big_seconds'])})",
            f"  search, first page, at {found['grow']['recordings']:,} recordings"
            f" (grep -rl scaled to {results['grep']['rows']:,} files):",
        ]
        html, api = found["search"]["/"], found["search"]["/recordings.json"]
        facet = found["search"].get(FACETS_ENDPOINT)
        rows = [["query", "rows", "/ p50", "/ p95", ".json p50", ".json p95", "grep", "grep / p95"]]
        if facet:
            rows[0] += ["facets p50", "facets p95"]
        for a, b in zip(html["queries"], api["queries"], strict=True):
            more = "+" if b["more_pages"] else ""
            ratios = f"{grep[a['q']] / a['p95']:.1f}x / {grep[a['q']] / b['p95']:.1f}x"
            first = f"{b['first_page_rows']}{more}"
            rows.append(
                [
                    a["q"],
                    first,
                    fmt_s(a["p50"]),
                    fmt_s(a["p95"]),
                    fmt_s(b["p50"]),
                    fmt_s(b["p95"]),
                    fmt_s(grep[a["q"]]),
                    ratios,
                ]
            )
            if facet:
                counts = next(row for row in facet["queries"] if row["q"] == a["q"])
                rows[-1] += [fmt_s(counts["p50"]), fmt_s(counts["p95"])]
        rows.append(
            ["all queries pooled", "", fmt_s(html["pooled_p50"]), fmt_s(html["pooled_p95"])]
        )
        rows[-1] += [fmt_s(api["pooled_p50"]), fmt_s(api["pooled_p95"]), "", ""]
        if facet:
            rows[-1] += [fmt_s(facet["pooled_p50"]), fmt_s(facet["pooled_p95"])]
        lines += table(rows)
        lines.append("  recording page and JSON export (median):")
        rows = [["recording", "page", "size", "export", "size"]]
        for page in found["pages"]:
            html_page, export = page["page"], page["export"]
            status = "" if html_page["status"] == [200] else f" HTTP {html_page['status']}"
            rows.append(
                [
                    page["label"],
                    fmt_s(html_page["median"]) + status,
                    f"{html_page['bytes'] / 1024:,.0f} KiB",
                    fmt_s(export["median"]),
                    f"{export['bytes'] / 1024:,.0f} KiB",
                ]
            )
        lines += table(rows)
    lines += ["", "grep -rl (find -iname for a file name), LC_ALL=C, median:"]
    sizes = [f"{s['files']:,} files" for s in results["grep"]["queries"][0]["sets"]]
    rows = [["query", *sizes, f"scaled to {results['grep']['rows']:,}", "files found"]]
    for row in results["grep"]["queries"]:
        times = [fmt_s(s["seconds"]["median"]) for s in row["sets"]]
        rows.append(
            [row["q"], *times, fmt_s(row["scaled_to_rows"]), str(row["sets"][-1]["matches"])]
        )
    lines += table(rows)
    lines += ["", "targets"]
    lines += table(
        [["", "db", "what", "measured", "target"]] + [t.cells() for t in targets], "  ", 3
    )
    lines += [f"  ERROR {db}: {error}" for db, error in results["errors"].items()]
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--files", type=int, help="recordings in the import set (default 3200)")
    parser.add_argument(
        "--rows", type=int, help="recordings in the database for search (default 100000)"
    )
    parser.add_argument(
        "--rss-files", type=int, help="the larger import whose memory is measured (default 30000)"
    )
    parser.add_argument(
        "--stream-chunks", type=int, help="chunks of the synthetic stream (default 20000)"
    )
    parser.add_argument("--repeat", type=int, help="repetitions of each measurement (default 3)")
    parser.add_argument(
        "--samples", type=int, help="requests per search query (default 40, fewer past 2 s)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
        help="a PostgreSQL role with CREATEDB; only inspector_bench* databases are made",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    quick = {
        "files": 300,
        "rows": 3000,
        "rss_files": 1000,
        "stream_chunks": 2000,
        "repeat": 2,
        "samples": 3,
    }
    full = {
        "files": 3200,
        "rows": 100_000,
        "rss_files": 30_000,
        "stream_chunks": 20_000,
        "repeat": 3,
        # A p95 needs some twenty samples to be more than their maximum: of 10 it is 0.55 of
        # the way from the second slowest to the slowest.
        "samples": 40,
    }
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args  # fmt: skip


def describe(corpus: synth.CorpusSet) -> dict[str, Any]:
    return {"root": str(corpus.root), "files": corpus.count, "bytes": corpus.bytes}


def main() -> None:
    args = parse_args()
    srcs = synth.sources()
    if args.files < len(srcs) or args.rows < args.files or args.repeat < 1:
        raise SystemExit(f"need --files >= {len(srcs)}, --rows >= --files, --repeat >= 1")
    say(f"building the synthetic corpus (cached under {synth.CACHE})")
    import_set = synth.build_set(args.files, args.seed, srcs)
    rss_set = synth.build_set(args.rss_files, args.seed, srcs)
    stream_root, stream_rel = synth.build_stream(args.stream_chunks, args.seed)
    queries = search_queries(args.seed, srcs, args.rss_files // len(srcs))
    pages = recording_pages(args.seed, stream_rel, args.stream_chunks)

    dbs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for vendor in ("sqlite", "postgres"):
        if args.db not in (vendor, "both"):
            continue
        try:
            if vendor == "sqlite":
                dbs[vendor] = databases.SQLiteDatabases()
            else:
                dbs[vendor] = databases.PostgresDatabases(args.pg_url)
        except databases.SetupError as exc:
            errors[vendor] = str(exc)
            say(f"{vendor}: skipped: {exc}")

    results: dict[str, Any] = {
        "machine": machine(dbs),
        "config": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "pg_url"
        },
        "corpus": {
            "source": str(synth.SOURCE),
            "import_set": describe(import_set),
            "rss_set": describe(rss_set),
            "stream": {"root": str(stream_root), "path": stream_rel, "chunks": args.stream_chunks},
        },
        "databases": {},
        "errors": errors,
    }  # fmt: skip
    say("parse floor")
    results["floor"] = measure_floor(import_set.files, args.repeat)
    for vendor, db in dbs.items():
        try:
            results["databases"][vendor] = bench_database(
                db, args, import_set, rss_set, stream_root, queries, pages
            )
        except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
            # A failing import or server: report it and go on with the other database.
            errors[vendor] = f"{type(exc).__name__}: {exc}"
            say(f"{vendor}: failed: {errors[vendor]}")
    say("grep -rl")
    results["grep"] = bench_grep(queries, [import_set, rss_set], args.rows, args.repeat)
    if "postgres" in dbs:
        dbs["postgres"].close()
    targets = judge(results)
    results["targets"] = [t.__dict__ for t in targets]
    results["config"]["duration_s"] = time.perf_counter() - started
    results["machine"]["load_average"] = {"start": loads[0], "max": max(loads), "end": loads[-1]}
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(report_lines(results, targets)))
    say(f"wrote {args.out}")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
