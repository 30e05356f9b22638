"""Can the harness still find this file? A llama-stack recording's name audit: its name against
the hash of its own request under today's rule and the older ones (`hashing`), and its folder
against the lookup path of its test (FORMAT.md, "Replay, precisely"). Pure; the verdicts that
need other files (`duplicate`, `shared tool hash`) are given by `inspector.auditing`."""

from __future__ import annotations

from pathlib import PurePosixPath

from inspector.llama_stack import hashing
from inspector.llama_stack.naming import MODELS_FILE, name_hash

CURRENT = "current"
OLDER_RULE = "older rule"
UNREACHABLE = "unreachable"
DUPLICATE = "duplicate"
SHARED_TOOL_HASH = "shared tool hash"
NOT_APPLICABLE = "n/a"
VERDICTS = (CURRENT, OLDER_RULE, UNREACHABLE, DUPLICATE, SHARED_TOOL_HASH, NOT_APPLICABLE)
# What `audit_recordings` fails a CI run for: files that can never be replayed as they are.
FAILING = (UNREACHABLE, DUPLICATE)

FALLBACK = ("common", "recordings")  # tests/integration/common/recordings


def lookup_folder(test_id: str) -> tuple[str, ...]:
    """Where the harness looks first for a recording of this test: `<folder of the test
    file>/recordings` (then the fallback, common/recordings)."""
    return (*PurePosixPath(test_id.split("::")[0]).parent.parts, "recordings")


def misplaced(rel: str, test_id: str | None) -> str | None:
    """Why the harness never looks where the file is, or None when it does (or the path does
    not say: a file right under the import root). Only the folders under the import root are
    compared: a checkout's own prefix (`tests/integration`) is often not imported."""
    folders = PurePosixPath(rel).parent.parts
    # No test: the recorder writes where OGX_TEST_RECORDING_DIR says, which the file won't tell.
    if not test_id or not folders or folders[-1:] != ("recordings",):
        return None
    expected = lookup_folder(test_id)
    if expected[-len(folders) :] == folders or folders[-2:] == FALLBACK:
        return None
    return (
        f"it is in {'/'.join(folders)}/, another suite's folder: the harness looks in "
        f"{'/'.join(expected)}/ then common/recordings/"
    )


def verdict_of(
    rel: str, hashes: dict[str, str], test_id: str | None, legacy_layout: bool
) -> tuple[str, str]:
    """(verdict, reason) of one file from its own content; `current` may later become
    `duplicate` or `shared tool hash` when other files are seen."""
    file_name = PurePosixPath(rel).name
    if MODELS_FILE.match(file_name.removesuffix(".json")):
        return NOT_APPLICABLE, "a model listing: the recorder merges every file of its hash"
    if not hashes:
        return NOT_APPLICABLE, "no request the recorder hashes (file processing or unknown)"
    name = name_hash(file_name)
    current = hashes[hashing.CURRENT]
    if name == hashes.get(hashing.LEGACY_INDEX):
        return OLDER_RULE, (
            "named by the legacy index rule (12 hex digits, no test id, read through "
            f"index.sqlite): today's harness looks for {current}.json"
        )
    if legacy_layout:
        return UNREACHABLE, "legacy layout, and no rule gives its name"
    rule = next((r for r in hashing.RULE_NAMES if hashes.get(r) == name), None)
    if rule is None:
        return UNREACHABLE, (
            "no rule gives its name (edited by hand or renamed): its request hashes to "
            f"{current}.json today"
        )
    if rule != hashing.CURRENT:
        return OLDER_RULE, (
            f"its name is its request's hash {rule}: today's harness looks for {current}.json"
        )
    where = misplaced(rel, test_id)
    if where:
        return UNREACHABLE, where
    return CURRENT, "its name is its request's hash under today's rule"
