"""The answer to a question about a miss, as one dict that /explain.json returns, /explain
renders and `manage.py explain_miss` prints: the hash looked for and where a file of that name
is (and why the harness still missed it), the pasted request's hash under every rule, the
nearest recordings with their differences, and the command that re-records the test."""

from __future__ import annotations

from typing import Any

from inspector.explaining import candidates, misses
from inspector.explaining.questions import Question, expected_paths, rerecord_command
from inspector.llama_stack import hashing, verdicts
from inspector.models import Recording
from inspector.views.common import page_path
from inspector.wire.common import dumps


def explain(question: Question) -> dict[str, Any]:
    cassette = None
    if question.is_vcr and question.miss.cassette:
        cassette = candidates.cassette_of(question.miss.cassette)
    nearest = candidates.nearest(question, cassette)
    if question.is_vcr and not question.test_id:
        test_ids = [c.recording.test_id for c in nearest if c.recording.test_id]
        if cassette is not None and test_ids:
            question.test_id, question.test_id_source = test_ids[0], "the cassette"
    found = found_files(question)
    current = question.computed.get(hashing.CURRENT)
    notes = list(question.notes)
    if question.looked_for and current:
        if current == question.looked_for:
            notes.append("The pasted request hashes to the hash the test printed.")
        elif question.looked_for not in question.computed.values():
            notes.append(
                f"The pasted request hashes to {current} today, not to the {question.looked_for} "
                "the test printed: it is not exactly the request that missed (or its test id or "
                "URL differ)."
            )
    if question.is_vcr:
        notes.extend(vcr_notes(question, cassette))
    if question.request is None and (question.looked_for or question.test_id):
        notes.append(
            "Paste the request body (the test's, or a whole recording) to see how it differs."
        )
    return {
        "looked_for": question.looked_for,
        "found": [f["path"] for f in found],
        "found_details": found,
        "expected": expected_paths(question),
        "computed": question.computed,
        "candidates": [candidate_json(c) for c in nearest],
        "rerecord": rerecord_command(question.test_id, vcr=question.is_vcr),
        "test_id": question.test_id,
        "test_id_source": question.test_id_source or None,
        "miss": question.miss.as_dict() if question.miss else None,
        "cassette": cassette.path if cassette is not None else None,
        "notes": notes,
    }


def found_files(question: Question) -> list[dict[str, Any]]:
    """The files named by the hash the harness looked for, and why it did not find each."""
    wanted = question.looked_for or question.computed.get(hashing.CURRENT)
    if not wanted or question.is_vcr:
        return []
    rows = (
        Recording.objects.filter(request_hash=wanted)
        .only("id", "root_id", "path", "test_id", "missing", "name_verdict", "name_reason")
        .order_by("path")[:50]
    )
    return [
        {"path": r.path, "url": page_path(r.path, r.root_id), "reason": why_missed(r, question)}
        for r in rows
    ]


def why_missed(recording: Recording, question: Question) -> str:
    if recording.missing:
        return "it was gone from disk at the last import"
    test_id = question.test_id or recording.test_id
    where = verdicts.misplaced(recording.path, test_id)
    if where:
        return where
    if recording.name_verdict in (verdicts.UNREACHABLE, verdicts.DUPLICATE):
        return recording.name_reason
    folder = "/".join(verdicts.lookup_folder(test_id)) if test_id else "common/recordings"
    return (
        f"it is where the harness looks ({folder}/): the checkout that ran the test may not "
        "hold it (another branch, not committed), or OGX_TEST_RECORDING_DIR pointed elsewhere"
    )


def vcr_notes(question: Question, cassette: Any) -> list[str]:
    miss = question.miss
    notes = []
    if miss.cassette and cassette is None:
        notes.append(
            f"No imported cassette is at {miss.cassette}: import the folder that holds it."
        )
    for similar in miss.similar:
        failed = ", ".join(similar.failed) or "none"
        notes.append(
            f"VCR found {similar.method} {similar.uri} alike; the matchers it failed: {failed}."
        )
    if question.test_id:
        notes.append(
            "To record it again, run the test with --record-mode=rewrite (pytest-recording), or "
            f"delete {cassette.path if cassette else 'the cassette'} and run it with "
            "--record-mode=once."
        )
    return notes


def candidate_json(candidate: candidates.Candidate) -> dict[str, Any]:
    recording = candidate.recording
    return {
        "path": recording.path,
        "url": page_path(recording.path, recording.root_id),
        "score": round(candidate.score, 3),
        "reason": candidate.reason,
        "test_id": recording.test_id,
        "endpoint": recording.endpoint,
        "model": recording.model,
        "diffed": candidate.diffed,
        "differences": [
            {
                "path": d.path,
                "kind": d.kind,
                "a": candidates.shown(d.a),
                "b": candidates.shown(d.b),
                "changes_hash": d.changes_hash,
            }
            for d in candidate.differences
        ],
    }


def as_text(answer: dict[str, Any]) -> str:
    """The answer as `manage.py explain_miss` prints it."""
    lines = []
    miss = answer["miss"]
    if miss:
        lines.append(f"Miss: {miss['message']}")
    lines.append(f"Test: {answer['test_id'] or '(unknown)'}")
    if answer["looked_for"]:
        lines.append(f"Looked for: {answer['looked_for']}")
        for path in answer["expected"]:
            lines.append(f"  the harness looked at {path}")
    if answer["cassette"]:
        lines.append(f"Cassette: {answer['cassette']}")
    for found in answer["found_details"]:
        lines.append(f"Found: {found['path']}: {found['reason']}")
    if answer["looked_for"] and not answer["found"] and miss and miss["kind"] != misses.VCR:
        lines.append("Found: no imported file has that name")
    for rule, value in answer["computed"].items():
        lines.append(f"Hash {rule}: {value}")
    lines.extend(f"Note: {note}" for note in answer["notes"])
    if answer["candidates"]:
        lines.append("Nearest recordings, best first:")
    for number, candidate in enumerate(answer["candidates"], 1):
        lines.append(
            f"{number}. {candidate['path']} (score {candidate['score']}: {candidate['reason']})"
        )
        for d in candidate["differences"]:
            effect = "changes the hash" if d["changes_hash"] else "normalized away"
            lines.append(f"     {d['path'] or '(whole)'}: {change_text(d)} ({effect})")
    if answer["rerecord"]:
        lines.append(f"Re-record: {answer['rerecord']}")
    return "\n".join(lines) + "\n"


def change_text(difference: dict[str, Any]) -> str:
    """`a -> b`; `added b` or `removed a` where one side has no such value."""
    if difference["kind"] == "added":
        return f"added {short(difference['b'])}"
    if difference["kind"] == "removed":
        return f"removed {short(difference['a'])}"
    return f"{short(difference['a'])} -> {short(difference['b'])}"


def short(value: Any, limit: int = 120) -> str:
    text = dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}…"
