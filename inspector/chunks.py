"""A stream's chunks, stored column by column. Knows nothing of Django.

A chunk as the views and tests see it is a small dict (`{"i", "k", "content", "reasoning",
"tool", "role", "finish", "usage", "t", "event", "lines"}`, see `models.Stream`). A million of
them took ~300 bytes each in memory, and as stored JSON ~40 bytes each that every page decoded
back into dicts: a 1,000,000-chunk stream's page took seconds and each playback a gigabyte.
`Chunks` holds the same stream as columns instead: every content delta joined into one string
with the end of each chunk's piece (4 bytes a chunk), the same for reasoning, the combination
of kinds each chunk carries (1 byte a chunk), the tool-call fragments as columns of their own,
and the few other fields (role, finish, usage, times, SSE events) only where a chunk has them.
The text assembled after chunk N is then one slice, and a page never builds a dict per chunk.
It is still a `Sequence` of those dicts (built when one is asked for), so code written for the
list keeps working.
"""

from __future__ import annotations

import base64
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

VERSION = 1
# Fields kept only for the chunks that carry them: (positions, values).
SPARSE = ("role", "finish", "usage", "t", "event", "lines")
# A chunk whose combination of kinds is not among the first 255 has this id, and its "k" is
# kept as a sparse field (no stream seen carries more than a dozen combinations).
OVERFLOW = 255
# Pieces joined into one block every this many: a million one-character strings held ~50 MB.
BLOCK = 4096
INT64 = 2**63  # a tool call's index beyond int64 (no client sends one) is kept at its bound
PLAIN = ["content"]
PLAIN_KEY = ("content",)


class Joiner:
    """Text collected piece by piece and joined once: `+=` copied the whole text for every
    piece (51 s for a million one-character chunks)."""

    __slots__ = ("blocks", "length", "pieces")

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.pieces: list[str] = []
        self.length = 0

    def add(self, piece: str) -> None:
        self.pieces.append(piece)
        self.length += len(piece)
        if len(self.pieces) >= BLOCK:
            self.blocks.append("".join(self.pieces))
            self.pieces.clear()

    def value(self) -> str:
        return "".join([*self.blocks, *self.pieces])


def pack(values: array) -> str:
    if sys.byteorder == "big":  # stored little-endian
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def unpack(text: str, typecode: str = "I") -> array:
    values = array(typecode)
    values.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values


class Builder:
    """Takes chunk dicts one at a time (as the parser makes them) and keeps only columns."""

    def __init__(self) -> None:
        self.n = 0
        self.text, self.reasoning = Joiner(), Joiner()
        self.text_ends = array("I")
        self.reasoning_ends: array | None = None
        self.kinds: dict[tuple[str, ...], int] = {}
        self.kind_of = bytearray()
        self.tool_at, self.tool_index = array("I"), array("q")
        self.args, self.args_ends = Joiner(), array("I")
        self.tool_ids: dict[int, str] = {}
        self.tool_names: dict[int, str] = {}
        self.sparse: dict[str, tuple[array, list[Any]]] = {}
        self.interned: dict[str, str] = {}

    def add_text(self, content: str) -> None:
        """A chunk that carries a piece of text and nothing else: `{"i", "k": ["content"],
        "content"}`, most chunks of a long stream, added without its dict."""
        at = self.n
        self.n += 1
        text = self.text
        text.pieces.append(content)
        text.length += len(content)
        if len(text.pieces) >= BLOCK:
            text.blocks.append("".join(text.pieces))
            text.pieces.clear()
        self.text_ends.append(text.length)
        if self.reasoning_ends is not None:
            self.reasoning_ends.append(self.reasoning.length)
        number = self.kinds.get(PLAIN_KEY)
        self.kind_of.append(self.kind(PLAIN, at) if number is None else number)

    def add(self, chunk: dict[str, Any]) -> None:
        at = self.n
        self.n += 1
        content = chunk.get("content")
        if content:
            self.text.add(content)
        self.text_ends.append(self.text.length)
        reasoning = chunk.get("reasoning")
        if reasoning and self.reasoning_ends is None:
            self.reasoning_ends = array("I", bytes(4 * at))  # zeros before the first
        if reasoning:
            self.reasoning.add(reasoning)
        if self.reasoning_ends is not None:
            self.reasoning_ends.append(self.reasoning.length)
        self.kind_of.append(self.kind(chunk.get("k") or [], at))
        for fragment in chunk.get("tool") or ():
            number = len(self.tool_at)
            self.tool_at.append(at)
            self.tool_index.append(max(-INT64, min(fragment["index"], INT64 - 1)))
            self.args.add(fragment.get("args") or "")
            self.args_ends.append(self.args.length)
            if fragment.get("id"):
                self.tool_ids[number] = fragment["id"]
            if fragment.get("name"):
                self.tool_names[number] = fragment["name"]
        for name in SPARSE:
            if name in chunk:
                value = chunk[name]
                if isinstance(value, str):  # SSE event names repeat on every chunk
                    value = self.interned.setdefault(value, value)
                self.put(name, at, value)

    def kind(self, kinds: list[str], at: int) -> int:
        """The id of a combination of kinds; OVERFLOW, with the chunk's own, past 255."""
        key = tuple(kinds)
        number = self.kinds.get(key)
        if number is None and len(self.kinds) < OVERFLOW:
            number = self.kinds[key] = len(self.kinds)
        if number is None:
            self.put("k", at, list(kinds))
            return OVERFLOW
        return number

    def put(self, name: str, at: int, value: Any) -> None:
        column = self.sparse.get(name)
        if column is None:
            column = self.sparse[name] = (array("I"), [])
        column[0].append(at)
        column[1].append(value)

    def build(self) -> Chunks:
        return Chunks(
            n=self.n,
            text=self.text.value(),
            text_ends=self.text_ends,
            reasoning=self.reasoning.value(),
            reasoning_ends=self.reasoning_ends,
            kinds=[list(k) for k in self.kinds],
            kind_of=bytes(self.kind_of),
            tool_at=self.tool_at,
            tool_index=self.tool_index,
            args=self.args.value(),
            args_ends=self.args_ends,
            tool_ids=self.tool_ids,
            tool_names=self.tool_names,
            sparse=self.sparse,
        )


