"""A cassette file's bytes to the document it holds: gzip (`.yaml.gz`, LangChain) and base64 of
gzip undone, then JSON (vcrpy's json serializer) or YAML (its default). YAML is read by PyYAML's
C safe loader only: a tag that builds a Python object (`!!python/object:...`) is refused, never
constructed. Knows nothing of Django."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import orjson
import yaml

# A decompressed cassette larger than this is refused: the largest real one we know is a few
# MiB, and a gzip bomb would otherwise fill memory before anything could say so.
MAX_BYTES = 256 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
BASE64_GZIP = b"H4sI"  # base64 of a gzip header (1f 8b 08)


class CassetteError(ValueError):
    """Not a cassette, or a broken one; the message is one line that says why."""


def gunzip(data: bytes, limit: int = MAX_BYTES) -> bytes:
    """Every member of a gzip stream, refused past `limit` bytes."""
    out: list[bytes] = []
    size = 0
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            piece = inflater.decompress(data, limit - size + 1)
        except zlib.error as error:
            raise CassetteError(f"corrupt gzip data: {error}") from None
        size += len(piece)
        if size > limit or inflater.unconsumed_tail:
            raise CassetteError(f"more than {limit} bytes once decompressed")
        out.append(piece)
        if not inflater.eof:
            raise CassetteError("truncated gzip data")
        data = inflater.unused_data
        if data and not data.startswith(GZIP_MAGIC):
            break  # trailing bytes after the last member, as gzip(1) ignores them
    return b"".join(out)


def unwrap(data: bytes) -> tuple[bytes, bool]:
    """The document's bytes, and whether they were compressed."""
    if data.startswith(GZIP_MAGIC):
        return gunzip(data), True
    if data.lstrip().startswith(BASE64_GZIP):
        try:
            packed = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return data, False
        if packed.startswith(GZIP_MAGIC):
            return gunzip(packed), True
    return data, False


def load(data: bytes) -> tuple[Any, str]:
    """The document and its serializer (`json` or `yaml`)."""
    head = data.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    json_error = None
    if head in (b"{", b"["):
        try:
            return orjson.loads(data.removeprefix(b"\xef\xbb\xbf")), "json"
        except orjson.JSONDecodeError as error:
            json_error = error  # may still be YAML's flow style, or JSON orjson refuses
    try:
        return yaml.load(data, Loader=yaml.CSafeLoader), "yaml"
    except yaml.constructor.ConstructorError as error:
        problem = one_line(error.problem or str(error))
        if "python/" in problem:
            raise CassetteError(
                f"refused a YAML tag that builds Python objects: {problem}"
            ) from None
        raise CassetteError(f"malformed YAML{where(error)}: {problem}") from None
    except yaml.YAMLError as error:
        if json_error is not None:
            raise CassetteError(f"malformed JSON: {one_line(str(json_error))}") from None
        problem = getattr(error, "problem", None) or str(error)
        raise CassetteError(f"malformed YAML{where(error)}: {one_line(problem)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as error:
        # PyYAML's constructors raise these for values its resolver matched (a timestamp with
        # month 13, a document nested too deep): the file is unreadable, not a crash.
        raise CassetteError(
            f"unreadable YAML: {type(error).__name__}: {one_line(str(error))}"
        ) from None


def where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
