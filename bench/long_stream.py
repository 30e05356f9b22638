"""Long streams: import, pages and playback of a 1,000,000-chunk recording.

    .venv/bin/python bench/long_stream.py                 # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/long_stream.py --quick --db sqlite

Generates the recordings in a temporary folder (1,000,000 one-character chunks, 50 MB, under the
64 MiB default limit; and 100,000, to see that import time is linear), removed after. Measures:
- import: `manage.py import_recordings` in a subprocess against a fresh database (a throwaway
  SQLite file; a fresh `inspector_bench_*` PostgreSQL database when BENCH_POSTGRES_URL or the
  default local server answers), wall time of the whole command and its peak RSS;
- pages, under uvicorn on 127.0.0.1 (what `make serve` runs): median of `--repeat` requests to
  /r/, /play/, /chunks/ and /chunk/?n= of the long stream;
- playback: `--clients` concurrent clients read /stream/ at "max" for `--play-seconds`, one more
  must get 503 (the bound), then all leave; the server's RSS while playing and after, and the
  time until its CPU goes idle (its replays stopped). Then as many clients again must all get 200
  (every slot given back).
Prints a table, writes bench/long_stream.json. Every request goes to loopback, in bounded loops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import databases
import orjson
from serving import Server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "long_stream.json"
DEFAULT_PG_URL = "postgres://inspector:inspector@127.0.0.1:5432/inspector"
MIB = 1024 * 1024

# Targets (issue "Nothing stops it, nothing breaks it").
IMPORT_MAX_S = 5.0
IMPORT_RSS_MAX = 300 * MIB
PAGE_MAX_S = 1.0
STOP_MAX_S = 1.0
PLAYING_RSS_MAX = 400 * MIB  # the server while 20 replays run (4.2 GB before)
# RSS once the clients left: the server keeps a thread and a database connection for each
# request it served at once, and the allocator keeps some freed memory; a second round must not
# add to it. (Before: 8.6 GB after 20 replays of a million chunks, 4.2 GB while they played.)
KEPT_MAX = 100 * MIB  # after round 1, over before
FREED_MAX = 50 * MIB  # after round 2, over after round 1
TICK = 0.1  # seconds between samples of the server's RSS and CPU


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {message}", file=sys.stderr)


def generate(folder: Path, chunks: int) -> Path:
    """A streamed chat completion of `chunks` chunks: a role chunk, one-character content
    chunks, a finish chunk; compact JSON (the recorder indents, which only adds bytes)."""
    head = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    tail = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    letters = [
        orjson.dumps({"choices": [{"index": 0, "delta": {"content": c}}]}) for c in "abcdefghij"
    ]
    body = b",".join(letters[i % 10] for i in range(chunks - 2))
    request = {
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o",
        "body": {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Go"}],
            "stream": True,
        },
    }
    path = folder / f"long-{chunks}" / "recordings" / (f"{chunks:064d}.json")
    path.parent.mkdir(parents=True)
    path.write_bytes(
        b'{"test_id":"tests/integration/inference/test_long.py::test_long","request":'
        + orjson.dumps(request)
        + b',"response":{"body":['
        + orjson.dumps(head)
        + b","
        + body
        + b","
        + orjson.dumps(tail)
        + b'],"is_streaming":true}}'
    )
    return path


# `manage.py import_recordings FOLDER`, then its own peak RSS (VmHWM) on the last line. Not the
# rusage of the child: Linux carries the parent's high-water mark over exec into it.
IMPORT = """
import runpy, sys
sys.argv = ["manage.py", "import_recordings", sys.argv[1]]
try:
    runpy.run_path("manage.py", run_name="__main__")
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("VmHWM", int(line.split()[1]) * 1024, flush=True)
"""


def run_import(database_url: str, folder: Path) -> dict[str, Any]:
    """`manage.py import_recordings FOLDER` in a subprocess: its wall time and peak RSS."""
    env = {**os.environ, "DATABASE_URL": database_url}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", IMPORT, str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines or not lines[-1].startswith("VmHWM"):
        raise RuntimeError(f"import failed: {(done.stdout + done.stderr).strip()[-500:]}")
    return {"seconds": seconds, "peak_rss": int(lines[-1].split()[1]), "output": lines[:-1]}


def proc(pid: int) -> tuple[int, float]:
    """(RSS in bytes, CPU seconds used) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def bench_pages(server: Server, page: str, chunks: int, repeat: int) -> dict[str, Any]:
    urls = {
        "/r/": f"/r/{page}",
        "/play/": f"/play/{page}?at={chunks // 2}&speed=1",
        "/chunks/": f"/chunks/{page}?page={chunks // 200}",
        "/chunk/": f"/chunk/{page}?n={chunks // 2}",
    }
    found = {}
    for name, url in urls.items():
        first = server.get(url)  # warm-up, untimed
        samples = [server.get(url).seconds for _ in range(repeat)]
        found[name] = {
            "url": url,
            "status": first.status,
            "bytes": first.bytes,
            "median": statistics.median(samples),
            "samples": samples,
        }
    return found


