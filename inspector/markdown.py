"""Message and response text as Markdown, safe to put in a page.

Knows nothing of Django. Recording content is untrusted, so the renderer is locked down:
raw HTML is off (`<script>` and `<div onclick>` come out as text), only `http:`, `https:` and
`mailto:` links are made (`javascript:`, `data:`, `file:` and relative targets stay text),
links carry `rel="noopener noreferrer nofollow"`, and an image never loads by itself: it
becomes the "load image" button that `static/inspector/app.js` (`data-load-image`) turns into
an `<img>` on a click, so opening a page fetches nothing a recording names. Code fences are
highlighted by Pygments with the classes of `static/inspector/pygments.css` (`.hl`).
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from inspector.highlight import CSS_CLASS

# Above this many characters a text is shown as it is, not as Markdown: markdown-it-py is pure
# Python, and an 88 KB answer (the largest corpus stream grown to 20,000 chunks) took 283 ms and
# ~3,300 elements to render, over the 5,000 elements a recording's page keeps to. At 32 KB it is
# ~100 ms and ~1,200 elements, for a text few read whole.
MARKDOWN_MAX = 32_000
# Code fences longer than this are escaped, not highlighted (Pygments' lexers are slower still).
HIGHLIGHT_MAX = 50_000
LINK_REL = "noopener noreferrer nofollow"
SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
REMOTE_IMAGE = re.compile(r"^https?://", re.IGNORECASE)

_code_formatter = HtmlFormatter(nowrap=True)


def is_safe_link(url: str) -> bool:
    """markdown-it's own check allows `data:image/...` and relative links; here only links a
    click can follow to somewhere else, never a script or an inline document."""
    return bool(SAFE_LINK.match(url.strip()))


def highlight_code(code: str, language: str, _attrs: object = None) -> str:
    """A fence's code as Pygments spans, as written (JSON too: not re-indented), in a
    `<pre class="hl">` styled by `inspector.highlight`'s stylesheet; plain escaped text for an
    unknown language or a very long block."""
    name = language.strip().split(maxsplit=1)[0].lower() if language.strip() else ""
    body = ""
    if len(code) <= HIGHLIGHT_MAX and name:
        try:
            lexer = get_lexer_by_name(name)
        except ClassNotFound:
            pass
        else:
            body = pygments_highlight(code, lexer, _code_formatter)
    if not body:
        body = html.escape(code, quote=False)
    lang = f' data-lang="{html.escape(name, quote=True)}"' if name else ""
    return f'<pre class="{CSS_CLASS} md-code"{lang}><code>{body}</code></pre>\n'


class SafeRenderer(RendererHTML):
    """Headings start at `<h4>`: a message's `# Title` must not outrank the page's own."""

    def heading_open(
        self, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return f"<{demoted(tokens[idx].tag)}>"

    def heading_close(
        self, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return f"</{demoted(tokens[idx].tag)}>\n"

    def link_open(self, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        tokens[idx].attrSet("rel", LINK_REL)
        return self.renderToken(tokens, idx, options, env)

    def image(self, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = self.renderInlineAsText(token.children or [], options, env)
        label = html.escape(alt or "image", quote=False)
        if REMOTE_IMAGE.match(src):
            url = html.escape(src, quote=True)
            return (
                f'<button type="button" class="md-image" data-load-image="{url}"'
                f' data-alt="{html.escape(alt, quote=True)}" title="{url}">'
                f"Load image: {label}</button>"
            )
        return f'<span class="md-image muted">[image: {label}]</span>'


def demoted(tag: str) -> str:
    return f"h{min(int(tag[1]) + 3, 6)}"


def _parser() -> MarkdownIt:
    parser = MarkdownIt(
        "commonmark",
        # `breaks`: a model's single newlines are line breaks as it meant them.
        {"html": False, "breaks": True, "highlight": highlight_code},
        renderer_cls=SafeRenderer,
    ).enable(["table", "strikethrough"])
    parser.validateLink = is_safe_link  # type: ignore[method-assign]
    return parser


_md = _parser()


def render(text: str) -> str | None:
    """The HTML of `text` as Markdown; None when the page should show the text as it is: too
    long to render (`MARKDOWN_MAX`), or plain prose Markdown changes nothing in (one paragraph,
    its line breaks kept), which needs no "raw" view beside it."""
    if len(text) > MARKDOWN_MAX:
        return None
    html = _md.render(text)
    if html == f"<p>{escapeHtml(text).replace(chr(10), '<br />' + chr(10))}</p>\n":
        return None
    return html
