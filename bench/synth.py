"""The synthetic corpus: the real recordings replicated under fresh names and test ids.

File number `i` of a set is copy `i // S` of source `i % S`, where the S sources are the real
corpus's JSON files in path order. So a smaller set is a prefix of a larger one, and the database
rows `worker.grow` adds beyond the imported files are exactly the rows those further files would
give. Everything is derived from the seed: two runs build the same bytes.

Copy `k` of a source keeps its folder (`agents/recordings/`), gets a new name of the same shape
(64-hex hash, `models-<hash>-<digest>`, legacy 12-hex), and its test id gets `_k<kkkk>` appended to
the function name (`...::test_foo_k0007[params]`), at the top level and in the request alike. The
legacy `index.sqlite` of each legacy folder lists the rows of every copy in the set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# The shared corpus, as the tests find it.
CORPUS = Path(
    os.environ.get("INSPECTOR_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
SOURCE = CORPUS / "recordings"
CACHE = Path(__file__).resolve().parent / "cache"
LEGACY_INDEX = "index.sqlite"
# Bump when the generator's output changes, so cached sets are rebuilt.
VERSION = 3

MODELS_NAME = re.compile(r"^models-(?P<hash>[0-9a-f]{64})-(?P<digest>[0-9a-zA-Z]+)$")
HEX_NAME = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Source:
    rel: str  # path under SOURCE
    test_id: str | None  # the original test id (None: null or absent)


def sources() -> list[Source]:
    """The real corpus's recordings, in path order (legacy indexes are handled apart)."""
    found = []
    for path in sorted(SOURCE.rglob("*.json")):
        document = orjson.loads(path.read_bytes())
        test_id = document.get("test_id", document["request"].get("test_id"))
        found.append(Source(path.relative_to(SOURCE).as_posix(), test_id or None))
    if not found:
        raise SystemExit(f"no recordings under {SOURCE}: set INSPECTOR_CORPUS")
    return found


def new_hash(seed: int, copy: int, key: str) -> str:
    return hashlib.sha256(f"bench/{seed}/{copy}/{key}".encode()).hexdigest()


def synth_name(seed: int, copy: int, name: str) -> str:
    """A fresh file name of the same shape as `name`."""
    stem = name.removesuffix(".json")
    if match := MODELS_NAME.match(stem):
        # Keyed on the hash alone: the files of one logical listing stay one listing.
        return f"models-{new_hash(seed, copy, match['hash'])}-{match['digest']}.json"
    if HEX_NAME.match(stem):
        return f"{new_hash(seed, copy, stem)[: len(stem)]}.json"
    return f"{new_hash(seed, copy, stem)}.json"


def synth_rel(seed: int, copy: int, rel: str) -> str:
    folder, _, name = rel.rpartition("/")
    return f"{folder}/{synth_name(seed, copy, name)}" if folder else synth_name(seed, copy, name)


def token(copy: int) -> str:
    return f"k{copy:04d}"


def synth_test_id(test_id: str | None, copy: int) -> str | None:
    """`file::Class::test_fn[params]` -> `file::Class::test_fn_k0007[params]`."""
    if not test_id:
        return test_id
    bracket = test_id.find("[")
    if bracket != -1 and test_id.endswith("]"):
        return f"{test_id[:bracket]}_{token(copy)}{test_id[bracket:]}"
    return f"{test_id}_{token(copy)}"


def rewrite(data: bytes, old: str | None, new: str | None) -> bytes:
    """The file's bytes with every `"test_id": <old>` made `<new>`, formatting untouched."""
    if not old or old == new:
        return data
    before = b'"test_id": ' + json.dumps(old).encode()
    after = b'"test_id": ' + json.dumps(new).encode()
    result = data.replace(before, after)
    document = orjson.loads(result)
    found = document.get("test_id", document["request"].get("test_id"))
    if found != new:
        raise ValueError(f"test id not rewritten: {old!r}")
    return result


@dataclass
class CorpusSet:
    root: Path
    files: list[Path]  # the JSON recordings, in file-number order
    bytes: int

    @property
    def count(self) -> int:
        return len(self.files)


