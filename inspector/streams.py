"""The names the Django side (and its tests) import from `inspector.streams`, re-exported from
`inspector.wire.streams` (chunk streams) and `inspector.llama_stack.document` (large files
read lazily). New code imports from those modules; these imports are to be rewritten."""

from __future__ import annotations

from inspector.llama_stack.document import LAZY_BYTES, RawList, load_document
from inspector.wire.streams import read_stream

__all__ = ["LAZY_BYTES", "RawList", "load_document", "read_stream"]
