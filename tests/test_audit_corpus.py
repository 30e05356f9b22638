"""The name audit over the shared corpus, imported in place, and over edited copies of its files
in tmp_path: the verdicts recompute from the files themselves."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from inspector.importer import import_paths
from inspector.llama_stack import hashing
from inspector.llama_stack.naming import MODELS_FILE, name_hash
from inspector.llama_stack.verdicts import VERDICTS
from inspector.models import Recording

pytestmark = pytest.mark.django_db
MAX = 64 * 1024 * 1024


def imported(*paths: Path) -> None:
    report = import_paths(list(paths), max_bytes=MAX)
    assert report.failed == 0, report.failures


def verdicts_by_path() -> dict[str, tuple[str, str]]:
    rows = Recording.objects.values_list("path", "name_verdict", "name_reason")
    return {path: (verdict, reason) for path, verdict, reason in rows}


def document(path: Path) -> dict:
    return json.loads(path.read_text())


def own_hashes(path: Path) -> dict[str, str]:
    data = document(path)
    return hashing.request_hashes(data["request"], data.get("test_id"))


def current_files(corpus: Path) -> list[Path]:
    """The corpus's files named by today's rule, as the file itself says, in path order."""
    found = []
    for path in sorted(corpus.glob("*/recordings/*.json")):
        if MODELS_FILE.match(path.stem):
            continue
        if own_hashes(path).get(hashing.CURRENT) == name_hash(path.name):
            found.append(path)
    return found


def chat_file(corpus: Path) -> Path:
    """A current recording of a chat request with a user message of plain text."""
    for path in current_files(corpus):
        body = document(path)["request"].get("body") or {}
        messages = body.get("messages") if isinstance(body, dict) else None
        if messages and any(
            m.get("role") == "user" and isinstance(m.get("content"), str) for m in messages
        ):
            return path
    pytest.fail("no chat recording in the corpus")


def copy(source: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, to)
    return to


def test_it_gives_the_corpus_verdicts_its_files_recompute_to(client, corpus):
    imported(corpus)
    found = verdicts_by_path()
    llama = {p: v for p, v in found.items() if not p.startswith("legacy/")}
    current = [p for p, (v, _) in llama.items() if v == "current"]
    assert len(current) > 100
    # Every current file's name is its request's hash under today's rule.
    for rel in current:
        assert own_hashes(corpus / rel)[hashing.CURRENT] == name_hash(Path(rel).name), rel
    # Model listings are merged by the recorder: no name to audit.
    models = [p for p in found if MODELS_FILE.match(Path(p).stem)]
    assert models
    assert {found[p][0] for p in models} == {"n/a"}
    # Legacy files are named by the legacy index's rule, which today's harness never reads.
    legacy = [v for p, (v, _) in found.items() if p.startswith("legacy/")]
    assert legacy
    assert set(legacy) == {"older rule"}
    # A file no rule names, by its own content.
    for rel, (verdict, reason) in llama.items():
        if verdict != "unreachable" or not reason.startswith("no rule"):
            continue
        hashes = own_hashes(corpus / rel)
        assert name_hash(Path(rel).name) not in hashes.values(), rel
        assert f"{hashes[hashing.CURRENT]}.json" in reason
    # Counts on /audit.json are the files' counts, every verdict present.
    counts = client.get("/audit.json").json()["counts"]
    assert list(counts) == list(VERDICTS)
    assert counts == {v: Counter(v for v, _ in found.values())[v] for v in VERDICTS}
    assert sum(counts.values()) == len(list(corpus.rglob("*.json")))


def test_it_counts_on_audit_json_what_the_files_say(client, corpus):
    """The counts, recomputed from the files apart from the importer: names against the
    hashes of their requests (no duplicates among today's names in the corpus but one pair)."""
    imported(corpus)
    expected: Counter[str] = Counter()
    today: Counter[str] = Counter()
    for path in sorted(corpus.rglob("*.json")):
        rel = path.relative_to(corpus).as_posix()
        if MODELS_FILE.match(path.stem):
            expected["n/a"] += 1
            continue
        hashes = own_hashes(path)
        if not hashes:
            expected["n/a"] += 1
        elif rel.startswith("legacy/"):
            legacy_name = hashes.get("legacy index") == path.stem
            expected["older rule" if legacy_name else "unreachable"] += 1
        elif hashes[hashing.CURRENT] == path.stem:
            expected["current"] += 1
            today[(path.stem, document(path).get("test_id"))] += 1
        elif path.stem in hashes.values():
            expected["older rule"] += 1
        else:
            expected["unreachable"] += 1
    # Two files of one name (the harness reads one): both duplicates.
    pairs = sum(n for n in today.values() if n > 1)
    expected["current"] -= pairs
    expected["duplicate"] += pairs
    counts = client.get("/audit.json").json()["counts"]
    assert counts == {v: expected[v] for v in VERDICTS}


def test_it_finds_a_file_whose_request_was_edited_unreachable(corpus, tmp_path):
    source = chat_file(corpus)
    rel = source.relative_to(corpus)
    data = document(source)
    user = next(m for m in data["request"]["body"]["messages"] if m["role"] == "user")
    user["content"] += " (edited)"
    edited = tmp_path / rel
    edited.parent.mkdir(parents=True)
    edited.write_text(json.dumps(data, indent=2))
    imported(tmp_path)
    verdict, reason = verdicts_by_path()[rel.as_posix()]
    assert verdict == "unreachable"
    today = hashing.request_hashes(data["request"], data["test_id"])[hashing.CURRENT]
    assert f"{today}.json" in reason


def test_it_finds_a_request_copied_to_common_recordings_a_duplicate(corpus, tmp_path):
    source = chat_file(corpus)
    suite = source.relative_to(corpus)
    common = Path("common/recordings") / source.name
    copy(source, tmp_path / suite)
    copy(source, tmp_path / common)
    imported(tmp_path)
    found = verdicts_by_path()
    assert found[suite.as_posix()][0] == "duplicate"
    assert found[common.as_posix()][0] == "duplicate"
    # The harness looks in the test's folder first: it replays that copy.
    assert found[suite.as_posix()][1].endswith("the harness replays this one")
    assert found[common.as_posix()][1].endswith(f"the harness replays {suite.as_posix()}")


def test_it_finds_a_request_copied_under_another_name_a_duplicate(corpus, tmp_path):
    source = chat_file(corpus)
    rel = source.relative_to(corpus)
    renamed = rel.with_name("0" * 64 + ".json")
    copy(source, tmp_path / rel)
    copy(source, tmp_path / renamed)
    imported(tmp_path)
    found = verdicts_by_path()
    assert found[rel.as_posix()][0] == "duplicate"
    assert found[renamed.as_posix()][0] == "duplicate"
    assert rel.as_posix() in found[renamed.as_posix()][1]


def test_it_finds_a_tool_invocation_of_two_suites_a_shared_tool_hash(corpus, tmp_path):
    tool = next(
        path
        for path in current_files(corpus)
        if "tool_name" in document(path)["request"] and document(path).get("test_id")
    )
    rel = tool.relative_to(corpus)
    copy(tool, tmp_path / rel)
    # The same call from a test of another suite, recorded in that suite's folder: tool calls
    # hash without their test id, so the name is the same.
    data = document(tool)
    data["test_id"] = "tests/integration/other/test_other.py::test_same_call"
    other = tmp_path / "other" / "recordings" / tool.name
    other.parent.mkdir(parents=True)
    other.write_text(json.dumps(data, indent=2))
    imported(tmp_path)
    found = verdicts_by_path()
    assert found[rel.as_posix()][0] == "shared tool hash"
    assert found[f"other/recordings/{tool.name}"][0] == "shared tool hash"
    assert "2 files of 2 test(s)" in found[rel.as_posix()][1]


def test_it_gives_back_a_duplicate_its_own_verdict_once_the_copy_is_gone(corpus, tmp_path):
    source = chat_file(corpus)
    rel = source.relative_to(corpus)
    copy(source, tmp_path / rel)
    copy(source, tmp_path / "common" / "recordings" / source.name)
    imported(tmp_path)
    assert verdicts_by_path()[rel.as_posix()][0] == "duplicate"
    (tmp_path / "common" / "recordings" / source.name).unlink()
    imported(tmp_path)
    assert verdicts_by_path()[rel.as_posix()][0] == "current"
