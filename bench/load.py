"""Load benchmark: 50 concurrent clients against the server as `make serve` runs it.

    make bench-load                               # or: .venv/bin/python bench/load.py [options]
    .venv/bin/python bench/load.py --quick --db sqlite

Builds a database of --rows recordings (the import set imported, the big stream, rows grown as
bench/run.py does), starts `manage.py serve --workers N` on a free loopback port, and runs
--clients clients, each one request after another without pause, over the list, searches,
facets, the JSON list, recording pages, raw sections and file exports, in three phases: plain;
while `import_recordings` of another set runs (the phase lasts as long as the import); while
--playbacks replays of the big stream (/stream/) run. Prints a table, writes bench/load.json.
Everything is on 127.0.0.1 and bounded: each phase stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import databases
import synth
from run import DEFAULT_PG_URL, code_version, fmt_s, loads, percentile, say, table, worker
from serving import Workers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "load.json"
# Targets (issue text), for every phase.
P95_MAX_S = 0.5
SLOWEST_MAX_S = 2.0
REQUEST_TIMEOUT_S = 30  # a request taking longer counts as an error
IMPORT_PHASE_MAX_S = 300  # an import still running then is stopped, and the phase with it
# What a client asks for, and how often (a browser asks for /facets after each list page).
MIX = {"list": 2, "search": 3, "facets": 4, "json": 2, "page": 3, "raw": 1, "export": 1}
# What users run beside the server (README "Management commands"), at --import-nice.
IMPORT = [sys.executable, "manage.py", "import_recordings", "--no-progress"]
WORDS = ["inference", "gpt-4o", "openai", "test_", "responses openai", "k0042", "zzqx9", "agents"]


def urls_for(kind: str, rng: random.Random, stems: list[str]) -> str:
    word = rng.choice(WORDS)
    if kind == "list":
        return rng.choice(["/", "/?_next=50", "/?suite=inference", "/?streaming=yes"])
    if kind == "search":
        return "/?" + urlencode({"q": word})
    if kind == "facets":
        return rng.choice(["/facets", "/facets?" + urlencode({"q": word})])
    if kind == "json":
        return "/recordings.json?" + urlencode({"q": word})
    stem = rng.choice(stems)
    return {"page": f"/r/{stem}", "raw": f"/raw/{stem}", "export": f"/r/{stem}.json"}[kind]


class Client(threading.Thread):
    """One user without pause: a request, its whole body, the next."""

    def __init__(self, port: int, seed: int, stems: list[str], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stems, self.stop = port, stems, stop
        self.rng = random.Random(seed)
        self.kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
        self.samples: list[tuple[str, float, str]] = []  # (kind, seconds, status)

    def run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self.stop.is_set():
            kind = self.rng.choice(self.kinds)
            url = urls_for(kind, self.rng, self.stems)
            start = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S
                    )
                connection.request("GET", url)
                response = connection.getresponse()
                response.read()
                status = str(response.status)
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__} {url}"
                if connection is not None:
                    connection.close()
                connection = None
            self.samples.append((kind, time.perf_counter() - start, status))
        if connection is not None:
            connection.close()


class Playback(threading.Thread):
    """A browser replaying the big stream: /stream/ read as it comes, started again at its end."""

    def __init__(self, port: int, stem: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stem, self.stop = port, stem, stop
        self.bytes, self.starts, self.errors = 0, 0, []
        self.first_event: list[float] = []

    def run(self) -> None:
        request = f"GET /stream/{self.stem} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        while not self.stop.is_set():
            self.starts += 1
            start = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request)
                    sock.settimeout(0.5)
                    head = b""
                    while not self.stop.is_set():
                        try:
                            data = sock.recv(65536)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        if not head:
                            head = data
                            if not data.startswith(b"HTTP/1.1 200"):
                                self.errors.append(data.split(b"\r\n", 1)[0].decode())
                                break
                        if b"event:" in data and len(self.first_event) < self.starts:
                            self.first_event.append(time.perf_counter() - start)
                        self.bytes += len(data)
            except OSError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.5)


def summarise(samples: list[tuple[str, float, str]], seconds: float) -> dict[str, Any]:
    times = [s for _, s, _ in samples]
    errors = [status for _, _, status in samples if not status.startswith(("2", "3"))]
    found: dict[str, Any] = {
        "requests": len(samples),
        "seconds": seconds,
        "per_s": len(samples) / seconds if seconds else 0.0,
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:10],
        "p50": percentile(times, 0.50) if times else None,
        "p95": percentile(times, 0.95) if times else None,
        "p99": percentile(times, 0.99) if times else None,
        "max": max(times) if times else None,
        "kinds": {},
    }
    for kind in MIX:
        mine = [s for k, s, _ in samples if k == kind]
        if mine:
            found["kinds"][kind] = {
                "n": len(mine),
                "p50": percentile(mine, 0.5),
                "p95": percentile(mine, 0.95),
                "max": max(mine),
            }
    return found


def run_phase(
    port: int, args: argparse.Namespace, stems: list[str], name: str, during: Any = None
) -> dict[str, Any]:
    """--clients clients for --seconds (or while `during`, a started process, runs)."""
    stop = threading.Event()
    extra: dict[str, Any] = {}
    playbacks: list[Playback] = []
    if name == "playback":
        playbacks = [Playback(port, args.stream_stem, stop) for _ in range(args.playbacks)]
        for playback in playbacks:
            playback.start()
        time.sleep(1.0)  # every replay has loaded its stream and is sending
    load_before = os.getloadavg()[0]
    clients = [Client(port, args.seed * 1000 + i, stems, stop) for i in range(args.clients)]
    start = time.perf_counter()
    for client in clients:
        client.start()
    if during is None:
        time.sleep(args.seconds)
    else:
        try:
            during.wait(timeout=IMPORT_PHASE_MAX_S)
        except subprocess.TimeoutExpired:
            during.terminate()
            during.wait()
            extra["import_stopped"] = f"still running after {IMPORT_PHASE_MAX_S} s"
        extra["import_seconds"] = time.perf_counter() - start
        extra["import_exit"] = during.returncode
    stop.set()
    for thread in [*clients, *playbacks]:
        thread.join(timeout=REQUEST_TIMEOUT_S + 5)
    seconds = time.perf_counter() - start
    found = summarise([s for c in clients for s in c.samples], seconds)
    found.update(extra, load_before=load_before, load_after=os.getloadavg()[0])
    if playbacks:
        found["playbacks"] = {
            "count": len(playbacks),
            "bytes": sum(p.bytes for p in playbacks),
            "starts": sum(p.starts for p in playbacks),
            "errors": [e for p in playbacks for e in p.errors][:10],
            "first_event_max": max((t for p in playbacks for t in p.first_event), default=None),
        }
    say(
        f"  {name}: {found['requests']} requests, {found['per_s']:.0f}/s, {found['errors']}"
        f" errors, p50 {fmt_s(found['p50'])}, p95 {fmt_s(found['p95'])},"
        f" max {fmt_s(found['max'])}"
    )
    return found


def bench_database(dbs: Any, args: argparse.Namespace, sets: dict[str, Any]) -> dict[str, Any]:
    vendor = dbs.vendor
    url = dbs.fresh("load")
    base, later, stream_root = sets["base"], sets["later"], sets["stream_root"]
    first = worker(url, "import", str(base.root))
    grown = worker(
        url, "grow", str(base.root), str(args.rows), "--seed", str(args.seed),
        "--extra", str(stream_root),
    )  # fmt: skip
    say(f"{vendor}: {grown['recordings']:,} recordings ({fmt_s(first['seconds'])} import)")
    stems = [str(f.relative_to(base.root)).removesuffix(".json") for f in base.files]
    out: dict[str, Any] = {"recordings": grown["recordings"], "workers": args.workers}
    log = HERE / "cache" / f"load-server-{vendor}.log"
    with Workers(url, args.workers, log) as server:
        # One request alone, before any load, on one connection (so one worker process): cold
        # (counted), then from the cache.
        alone = {}
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for label in ("facets, counted", "facets, cached"):
            start = time.perf_counter()
            connection.request("GET", "/facets?q=inference")
            response = connection.getresponse()
            response.read()
            alone[label] = {"status": response.status, "seconds": time.perf_counter() - start}
        connection.close()
        out["alone"] = alone
        say(f"{vendor}: " + ", ".join(f"{k} {fmt_s(v['seconds'])}" for k, v in alone.items()))
        run_phase(server.port, argparse.Namespace(**{**vars(args), "seconds": 3}), stems, "warm")
        phases = out["phases"] = {}
        if "plain" in args.phases:
            phases["plain"] = run_phase(server.port, args, stems, "plain")
        if "import" in args.phases:
            importing = subprocess.Popen(
                ["nice", "-n", str(args.import_nice), *IMPORT, str(later.root)],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            phases["import"] = run_phase(server.port, args, stems, "import", during=importing)
            phases["import"]["import_files"] = later.count
        if "playback" in args.phases:
            phases["playback"] = run_phase(server.port, args, stems, "playback")
    return out


def judge(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for db, found in results["databases"].items():
        for name, phase in found["phases"].items():
            checks = [
                ("errors", str(phase["errors"]), "0", phase["errors"] == 0),
                ("p95", fmt_s(phase["p95"]), f"< {fmt_s(P95_MAX_S)}", phase["p95"] < P95_MAX_S),
                (
                    "slowest request",
                    fmt_s(phase["max"]),
                    f"< {fmt_s(SLOWEST_MAX_S)}",
                    phase["max"] < SLOWEST_MAX_S,
                ),
            ]
            if "playbacks" in phase:
                bad = len(phase["playbacks"]["errors"])
                checks.append(("playback errors", str(bad), "0", bad == 0))
            for what, value, limit, ok in checks:
                rows.append(["PASS" if ok else "FAIL", db, f"{name}: {what}", value, limit])
    return rows


def report(results: dict[str, Any], targets: list[list[str]]) -> list[str]:
    config = results["config"]
    lines = [
        f"Recording Inspector {results['code']}, load benchmark of {results['date']}:"
        f" {config['clients']} clients, {config['workers']} worker processes,"
        f" {os.cpu_count()} cores; 1-minute load average {min(loads):.1f} to {max(loads):.1f}",
        "",
    ]
    rows = [["db", "phase", "requests", "/s", "errors", "p50", "p95", "max", "p95 by kind"]]
    for db, found in results["databases"].items():
        for name, phase in found["phases"].items():
            kinds = " ".join(f"{k} {v['p95'] * 1000:.0f}" for k, v in phase["kinds"].items())
            label = name
            if "import_seconds" in phase:
                label += f" ({phase['import_files']:,} files, {phase['import_seconds']:.0f} s)"
            if "playbacks" in phase:
                label += f" (+{phase['playbacks']['count']} replays)"
            rows.append(
                [
                    f"{db} {found['recordings']:,}",
                    label,
                    str(phase["requests"]),
                    f"{phase['per_s']:.0f}",
                    str(phase["errors"]),
                    fmt_s(phase["p50"]),
                    fmt_s(phase["p95"]),
                    fmt_s(phase["max"]),
                    kinds + " ms",
                ]
            )
        alone = ", ".join(f"{k} {fmt_s(v['seconds'])}" for k, v in found["alone"].items())
        rows.append([f"{db}", f"alone: {alone}", "", "", "", "", "", "", ""])
    lines += table(rows, "  ", 2)
    lines += ["", "targets", *table([["", "db", "what", "measured", "target"], *targets], "  ", 3)]
    lines += [f"  ERROR {db}: {error}" for db, error in results["errors"].items()]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=20_000, help="recordings in the database")
    parser.add_argument("--files", type=int, default=3200, help="of them imported from files")
    parser.add_argument("--import-files", type=int, default=3200, help="imported in phase 2")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--playbacks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of phases 1 and 3")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1)),
        help="server processes (default: WEB_CONCURRENCY, else twice the cores)",
    )
    parser.add_argument("--stream-chunks", type=int, default=20_000)
    parser.add_argument(
        "--import-nice",
        type=int,
        default=0,
        help="niceness of phase 2's import (default 0, as users run it; README suggests 10)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--phases", default="plain,import,playback", help="which, comma-separated (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small and short, for a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.phases = args.phases.split(",")
    if args.quick:
        args.rows, args.files, args.import_files, args.seconds = 3000, 300, 600, 5.0
        args.stream_chunks = 2000
    return args


def main() -> None:
    args = parse_args()
    srcs = synth.sources()
    say("building the synthetic corpus")
    sets = {
        "base": synth.build_set(args.files, args.seed, srcs),
        "later": synth.build_set(args.import_files, args.seed + 1, srcs),
    }
    sets["stream_root"], stream_rel = synth.build_stream(args.stream_chunks, args.seed)
    args.stream_stem = stream_rel.removesuffix(".json")
    results: dict[str, Any] = {
        "code": code_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "databases": {},
        "errors": {},
    }
    results["config"].pop("pg_url")
    for vendor in ("sqlite", "postgres"):
        if args.db not in (vendor, "both"):
            continue
        try:
            dbs: Any = (
                databases.SQLiteDatabases()
                if vendor == "sqlite"
                else databases.PostgresDatabases(args.pg_url)
            )
            results["databases"][vendor] = bench_database(dbs, args, sets)
            if vendor == "postgres":
                dbs.close()
        except (databases.SetupError, subprocess.CalledProcessError, RuntimeError) as exc:
            results["errors"][vendor] = f"{type(exc).__name__}: {exc}"
            say(f"{vendor}: failed: {results['errors'][vendor]}")
    targets = judge(results)
    names = ["verdict", "db", "what", "measured", "target"]
    results["targets"] = [dict(zip(names, t, strict=True)) for t in targets]
    results["load_average"] = {"min": min(loads), "max": max(loads)}
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(report(results, targets)))
    say(f"wrote {args.out}")
    if results["errors"] or any(t[0] == "FAIL" for t in targets):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
