"""llama-stack's recording files (`<suite>/recordings/<hash>.json`, `models-<hash>-<digest>.json`,
the legacy `responses/<hash12>.json`): the envelope around the wire bodies. Pure Python: knows
nothing of Django (the importer stores what `parse` returns)."""

from __future__ import annotations

from inspector.llama_stack.document import LAZY_BYTES, RawList, load_document
from inspector.llama_stack.naming import UNSCOPED_PATHS, name_hash, split_test_id
from inspector.llama_stack.recording import classify, parse, unwrap

__all__ = [
    "LAZY_BYTES",
    "UNSCOPED_PATHS",
    "RawList",
    "classify",
    "load_document",
    "name_hash",
    "parse",
    "split_test_id",
    "unwrap",
]
