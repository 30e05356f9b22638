"""Which container format a file is, and its exchanges: a llama-stack recording is one, a
cassette one per HTTP interaction. Pure Python, like the readers it calls."""

from __future__ import annotations

from inspector import parsing
from inspector.cassettes import CassetteError, looks_like_cassette
from inspector.cassettes.exchanges import exchanges_of

LLAMA_STACK = "llama-stack"
LEGACY = "llama-stack-legacy"
VCR = "vcr"
# A cassette exchange keeps its interaction's bodies (request, response) on this attribute,
# never stored: the content search indexes them (inspector.contents) without reading the
# cassette a second time, which made importing the corpus's cassettes ~80% slower.
BODIES = "content_bodies"


def exchanges_in(data: bytes, name: str) -> tuple[str, list[parsing.Recording]] | None:
    """(format, exchanges in order) of the file `name` holding `data`; None for a file that is
    no recording (a YAML file of the tree's own: config, fixtures). A file that is one but
    cannot be read raises RecordingError, with the reason in one line."""
    if not name.endswith(".json"):
        return cassette_exchanges(data, name)
    try:
        return LLAMA_STACK, [parsing.parse(data)]
    except parsing.RecordingError:
        # vcrpy's json serializer writes cassettes as `.json` too; tried only when the file is
        # no llama-stack recording, which is what almost every `.json` file is.
        if looks_like_cassette(data, name):
            return cassette_exchanges(data, name)
        raise


def cassette_exchanges(data: bytes, name: str) -> tuple[str, list[parsing.Recording]] | None:
    try:
        cassette, exchanges = exchanges_of(data, name)
    except CassetteError as exc:
        # Read whole once; the shape is checked again only for a file that failed.
        if not looks_like_cassette(data, name):
            return None
        raise parsing.RecordingError(str(exc)) from exc
    for interaction, exchange in zip(cassette.interactions, exchanges, strict=True):
        setattr(exchange, BODIES, (interaction.request_body, interaction.response_body))
    return VCR, exchanges
