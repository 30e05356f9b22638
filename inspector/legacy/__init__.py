"""llama-stack's 2025 layout: `recordings/index.sqlite` listing `responses/<hash12>.json`. The
files are read as llama-stack recordings (`inspector.llama_stack`); the index is read here.
Pure Python: knows nothing of Django."""

from __future__ import annotations

from inspector.legacy.index import Legacy, legacy_rows_json

__all__ = ["Legacy", "legacy_rows_json"]
