"""What a parsed file becomes in the database: its Recording's fields and its child rows."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from inspector import formats, parsing
from inspector.cassettes.masking import masked_url
from inspector.cassettes.naming import strip_extension
from inspector.models import Message, Stream, ToolCall, ToolDef

INT32 = 2**31 - 1


@dataclass
class Pending:
    """A parsed file waiting for its batch to be written: its exchanges, in order."""

    rel: str
    data: bytes
    sha256: str
    st: os.stat_result
    format: str
    exchanges: list[parsing.Recording]
    legacy_row: dict[str, Any] | None
    existing_id: int | None  # its Source's
    size: int | None = None  # of the bytes read (None: the stat's)


def suite_of(rel: str, root: Path, legacy: bool) -> str:
    """The test suite a file belongs to: the folders above its `recordings/` folder
    (`responses/recordings/x.json` is the suite `responses`), or, in the legacy layout, above
    its `recordings/responses/`; when the import root is that folder, the name of its parent."""
    folders = [*root.parts, *PurePosixPath(rel).parts[:-1]]
    if legacy and folders[-1:] == ["responses"]:
        folders.pop()
    if folders[-1:] == ["recordings"]:
        folders.pop()
    under = folders[len(root.parts) :]
    if under:
        return "/".join(under)
    return folders[-1] if folders and folders[-1] != root.anchor else ""


def search_text(test_id: str | None, path: str) -> str:
    return f"{test_id or ''} {path}".lower()


def clean(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; the original bytes keep it."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def int32(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -INT32 <= value <= INT32:
        return value
    return None


def in_legacy_layout(item: Pending) -> bool:
    """The legacy layout: `responses/<hash12>.json` beside an index.sqlite that lists it (or,
    with the index gone, a file of no test in a `responses/` folder). `responses/recordings/`
    is the current layout's `responses` suite."""
    if item.format != formats.LLAMA_STACK:
        return False
    in_responses = PurePosixPath(item.rel).parent.name == "responses"
    return bool(item.legacy_row) or (in_responses and not item.exchanges[0].test_id.raw)


def source_format(item: Pending) -> str:
    return formats.LEGACY if in_legacy_layout(item) else item.format


def cassette_suite(rel: str) -> str:
    """A cassette's suite: the folders above its `cassettes` folder (pytest-recording's
    `tests/cassettes/`, or any folder named `...cassettes`), else the folder it is in."""
    folders = PurePosixPath(rel).parts[:-1]
    tops = [i for i, name in enumerate(folders) if name.lower().endswith("cassettes")]
    return "/".join(folders[: tops[-1]] if tops else folders)


def recording_fields(item: Pending, index: int, root_path: Path) -> dict[str, Any]:
    """The Recording of the file's exchange at `index`: a llama-stack file's one exchange is at
    the file's path; a cassette's exchange n (from 1) at `<its path without extension>/<n>`."""
    parsed = item.exchanges[index]
    test = parsed.test_id
    usage, failure, response = parsed.usage, parsed.failure, parsed.response
    legacy = item.legacy_row or {}
    file_name = PurePosixPath(item.rel).name
    legacy_layout = in_legacy_layout(item)
    if item.format == formats.VCR:
        path = f"{strip_extension(item.rel)}/{index + 1}"
        request_hash, suite = "", cassette_suite(item.rel)
    else:
        path = item.rel
        request_hash = parsing.name_hash(file_name)
        suite = suite_of(item.rel, root_path, legacy_layout)
    verdict, reason = name_audit(item.format, item.rel, parsed, legacy_layout)
    values = {
        "path": path,
        "format": source_format(item),
        "file_name": file_name,
        "request_hash": request_hash,
        "size": item.st.st_size if item.size is None else item.size,
        "sha256": item.sha256,
        "mtime_ns": item.st.st_mtime_ns,
        "legacy": legacy_layout,
        "missing": False,
        "test_id": test.raw,
        "test_file": test.file,
        "test_class": test.klass,
        "test_function": test.function,
        "test_params": test.params,
        "suite": suite,
        "search": search_text(test.raw, path),
        "kind": parsed.kind,
        "method": parsed.method,
        "url": masked_url(parsed.url),  # Gemini's `?key=`: never on a page or in a JSON
        "provider": parsed.provider,
        "base_url": parsed.base_url,
        "endpoint": parsed.endpoint,
        "model": parsed.model,
        "is_streaming": parsed.is_streaming,
        "chunk_count": parsed.chunk_count,
        "response_type": parsed.response_type,
        "status": int32(parsed.status),
        "is_exception": failure is not None,
        "exception_type": failure.type if failure else "",
        "exception_status": int32(failure.status) if failure else None,
        "exception_message": failure.message if failure else "",
        "response_role": response.role,
        "response_text": response.text,
        "response_reasoning": response.reasoning,
        "finish_reason": response.finish_reason,
        "prompt_tokens": int32(usage.prompt),
        "completion_tokens": int32(usage.completion),
        "total_tokens": int32(usage.total),
        "cached_tokens": int32(usage.cached),
        "reasoning_tokens": int32(usage.reasoning),
        "message_count": len(parsed.messages),
        "tool_count": len(parsed.tools),
        "tool_call_count": len(parsed.tool_calls),
        "has_timing": parsed.has_timing,
        "embedding_count": int32(parsed.embedding_count),
        "embedding_dims": int32(parsed.embedding_dims),
        "listed_models": parsed.listed_models,
        # When the response says it was made (never a zeroed 1970 or year 1: those are none).
        "details": parsed.details | ({"created": parsed.created} if parsed.created else {}),
        "name_verdict": verdict,
        "name_reason": reason,
        "computed_hash": parsed.request_hashes.get(parsing.hashing.CURRENT, ""),
        "request_key": parsed.request_key,
        "prompt_key": prompt_key(parsed),
        "legacy_request_hash": str(legacy.get("request_hash") or ""),
        "legacy_timestamp": str(legacy.get("timestamp") or ""),
    }
    return {name: clean(value) for name, value in values.items()}


