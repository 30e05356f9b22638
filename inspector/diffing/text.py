"""A word-level diff of two texts, as (op, text) runs a template escapes. Pure: no Django."""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import SequenceMatcher

# Words and runs of punctuation, each with the space after it: a change of one word marks that
# word only. Space apart, as tokens of its own, it matched everywhere and made SequenceMatcher
# quadratic: 49 s for two different texts of 20,000 words, 0.1 s with it attached.
TOKEN = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+")
# Word by word when both sides' differing middles hold at most this many tokens (~0.1 s for two
# unrelated texts of that size); beyond, line by line first, then word by word within each
# replaced stretch of lines that is small enough, and whole otherwise. Two unrelated texts of
# 20,000 words took 1.9 s word by word, 100,000 took 59 s.
EXACT_MAX = 5_000
LINES_MAX = 5_000
EQUAL, INSERT, DELETE = "equal", "insert", "delete"

Ops = list[tuple[str, list[str]]]


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def word_ops(a: str, b: str) -> list[dict[str, str]]:
    """How `b` differs from `a`: `[{"op": "equal" | "delete" | "insert", "text"}]`, runs of one
    op joined; a replaced word is its deletion then its insertion. [] when both are empty."""
    left, right = tokens(a or ""), tokens(b or "")
    head = 0
    while head < min(len(left), len(right)) and left[head] == right[head]:
        head += 1
    tail = 0
    while tail < min(len(left), len(right)) - head and left[-1 - tail] == right[-1 - tail]:
        tail += 1
    mid_a, mid_b = left[head : len(left) - tail], right[head : len(right) - tail]
    ops: Ops = [(EQUAL, left[:head]), *middle_ops(mid_a, mid_b, by_lines=True)]
    ops.append((EQUAL, left[len(left) - tail :] if tail else []))
    ops = [(op, words) for op, words in ops if words]
    runs: list[dict[str, str]] = []
    for op, words in spaces_joined(ops):
        if not words:
            continue
        text = "".join(words)
        if runs and runs[-1]["op"] == op:
            runs[-1]["text"] += text
        else:
            runs.append({"op": op, "text": text})
    return runs


def middle_ops(a: list[str], b: list[str], *, by_lines: bool) -> Ops:
    if not a or not b:
        return [(DELETE, a), (INSERT, b)]
    if max(len(a), len(b)) <= EXACT_MAX:
        return matched(a, b, lambda x, y: [(DELETE, x), (INSERT, y)])
    lines_a, lines_b = lines_of(a), lines_of(b)
    if not by_lines or max(len(lines_a), len(lines_b)) > LINES_MAX:
        return [(DELETE, a), (INSERT, b)]
    ops: Ops = []
    texts_a, texts_b = ["".join(line) for line in lines_a], ["".join(line) for line in lines_b]
    matcher = SequenceMatcher(None, texts_a, texts_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        x = [token for line in lines_a[i1:i2] for token in line]
        if tag == "equal":
            ops.append((EQUAL, x))
            continue
        y = [token for line in lines_b[j1:j2] for token in line]
        ops += middle_ops(x, y, by_lines=False)
    return ops


def matched(a: list[str], b: list[str], replaced: Callable[[list[str], list[str]], Ops]) -> Ops:
    ops: Ops = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append((EQUAL, a[i1:i2]))
        else:
            ops += replaced(a[i1:i2], b[j1:j2])
    return ops


def lines_of(words: list[str]) -> list[list[str]]:
    """Tokens grouped in lines: a line ends with the token whose space holds a newline."""
    lines: list[list[str]] = [[]]
    for token in words:
        lines[-1].append(token)
        if "\n" in token:
            lines.append([])
    return lines if lines[-1] else lines[:-1]


def spaces_joined(ops: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """The space between two changed words changed with them: `capital of` replaced by
    `largest city` is one run each side, not two with a space left between them."""
    out: list[tuple[str, list[str]]] = []
    for k, (op, words) in enumerate(ops):
        between = 0 < k < len(ops) - 1 and ops[k - 1][0] != EQUAL and ops[k + 1][0] != EQUAL
        if op == EQUAL and between and all(word.isspace() for word in words):
            out += [(DELETE, words), (INSERT, words)]
        else:
            out.append((op, words))
    # Joined runs of one op: deletions first, then insertions, within each changed stretch.
    ordered: list[tuple[str, list[str]]] = []
    stretch: list[tuple[str, list[str]]] = []
    for op, words in [*out, (EQUAL, [])]:
        if op != EQUAL:
            stretch.append((op, words))
            continue
        ordered += [item for item in stretch if item[0] == DELETE]
        ordered += [item for item in stretch if item[0] == INSERT]
        stretch = []
        if words:
            ordered.append((op, words))
    return ordered


def changed(ops: list[dict[str, str]]) -> bool:
    return any(run["op"] != EQUAL for run in ops)
