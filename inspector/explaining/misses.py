"""The messages a failed replay prints, found anywhere in pasted text: a pytest output (with its
`E   ` prefixes, colours, tracebacks and hint lines), a repr with `\\n` escapes, or a search box
that dropped the line breaks. Every message of llama-stack's recorder (FORMAT.md, "Replay,
precisely") and VCR.py's `CannotOverwriteExistingCassetteException`. Pure: no Django.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

INFERENCE = "inference"
GENAI = "genai"
HTTPX = "httpx"
HTTPX_STREAM = "httpx stream"
RERANK = "rerank"
TOOL = "tool"
VCR = "vcr"

# Longest text read: a pytest output of a whole run can be long, the message is short.
MAX_TEXT = 2_000_000
# A tool's kwargs are a Python repr; longer ones are not evaluated.
MAX_KWARGS = 100_000

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The hint after each message. Removed first: once a search box has dropped the line breaks,
# it is glued to the URL before it (`.../completionsRun './scripts/...`).
HINT = re.compile(r"Run '[^'\n]*--inference-mode[^'\n]*'[^\n]*")
NOT_FOUND = "Recording not found for"
VALUE = r"[^\s|]+"
HASH = re.compile(rf"{NOT_FOUND} (?P<genai>genai )?request hash:\s*(?P<hash>[0-9a-f]{{12,64}})")
MODEL_REQUEST = re.compile(
    r"Model:\s*(?P<model>[^|\n]*?)\s*\|\s*Request:\s*(?P<method>[A-Z]+)\s+(?P<url>\S+)"
)
MODEL_ENDPOINT = re.compile(r"Model:\s*(?P<model>[^|\n]*?)\s*\|\s*Endpoint:\s*(?P<endpoint>\S+)")
HTTPX_POST = re.compile(rf"{NOT_FOUND} httpx (?P<stream>stream )?(?P<method>[A-Z]+)\s+(?P<url>\S+)")
RERANK_URL = re.compile(rf"{NOT_FOUND} rerank request\s*\|\s*URL:\s*(?P<url>\S+)")
TOOL_CALL = re.compile(
    rf"{NOT_FOUND} (?P<provider>{VALUE}?)\.(?P<tool>[^\s|.]+)\s*\|\s*Request:\s*(?P<kwargs>[^\n]*)"
)
# VCR.py (vcr/errors.py): the cassette, the record mode, the request, the similar requests.
CASSETTE = re.compile(
    r"Can't overwrite existing cassette \((?P<path>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^)]*)\)"
    r"(?: in your current record mode \((?P<mode>[^\n]*?)\)\.?)?"
)
REQUEST = r"<Request \((?P<method>[A-Z]+)\) (?P<uri>[^>\s]+)>"
NO_MATCH = re.compile(rf"No match for the request \({REQUEST}\) was found")
SIMILAR = re.compile(rf"(?P<n>\d+) - \({REQUEST}\)\.")
FAILED_MATCHER = re.compile(r"(?P<matcher>\w+) - assertion failure :")
SUCCEEDED = re.compile(r"Matchers succeeded\s*:\s*\[(?P<names>[^\]]*)\]")
# A pytest node id: `path/to/test_x.py::[Class::]test_y[params]`, as FAILED/ERROR lines,
# verbose lines and the miss's own test context print it.
NODE_ID = re.compile(r"(?<![\w/.-])(?P<id>[\w./-]+\.py::[^\s]+)")


@dataclass(frozen=True)
class Similar:
    """A request of the cassette that VCR found alike, and the matchers it failed."""

    method: str
    uri: str
    failed: tuple[str, ...]
    succeeded: tuple[str, ...] = ()


@dataclass
class Miss:
    kind: str
    message: str  # the message's first line, as found
    hash: str | None = None
    model: str | None = None
    method: str | None = None
    url: str | None = None
    endpoint: str | None = None  # genai's
    provider: str | None = None  # a tool's
    tool: str | None = None
    kwargs: Any = None  # a tool's arguments, when their repr is a literal
    kwargs_text: str | None = None
    cassette: str | None = None  # VCR: the cassette's path as the test process named it
    record_mode: str | None = None
    similar: list[Similar] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        values = {key: value for key, value in self.__dict__.items() if key != "similar"}
        values["similar"] = [similar.__dict__ for similar in self.similar]
        return values


def cleaned(text: str) -> str:
    """The text without colours and hints, `\\n` escapes of a repr made line breaks."""
    text = ANSI.sub("", text[:MAX_TEXT]).replace("\r\n", "\n")
    if "\\n" in text and NOT_FOUND in text:
        text = text.replace("\\n", "\n")
    return HINT.sub("\n", text)


def looks_like_miss(text: str) -> bool:
    """Whether a search box's text is a replay miss (to explain) rather than words to find."""
    return (
        NOT_FOUND in text
        or "CannotOverwriteExistingCassetteException" in text
        or "Can't overwrite existing cassette" in text
    )


