"""The name audit across files, after each import: the verdicts one file cannot give alone
(`duplicate`, `shared tool hash`: two files the harness looks up by one name), and the audit of
rows imported before audits existed. A file's own verdict is given as it is imported
(`rows.name_audit`)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from django.db.models import Count

from inspector import parsing
from inspector.formats import LEGACY, LLAMA_STACK, VCR
from inspector.models import ImportRoot, Recording
from inspector.rows import name_audit, prompt_key
from inspector.stored import source_bytes

verdicts = parsing.verdicts
GROUP_VERDICTS = (verdicts.DUPLICATE, verdicts.SHARED_TOOL_HASH)
LISTED = 5  # other paths named in a reason


def audit_root(root: ImportRoot) -> None:
    """Give every present llama-stack recording of `root` its verdict."""
    Recording.objects.filter(root=root, format=VCR, name_verdict="").update(
        name_verdict=verdicts.NOT_APPLICABLE, name_reason=name_audit(VCR, "", None, False)[1]
    )
    recordings = Recording.objects.filter(root=root, format__in=[LLAMA_STACK, LEGACY])
    # Rows imported before audits, and rows whose group verdict may no longer hold: their own
    # verdict again, from their bytes (few: a re-import does not re-read unchanged files).
    stale = recordings.filter(name_verdict__in=["", *GROUP_VERDICTS])
    for recording in stale.only("id", "path", "source_id", "legacy", "format").iterator():
        own_verdict(recording)
    # Grouped: today's layout only (the legacy one is read through its index, and no harness
    # of today reads it); model listings are merged by the recorder, never one file of many.
    present = recordings.filter(format=LLAMA_STACK, missing=False).exclude(
        name_verdict=verdicts.NOT_APPLICABLE
    )
    shared = (
        present.exclude(computed_hash="")
        .values("computed_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("computed_hash", flat=True)
    )
    groups: dict[str, list[Recording]] = defaultdict(list)
    rows = present.filter(computed_hash__in=list(shared))
    for recording in rows.only("id", "path", "kind", "test_id", "name_verdict", "computed_hash"):
        groups[recording.computed_hash].append(recording)
    for members in groups.values():
        mark_group(members)


def own_verdict(recording: Recording) -> None:
    data = source_bytes(recording.source_id)
    try:
        parsed = parsing.parse(data) if data else None
    except parsing.RecordingError:
        parsed = None
    if parsed is None:
        verdict, reason, computed = verdicts.NOT_APPLICABLE, "its bytes are not stored", ""
    else:
        verdict, reason = name_audit(recording.format, recording.path, parsed, recording.legacy)
        computed = parsed.request_hashes.get(parsing.hashing.CURRENT, "")
    Recording.objects.filter(pk=recording.pk).update(
        name_verdict=verdict,
        name_reason=reason,
        computed_hash=computed,
        request_key=parsed.request_key if parsed else "",
        prompt_key=prompt_key(parsed) if parsed else "",
    )


def read_later(member: Recording) -> bool:
    """False for the copy the harness reads first: it looks in the test's own folder, then in
    common/recordings; a request made outside any test has no folder but common/recordings."""
    in_common = PurePosixPath(member.path).parent.parts[-2:] == verdicts.FALLBACK
    return in_common == bool(member.test_id)


def mark_group(members: list[Recording]) -> None:
    """Files whose requests hash alike: one name for several files, so only one is replayed.
    Tool invocations hash without their test id: two tests share the call's file."""
    tool = any(member.kind == Recording.Kind.TOOL_INVOKE for member in members)
    named = [m for m in members if m.name_verdict == verdicts.CURRENT]
    replayed = [m.path for m in sorted(named, key=read_later)]
    for member in members:
        others = [m.path for m in members if m.pk != member.pk]
        listed = ", ".join(others[:LISTED]) + (" ..." if len(others) > LISTED else "")
        if tool:
            tests = len({m.test_id for m in members})
            verdict = verdicts.SHARED_TOOL_HASH
            reason = (
                f"{len(members)} files of {tests} test(s) hash to "
                f"{member.computed_hash}.json (tool calls hash without their test id): {listed}"
            )
        else:
            verdict = verdicts.DUPLICATE
            if not replayed:
                which = "none is named right"
            elif replayed[0] == member.path:
                which = "the harness replays this one"
            else:
                which = f"the harness replays {replayed[0]}"
            reason = f"the same request and test id as {listed}: {which}"
        Recording.objects.filter(pk=member.pk).update(name_verdict=verdict, name_reason=reason)