def name_audit(
    format: str, rel: str, parsed: parsing.Recording | None, legacy_layout: bool
) -> tuple[str, str]:
    """The file's own name verdict (`inspector.auditing` adds those that need other files)."""
    if format == formats.VCR:
        return parsing.verdicts.NOT_APPLICABLE, "a cassette: VCR matches requests, not names"
    assert parsed is not None  # only a cassette has no parse here
    hashes, test_id = parsed.request_hashes, parsed.test_id.raw
    name = parsing.name_hash(PurePosixPath(rel).name)
    if parsed.request is not None and hashes.get(parsing.hashing.CURRENT) != name:
        hashes = parsing.hashing.request_hashes(parsed.request, test_id)  # which older rule?
    return parsing.verdicts.verdict_of(rel, hashes, test_id, legacy_layout)


def prompt_key(parsed: parsing.Recording) -> str:
    """A digest of the request's last user message: requests that asked the same question
    (in another test, of another model) share it."""
    for message in reversed(parsed.messages):
        if message.role == "user" and message.text.strip():
            return hashlib.sha256(" ".join(message.text.split()).lower().encode()).hexdigest()
    return ""


def child_rows(pk: int, parsed: parsing.Recording) -> dict[type, list]:
    # Rows point to their recording by id, not by instance: a `Blob(recording=r)` or
    # `Stream(recording=r)` links back from `r` too (one-to-one), a reference cycle that
    # kept each batch's bytes and chunks alive until the garbage collector came by.
    messages = [
        Message(
            recording_id=pk,
            index=m.index,
            role=clean(m.role),
            text=clean(m.text),
            parts=[p.as_dict() for p in m.parts],
            image_count=m.image_count,
            name=clean(m.name),
            tool_call_id=clean(m.tool_call_id),
            reasoning=clean(m.reasoning),
        )
        for m in parsed.messages
    ]
    tools = [
        ToolDef(
            recording_id=pk,
            index=i,
            name=clean(t.name),
            description=clean(t.description),
            parameters=t.parameters,
        )
        for i, t in enumerate(parsed.tools)
    ]
    calls = [
        ToolCall(
            recording_id=pk,
            position=position,
            index=int32(c.index) or 0,
            call_id=clean(c.call_id),
            name=clean(c.name),
            arguments=clean(c.arguments),
            arguments_valid=c.arguments_valid,
            message_index=c.message_index,
            answered_by=c.answered_by,
        )
        for position, c in enumerate(parsed.tool_calls)
    ]
    streams = [Stream(recording_id=pk, chunks=parsed.chunks)] if parsed.chunks else []
    return {Message: messages, ToolDef: tools, ToolCall: calls, Stream: streams}


def source_fields(item: Pending) -> dict[str, Any]:
    """The file's Source: its bytes and what says whether they changed."""
    return {
        "path": item.rel,
        "format": source_format(item),
        "size": item.st.st_size if item.size is None else item.size,
        "sha256": item.sha256,
        "mtime_ns": item.st.st_mtime_ns,
        "missing": False,
        "exchange_count": len(item.exchanges),
        "data": item.data,
    }
