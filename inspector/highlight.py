"""JSON pretty-printed and highlighted with Pygments, long values shortened in place.

Knows nothing of Django. The tokens come from walking the parsed value, not from re-lexing a
dump: that is faster, and it lets a shortened value carry a link to its whole self (placed
between Pygments-formatted segments, never inside text Pygments escapes). Everything from the
recording goes through Pygments' HTML escaping; the only markup added here is built from
escaped, quoted attribute values. The CSS is the static file `static/inspector/pygments.css`,
written by `python -m inspector.highlight > static/inspector/pygments.css`.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from pygments.formatters import HtmlFormatter
from pygments.token import Token, _TokenType

# Strings longer than this are cut to KEEP_CHARS; a 700 KB base64 image never reaches the page.
LONG_STRING = 300
KEEP_CHARS = 120
# Arrays of numbers (embeddings, logprobs) longer than this show their first LONG_NUMBERS items.
LONG_NUMBERS = 16
# Other arrays (streamed chunks, long conversations) keep a head and a tail.
LONG_ITEMS = 30
KEEP_HEAD = 20
KEEP_TAIL = 5
# Levels one call walks before it says "too deep" instead (with a link to the value, which shows
# that many more): each level costs the walk two Python frames, and a recording nested ~900 deep
# overflowed Python's stack of 1,000. Real recordings nest ~20 deep (JSON schemas of tools).
MAX_DEPTH = 100

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"
CSS_CLASS = "hl"

KEY = Token.Name.Tag
STRING = Token.Literal.String.Double
NUMBER = Token.Literal.Number
CONSTANT = Token.Keyword.Constant
PUNCT = Token.Punctuation
SPACE = Token.Text.Whitespace
NOTE = Token.Comment.Single

_formatter = HtmlFormatter(nowrap=True)

# A URL for the whole value at a JSON pointer, or None when there is nowhere to show it.
Linker = Callable[[str], str] | None


@dataclass
class Options:
    link: Linker
    shorten: bool = True


def pointer_join(pointer: str, key: str | int) -> str:
    """RFC 6901: `~` and `/` in a key are escaped."""
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def pointer_parts(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError("a JSON pointer starts with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer`; KeyError when there is none."""
    value = document
    for part in pointer_parts(pointer):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(pointer)
    return value


def string_token(text: str) -> str:
    # json.dumps is C code; non-ASCII stays readable, control characters are escaped.
    return json.dumps(text, ensure_ascii=False)


def scalar(value: Any) -> tuple[_TokenType, str]:
    if value is None:
        return CONSTANT, "null"
    if value is True:
        return CONSTANT, "true"
    if value is False:
        return CONSTANT, "false"
    if isinstance(value, int):
        return NUMBER.Integer, str(value)
    if isinstance(value, float):
        return NUMBER.Float, repr(value)
    return STRING, string_token(str(value))


def is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


