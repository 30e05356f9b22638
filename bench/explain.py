"""/explain at 100,000 recordings: how long the answer to a replay miss takes, for a pasted
miss text (a whole pytest output), a test id alone, a request body alone, and all three, on
SQLite and (when reachable) PostgreSQL. Target: p95 under 300 ms.

    .venv/bin/python bench/explain.py [--db sqlite|postgres|both] [--quick]

Builds its database the way bench/run.py does (the synthetic corpus of bench/synth.py imported,
then grown to --rows by bench/worker.py), serves it with uvicorn (bench/serving.py) and POSTs
JSON to /explain.json (GETs /explain for the page). Prints a table, writes bench/explain.json.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import databases
import orjson
import synth
from run import DEFAULT_PG_URL, code_version, fmt_s, percentile, say, worker
from serving import Server, Timed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
RESULTS = HERE / "explain.json"
P95_MAX_S = 0.300
HINT = (
    "Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API "
    "keys to generate."
)


def post_json(server: Server, url: str, payload: dict[str, Any]) -> Timed:
    """One JSON POST on the server's kept-alive connection, timed as `Server.get` times."""
    data = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
    for attempt in (1, 2):
        if server.connection is None:
            server.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            server.connection.connect()
        try:
            start = time.perf_counter()
            server.connection.request("POST", url, body=data, headers=headers)
            response = server.connection.getresponse()
            body = response.read()
            seconds = time.perf_counter() - start
        except (http.client.HTTPException, ConnectionError):
            server.connection.close()
            server.connection = None
            if attempt == 2:
                raise
            continue
        if response.will_close:
            server.connection.close()
            server.connection = None
        return Timed(seconds, response.status, body, response.getheader("Server-Timing"))
    raise AssertionError("unreachable")


