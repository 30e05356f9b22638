"""Turn the bytes of one recording file into typed objects. Knows nothing of Django.

A recording is `{test_id?, request, response, id_normalization_mapping?}` (see FORMAT.md).
`parse()` accepts every shape the recorder writes; a request it does not recognise still
parses, as kind "generic", so no valid file is ever dropped. Bad input raises `RecordingError`
whose message is one short line saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from inspector.providers import base_url, provider_of, split_url

# Recording kinds (same names as the corpus manifest uses).
INFERENCE = "inference"
PASSTHROUGH = "http_passthrough"
TOOL_INVOKE = "tool_invoke"
FILE_PROCESSOR = "file_processor"
GENERIC = "generic"

# Paths whose hash leaves out the test id (model listings are shared between tests).
UNSCOPED_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})

# Long strings (base64 images, embeddings) are summarised in the parsed parts, never copied:
# the original bytes are stored once, whole.
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?),", re.I)
MODELS_FILE = re.compile(r"^models-(?P<hash>[0-9a-f]{64})-(?P<digest>[0-9a-zA-Z]+)$")
EPOCH_PREFIXES = ("1970-01-01", "0001-01-01")
# RFC 3986 appendix B: scheme, authority and path of any text (for what urlsplit refuses).
# Values are kept to this depth when written (see `shallow`); deeper ones become DEEP.
WRITE_DEPTH = 200
DEEP = "(nested too deep)"


class RecordingError(ValueError):
    """The file is not a recording; the message is the one-line reason."""


@dataclass
class TestId:
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
    chunk_count: int = 0  # items of the recorded body: chunks, SSE lines, or 1 for one object
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

    @property
    def tool_calls(self) -> list[ToolCall]:
        calls = [call for message in self.messages for call in message.tool_calls]
        return calls + self.response.tool_calls


# --------------------------------------------------------------------------- loading


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


def arguments_parse(arguments: str) -> bool:
    if not arguments:
        return True  # a call with no arguments is a valid call
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return False
    return True


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # deeper than orjson writes (it reads deeper)
        return orjson.dumps(shallow(value)).decode()


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


def unwrap(value: Any) -> tuple[str, Any]:
    """(type label, data) of a `{"__type__", "__data__"}` wrapper; ("", value) for plain data."""
    if isinstance(value, dict) and "__type__" in value and "__data__" in value:
        return str(value["__type__"]), value["__data__"]
    return "", value


def split_test_id(test_id: Any) -> TestId:
    """Split a pytest node id: `file::Class::function[params]`."""
    if not isinstance(test_id, str) or not test_id:
        return TestId(raw=test_id if isinstance(test_id, str) else None)
    head, params = test_id, ""
    bracket = test_id.find("[")
    if bracket != -1 and test_id.endswith("]"):
        head, params = test_id[:bracket], test_id[bracket + 1 : -1]
    pieces = head.split("::")
    file = pieces[0]
    function = pieces[-1] if len(pieces) > 1 else ""
    klass = "::".join(pieces[1:-1])
    return TestId(raw=test_id, file=file, klass=klass, function=function, params=params)


def name_hash(file_name: str) -> str:
    """The request hash a file name carries (`<hash>.json`, `models-<hash>-<digest>.json`)."""
    stem = file_name.removesuffix(".json")
    match = MODELS_FILE.match(stem)
    return match["hash"] if match else stem


# --------------------------------------------------------------------------- parse


def parse(data: bytes) -> Recording:
    document = streams.load_document(data)
    if not isinstance(document, dict):
        raise RecordingError(
            f"wrong top-level type: expected an object, found {json_type(document)}"
        )
    for key in ("request", "response"):
        if key not in document:
            raise RecordingError(f"missing {key}")
        if not isinstance(document[key], dict):
            raise RecordingError(
                f"wrong type for {key}: expected an object, found {json_type(document[key])}"
            )
    request, response = document["request"], document["response"]
    test_id = document.get("test_id", request.get("test_id"))
    recording = Recording(test_id=split_test_id(test_id), kind=classify(request))
    describe_request(recording, request)
    describe_response(recording, response)
    link_tool_results(recording)
    return recording


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def classify(request: dict[str, Any]) -> str:
    if "tool_name" in request:
        return TOOL_INVOKE
    if "file_id" in request:
        return FILE_PROCESSOR
    if "payload" in request:
        return PASSTHROUGH
    if "url" in request or "body" in request or "endpoint" in request:
        return INFERENCE
    return GENERIC


def describe_request(recording: Recording, request: dict[str, Any]) -> None:
    kind = recording.kind
    recording.method = text_of(request.get("method"))
    recording.url = text_of(request.get("url"))
    path = split_url(recording.url)[2]
    if kind == TOOL_INVOKE:
        provider, tool = text_of(request.get("provider")), text_of(request.get("tool_name"))
        recording.provider = provider
        recording.endpoint = f"tool:{provider}.{tool}"
        recording.details["inputs"] = request.get("kwargs")
        return
    if kind == FILE_PROCESSOR:
        provider, api = text_of(request.get("provider")), text_of(request.get("api"))
        recording.provider = provider
        recording.endpoint = f"fileproc:{provider}/{api}"
        recording.details["inputs"] = {"file_id": request.get("file_id")}
        return
    recording.provider = provider_of(recording.url)
    recording.base_url = base_url(recording.url)
    if kind == PASSTHROUGH:
        recording.endpoint = path  # the kind says it passed through; the endpoint is a path
        payload = request.get("payload")
        if isinstance(payload, dict):
            recording.model = text_of(payload.get("model"))
            read_body(recording, payload)
        return
    if kind == GENERIC:
        recording.endpoint = path
        return
    recording.endpoint = text_of(request.get("endpoint")) or path
    body = request.get("body")
    recording.model = text_of(request.get("model"))
    if isinstance(body, dict):
        recording.model = recording.model or text_of(body.get("model"))
        read_body(recording, body)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else dumps(value)


# --------------------------------------------------------------------------- request bodies


def read_body(recording: Recording, body: dict[str, Any]) -> None:
    messages: list[Message] = []

    def add(role: str, content: Any = None, **extra: Any) -> Message:
        message = Message(index=len(messages), role=role, **extra)
        message.parts = parts_of(content)
        message.text = "\n".join(p.text for p in message.parts if p.text and p.type == "text")
        messages.append(message)
        return message

    system = body.get("system")
    if isinstance(system, str | list) and system:
        add("system", system)
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    instruction = body.get("system_instruction") or config.get("system_instruction")
    if instruction:
        add("system", gemini_parts(instruction))

    for raw in listify(body.get("messages")):
        if not isinstance(raw, dict):
            add("unknown", raw)
            continue
        role = text_of(raw.get("role")) or "unknown"
        content = raw.get("content")
        if raw.get("images"):  # Ollama: base64 images beside the text
            images = listify(raw["images"])
            content = [content, *({"type": "image", "b64": image} for image in images)]
        message = add(
            role,
            content,
            name=text_of(raw.get("name") or raw.get("tool_name")),
            tool_call_id=text_of(raw.get("tool_call_id")),
            reasoning=text_of(raw.get("reasoning_content") or raw.get("reasoning")),
        )
        message.tool_calls = openai_tool_calls(raw.get("tool_calls"), message.index)
        if isinstance(content, list):  # Anthropic tool_use blocks
            message.tool_calls += [
                ToolCall(
                    call_id=text_of(block.get("id")),
                    name=text_of(block.get("name")),
                    arguments=dumps(block.get("input")),
                    index=i,
                    message_index=message.index,
                )
                for i, block in enumerate(content)
                if isinstance(block, dict) and block.get("type") == "tool_use"
            ]
            results = [
                text_of(block.get("tool_use_id"))
                for block in content
                if isinstance(block, dict) and block.get("type") == "tool_result"
            ]
            if results:
                message.answers = results
                message.tool_call_id = message.tool_call_id or results[0]

    for turn in listify(body.get("contents")):  # Gemini / Vertex
        if isinstance(turn, dict):
            role = text_of(turn.get("role", "user"))
            message = add({"model": "assistant"}.get(role, role), gemini_parts(turn.get("parts")))
            message.tool_calls = [
                ToolCall(
                    call_id=text_of(call.get("id")) or f"{call.get('name')}#{message.index}.{i}",
                    name=text_of(call.get("name")),
                    arguments=dumps(call.get("args") or {}),
                    index=i,
                    message_index=message.index,
                )
                for i, call in enumerate(
                    part.get("function_call") or part.get("functionCall")
                    for part in listify(turn.get("parts"))
                    if isinstance(part, dict)
                    and isinstance(part.get("function_call") or part.get("functionCall"), dict)
                )
            ]
        elif isinstance(turn, str):
            add("user", turn)

    if "prompt" in body:  # completions and Ollama generate
        for prompt in listify(body["prompt"]):
            add("user", prompt if isinstance(prompt, str) else dumps(prompt))
        if body.get("images") and messages:
            images = listify(body["images"])
            messages[-1].parts += parts_of([{"type": "image", "b64": i} for i in images])
    if "input" in body:  # embeddings, interactions
        value = body["input"]
        if recording.endpoint.endswith("embeddings"):
            recording.details["input_count"] = len(value) if isinstance(value, list) else 1
        inputs = value if isinstance(value, list) else [value]
        for item in inputs[:50] if isinstance(value, list) else inputs:
            if isinstance(item, dict) and "role" in item:
                add(text_of(item["role"]), item.get("content"))
            else:
                add("user", item if isinstance(item, str) else dumps(item))

    recording.messages = messages
    recording.tools = tool_defs(body.get("tools") or config.get("tools"))


def listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parts_of(content: Any) -> list[Part]:
    """Multi-part content as parts; images summarised, never copied."""
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(type="text", text=content)]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [Part(type="text", text=dumps(content))]
    parts: list[Part] = []
    for item in content:
        if item is None:
            continue
        if isinstance(item, str):
            parts.append(Part(type="text", text=item))
            continue
        if not isinstance(item, dict):
            parts.append(Part(type="text", text=dumps(item)))
            continue
        kind = text_of(item.get("type"))
        if kind in ("text", "input_text", "output_text") or (not kind and "text" in item):
            parts.append(Part(type="text", text=text_of(item.get("text"))))
        elif kind in ("image_url", "input_image"):
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            parts.append(image_part(text_of(url)))
        elif kind == "image":  # Anthropic source block, or an Ollama base64 image
            source = item.get("source") if isinstance(item.get("source"), dict) else {}
            if "b64" in item:
                size = len(text_of(item["b64"]))
                parts.append(Part(type="image", url="data:;base64,", data_bytes=size))
            elif source.get("type") == "base64":
                data = text_of(source.get("data"))
                mime = text_of(source.get("media_type"))
                parts.append(
                    Part(type="image", url=f"data:{mime};base64,", mime=mime, data_bytes=len(data))
                )
            else:
                parts.append(image_part(text_of(source.get("url"))))
        elif kind == "tool_result":
            inner = parts_of(item.get("content"))
            text = "\n".join(p.text for p in inner if p.text)
            parts.append(Part(type="text", text=text))
        elif kind == "tool_use":
            continue  # shown as a tool call
        elif kind in ("thinking", "reasoning"):
            parts.append(
                Part(type="reasoning", text=text_of(item.get("thinking") or item.get("text")))
            )
        else:
            parts.append(Part(type=kind or "unknown", text=dumps(item)))
    return parts


def image_part(url: str) -> Part:
    match = DATA_URL.match(url)
    if match:
        header = url[: match.end()]
        return Part(
            type="image", url=header, mime=match["mime"] or "", data_bytes=len(url) - match.end()
        )
    return Part(type="image", url=url)


def gemini_parts(parts: Any) -> list[dict[str, Any]]:
    """Gemini parts as OpenAI-style parts."""
    if isinstance(parts, str):
        return [{"type": "text", "text": parts}]
    if isinstance(parts, dict):
        parts = parts.get("parts", [parts])
    converted: list[dict[str, Any]] = []
    for part in listify(parts):
        if not isinstance(part, dict):
            converted.append({"type": "text", "text": text_of(part)})
        elif "text" in part:
            kind = "reasoning" if part.get("thought") else "text"
            converted.append({"type": kind, "text": part["text"]})
        elif isinstance(part.get("inline_data") or part.get("inlineData"), dict):
            inline = part.get("inline_data") or part.get("inlineData")
            mime = text_of(inline.get("mime_type") or inline.get("mimeType"))
            converted.append(
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": mime,
                        "data": text_of(inline.get("data")),
                    },
                }
            )
        elif part.get("function_response") or part.get("functionResponse"):
            answer = part.get("function_response") or part.get("functionResponse")
            response = answer.get("response") if isinstance(answer, dict) else answer
            converted.append({"type": "text", "text": dumps(response)})
        elif part.get("function_call") or part.get("functionCall"):
            continue
        else:
            converted.append({"type": "unknown", "value": part})
    return converted


def openai_tool_calls(calls: Any, message_index: int | None) -> list[ToolCall]:
    found: list[ToolCall] = []
    for position, call in enumerate(listify(calls)):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else call
        arguments = function.get("arguments")
        found.append(
            ToolCall(
                call_id=text_of(call.get("id") or call.get("call_id")),
                name=text_of(function.get("name")),
                arguments=arguments if isinstance(arguments, str) else dumps(arguments or {}),
                index=call.get("index", position)
                if isinstance(call.get("index"), int)
                else position,
                message_index=message_index,
            )
        )
    return found


def tool_defs(tools: Any) -> list[ToolDef]:
    found: list[ToolDef] = []
    for tool in listify(tools):
        if not isinstance(tool, dict):
            continue
        if "function_declarations" in tool or "functionDeclarations" in tool:
            declarations = tool.get("function_declarations") or tool.get("functionDeclarations")
            found += tool_defs(declarations)
            continue
        spec = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        name = spec.get("name") or spec.get("type") or tool.get("type")
        found.append(
            ToolDef(
                name=text_of(name),
                description=text_of(spec.get("description")),
                parameters=spec.get("parameters", spec.get("input_schema")),
            )
        )
    return found


def link_tool_results(recording: Recording) -> None:
    """Point every call at the message that answers it (by id; Gemini and Ollama by name)."""
    calls = recording.tool_calls
    by_id = {call.call_id: call for call in calls if call.call_id}
    pending_by_name: dict[str, list[ToolCall]] = {}
    for call in calls:
        pending_by_name.setdefault(call.name, []).append(call)
    for message in recording.messages:
        ids = message.answers or [message.tool_call_id]
        answered = False
        for call_id in ids:
            call = by_id.get(call_id) if call_id else None
            if call and call.answered_by is None:
                call.answered_by = message.index
                answered = True
        if answered or message.role not in ("tool", "function", "ipython"):
            continue
        # No id (Ollama, Gemini): the next unanswered call of that name, made before this message.
        for call in pending_by_name.get(message.name, []) or calls:
            if call.answered_by is None and (call.message_index or 0) < message.index:
                call.answered_by = message.index
                break


# --------------------------------------------------------------------------- responses


def describe_response(recording: Recording, response: dict[str, Any]) -> None:
    body = response.get("body")
    # A large file's array body is a RawList: its items are decoded one at a time.
    listed = isinstance(body, list | streams.RawList)
    recording.is_streaming = bool(response.get("is_streaming"))
    recording.status = response.get("status") if isinstance(response.get("status"), int) else None
    if listed:
        recording.chunk_count = len(body)
    else:
        recording.chunk_count = 0 if body is None else 1
    if response.get("is_exception"):
        data = (
            response.get("exception_data")
            if isinstance(response.get("exception_data"), dict)
            else {}
        )
        status = data.get("status_code")
        recording.failure = Failure(
            type=text_of(data.get("type")),
            status=status if isinstance(status, int) else None,
            message=text_of(response.get("exception_message") or data.get("message")),
            category=text_of(data.get("category")),
        )
    elif recording.status is not None and recording.status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        recording.failure = Failure(
            type="HTTP error", status=recording.status, message=text_of(message) or text_of(body)
        )

    if body is None:
        recording.response_type = "null"
        return
    items = body if listed else [body]
    if items and all(isinstance(item, str) for item in items):
        recording.response_type = "sse-lines"
        sse.read_sse(recording, items)
        return
    label = unwrap(items[0])[0] if items else ""
    recording.response_type = label or ("list-of-dict" if listed else "dict")
    # Unwrapped as they are read: a stream's chunks are never all in memory at once.
    datas = (unwrap(item)[1] for item in items)
    if (
        label.endswith(".Model")
        or label.endswith("ListResponse")
        or label.endswith("ProcessResponse")
    ):
        read_models(recording, list(datas))
    elif recording.kind == TOOL_INVOKE or recording.kind == FILE_PROCESSOR:
        read_result(recording, next(datas, None))
    elif listed or recording.is_streaming:
        streams.read_stream(recording, datas)
    else:
        read_single(recording, next(datas, None))


def read_single(recording: Recording, data: Any) -> None:
    """One non-streamed response object."""
    if not isinstance(data, dict):
        recording.response.text = text_of(data)
        return
    recording.usage = usage_of(data)
    if "data" in data and isinstance(data["data"], list) and data.get("object") == "list":
        read_embeddings(
            recording, [item.get("embedding") for item in data["data"] if isinstance(item, dict)]
        )
        return
    if "embeddings" in data or "embedding" in data:
        vectors = data.get("embeddings") or [data.get("embedding")]
        read_embeddings(recording, listify(vectors))  # a file may hold anything there
        return
    if data.get("type") == "message" or isinstance(data.get("outputs"), list):
        read_blocks(recording, data)  # Anthropic messages, Gemini interactions
        return
    # A single object is assembled exactly like a one-chunk stream.
    streams.read_stream(recording, [data], keep_chunks=False)
    if recording.response.text or recording.response.tool_calls or recording.response.reasoning:
        return
    if isinstance(data.get("status"), str) and not data.get("choices"):
        recording.response.text = data["status"]  # Ollama pull progress


def read_blocks(recording: Recording, data: dict[str, Any]) -> None:
    out = streams.Assembler()
    out.response.role = text_of(data.get("role"))
    for index, block in enumerate(listify(data.get("content") or data.get("outputs"))):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.text(text_of(block.get("text")))
        elif kind in ("thinking", "thought"):
            out.reasoning(text_of(block.get("thinking") or block.get("text")))
        elif kind in ("tool_use", "function_call"):
            arguments = block.get("input", block.get("arguments"))
            out.tool(
                index,
                text_of(block.get("id")),
                text_of(block.get("name")),
                arguments if isinstance(arguments, str) else dumps(arguments or {}),
            )
    out.response.finish_reason = text_of(data.get("stop_reason") or data.get("status"))
    recording.response = out.finish()


def read_embeddings(recording: Recording, vectors: list[Any]) -> None:
    vectors = [v for v in vectors if v is not None]
    recording.embedding_count = len(vectors)
    first = vectors[0] if vectors else None
    if isinstance(first, list):
        recording.embedding_dims = len(first)
        recording.details["first_values"] = first[:8]
    elif isinstance(first, str):  # encoding_format=base64: float32 values
        recording.embedding_dims = len(first) * 3 // 4 // 4


def read_models(recording: Recording, datas: list[Any]) -> None:
    models: list[dict[str, Any]] = []
    for data in datas:
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("models"), list):  # Ollama ListResponse / ProcessResponse
            for model in data["models"]:
                if isinstance(model, dict):
                    models.append(
                        {
                            "id": text_of(model.get("model") or model.get("name")),
                            "owned_by": "",
                            "size": model.get("size"),
                            "details": model.get("details"),
                        }
                    )
        else:
            models.append(
                {
                    "id": text_of(data.get("id")),
                    "owned_by": text_of(data.get("owned_by")),
                    "created": data.get("created"),
                    "metadata": data.get("custom_metadata") or data.get("metadata"),
                }
            )
    recording.listed_models = models


def read_result(recording: Recording, data: Any) -> None:
    """Tool invocation and file processing results."""
    if not isinstance(data, dict):
        recording.response.text = text_of(data)
        return
    if recording.kind == TOOL_INVOKE:
        content = data.get("content")
        recording.response.text = (
            content if isinstance(content, str) else "\n".join(p.text for p in parts_of(content))
        )
        if data.get("error_message") or data.get("error_code"):
            recording.failure = recording.failure or Failure(
                type="tool error",
                status=data.get("error_code") if isinstance(data.get("error_code"), int) else None,
                message=text_of(data.get("error_message")),
            )
    else:
        chunks = listify(data.get("chunks"))
        recording.details["result_chunks"] = len(chunks)
        recording.details["metadata"] = data.get("metadata")
        recording.response.text = "\n\n".join(
            text_of(c.get("content")) for c in chunks if isinstance(c, dict)
        )


def count(value: Any) -> int | None:
    """A token count, or None for anything else a file holds there (a string, a list, true)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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

    found = Usage(
        prompt=first("prompt_tokens", "input_tokens", "prompt_token_count", "total_input_tokens"),
        completion=first(
            "completion_tokens", "output_tokens", "candidates_token_count", "total_output_tokens"
        ),
        total=first("total_tokens", "total_token_count"),
        cached=nested("prompt_tokens_details", "cached_tokens")
        or first("cache_read_input_tokens", "cached_content_token_count", "total_cached_tokens")
        or nested("input_tokens_details", "cached_tokens"),
        reasoning=nested("completion_tokens_details", "reasoning_tokens")
        or first("thoughts_token_count", "total_thought_tokens")
        or nested("output_tokens_details", "reasoning_tokens"),
    )
    if found.total is None and (found.prompt is not None or found.completion is not None):
        found.total = (found.prompt or 0) + (found.completion or 0)
    return found


# --------------------------------------------------------------------------- streams

# The stream part (Assembler, read_stream, ...) is in inspector/streams.py, server-sent events
# in inspector/sse.py; both import this module's types: imported last, and their names kept
# importable from here.
from inspector import sse, streams  # noqa: E402

STREAM_NAMES = frozenset(
    ("Assembler", "read_stream", "read_choice", "read_delta", "sse_events", "read_sse",
     "read_sse_event", "merge_usage", "load_document")
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in STREAM_NAMES:
        return getattr(sse if hasattr(sse, name) else streams, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
