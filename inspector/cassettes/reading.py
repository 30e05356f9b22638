"""A cassette's bytes to its interactions, in cassette order: vcrpy's YAML and JSON, gzipped,
and the variants other projects write (pydantic-ai's `parsed_body`, LangChain's parallel
`requests`/`responses`, old vcrpy's bare list). Knows nothing of Django."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from inspector.cassettes.bodies import body_of, decoded, dumped, json_of
from inspector.cassettes.documents import CassetteError, load, unwrap
from inspector.cassettes.events import events_of
from inspector.cassettes.masking import Headers, header, headers_of, masked
from inspector.cassettes.naming import EXTENSIONS


@dataclass
class Interaction:
    index: int  # from 0, in cassette order
    kind: str  # "http", or what a non-HTTP entry says it is ("websocket", ...), or "other"
    method: str
    url: str
    host: str
    request_headers: Headers  # secrets masked
    request_body: bytes
    request_json: Any  # the request body parsed, or None
    status: int | None
    status_message: str
    response_headers: Headers  # secrets masked
    response_body: bytes  # decoded when the headers say gzip or deflate
    response_json: Any
    content_type: str
    is_sse: bool
    sse_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Cassette:
    name: str
    serializer: str  # "yaml" or "json"
    compressed: bool
    layout: str  # "interactions", "requests/responses" (LangChain) or "list" (old vcrpy)
    version: int | None
    interactions: list[Interaction]
    note: str = ""  # what was there instead of interactions, when it was not a list


def read_cassette(data: bytes, name: str) -> Cassette:
    """The cassette in `data`, or CassetteError saying in one line why it is not one."""
    raw, compressed = unwrap(data)
    document, serializer = load(raw)
    layout, entries, note = entries_of(document)
    version = document.get("version") if isinstance(document, dict) else None
    interactions = [interaction_of(i, entry) for i, entry in enumerate(entries)]
    return Cassette(
        name=name,
        serializer=serializer,
        compressed=compressed,
        layout=layout,
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        interactions=interactions,
        note=note,
    )


def looks_like_cassette(data: bytes, name: str) -> bool:
    """Whether a file is a cassette, by its content: a mapping with `interactions` (a list, or a
    mapping such as `{}`) and an integer `version` where there is one, or LangChain's
    `requests`/`responses` lists. Only files named as cassettes are named (`.yaml`, `.json`,
    `.gz`, ...), so that a tree's code and data are not parsed."""
    if not name.lower().endswith(EXTENSIONS):
        return False
    try:
        raw, _ = unwrap(data)
        if b"interactions" not in raw and b"responses" not in raw:
            return False
        document, _ = load(raw)
        entries_of(document)
    except CassetteError:
        return False
    return True


def entries_of(document: Any) -> tuple[str, list[Any], str]:
    if isinstance(document, list) and document and all(is_pair(item) for item in document):
        return "list", document, ""
    if not isinstance(document, dict):
        raise CassetteError(f"not a cassette: the document is {kind_of(document)}, not a mapping")
    version = document.get("version")
    if "version" in document and (not isinstance(version, int) or isinstance(version, bool)):
        raise CassetteError(f"not a cassette: version is {kind_of(version)}, not a number")
    if "interactions" in document:
        found = document["interactions"]
        if isinstance(found, list):
            return "interactions", found, ""
        if isinstance(found, dict):
            note = f"interactions is a mapping of {len(found)} entries, not HTTP exchanges"
            return "interactions", [], note if found else ""
        if found is None:
            return "interactions", [], ""
        raise CassetteError(f"not a cassette: interactions is {kind_of(found)}, not a list")
    requests, responses = document.get("requests"), document.get("responses")
    if isinstance(requests, list) and isinstance(responses, list):
        count = max(len(requests), len(responses))
        requests += [{}] * (count - len(requests))
        responses += [{}] * (count - len(responses))
        return (
            "requests/responses",
            [
                {"request": request, "response": response}
                for request, response in zip(requests, responses, strict=True)
            ],
            "",
        )
    raise CassetteError("not a cassette: no interactions, nor requests and responses")


def is_pair(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("request"), dict)


def interaction_of(index: int, entry: Any) -> Interaction:
    if not isinstance(entry, dict) or not (
        isinstance(entry.get("request"), dict) or isinstance(entry.get("response"), dict)
    ):
        return other_entry(index, entry)
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    url = text_of(request.get("uri", request.get("url")))
    request_headers = headers_of(request.get("headers"))
    response_headers = headers_of(response.get("headers"))
    request_body = body_of(request, "body")
    response_body = decoded(
        body_of(response, "body" if "body" in response else "content"),
        header(response_headers, "content-encoding").strip().lower(),
    )
    content_type = header(response_headers, "content-type")
    is_sse = media_type(content_type) == "text/event-stream"
    code, message = status_of(response.get("status"))
    return Interaction(
        index=index,
        kind="http",
        method=text_of(request.get("method")).upper(),
        url=url,
        host=host_of(url),
        request_headers=masked(request_headers),
        request_body=request_body,
        request_json=json_of(request_body, header(request_headers, "content-type")),
        status=code,
        status_message=message,
        response_headers=masked(response_headers),
        response_body=response_body,
        response_json=None if is_sse else json_of(response_body, content_type),
        content_type=content_type,
        is_sse=is_sse,
        sse_events=events_of(response_body) if is_sse else [],
    )


def other_entry(index: int, entry: Any) -> Interaction:
    """A websocket frame, a gRPC sample, anything else: shown as what it is, never dropped."""
    kind = entry.get("kind") if isinstance(entry, dict) else None
    body = dumped(entry)
    return Interaction(
        index=index,
        kind=kind if isinstance(kind, str) and kind else "other",
        method="",
        url="",
        host="",
        request_headers={},
        request_body=b"",
        request_json=None,
        status=None,
        status_message="",
        response_headers={},
        response_body=body,
        response_json=orjson.loads(body),
        content_type="application/json",
        is_sse=False,
    )


def status_of(status: Any) -> tuple[int | None, str]:
    if isinstance(status, dict):
        code, message = status.get("code"), text_of(status.get("message"))
    else:
        code, message = status, ""
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), message


def host_of(url: str) -> str:
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # an unclosed IPv6 bracket
        return ""
    return netloc.rpartition("@")[2]


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def kind_of(value: Any) -> str:
    return "empty" if value is None else f"a {type(value).__name__}"


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None or isinstance(value, dict | list) else str(value)
