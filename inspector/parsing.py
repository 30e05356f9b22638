"""What the Django side uses of the pure readers, in one place: `inspector.wire` (the wire
formats) and `inspector.llama_stack` (the recording files) are free to move names between their
modules, and the importer, the models and the pages name them `parsing.X` whatever module holds
them."""

from __future__ import annotations

from inspector.llama_stack import hashing, verdicts
from inspector.llama_stack.naming import name_hash, split_test_id
from inspector.llama_stack.recording import parse
from inspector.wire.common import DATA_URL, dumps, listify, loads, text_of
from inspector.wire.content import parts_of
from inspector.wire.gemini import gemini_parts
from inspector.wire.reading import read_body
from inspector.wire.types import (
    FILE_PROCESSOR,
    GENERIC,
    INFERENCE,
    PASSTHROUGH,
    TOOL_INVOKE,
    Failure,
    Part,
    Recording,
    RecordingError,
    TestId,
    ToolDef,
    Usage,
    arguments_parse,
)

__all__ = [
    "DATA_URL",
    "FILE_PROCESSOR",
    "GENERIC",
    "INFERENCE",
    "PASSTHROUGH",
    "TOOL_INVOKE",
    "Failure",
    "Part",
    "Recording",
    "RecordingError",
    "TestId",
    "ToolDef",
    "Usage",
    "arguments_parse",
    "dumps",
    "gemini_parts",
    "hashing",
    "listify",
    "loads",
    "name_hash",
    "parse",
    "parts_of",
    "read_body",
    "split_test_id",
    "text_of",
    "verdicts",
]
