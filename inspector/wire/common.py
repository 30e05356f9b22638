"""Helpers every wire format's reader uses: JSON in and out with one-line reasons, text of any
value, token usage under any provider's names, and times the recorder may have zeroed."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from inspector.wire.types import RecordingError, Usage

# Long strings (base64 images, embeddings) are summarised in the parsed parts, never copied:
# the original bytes are stored once, whole.
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?),", re.I)
# The recorder's zero times (Ollama's `created_at`, Go's zero time): no time at all.
EPOCH_PREFIXES = ("1970-01-01", "0001-01-01")
# Values are kept to this depth when written (see `shallow`); deeper ones become DEEP.
WRITE_DEPTH = 200
DEEP = "(nested too deep)"
# Epoch numbers past this are milliseconds (seconds would be after the year 5138).
MILLISECONDS = 10**11


def loads(data: bytes) -> Any:
    """orjson.loads with one-line reasons for every way a file can be bad."""
    if not data.strip():
        raise RecordingError("empty file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        where = f"line {exc.lineno} column {exc.colno}"
        if "UTF-8" in message:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise RecordingError(f"not UTF-8 (byte {bad.start} is not valid UTF-8)") from None
            raise RecordingError("not UTF-8 (holds an unpaired surrogate)") from None
        if "depth limit" in message or "recursion" in message:
            raise RecordingError("nesting too deep (more than 1024 levels)") from None
        if "unexpected end of data" in message:
            raise RecordingError(f"truncated JSON (ends early at {where})") from None
        reason = re.sub(r": line \d+ column \d+ \(char \d+\)$", "", message)
        raise RecordingError(f"malformed JSON ({reason} at {where})") from None


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # deeper than orjson writes (it reads deeper)
        return orjson.dumps(shallow(value)).decode()


def key_of(value: Any) -> str:
    """A digest of a JSON value that does not depend on its keys' order: two requests that
    asked the same thing have the same key."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        data = orjson.dumps(shallow(value), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()


def shallow(value: Any, depth: int = WRITE_DEPTH) -> Any:
    """`value` with what is nested deeper than `depth` levels replaced by DEEP: orjson reads
    1,024 levels but writes only 254, and a stored value must be written."""
    if not isinstance(value, dict | list):
        return value
    if depth <= 0:
        return DEEP
    if isinstance(value, dict):
        return {key: shallow(item, depth - 1) for key, item in value.items()}
    return [shallow(item, depth - 1) for item in value]


def text_of(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else dumps(value)


def listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def count(value: Any) -> int | None:
    """A token count, or None for anything else a file holds there (a string, a list, true)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def time_of(value: Any) -> datetime | None:
    """A time a response carries (epoch seconds or milliseconds, or ISO 8601), in UTC; None for
    none, for what is not a time, and for the recorder's zeros (0, 1970-01-01, 0001-01-01)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value < MILLISECONDS * 1000:
            return None
        seconds = value / 1000 if value >= MILLISECONDS else value
        return None if seconds < 86400 else datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str) or not value or value.startswith(EPOCH_PREFIXES):
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def created_of(data: Any) -> datetime | None:
    """When a response object says it was made, under any provider's name for it."""
    if not isinstance(data, dict):
        return None
    for name in ("created", "created_at", "createTime", "create_time"):
        if name in data:
            return time_of(data[name])
    return None


def usage_of(data: Any) -> Usage:
    """Token usage from any provider's field names."""
    if not isinstance(data, dict):
        return Usage()
    usage = data.get("usage") or data.get("usage_metadata") or data.get("usageMetadata")
    if not isinstance(usage, dict):
        if "prompt_eval_count" in data or "eval_count" in data:  # Ollama
            prompt, completion = count(data.get("prompt_eval_count")), count(data.get("eval_count"))
            if prompt is None and completion is None:
                return Usage()
            return Usage(
                prompt=prompt, completion=completion, total=(prompt or 0) + (completion or 0)
            )
        return Usage()

    def first(*names: str) -> int | None:
        for name in names:
            if (value := count(usage.get(name))) is not None:
                return value
        return None

    def nested(parent: str, name: str) -> int | None:
        inner = usage.get(parent)
        return count(inner.get(name)) if isinstance(inner, dict) else None

    # Python SDKs' snake_case names first, then the REST APIs' camelCase ones (Gemini's
    # `usageMetadata`, Bedrock Converse's `usage`), which only cassettes hold.
    found = Usage(
        prompt=first(
            "prompt_tokens", "input_tokens", "prompt_token_count", "total_input_tokens",
            "promptTokenCount", "inputTokens",
        ),
        completion=first(
            "completion_tokens", "output_tokens", "candidates_token_count", "total_output_tokens",
            "candidatesTokenCount", "outputTokens",
        ),
        total=first("total_tokens", "total_token_count", "totalTokenCount", "totalTokens"),
        cached=nested("prompt_tokens_details", "cached_tokens")
        or first(
            "cache_read_input_tokens", "cached_content_token_count", "total_cached_tokens",
            "cachedContentTokenCount", "cacheReadInputTokens",
        )
        or nested("input_tokens_details", "cached_tokens"),
        reasoning=nested("completion_tokens_details", "reasoning_tokens")
        or first("thoughts_token_count", "total_thought_tokens", "thoughtsTokenCount")
        or nested("output_tokens_details", "reasoning_tokens"),
    )  # fmt: skip
    if found.total is None and (found.prompt is not None or found.completion is not None):
        found.total = (found.prompt or 0) + (found.completion or 0)
    return found
