"""A recording file's bytes to its JSON. Above LAZY_BYTES, a response body that is an array
is kept as its items' undecoded bytes (`RawList`), each decoded when read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import orjson

from inspector.wire.common import loads
from inspector.wire.types import RecordingError

# From this size a file's response body is split into its items' bytes first and each item
# decoded when read (`RawList`). orjson.loads of a 50 MB file of 1,000,000 one-character chunks
# held 960 MB of Python objects at once; split by msgspec (0.25 s), 130 MB. Smaller files are
# decoded whole, as before: one call, and every error message exactly orjson's.
LAZY_BYTES = 4 * 1024 * 1024
SPLIT_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
SPLIT_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


class RawList(Sequence):
    """A JSON array as its items' undecoded bytes, each decoded (by orjson, as the rest of the
    file) when it is read. An item that does not decode is the whole file's error."""

    def __init__(self, raws: list[msgspec.Raw], data: bytes) -> None:
        self.raws, self.data = raws, data

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self.decode(raw) for raw in self.raws[key]]
        return self.decode(self.raws[key])

    def __iter__(self) -> Iterator[Any]:
        return map(self.decode, self.raws)

    def decode(self, raw: msgspec.Raw) -> Any:
        try:
            return orjson.loads(memoryview(raw))
        except orjson.JSONDecodeError:
            loads(self.data)  # raises the file's error, as a whole-file decode would
            raise RecordingError("malformed JSON") from None


def load_document(data: bytes) -> Any:
    """The file's JSON; above LAZY_BYTES, a response body that is an array is a `RawList`."""
    if len(data) < LAZY_BYTES:
        return loads(data)
    try:
        top = SPLIT_OBJECT.decode(data.removeprefix(b"\xef\xbb\xbf"))
        response = SPLIT_OBJECT.decode(top["response"])
        body = response.get("body")
        if body is None or bytes(memoryview(body)[:1]) != b"[":
            return loads(data)
        document = {
            key: orjson.loads(memoryview(raw)) for key, raw in top.items() if key != "response"
        }
        document["response"] = {
            key: RawList(SPLIT_ARRAY.decode(raw), data)
            if key == "body"
            else orjson.loads(memoryview(raw))
            for key, raw in response.items()
        }
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, orjson.JSONDecodeError):
        return loads(data)  # not a recording, or not valid: the whole file says why
    # Keys in the file's order, "response" among them, as orjson gives them.
    return {key: document[key] for key in top}