def parse_miss(text: str) -> Miss | None:
    """The first miss the text holds; None when it holds none."""
    text = cleaned(text)
    found = [
        miss
        for miss in (
            hash_miss(text),
            httpx_miss(text),
            rerank_miss(text),
            tool_miss(text),
            vcr_miss(text),
        )
        if miss is not None
    ]
    return min(found, key=lambda m: text.find(m.message)) if found else None


def line_of(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : end if end != -1 else len(text)].strip()


def hash_miss(text: str) -> Miss | None:
    match = HASH.search(text)
    if match is None:
        return None
    after = text[match.end() : match.end() + 20_000]
    miss = Miss(GENAI if match["genai"] else INFERENCE, line_of(text, match.start()))
    miss.hash = match["hash"]
    if miss.kind == GENAI:
        details = MODEL_ENDPOINT.search(after)
        if details:
            miss.model, miss.endpoint = details["model"], details["endpoint"]
        return miss
    details = MODEL_REQUEST.search(after)
    if details:
        miss.model, miss.method, miss.url = details["model"], details["method"], details["url"]
        if miss.model == "unknown":  # the recorder's word for a body without a model
            miss.model = None
    return miss


def httpx_miss(text: str) -> Miss | None:
    match = HTTPX_POST.search(text)
    if match is None:
        return None
    miss = Miss(HTTPX_STREAM if match["stream"] else HTTPX, line_of(text, match.start()))
    miss.method, miss.url = match["method"], match["url"]
    return miss


def rerank_miss(text: str) -> Miss | None:
    match = RERANK_URL.search(text)
    if match is None:
        return None
    miss = Miss(RERANK, line_of(text, match.start()))
    miss.method, miss.url = "POST", match["url"]
    return miss


def tool_miss(text: str) -> Miss | None:
    match = TOOL_CALL.search(text)
    if match is None:
        return None
    miss = Miss(TOOL, line_of(text, match.start()))
    miss.provider, miss.tool = match["provider"], match["tool"]
    miss.kwargs_text = match["kwargs"].strip()
    miss.kwargs = literal(miss.kwargs_text)
    return miss


def literal(text: str) -> Any:
    """A Python repr's value when it is a literal (`ast.literal_eval` runs nothing); None."""
    if len(text) > MAX_KWARGS:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def vcr_miss(text: str) -> Miss | None:
    cassette = CASSETTE.search(text)
    request = NO_MATCH.search(text)
    if cassette is None and request is None:
        return None
    first = min(m.start() for m in (cassette, request) if m is not None)
    miss = Miss(VCR, line_of(text, first))
    if cassette:
        path = cassette["path"].strip()
        value = literal(path) if path[:1] in "'\"" else path
        miss.cassette = value if isinstance(value, str) else path.strip("'\"")
        mode = (cassette["mode"] or "").strip()
        # `'none'`, or an enum's repr: `<RecordMode.NONE: 'none'>`
        quoted = re.search(r"'([^']*)'", mode)
        miss.record_mode = quoted[1] if quoted else (mode or None)
    if request:
        miss.method, miss.url = request["method"], request["uri"]
    miss.similar = similar_requests(text[request.end() if request else first :])
    return miss


def similar_requests(text: str) -> list[Similar]:
    heads = list(SIMILAR.finditer(text))
    found = []
    for i, head in enumerate(heads):
        block = text[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        succeeded = SUCCEEDED.search(block)
        names = succeeded["names"] if succeeded else ""
        found.append(
            Similar(
                head["method"],
                head["uri"],
                tuple(m["matcher"] for m in FAILED_MATCHER.finditer(block)),
                tuple(n.strip().strip("'\"") for n in names.split(",") if n.strip()),
            )
        )
    return found


def find_test_id(text: str) -> str | None:
    """The first pytest node id in the text (a FAILED line, a verbose line...)."""
    match = NODE_ID.search(ANSI.sub("", text[:MAX_TEXT]))
    if match is None:
        return None
    node = match["id"]
    if "[" in node:
        return node[: node.rfind("]") + 1] if "]" in node else node
    return node.rstrip(".,:;)'\"")