class Writer:
    def __init__(self, options: Options, depth: int = 0) -> None:
        self.options = options
        self.deepest = depth + MAX_DEPTH  # indentation depth past which values are not walked
        self.tokens: list[tuple[_TokenType, str]] = []
        # Markup to place before the token at that index: the tokens stay one plain list, so
        # formatting never looks at them one by one in Python.
        self.marks: list[tuple[int, str]] = []

    def token(self, kind: _TokenType, text: str) -> None:
        self.tokens.append((kind, text))

    def markup(self, html: str) -> None:
        self.marks.append((len(self.tokens), html))

    def newline(self, depth: int) -> None:
        self.tokens.append((SPACE, "\n" + "  " * depth))

    def open_short(self) -> None:
        self.markup('<span class="short">')

    def close_short(self, pointer: str, label: str) -> None:
        link = self.options.link(pointer) if self.options.link else None
        if link:
            url = html.escape(link, quote=True)
            self.markup(
                f' <a class="whole" href="{url}" hx-get="{url}" hx-target="closest .short"'
                f' hx-swap="outerHTML" title="Show the whole value">{html.escape(label)}</a>'
            )
        else:
            self.token(NOTE, f" /* {label} */")
        self.markup("</span>")

    def value(self, value: Any, pointer: str, depth: int, expand: bool = False) -> None:
        """`expand`: this value is shown whole (its children are still shortened)."""
        shorten = self.options.shorten and not expand
        if value and isinstance(value, dict | list) and depth >= self.deepest:
            self.too_deep(value, pointer)
        elif isinstance(value, dict):
            self.mapping(value, pointer, depth)
        elif isinstance(value, list):
            self.sequence(value, pointer, depth, shorten)
        elif isinstance(value, str) and shorten and len(value) > LONG_STRING:
            self.open_short()
            self.token(STRING, string_token(value[:KEEP_CHARS])[:-1] + "…" + '"')
            self.close_short(pointer, f"+{len(value) - KEEP_CHARS:,} chars")
        else:
            self.token(*scalar(value))

    def too_deep(self, value: dict[str, Any] | list[Any], pointer: str) -> None:
        self.open_short()
        self.token(PUNCT, "{…}" if isinstance(value, dict) else "[…]")
        self.close_short(pointer, f"too deep: nested over {MAX_DEPTH} levels here")

    def mapping(self, value: dict[str, Any], pointer: str, depth: int) -> None:
        if not value:
            self.token(PUNCT, "{}")
            return
        self.token(PUNCT, "{")
        last = len(value) - 1
        for number, (key, item) in enumerate(value.items()):
            self.newline(depth + 1)
            self.token(KEY, string_token(str(key)))
            self.token(PUNCT, ":")
            self.token(SPACE, " ")
            self.value(item, pointer_join(pointer, key), depth + 1)
            if number != last:
                self.token(PUNCT, ",")
        self.newline(depth)
        self.token(PUNCT, "}")

    def sequence(self, value: list[Any], pointer: str, depth: int, shorten: bool) -> None:
        if not value:
            self.token(PUNCT, "[]")
            return
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            self.numbers(value, pointer, depth, shorten)
            return
        cut = shorten and len(value) > LONG_ITEMS
        if cut:
            self.open_short()
        self.token(PUNCT, "[")
        shown = (
            list(range(KEEP_HEAD)) + list(range(len(value) - KEEP_TAIL, len(value)))
            if cut
            else range(len(value))
        )
        last = len(value) - 1
        for index in shown:
            if cut and index == len(value) - KEEP_TAIL:
                self.newline(depth + 1)
                self.token(NOTE, f"/* … {len(value) - KEEP_HEAD - KEEP_TAIL:,} items not shown */")
            self.newline(depth + 1)
            self.value(value[index], pointer_join(pointer, index), depth + 1)
            if index != last:
                self.token(PUNCT, ",")
        self.newline(depth)
        self.token(PUNCT, "]")
        if cut:
            self.close_short(pointer, f"all {len(value):,} items")

    def numbers(self, value: list[Any], pointer: str, depth: int, shorten: bool) -> None:
        """Vectors on one line: 1,536 floats one per line helps nobody."""
        cut = shorten and len(value) > LONG_NUMBERS
        if cut:
            self.open_short()
        self.token(PUNCT, "[")
        for number, item in enumerate(value[:LONG_NUMBERS] if cut else value):
            if number:
                self.token(PUNCT, ",")
                self.token(SPACE, " ")
            self.token(*scalar(item))
        if cut:
            self.token(PUNCT, ",")
            self.token(NOTE, f" /* … {len(value) - LONG_NUMBERS:,} more */")
        self.token(PUNCT, "]")
        if cut:
            self.close_short(pointer, f"all {len(value):,} numbers")

    def html(self) -> str:
        parts: list[str] = []
        done = 0
        for index, markup in [*self.marks, (len(self.tokens), "")]:
            if index > done:
                segment = self.tokens[done:index]
                buffer = io.StringIO()
                _formatter.format(segment, buffer)
                text = buffer.getvalue()
                # The formatter ends its last, partial line with a newline the tokens lack.
                if not segment[-1][1].endswith("\n") and text.endswith("\n"):
                    text = text[:-1]
                parts.append(text)
                done = index
            parts.append(markup)
        return "".join(parts)


def highlight_json(
    value: Any,
    *,
    pointer: str = "",
    depth: int = 0,
    link: Linker = None,
    shorten: bool = True,
    expand: bool = False,
) -> str:
    """HTML (spans with Pygments classes, for a `<pre class="hl">`) of `value` as indented
    JSON. Long strings and arrays are shortened and wrapped in `<span class="short">` with a
    link to `link(pointer)` that htmx swaps for the whole value; `expand` shows the value itself
    whole. `depth` indents continuation lines for a value placed inside a bigger one."""
    writer = Writer(Options(link=link, shorten=shorten), depth)
    writer.value(value, pointer, depth, expand=expand)
    return writer.html()


def highlight_text(text: str, *, shorten_over: int = 20_000) -> tuple[str, bool]:
    """`text` (tool arguments, a tool result) highlighted as JSON when it is a JSON object or
    array; else escaped as it is. Returns (html, was_json)."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            # orjson, as the importer parses: the standard library's parser overflowed Python's
            # stack on arguments nested ~900 deep (orjson stops at 1,024 levels, with an error).
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:
            return highlight_json(value, shorten=len(text) > shorten_over), True
    return html.escape(text, quote=False), False


def value_link(page_path: str, prefix: str = "") -> Callable[[str], str]:
    """Links to the route that shows one value of a recording whole (`prefix`: its root's
    `Recording.url_prefix`)."""

    def link(pointer: str) -> str:
        return f"{prefix}/v/{quote(page_path)}?at={quote(pointer, safe='')}"

    return link


def stylesheet() -> str:
    """The light style, and the dark one under `prefers-color-scheme: dark`. Only rules scoped
    to `.hl` are kept (Pygments also styles every `pre`), and the dark block first undoes what
    the light style sets on classes the dark style leaves alone."""

    def rules(style: str) -> list[str]:
        defs = HtmlFormatter(style=style).get_style_defs(f".{CSS_CLASS}")
        return [line for line in defs.splitlines() if line.startswith(f".{CSS_CLASS}")]

    light, dark = rules(LIGHT_STYLE), rules(DARK_STYLE)
    classes = sorted({m for line in light for m in re.findall(r"^\.hl (\.[\w-]+) ", line)})
    reset = ", ".join(f".{CSS_CLASS} {c}" for c in classes)
    reset += (
        " { color: inherit; background-color: transparent; border: 0;"
        " font-weight: inherit; font-style: inherit; }"
    )
    body = "\n".join(f"  {line}" for line in [reset, *dark])
    return (
        "/* Generated by `python -m inspector.highlight > static/inspector/pygments.css`. */\n"
        + "\n".join(light)
        + f"\n@media (prefers-color-scheme: dark) {{\n{body}\n}}\n"
    )


if __name__ == "__main__":
    print(stylesheet(), end="")
