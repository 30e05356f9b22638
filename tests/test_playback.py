from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from inspector import parsing, playback

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def streams(top: Path) -> list[tuple[str, parsing.Recording]]:
    found = []
    for path in sorted(top.rglob("*.json")):
        parsed = parsing.parse(path.read_bytes())
        if parsed.chunks:
            found.append((path.relative_to(top).as_posix(), parsed))
    return found


def final_state(frame: playback.Frame) -> tuple:
    return (
        frame.role,
        frame.text,
        frame.reasoning,
        frame.finish_reason,
        [(t.call_id, t.name, t.arguments) for t in frame.tool_calls],
        frame.usage,
    )


def reassembled(parsed: parsing.Recording) -> tuple:
    response = parsed.response
    return (
        response.role,
        response.text,
        response.reasoning,
        response.finish_reason,
        [(c.call_id, c.name, c.arguments) for c in response.tool_calls],
        {k: v for k, v in vars(parsed.usage).items() if v is not None},
    )


def check_every_frame(parsed: parsing.Recording) -> None:
    all_frames = list(playback.frames(parsed.chunks))
    assert len(all_frames) == len(parsed.chunks) + 1
    assert [f.at for f in all_frames] == list(range(len(parsed.chunks) + 1))
    # Text only ever grows: each frame extends the one before.
    for before, after in pairwise(all_frames):
        assert after.text.startswith(before.text)
        assert after.reasoning.startswith(before.reasoning)
    assert final_state(all_frames[-1]) == reassembled(parsed)
    # Seeking to N gives the frame that playing to N gives.
    for at in {0, 1, len(parsed.chunks) // 2, len(parsed.chunks)}:
        assert playback.frame_at(parsed.chunks, at) == all_frames[at]


def test_it_ends_every_fixture_stream_with_the_reassembled_response():
    found = streams(FIXTURES)
    assert len(found) >= 8
    for _, parsed in found:
        check_every_frame(parsed)


@pytest.mark.corpus
def test_it_ends_every_corpus_stream_with_the_reassembled_response(corpus):
    found = streams(corpus)
    assert len(found) >= 115
    for path, parsed in found:
        try:
            check_every_frame(parsed)
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from exc


def test_it_paces_untimed_streams_evenly_and_timed_ones_by_their_gaps():
    untimed = [{"i": i, "k": ["content"], "content": "x"} for i in range(4)]
    assert playback.gaps(untimed, 1.0) == [0.0] + [playback.CHUNK_INTERVAL] * 3
    assert playback.gaps(untimed, 2.0) == [0.0] + [playback.CHUNK_INTERVAL / 2] * 3
    timed = [
        {"i": 0, "k": ["content"], "t": "2025-08-04T22:55:11.000Z"},
        {"i": 1, "k": ["content"], "t": "2025-08-04T22:55:11.500Z"},
        {"i": 2, "k": ["content"], "t": "2025-08-04T22:55:31.500Z"},  # a 20 s stall
    ]
    assert playback.times(timed) == [0.0, 0.5, 20.5]
    assert playback.times([*timed, {"i": 3, "k": ["finish"]}]) is None  # one without a time
    assert playback.gaps(timed, 1.0) == [0.0, 0.5, playback.LONGEST_GAP]
    assert playback.gaps(timed, 10.0) == [0.0, 0.05, playback.LONGEST_GAP / 10]


def test_it_gives_tool_calls_a_lane_each():
    chunks = [
        {"i": 0, "k": ["role"], "role": "assistant"},
        {"i": 1, "k": ["tool"], "tool": [{"index": 0, "id": "a", "name": "f", "args": ""}]},
        {"i": 2, "k": ["tool"], "tool": [{"index": 1, "id": "b", "name": "g", "args": "{}"}]},
        {"i": 3, "k": ["content", "finish"], "content": "ok", "finish": "stop"},
    ]
    assert playback.lanes(chunks) == ["role", "content", "tool:0", "tool:1", "finish"]
    marks = playback.marks(chunks)
    assert sorted((m["lane"], m["first"]) for m in marks) == [
        ("content", 3),
        ("finish", 3),
        ("role", 0),
        ("tool:0", 1),
        ("tool:1", 2),
    ]
    # The page orders the lanes of its marks rather than reading the chunks again.
    assert playback.lane_order({m["lane"] for m in marks}) == playback.lanes(chunks)


def test_it_keeps_the_strip_small_for_huge_streams():
    chunks = [{"i": i, "k": ["content"], "content": "x"} for i in range(20_000)]
    marks = playback.marks(chunks, limit=1000)
    assert len(marks) == 1000
    assert (marks[0]["first"], marks[0]["last"]) == (0, 19)
    assert marks[-1]["last"] == 19_999


def test_it_marks_each_lane_from_its_first_to_its_last_chunk_in_a_column():
    chunks = [
        {"i": 0, "k": ["role", "content"], "role": "assistant", "content": "a"},
        {"i": 1, "k": ["tool"], "tool": [{"index": 2, "args": "{"}, {"index": 0, "args": "{"}]},
        {"i": 2, "k": ["content"], "content": "b"},
        {"i": 3, "k": ["tool", "finish"], "tool": [{"index": 2, "args": "}"}], "finish": "x"},
    ]
    assert playback.marks(chunks, limit=2) == [
        {"column": 0, "lane": "role", "first": 0, "last": 0},
        {"column": 0, "lane": "content", "first": 0, "last": 0},
        {"column": 0, "lane": "tool:2", "first": 1, "last": 1},
        {"column": 0, "lane": "tool:0", "first": 1, "last": 1},
        {"column": 1, "lane": "content", "first": 2, "last": 2},
        {"column": 1, "lane": "finish", "first": 3, "last": 3},
        {"column": 1, "lane": "tool:2", "first": 3, "last": 3},
    ]
    assert playback.marks(chunks, limit=1) == [
        {"column": 0, "lane": "role", "first": 0, "last": 0},
        {"column": 0, "lane": "content", "first": 0, "last": 2},
        {"column": 0, "lane": "tool:2", "first": 1, "last": 3},
        {"column": 0, "lane": "tool:0", "first": 1, "last": 1},
        {"column": 0, "lane": "finish", "first": 3, "last": 3},
    ]


def test_it_makes_whitespace_visible():
    assert playback.visible(" a\tb\nc") == "·a→b↵c"
