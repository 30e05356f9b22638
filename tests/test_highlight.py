from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from inspector.highlight import (
    KEEP_CHARS,
    MAX_DEPTH,
    highlight_json,
    highlight_text,
    pointer_join,
    resolve,
    stylesheet,
    value_link,
)

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"<[^>]+>")


def text_of(markup: str) -> str:
    """What a reader sees: the markup without tags, entities decoded."""
    return html.unescape(TAG.sub("", markup))


def test_it_pretty_prints_json_with_pygments_classes():
    markup = highlight_json({"name": "x", "n": 1, "f": 1.5, "ok": True, "none": None, "xs": []})

    assert text_of(markup) == json.dumps(
        {"name": "x", "n": 1, "f": 1.5, "ok": True, "none": None, "xs": []}, indent=2
    )
    for css in ('class="nt"', 'class="s2"', 'class="mi"', 'class="mf"', 'class="kc"', 'class="p"'):
        assert css in markup


def test_it_escapes_markup_in_keys_and_values():
    markup = highlight_json(
        {"<script>alert(1)</script>": "<img src=x onerror=alert(1)>", "a": "</pre>&amp;"}
    )

    assert "<script>" not in markup
    assert "<img" not in markup
    assert "</pre>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&amp;amp;" in markup


def test_it_shortens_a_long_string_and_links_to_it_whole():
    image = "data:image/png;base64," + "A" * 700_000
    markup = highlight_json(
        {"url": image}, pointer="/request", link=value_link("inference/recordings/abc")
    )

    assert len(markup) < 2_000
    assert text_of(markup).startswith('{\n  "url": "data:image/png;base64,AAAA')
    assert f"+{len(image) - KEEP_CHARS:,} chars" in text_of(markup)
    link = re.search(r'<a class="whole" href="([^"]+)" hx-get="([^"]+)"', markup)
    assert link is not None
    assert link[1] == link[2] == "/v/inference/recordings/abc?at=%2Frequest%2Furl"
    assert '<span class="short">' in markup


def test_it_shortens_long_number_arrays_to_their_first_sixteen_values():
    vector = [i / 10 for i in range(1536)]
    markup = highlight_json({"embedding": vector}, link=value_link("x"))

    shown = text_of(markup)
    first = ", ".join(str(i / 10) for i in range(16))
    assert f"[{first}," in shown
    assert "1.6" not in shown
    assert "… 1,520 more" in shown
    assert "all 1,536 numbers" in shown


def test_it_keeps_the_head_and_tail_of_a_long_list_of_objects():
    chunks = [{"i": i} for i in range(1000)]
    shown = text_of(highlight_json(chunks, link=None))

    items = [int(n) for n in re.findall(r'"i": (\d+)', shown)]
    assert items == [*range(20), *range(995, 1000)]
    assert "… 975 items not shown" in shown
    assert "all 1,000 items" in shown


def test_it_shows_a_value_whole_when_expanded_but_still_shortens_its_children():
    value = [{"blob": "x" * 1000}] * 40
    shown = text_of(highlight_json(value, pointer="/response/body", expand=True, link=None))

    assert shown.count('"blob"') == 40
    assert "items not shown" not in shown
    assert shown.count("+880 chars") == 40


def test_it_shows_a_long_string_whole_when_expanded():
    shown = text_of(highlight_json("y" * 5000, expand=True))

    assert shown == json.dumps("y" * 5000)


def test_it_indents_a_value_placed_deep_inside_another():
    shown = text_of(highlight_json({"a": 1}, depth=2))

    assert shown == '{\n      "a": 1\n    }'


def test_it_marks_a_shortened_value_without_a_link_when_there_is_nowhere_to_show_it():
    markup = highlight_json("z" * 400, link=None)

    assert "<a " not in markup
    assert "/* +280 chars */" in text_of(markup)


def test_it_highlights_text_only_when_it_is_a_json_object_or_array():
    assert highlight_text('{"city": "Oslo"}')[1] is True
    assert highlight_text("[1, 2]")[1] is True
    assert highlight_text("just <b>words</b>") == ("just &lt;b&gt;words&lt;/b&gt;", False)
    assert highlight_text('{"broken": ') == ('{"broken": ', False)


@pytest.mark.parametrize(
    "key", ["plain", "with/slash", "with~tilde", "~1 both /~0", "", "0", "ünïcode"]
)
def test_it_finds_the_value_at_a_pointer_it_made(key):
    document = {"request": {"body": {key: [{"deep": "value"}]}}}
    pointer = pointer_join(pointer_join(pointer_join("/request", "body"), key), 0)

    assert resolve(document, pointer) == {"deep": "value"}
    assert resolve(document, "") == document


@pytest.mark.parametrize("pointer", ["/request/nope", "/request/body/9", "/request/body/-1"])
def test_it_refuses_a_pointer_to_nothing(pointer):
    with pytest.raises(KeyError):
        resolve({"request": {"body": [1, 2]}}, pointer)


def test_it_committed_the_stylesheet_it_generates():
    css = stylesheet()

    assert (ROOT / "static" / "inspector" / "pygments.css").read_text() == css
    assert "@media (prefers-color-scheme: dark)" in css
    assert ".hl .nt" in css
    # Only rules for highlighted blocks: Pygments' own `pre { ... }` would restyle every page.
    outside = [line for line in css.splitlines() if line and line[0] not in ".@/ }"]
    assert outside == []


def test_it_stops_at_a_depth_and_links_to_the_rest():
    text = '{"k":[' * 450 + '"bottom"' + "]}" * 450  # 900 levels, as text: no encoder walks it
    deep = orjson.loads(text)
    markup = highlight_json(deep, link=value_link("x"))
    assert "bottom" not in markup
    assert markup.count("too deep") == 1
    # The link shows the value it stopped at, as deep again: the rest is a few clicks away.
    pointer = "/k/0" * (MAX_DEPTH // 2)
    assert f'href="/v/x?at={quote(pointer, safe="")}"' in markup
    inner = highlight_json(resolve(deep, pointer), pointer=pointer, link=value_link("x"))
    assert "too deep" in inner
    # Without a link, it says so in a comment; text nested ~900 deep is still highlighted.
    assert "/* too deep: nested over" in text_of(highlight_json(deep))
    shown, was_json = highlight_text(text)
    assert was_json
    assert "too deep" in shown
