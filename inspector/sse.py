"""The names the rest of the code base imports from `inspector.sse`, re-exported from
`inspector.wire.sse`. New code imports from there; these imports are to be rewritten."""

from __future__ import annotations

from inspector.wire.sse import sse_events

__all__ = ["sse_events"]