class Chunks(Sequence):
    """The chunks of one stream, column by column (see the module's docstring)."""

    def __init__(
        self,
        *,
        n: int,
        text: str,
        text_ends: array,
        reasoning: str,
        reasoning_ends: array | None,
        kinds: list[list[str]],
        kind_of: bytes,
        tool_at: array,
        tool_index: array,
        args: str,
        args_ends: array,
        tool_ids: dict[int, str],
        tool_names: dict[int, str],
        sparse: dict[str, tuple[array, list[Any]]],
    ) -> None:
        self.n, self.text, self.text_ends = n, text, text_ends
        self.reasoning, self.reasoning_ends = reasoning, reasoning_ends
        self.kinds, self.kind_of = kinds, kind_of
        self.tool_at, self.tool_index = tool_at, tool_index
        self.args, self.args_ends = args, args_ends
        self.tool_ids, self.tool_names = tool_ids, tool_names
        self.sparse = sparse
        self.cache: dict[str, Any] = {}  # what playback derives once per stream (pacing)

    # ----------------------------------------------------------------- building and storing

    @classmethod
    def of(cls, chunks: Iterable[dict[str, Any]]) -> Chunks:
        if isinstance(chunks, Chunks):
            return chunks
        builder = Builder()
        for chunk in chunks:
            builder.add(chunk)
        return builder.build()

    def as_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "n": self.n,
            "text": self.text,
            "text_ends": pack(self.text_ends),
            "reasoning": self.reasoning,
            "reasoning_ends": None if self.reasoning_ends is None else pack(self.reasoning_ends),
            "kinds": self.kinds,
            "kind_of": base64.b64encode(self.kind_of).decode("ascii"),
            "tool_at": pack(self.tool_at),
            "tool_index": pack(self.tool_index),
            "args": self.args,
            "args_ends": pack(self.args_ends),
            "tool_ids": [[k, v] for k, v in self.tool_ids.items()],
            "tool_names": [[k, v] for k, v in self.tool_names.items()],
            "sparse": {name: [pack(at), values] for name, (at, values) in self.sparse.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> Chunks:
        """The stored form; a list is the form before columns (rows imported before them)."""
        if isinstance(value, list):
            return cls.of(value)
        ends = value["reasoning_ends"]
        return cls(
            n=value["n"],
            text=value["text"],
            text_ends=unpack(value["text_ends"]),
            reasoning=value["reasoning"],
            reasoning_ends=None if ends is None else unpack(ends),
            kinds=value["kinds"],
            kind_of=base64.b64decode(value["kind_of"]),
            tool_at=unpack(value["tool_at"]),
            tool_index=unpack(value["tool_index"], "q"),
            args=value["args"],
            args_ends=unpack(value["args_ends"]),
            tool_ids={k: v for k, v in value["tool_ids"]},
            tool_names={k: v for k, v in value["tool_names"]},
            sparse={name: (unpack(at), values) for name, (at, values) in value["sparse"].items()},
        )

    # ----------------------------------------------------------------- the list of dicts

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self.chunk(i) for i in range(*key.indices(self.n))]
        if key < 0:
            key += self.n
        if not 0 <= key < self.n:
            raise IndexError("chunk index out of range")
        return self.chunk(key)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.chunk(i) for i in range(self.n))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chunks | list):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def chunk(self, i: int) -> dict[str, Any]:
        kind = self.kind_of[i]
        chunk: dict[str, Any] = {
            "i": i,
            "k": list(self.kinds[kind]) if kind != OVERFLOW else self.field("k", i),
        }
        content = self.content(i)
        if content:
            chunk["content"] = content
        reasoning = self.reasoning_of(i)
        if reasoning:
            chunk["reasoning"] = reasoning
        fragments = self.fragments(i, i + 1)
        if fragments:
            chunk["tool"] = [fragment for _, fragment in fragments]
        for name in self.sparse:
            if name != "k":
                value = self.field(name, i)
                if value is not None:
                    chunk[name] = value
        return chunk

    # ----------------------------------------------------------------- columns

    def text_end(self, at: int) -> int:
        """Length of the text after the first `at` chunks."""
        return self.text_ends[at - 1] if at > 0 else 0

    def reasoning_end(self, at: int) -> int:
        if self.reasoning_ends is None or at <= 0:
            return 0
        return self.reasoning_ends[at - 1]

    def content(self, i: int) -> str:
        return self.text[self.text_end(i) : self.text_end(i + 1)]

    def reasoning_of(self, i: int) -> str:
        return self.reasoning[self.reasoning_end(i) : self.reasoning_end(i + 1)]

    def field(self, name: str, i: int) -> Any:
        column = self.sparse.get(name)
        if column is None:
            return None
        where = bisect_left(column[0], i)
        return column[1][where] if where < len(column[0]) and column[0][where] == i else None

    def fragments(self, start: int, stop: int) -> list[tuple[int, dict[str, Any]]]:
        """(chunk number, fragment) of the tool-call fragments of chunks `start` to `stop`."""
        first = bisect_left(self.tool_at, start)
        last = bisect_left(self.tool_at, stop, lo=first)
        found = []
        for number in range(first, last):
            begin = self.args_ends[number - 1] if number else 0
            found.append(
                (
                    self.tool_at[number],
                    {
                        "index": self.tool_index[number],
                        "id": self.tool_ids.get(number, ""),
                        "name": self.tool_names.get(number, ""),
                        "args": self.args[begin : self.args_ends[number]],
                    },
                )
            )
        return found

    def rest(self, start: int, stop: int) -> list[tuple[int, str, Any]]:
        """(chunk number, field, value) of the sparse fields of chunks `start` to `stop`, in
        chunk order: all a frame needs besides text and tool fragments."""
        found = []
        for name, (positions, values) in self.sparse.items():
            first = bisect_left(positions, start)
            last = bisect_left(positions, stop, lo=first)
            found.extend((positions[j], name, values[j]) for j in range(first, last))
        found.sort(key=lambda item: item[0])
        return found

    def combinations(self) -> dict[tuple[str, ...], int]:
        """How many chunks carry each combination of kinds: a byte count per combination."""
        counts = {
            tuple(kinds): self.kind_of.count(bytes([number]))
            for number, kinds in enumerate(self.kinds)
        }
        for kinds in (self.sparse.get("k") or ((), []))[1]:
            counts[tuple(kinds)] = counts.get(tuple(kinds), 0) + 1
        return {kinds: count for kinds, count in counts.items() if count}

    def stamps(self) -> list[str]:
        """The time stamps of the chunks that have one, in order."""
        column = self.sparse.get("t")
        return [] if column is None else column[1]

    def times(self) -> list[str] | None:
        """Every chunk's time stamp when every chunk has one, else None."""
        column = self.sparse.get("t")
        if column is None or len(column[0]) != self.n:
            return None
        return column[1]