def misses(seed: int, srcs: list[synth.Source], rows: int, count: int) -> list[dict[str, Any]]:
    """`count` misses of chat recordings of the grown part of the database: each the copy's
    request with its last user message changed, as the harness would print it."""
    from inspector.llama_stack import hashing

    copy_number = max(1, rows // len(srcs) // 2)  # rows that only the growth wrote
    found = []
    for source in srcs:
        if not source.test_id or source.rel.startswith("legacy/"):
            continue
        document = orjson.loads((synth.SOURCE / source.rel).read_bytes())
        request = copy.deepcopy(document["request"])
        body = request.get("body")
        if not isinstance(body, dict) or not body.get("messages"):
            continue
        last = body["messages"][-1]
        if not isinstance(last.get("content"), str):
            continue
        last["content"] += " Answer in French."
        test_id = synth.synth_test_id(source.test_id, copy_number)
        wanted = hashing.request_hashes(request, test_id)[hashing.CURRENT]
        message = (
            f"Recording not found for request hash: {wanted}\n"
            f"Model: {body.get('model', 'unknown')} | Request: {request['method']} "
            f"{request['url']}\n\n{HINT}"
        )
        quoted = "\n".join(f"E   {line}" if line else "E" for line in message.splitlines())
        text = (
            "ogx/testing/api_recorder.py:812: in _patched_inference_method\n"
            f"E   RuntimeError: {quoted.removeprefix('E   ')}\n"
            "=========================== short test summary info ===========================\n"
            f"FAILED {test_id} - RuntimeError: {message.splitlines()[0]}\n"
        )
        found.append(
            {
                "source": source.rel,
                "expected": synth.synth_rel(seed, copy_number, source.rel),
                "text": text,
                "test_id": test_id,
                "body": body,
                "url": request["url"],
            }
        )
        if len(found) == count:
            break
    return found


# What each measured input holds of a miss.
INPUTS = {
    "miss text": lambda m: {"text": m["text"]},
    "test id": lambda m: {"test_id": m["test_id"]},
    "body": lambda m: {"body": m["body"], "url": m["url"]},
    "text + test id + body": lambda m: {
        "text": m["text"],
        "test_id": m["test_id"],
        "body": m["body"],
    },
}


def bench_server(server: Server, cases: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, fields in INPUTS.items():
        times, statuses, first_hits = [], set(), 0
        for case in cases:
            warm = post_json(server, "/explain.json", fields(case))  # untimed
            statuses.add(warm.status)
            if warm.status == 200:
                answer = orjson.loads(warm.body)
                top = answer["candidates"][0]["path"] if answer["candidates"] else None
                first_hits += top == case["expected"]
            for _ in range(rounds):
                timed = post_json(server, "/explain.json", fields(case))
                times.append(timed.seconds)
                statuses.add(timed.status)
        results[label] = {
            "n": len(times),
            "median": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
            "max": max(times),
            "status": sorted(statuses),
            "expected_first": f"{first_hits}/{len(cases)}",
        }
        figures = results[label]
        say(f"  {label}: median {fmt_s(figures['median'])}, p95 {fmt_s(figures['p95'])}")
    times = []
    for case in cases:
        url = "/explain?" + urlencode({"text": case["text"]})
        server.get(url)
        for _ in range(rounds):
            times.append(server.get(url).seconds)
    results["page: miss text"] = {
        "n": len(times),
        "median": percentile(times, 0.5),
        "p95": percentile(times, 0.95),
        "max": max(times),
    }
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--files", type=int, default=3200, help="files imported (default 3200)")
    parser.add_argument("--rows", type=int, default=100_000, help="recordings (default 100000)")
    parser.add_argument("--cases", type=int, default=12, help="misses asked about (default 12)")
    parser.add_argument("--rounds", type=int, default=4, help="timed requests per miss")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--quick", action="store_true", help="3,000 recordings, a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.files, args.rows, args.cases, args.rounds = 300, 3000, 4, 2
    return args


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")
    srcs = synth.sources()
    import_set = synth.build_set(args.files, args.seed, srcs)
    stream_root, _ = synth.build_stream(200, args.seed)
    cases = misses(args.seed, srcs, args.rows, args.cases)
    out: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": code_version(),
        "config": {k: v for k, v in vars(args).items() if k not in ("pg_url", "out")},
        "load_average": os.getloadavg()[0],
        "target_p95_s": P95_MAX_S,
        "databases": {},
        "errors": {},
    }
    for vendor, dbs in databases.each_database(
        args.db, args.pg_url, "explain_template", out["errors"], say
    ):
        url = dbs.fresh("explain")
        worker(url, "import", str(import_set.root))
        grown = worker(
            url, "grow", str(import_set.root), str(args.rows), "--seed", str(args.seed),
            "--extra", str(stream_root),
        )  # fmt: skip
        say(f"{vendor}: {grown['recordings']:,} recordings")
        with Server(url, HERE / "cache" / f"uvicorn-explain-{vendor}.log") as server:
            out["databases"][vendor] = {
                "recordings": grown["recordings"],
                "inputs": bench_server(server, cases, args.rounds),
            }
        dbs.drop("explain")
        if vendor == "postgres":
            dbs.close()
    out["load_average_end"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(report(out))


def report(out: dict[str, Any]) -> str:
    lines = [f"/explain at {out['config']['rows']:,} recordings (p95 target 300 ms)"]
    lines.append(f"  {'input':<24} {'db':<9} {'median':>9} {'p95':>9} {'first':>7}")
    for vendor, found in out["databases"].items():
        for label, figures in found["inputs"].items():
            ok = "" if figures["p95"] <= P95_MAX_S else "  MISSED"
            lines.append(
                f"  {label:<24} {vendor:<9} {fmt_s(figures['median']):>9} "
                f"{fmt_s(figures['p95']):>9} {figures.get('expected_first', ''):>7}{ok}"
            )
    for vendor, error in out["errors"].items():
        lines.append(f"  {vendor}: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
