"""What a parsed LLM exchange is, whichever container it came in (a llama-stack recording or a
cassette's interaction): plain dataclasses, filled by the readers of `inspector.wire` and
`inspector.llama_stack`, stored by the importer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

# Recording kinds (same names as the corpus manifest uses).
INFERENCE = "inference"
PASSTHROUGH = "http_passthrough"
TOOL_INVOKE = "tool_invoke"
FILE_PROCESSOR = "file_processor"
GENERIC = "generic"


class RecordingError(ValueError):
    """The file is not a recording; the message is the one-line reason."""


def arguments_parse(arguments: str) -> bool:
    if not arguments:
        return True  # a call with no arguments is a valid call
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return False
    return True


@dataclass
class TestId:
    __test__ = False  # not a pytest test class, whatever its name

    raw: str | None
    file: str = ""
    klass: str = ""
    function: str = ""
    params: str = ""


@dataclass
class Part:
    type: str
    text: str = ""
    url: str = ""  # http(s) URL, or a data: URL shortened to its header
    mime: str = ""
    data_bytes: int = 0  # length of inline base64 data, when there is some

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v or k == "type"}


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: str
    index: int = 0
    message_index: int | None = None  # None: made by the response
    answered_by: int | None = None  # index of the message that answers it

    @property
    def arguments_valid(self) -> bool:
        return arguments_parse(self.arguments)


@dataclass
class Message:
    index: int
    role: str
    text: str = ""
    parts: list[Part] = field(default_factory=list)
    name: str = ""
    tool_call_id: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    answers: list[str] = field(default_factory=list)  # tool call ids this message answers

    @property
    def image_count(self) -> int:
        return sum(1 for p in self.parts if p.type == "image")


@dataclass
class ToolDef:
    name: str
    description: str = ""
    parameters: Any = None


@dataclass
class Usage:
    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cached: int | None = None
    reasoning: int | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in self.__dict__.values())


@dataclass
class Response:
    """The response as the client ends up with it (streams reassembled)."""

    role: str = ""
    text: str = ""
    reasoning: str = ""
    finish_reason: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass
class Failure:
    type: str = ""
    status: int | None = None
    message: str = ""
    category: str = ""


@dataclass
class Recording:
    test_id: TestId
    kind: str
    method: str = ""
    url: str = ""
    provider: str = ""  # a name (`ollama`, `azure`...), or the host when none is known
    base_url: str = ""  # scheme://host:port the request went to
    endpoint: str = ""
    model: str = ""
    is_streaming: bool = False
    chunk_count: int = 0  # items of the recorded body: chunks, SSE lines or events, 1 for one
    response_type: str = ""  # the first `__type__` label, or a description of the plain body
    status: int | None = None
    failure: Failure | None = None
    messages: list[Message] = field(default_factory=list)
    tools: list[ToolDef] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    response: Response = field(default_factory=Response)
    usage: Usage = field(default_factory=Usage)
    has_timing: bool = False
    embedding_count: int | None = None
    embedding_dims: int | None = None
    listed_models: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # When the provider says it made the response (`created`, `created_at`); None when the
    # recorder zeroed it (0, 1970-01-01, 0001-01-01): no date is better than 1970.
    created: datetime | None = None
    # The request's hash under each of the recorder's rules (llama-stack only: `inspector.
    # llama_stack.hashing`), and a digest of the request without its test id, which two
    # recordings share when they asked the same thing (any format).
    request_hashes: dict[str, str] = field(default_factory=dict)
    request_key: str = ""
    # The recorded request as read (llama-stack), for hashing it under the older rules when
    # its name is not today's hash; never stored.
    request: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def tool_calls(self) -> list[ToolCall]:
        calls = [call for message in self.messages for call in message.tool_calls]
        return calls + self.response.tool_calls