def source_stamp(srcs: list[Source]) -> str:
    digest = hashlib.sha256()
    for source in srcs:
        st = (SOURCE / source.rel).stat()
        digest.update(f"{source.rel}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for index in sorted(SOURCE.rglob(LEGACY_INDEX)):
        digest.update(f"{index}:{index.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def build_set(count: int, seed: int, srcs: list[Source]) -> CorpusSet:
    """The set of `count` recordings, built once and cached under bench/cache/."""
    root = CACHE / f"corpus-s{seed}-{count}"
    stamp = {"version": VERSION, "seed": seed, "count": count, "source": source_stamp(srcs)}
    stamp_file = root / ".complete"
    files = [root / synth_rel(seed, i // len(srcs), srcs[i % len(srcs)].rel) for i in range(count)]
    if stamp_file.exists() and orjson.loads(stamp_file.read_bytes()) == stamp:
        return CorpusSet(root, files, sum(f.stat().st_size for f in files))
    shutil.rmtree(root, ignore_errors=True)
    cache: dict[str, bytes] = {}
    total = 0
    for i, target in enumerate(files):
        source, copy = srcs[i % len(srcs)], i // len(srcs)
        data = cache.get(source.rel)
        if data is None:
            data = cache[source.rel] = (SOURCE / source.rel).read_bytes()
        out = rewrite(data, source.test_id, synth_test_id(source.test_id, copy))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(out)
        total += len(out)
    copies = -(-count // len(srcs))
    for index in sorted(SOURCE.rglob(LEGACY_INDEX)):
        rel = index.relative_to(SOURCE)
        write_legacy_index(index, root / rel, seed, copies)
    stamp_file.write_bytes(orjson.dumps(stamp))
    return CorpusSet(root, files, total)


def write_legacy_index(source: Path, target: Path, seed: int, copies: int) -> None:
    """The legacy index of `copies` copies: each row renamed as its response file is (rows that
    point to a missing file keep doing so)."""
    with sqlite3.connect(source) as original:
        schema = original.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'recordings'"
        ).fetchone()[0]
        rows = original.execute(
            "SELECT request_hash, response_file, endpoint, model, timestamp, is_streaming"
            " FROM recordings"
        ).fetchall()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    connection = sqlite3.connect(target)
    try:
        connection.execute(schema)
        renamed = []
        for copy in range(copies):
            for request_hash, response_file, *rest in rows:
                stem = str(response_file or request_hash[:12]).removesuffix(".json")
                full = new_hash(seed, copy, stem)
                renamed.append((full, synth_name(seed, copy, f"{stem}.json"), *rest))
        connection.executemany("INSERT INTO recordings VALUES (?, ?, ?, ?, ?, ?)", renamed)
        connection.commit()
    finally:
        connection.close()


STREAM_SOURCE = (
    "responses/recordings/0ea735928993b5a2de3a444256136d53ab666dbfb7582e5562268f809aa8d5f3.json"
)


def build_stream(chunks: int, seed: int) -> tuple[Path, str]:
    """One streaming chat recording of `chunks` chunks: the largest corpus stream (Azure gpt-4o,
    1,399 chunks) with its content chunks repeated in order, keeping its first (role) chunk and
    its last two (finish_reason, usage). Returns (import root, path under it)."""
    root = CACHE / f"stream-s{seed}-{chunks}"
    rel = synth_rel(seed, 9999, STREAM_SOURCE)
    stamp = {"version": VERSION, "seed": seed, "chunks": chunks}
    stamp_file = root / ".complete"
    if stamp_file.exists() and orjson.loads(stamp_file.read_bytes()) == stamp:
        return root, rel
    shutil.rmtree(root, ignore_errors=True)
    document: dict[str, Any] = orjson.loads((SOURCE / STREAM_SOURCE).read_bytes())
    body = document["response"]["body"]
    head, middle, tail = body[:1], body[1:-2], body[-2:]
    grown = head + [middle[i % len(middle)] for i in range(chunks - 3)] + tail
    document["response"]["body"] = grown
    document["test_id"] = synth_test_id(document["test_id"], 9999)
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, ensure_ascii=True) + "\n")
    stamp_file.write_bytes(orjson.dumps(stamp))
    return root, rel
