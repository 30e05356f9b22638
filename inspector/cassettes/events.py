"""A `text/event-stream` body split into its events, by the reader llama-stack's SSE
recordings use (`inspector.wire.sse.sse_events`)."""

from __future__ import annotations

import re
from typing import Any

from inspector.wire.sse import sse_events

# SSE's line ends, and only those: str.splitlines also splits at U+2028 and others, which a
# JSON event's data may hold unescaped.
LINE_END = re.compile(r"\r\n|\r|\n")


def events_of(body: bytes) -> list[dict[str, Any]]:
    """`[{"event", "data", "first", "last"}]`, first and last being line numbers in the body."""
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    return sse_events(LINE_END.split(text))