class Client(threading.Thread):
    """One browser tab playing the stream at "max" until told to leave."""

    def __init__(self, port: int, page: str, leave: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.page, self.leave = port, page, leave
        self.status, self.received = 0, 0

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", f"/stream/{self.page}?at=0&speed=max")
            response = connection.getresponse()
            self.status = response.status
            while self.status == 200 and not self.leave.is_set():
                line = response.readline()
                if not line:
                    break
                self.received += len(line)
        except OSError:
            pass
        finally:
            connection.close()  # the tab closes


def status_of(port: int, page: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/stream/{page}?at=0&speed=max")
        return connection.getresponse().status
    finally:
        connection.close()


def play_round(server: Server, page: str, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` tabs play for `seconds` and leave, one more is refused meanwhile."""
    assert server.process is not None
    pid = server.process.pid
    leave = threading.Event()
    tabs = [Client(server.port, page, leave) for _ in range(clients)]
    for tab in tabs:
        tab.start()
    time.sleep(0.5)
    refused = status_of(server.port, page)  # one more than the bound allows
    peak, start = 0, time.monotonic()
    cpu_start = proc(pid)[1]
    while time.monotonic() - start < seconds:
        peak = max(peak, proc(pid)[0])
        time.sleep(TICK)
    playing_cpu = (proc(pid)[1] - cpu_start) / (time.monotonic() - start)
    leave.set()
    left = time.monotonic()
    for tab in tabs:
        tab.join(timeout=10)
    # Stopped: the first window of TICK in which the server used under 5% of a core.
    stopped, previous = None, proc(pid)[1]
    while time.monotonic() - left < 10:
        time.sleep(TICK)
        cpu = proc(pid)[1]
        if cpu - previous < 0.05 * TICK:
            stopped = time.monotonic() - left - TICK
            break
        previous = cpu
    time.sleep(2.0)
    return {
        "statuses": sorted({tab.status for tab in tabs}),
        "bytes_per_client": statistics.median(tab.received for tab in tabs),
        "over_the_bound": refused,
        "rss_playing_peak": peak,
        "cpu_playing": playing_cpu,
        "stopped_after": stopped,
        "rss_after": proc(pid)[0],
    }


def bench_playback(server: Server, page: str, clients: int, seconds: float) -> dict[str, Any]:
    """Two rounds: the first also grows what the server keeps between requests (a thread and
    a database connection per concurrent request), the second must not grow it further."""
    assert server.process is not None
    time.sleep(1.0)
    before = proc(server.process.pid)[0]
    rounds = [play_round(server, page, clients, seconds) for _ in range(2)]
    again = [status_of(server.port, page) for _ in range(clients)]  # every slot is free
    return {"clients": clients, "rss_before": before, "rounds": rounds, "again": sorted(set(again))}


def bench_database(kind: str, dbs: Any, files: dict[int, Path], args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {"imports": {}}
    urls = {}
    for chunks, path in sorted(files.items()):
        url = urls[chunks] = dbs.fresh(f"long_{chunks}")
        say(f"{kind}: importing {chunks:,} chunks ({path.stat().st_size / 1e6:.0f} MB)")
        result["imports"][chunks] = run_import(url, path.parents[1])
        say(f"  {result['imports'][chunks]['seconds']:.2f} s")
    longest = max(files)
    page = files[longest].relative_to(files[longest].parents[1]).as_posix().removesuffix(".json")
    log = HERE / "cache" / f"uvicorn-long-{kind}.log"
    with Server(urls[longest], log) as server:
        say(f"{kind}: pages")
        result["pages"] = bench_pages(server, page, longest, args.repeat)
        say(f"{kind}: {args.clients} playbacks")
        result["playback"] = bench_playback(server, page, args.clients, args.play_seconds)
    for chunks in files:
        dbs.drop(f"long_{chunks}")
    return result


def judge(results: dict[str, Any]) -> list[list[str]]:
    rows = []

    def add(db: str, what: str, value: str, limit: str, ok: bool) -> None:
        rows.append([db, what, value, limit, "PASS" if ok else "FAIL"])

    for db, found in results["databases"].items():
        if "error" in found:
            add(db, "setup", found["error"], "works", False)
            continue
        for chunks, done in found["imports"].items():
            add(db, f"import {chunks:,}", f"{done['seconds']:.2f} s", f"< {IMPORT_MAX_S:.0f} s",
                done["seconds"] < IMPORT_MAX_S)  # fmt: skip
            add(db, f"import {chunks:,} peak RSS", f"{done['peak_rss'] / MIB:.0f} MiB",
                f"< {IMPORT_RSS_MAX / MIB:.0f} MiB", done["peak_rss"] < IMPORT_RSS_MAX)  # fmt: skip
        for name, timed in found["pages"].items():
            ok = timed["median"] < PAGE_MAX_S and timed["status"] == 200
            add(db, f"page {name} (median)", f"{timed['median'] * 1000:.0f} ms",
                f"< {PAGE_MAX_S:.0f} s", ok)  # fmt: skip
        play = found["playback"]
        first, second = play["rounds"]
        for number, done in enumerate(play["rounds"], 1):
            add(db, f"round {number}: {play['clients']} playbacks", str(done["statuses"]), "[200]",
                done["statuses"] == [200])  # fmt: skip
            add(db, f"round {number}: one more, busy", str(done["over_the_bound"]), "503",
                done["over_the_bound"] == 503)  # fmt: skip
            peak = done["rss_playing_peak"]
            add(db, f"round {number}: server RSS while playing", f"{peak / MIB:.0f} MiB",
                f"< {PLAYING_RSS_MAX / MIB:.0f} MiB", peak < PLAYING_RSS_MAX)  # fmt: skip
            stopped = done["stopped_after"]
            add(db, f"round {number}: work stops after they leave",
                "never" if stopped is None else f"{stopped:.2f} s", f"< {STOP_MAX_S:.0f} s",
                stopped is not None and stopped < STOP_MAX_S)  # fmt: skip
        grown = first["rss_after"] - play["rss_before"]
        add(db, "RSS after round 1, over before", f"{grown / MIB:+.0f} MiB",
            f"< {KEPT_MAX / MIB:.0f} MiB", grown < KEPT_MAX)  # fmt: skip
        grown = second["rss_after"] - first["rss_after"]
        add(db, "RSS after round 2, over round 1", f"{grown / MIB:+.0f} MiB",
            f"< {FREED_MAX / MIB:.0f} MiB", grown < FREED_MAX)  # fmt: skip
        add(db, "slots free again", str(play["again"]), "[200]", play["again"] == [200])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--clients", type=int, default=20, help="the server's default bound")
    parser.add_argument("--play-seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100,000 chunks, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.chunks, args.repeat, args.play_seconds = [100_000], 3, 2.0
    folder = Path(tempfile.mkdtemp(prefix="inspector-long-"))
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": vars(args),
        "databases": {},
    }
    try:
        files = {chunks: generate(folder, chunks) for chunks in args.chunks}
        for kind in ("sqlite", "postgres"):
            if args.db not in (kind, "both"):
                continue
            try:
                if kind == "sqlite":
                    dbs: Any = databases.SQLiteDatabases("long_template")
                else:
                    dbs = databases.PostgresDatabases(
                        os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_PG_URL, "long_template"
                    )
            except databases.SetupError as exc:
                say(f"{kind}: skipped ({exc})")
                if args.db == kind:
                    results["databases"][kind] = {"error": str(exc)}
                continue
            try:
                results["databases"][kind] = bench_database(kind, dbs, files, args)
            finally:
                if kind == "postgres":
                    dbs.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = judge(results)
    results["targets"] = rows
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in [["db", "what", "measured", "target", ""], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")
    sys.exit(0 if all(row[4] == "PASS" for row in rows) else 1)


if __name__ == "__main__":
    main()
