"""A cassette's bodies as bytes, whichever way the cassette wrote them (a string, `!!binary`,
`{string: ...}`, pydantic-ai's `parsed_body`), decompressed when their headers say so, and parsed
when they are JSON."""

from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any

import orjson

from inspector.cassettes.documents import MAX_BYTES, CassetteError, gunzip

# Past this many values once YAML aliases are expanded, a body given as a mapping is refused:
# nine aliases of nine aliases make a few hundred bytes that expand to a billion values.
MAX_VALUES = 10_000_000


def body_of(part: dict[str, Any], key: str) -> bytes:
    """A body as vcrpy writes it (a string, bytes from `!!binary`, `{string: ...}`, null), or
    pydantic-ai's `parsed_body` (the JSON body as a mapping)."""
    if "parsed_body" in part and part.get(key) is None:
        return dumped(part["parsed_body"])
    body = part.get(key)
    if isinstance(body, dict) and ("string" in body or "base64_string" in body):
        if isinstance(body.get("base64_string"), str):
            try:
                return base64.b64decode(body["base64_string"])
            except ValueError:
                return body["base64_string"].encode()
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return dumped(body)


def decoded(body: bytes, encoding: str) -> bytes:
    """A body the headers say is compressed, decompressed; kept as it is when it is not."""
    try:
        if encoding in ("gzip", "x-gzip") and body.startswith(b"\x1f\x8b"):
            return gunzip(body)
        if encoding == "deflate" and body:
            inflater = zlib.decompressobj()
            out = inflater.decompress(body, MAX_BYTES)
            return out if inflater.eof and not inflater.unconsumed_tail else body
    except (CassetteError, zlib.error):
        pass
    return body


def json_of(body: bytes, content_type: str) -> Any:
    start = body.lstrip()[:1]
    if not body or ("json" not in content_type.lower() and start not in (b"{", b"[")):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def dumped(value: Any) -> bytes:
    """JSON of a YAML value; what JSON has no word for (bytes, dates, odd keys) as text."""
    if expanded_size(value) > MAX_VALUES:
        raise CassetteError(f"a body of more than {MAX_VALUES} values once aliases are expanded")
    try:
        return orjson.dumps(value, default=jsonable, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(tree_of(value), ensure_ascii=False, allow_nan=False).encode(
            "utf-8", "surrogatepass"
        )


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def tree_of(value: Any) -> Any:
    """`value` with every key a string and every leaf a JSON scalar (orjson refused it)."""
    if isinstance(value, dict):
        return {str(key): tree_of(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [tree_of(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    return jsonable(value)


def expanded_size(value: Any) -> int:
    """How many values `value` is once written out: each shared container counted once per
    use, computed once per container (YAML aliases share them)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, dict | list) or (id(item) in sizes and not done):
            continue
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        if done:
            sizes[id(item)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            continue
        stack.append((item, True))
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
    return sizes.get(id(value), 1)
