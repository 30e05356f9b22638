"""Small helpers of the page's view-models: recording text as HTML and as a one-line preview."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

PREVIEW_CHARS = 160


def escaped(html: str) -> SafeString:
    """Mark HTML from `inspector.highlight` safe: Pygments (or html.escape) escaped every
    character of the recording in it."""
    return mark_safe(html)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
