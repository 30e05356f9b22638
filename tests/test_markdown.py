"""Message and response text as Markdown (`inspector.markdown`), its exact text a click away,
and nothing in a recording able to put markup in a page."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from django.utils.html import escape

from inspector.importer import import_paths
from inspector.markdown import MARKDOWN_MAX, render
from tests.cassette_trees import request as cassette_request
from tests.cassette_trees import response as cassette_response
from tests.hostile_files import chat_request, completion, recording

MAX = 64 * 1024 * 1024
TEST_ID = "tests/integration/test_md.py::test_markdown"
NAME = "0" * 63 + "d"

# What rendered Markdown may hold: these tags, these attributes (and `href`, `data-load-image`
# only to the places `SAFE_URL` allows). Anything else is markup a recording put in the page.
TAGS = {
    "p", "br", "em", "strong", "s", "code", "pre", "span", "a", "button", "blockquote", "hr",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th",
    "td",
}  # fmt: skip
ATTRIBUTES = {
    "class", "href", "rel", "type", "data-load-image", "data-alt", "title", "data-lang",
    "start",  # `<ol start=3>`
}  # fmt: skip
SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<div onclick="alert(1)">raw HTML block</div>\n\nafter',
    "<iframe src=https://example.com/></iframe>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](javascript:alert(1))",
    "![x](file:///etc/passwd)",
    "[x](vbscript:msgbox(1))",
    '[x](https://example.com/"onmouseover="alert(1))',
    '![a" onerror="alert(1)](https://example.com/a.png)',
    "```html\n<script>alert(1)</script>\n```",
    '```"><script>alert(1)</script>\nx\n```',
    "`<b>` and <b>bold</b> and &lt;b&gt;",
    "<!-- a comment --><?php echo 1; ?><![CDATA[x]]>",
]


class Markup(HTMLParser):
    """Every tag and attribute of some HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def markup_of(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Markup()
    parser.feed(fragment)
    parser.close()
    return parser.tags


def assert_inert(fragment: str) -> None:
    for tag, attrs in markup_of(fragment):
        assert tag in TAGS, (tag, fragment)
        assert set(attrs) <= ATTRIBUTES, (attrs, fragment)
        for name in ("href", "data-load-image"):
            if name in attrs:
                assert SAFE_URL.match(attrs[name] or ""), (attrs, fragment)


# --------------------------------------------------------------------------- rendering


def test_it_renders_markdown():
    out = render(
        "# Title\n\nSome **bold** and *em*, `code`.\n\n- one\n- two\n\n| a |\n|---|\n| 1 |"
    )
    assert "<h4>Title</h4>" in out  # under the page's own headings
    assert "<strong>bold</strong>" in out
    assert "<em>em</em>" in out
    assert "<code>code</code>" in out
    assert "<li>one</li>" in out
    assert "<td>1</td>" in out


def test_it_keeps_a_model_s_single_newlines_as_line_breaks():
    assert render("first *line*\nsecond line") == "<p>first <em>line</em><br />\nsecond line</p>\n"


def test_it_leaves_plain_prose_as_it_is():
    # Markdown would change nothing: the page shows the text, with no "raw" view beside it.
    for text in ("What is 2+2?", 'AT&T said "<b>" twice.\nThen stopped.', "<img src=x>"):
        assert render(text) is None


@pytest.mark.parametrize("text", HOSTILE)
def test_it_lets_nothing_in_a_text_become_markup(text):
    out = render(text) or ""  # None: shown as it is, escaped by the template
    assert_inert(out)
    assert "<script" not in out.lower()
    assert "javascript:" not in "".join(
        str(a) for _, attrs in markup_of(out) for a in attrs.values()
    )


def test_it_shows_raw_html_as_the_text_it_is():
    out = render("<img src=x onerror=alert(1)> and <b>bold</b>, **really**")
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out


def test_it_leaves_script_and_data_links_as_text():
    out = render("[click](javascript:alert(1)) [doc](data:text/html,x) [ok](https://example.com)")
    assert "[click](javascript:alert(1))" in out
    assert "[doc](data:text/html,x)" in out
    assert [tag for tag, _ in markup_of(out)] == ["p", "a"]


def test_it_marks_links_not_to_be_followed_for_their_author():
    [(_, attrs)] = [t for t in markup_of(render("[a](https://example.com/x)")) if t[0] == "a"]
    assert attrs == {"href": "https://example.com/x", "rel": "noopener noreferrer nofollow"}


def test_it_never_loads_an_image_by_itself():
    out = render(
        '![a chart](https://example.com/chart.png "t") ![inline](data:image/png;base64,AA)'
    )
    assert "<img" not in out
    [(_, attrs)] = [t for t in markup_of(out) if t[0] == "button"]
    assert attrs["data-load-image"] == "https://example.com/chart.png"  # app.js loads it on a click
    assert attrs["data-alt"] == "a chart"
    assert "![inline](data:image/png;base64,AA)" in out  # not a link: left as written


def test_it_highlights_code_fences_with_pygments():
    out = render("```python\ndef f(x):\n    return x  # <b>\n```")
    assert '<pre class="hl md-code" data-lang="python"><code>' in out
    assert '<span class="k">def</span>' in out
    assert '<span class="nf">f</span>' in out
    assert "&lt;b&gt;" in out
    json_out = render('```json\n{"a": [1, "<x>"]}\n```')
    # As written, on one line: not re-indented as the JSON panels are.
    assert '<span class="nt">"a"</span><span class="p">:</span><span class="w"> </span>' in json_out
    assert "&lt;x&gt;" in json_out
    unknown = render("```no-such-language\n<i>x</i>\n```")
    assert "<code>&lt;i&gt;x&lt;/i&gt;\n</code>" in unknown


def test_it_leaves_very_long_texts_unrendered():
    assert render("*a*" * (MARKDOWN_MAX // 3 + 1)) is None


# --------------------------------------------------------------------------- the pages

TEXT = (
    "# Plan\n\nHere is **the plan**:\n\n```python\nprint('hi')\n```\n\n"
    "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))\n"
    "![chart](https://example.com/chart.png)\n  indented & spaced  \n"
)
ANSWER = "Done: *twice*.\n\n<div onclick=alert(1)>block</div>"


def raw_texts(page: str) -> list[str]:
    """The exact texts behind the "raw" toggles, unescaped."""
    return [
        html.unescape(t)
        for t in re.findall(r'<div class="md-raw-text">(.*?)</div></div>', page, re.S)
    ]


def rendered(page: str) -> list[str]:
    return re.findall(r'<div class="md">(.*?)</div><div class="md-raw-text">', page, re.S)


def assert_page_inert(page: str) -> None:
    """No markup but the app's own: its scripts and images from its own routes, no handler,
    no inline style, no frame, and links only where a click may go."""
    for tag, attrs in markup_of(page):
        assert tag not in ("iframe", "object", "embed", "style", "base", "form") or (
            tag == "form" and attrs.get("action") in ("/", "/diff")
        ), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on") or name == "style"], attrs
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        if tag == "img":
            assert (attrs.get("src") or "").startswith("/"), attrs  # inline images, served here
        if tag == "a":
            href = (attrs.get("href") or "").strip().lower()
            assert not href.startswith(("javascript:", "data:", "vbscript:")), attrs
    for fragment in rendered(page):
        assert_inert(fragment)


@pytest.fixture
def markdown_recording(tmp_path) -> Path:
    folder = tmp_path / "md" / "recordings"
    folder.mkdir(parents=True)
    messages = [{"role": "system", "content": "Be *brief*."}, {"role": "user", "content": TEXT}]
    document = recording(
        TEST_ID, chat_request(messages), completion({"role": "assistant", "content": ANSWER})
    )
    (folder / f"{NAME}.json").write_text(json.dumps(document))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    return folder


@pytest.mark.django_db
def test_it_shows_the_recording_page_s_messages_as_markdown_and_raw(client, markdown_recording):
    response = client.get(f"/r/md/recordings/{NAME}")
    assert response.status_code == 200
    page = response.content.decode()
    assert raw_texts(page) == ["Be *brief*.", TEXT, ANSWER]  # exact, to the last space
    system, user, answer = rendered(page)
    assert "<em>brief</em>" in system
    assert "<h4>Plan</h4>" in user
    assert "<strong>the plan</strong>" in user
    assert '<span class="nb">print</span>' in user
    assert 'data-load-image="https://example.com/chart.png"' in user
    assert "&lt;div onclick=alert(1)&gt;block&lt;/div&gt;" in answer
    assert_page_inert(page)


@pytest.mark.django_db
def test_it_lets_no_message_put_markup_in_a_page(client, tmp_path):
    folder = tmp_path / "hostile" / "recordings"
    folder.mkdir(parents=True)
    messages = [{"role": "user", "content": text} for text in HOSTILE]
    answer = {"role": "assistant", "content": "\n\n".join(HOSTILE)}
    document = recording(TEST_ID, chat_request(messages), completion(answer))
    (folder / f"{NAME}.json").write_text(json.dumps(document))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    for url in (f"/r/hostile/recordings/{NAME}", f"/test?id={quote(TEST_ID)}"):
        page = client.get(url).content.decode()
        assert_page_inert(page)
        # Every text is there as written: behind "raw", or shown as it is.
        for text in [*HOSTILE, answer["content"]]:
            assert escape(text) in page, (url, text)


@pytest.mark.django_db
def test_it_shows_the_test_page_s_messages_as_markdown_and_raw(client, markdown_recording):
    page = client.get("/test", {"id": TEST_ID}).content.decode()
    assert raw_texts(page) == ["Be *brief*.", TEXT, ANSWER]
    assert "<h4>Plan</h4>" in rendered(page)[1]
    assert_page_inert(page)


@pytest.mark.django_db
def test_it_shows_a_tool_result_as_it_is(client, tmp_path):
    folder = tmp_path / "tool" / "recordings"
    folder.mkdir(parents=True)
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "# not a heading *nor em*"},
    ]
    document = recording(
        TEST_ID, chat_request(messages), completion({"role": "assistant", "content": "ok"})
    )
    (folder / f"{NAME}.json").write_text(json.dumps(document))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    page = client.get(f"/r/tool/recordings/{NAME}").content.decode()
    assert '<div class="turn-text"># not a heading *nor em*</div>' in page


@pytest.mark.django_db
def test_it_shows_a_very_long_text_as_it_is(client, tmp_path):
    folder = tmp_path / "long" / "recordings"
    folder.mkdir(parents=True)
    long = "**not bold** " * (MARKDOWN_MAX // 13 + 1)
    document = recording(
        TEST_ID,
        chat_request([{"role": "user", "content": long}]),
        completion({"role": "assistant", "content": "ok"}),
    )
    (folder / f"{NAME}.json").write_text(json.dumps(document))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0
    page = client.get(f"/r/long/recordings/{NAME}").content.decode()
    assert f'<div class="turn-text">{long}</div>' in page
    assert "<strong>not bold</strong>" not in page


@pytest.mark.django_db
def test_it_shows_a_cassette_s_messages_as_markdown(client, tmp_path):
    folder = tmp_path / "project" / "tests" / "cassettes" / "test_mod"
    folder.mkdir(parents=True)
    answer = {
        "id": "chatcmpl-0",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "finish_reason": "stop",
            }
        ],
    }
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": TEXT}]}
    cassette = {
        "interactions": [
            {
                "request": cassette_request("https://api.openai.com/v1/chat/completions", body),
                "response": cassette_response(json.dumps(answer), "application/json"),
            }
        ],
        "version": 1,
    }
    (folder / "test_md.yaml").write_text(yaml.safe_dump(cassette))
    assert import_paths([tmp_path / "project"], max_bytes=MAX).failed == 0
    response = client.get("/r/" + quote("tests/cassettes/test_mod/test_md/1"))
    assert response.status_code == 200
    page = response.content.decode()
    assert raw_texts(page) == [TEXT, ANSWER]
    assert "<h4>Plan</h4>" in rendered(page)[0]
    assert_page_inert(page)
    # The cassette's own page: short texts whole, as Markdown; longer ones cut, as they are.
    summary = client.get("/r/" + quote("tests/cassettes/test_mod/test_md")).content.decode()
    assert raw_texts(summary) == [TEXT, ANSWER]
    assert "<h4>Plan</h4>" in rendered(summary)[0]
    assert_page_inert(summary)


# --------------------------------------------------------------------------- in a browser


@pytest.fixture
def served_markdown(transactional_db, tmp_path) -> None:
    folder = tmp_path / "md" / "recordings"
    folder.mkdir(parents=True)
    messages = [{"role": "user", "content": TEXT}]
    document = recording(
        TEST_ID, chat_request(messages), completion({"role": "assistant", "content": ANSWER})
    )
    (folder / f"{NAME}.json").write_text(json.dumps(document))
    assert import_paths([tmp_path], max_bytes=MAX).failed == 0


def test_it_switches_a_message_between_markdown_and_its_raw_text(
    live_server, page, served_markdown
):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for url in (f"/r/md/recordings/{NAME}", f"/test?id={quote(TEST_ID)}"):
        page.goto(live_server.url + url)
        message = page.locator(".md-text").first
        expect(message.locator(".md h4")).to_have_text("Plan")
        expect(message.locator(".md-raw-text")).to_be_hidden()
        message.locator(".md-raw-toggle").click()
        # The exact text in place of the Markdown, as written: `#`, `**` and all.
        expect(message.locator(".md-raw-text")).to_be_visible()
        expect(message.locator(".md")).to_be_hidden()
        assert message.locator(".md-raw-text").inner_text().startswith("# Plan\n\nHere is **the")
        message.locator(".md-raw-toggle").click()
        expect(message.locator(".md h4")).to_be_visible()
    # Nothing the recording names was fetched, and no script of its own ran or was refused.
    assert not [r for r in requests if "example.com" in r]
    assert errors == []
