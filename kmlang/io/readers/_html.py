"""HTML to plain text: paragraphs kept, code blocks and quotations dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "tidy"]

_BLOCK = frozenset({"p", "div", "ul", "ol", "dl", "table", "h1", "h2",
                    "h3", "h4", "h5", "h6", "hr", "section", "article", "header", "footer",
                    "details", "summary", "figure", "figcaption", "body", "html"})
_LINE = frozenset({"br", "li", "tr", "dt", "dd"})
# dropped with everything inside: code blocks, quotations of other posts, non-text
_DROP = frozenset({"pre", "blockquote", "aside", "script", "style", "head", "title",
                   "noscript", "svg", "math", "template"})
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area", "col"})


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.drop: list[str] = []  # stack of open dropped tags
        self.code: list[str] | None = None  # text of an open <code> outside <pre>

    def handle_starttag(self, tag: str, attrs) -> None:
        if self.drop:
            if tag == self.drop[0] and tag not in _VOID:
                self.drop.append(tag)
            return
        if tag in _DROP:
            self.drop.append(tag)
        elif tag == "code" and self.code is None:
            self.code = []
        elif tag in _LINE:
            self.out.append("\n")
        elif tag in _BLOCK:
            self.out.append("\n\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _VOID or tag in _LINE:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.drop:
            if tag == self.drop[0]:
                self.drop.pop()
            return
        if tag == "code" and self.code is not None:
            text = "".join(self.code)
            if "\n" not in text.strip():  # inline code stays, a code block goes
                self.out.append(text)
            self.code = None
        elif tag in _BLOCK and tag not in _VOID:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        if self.code is not None:
            self.code.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))


def tidy(text: str) -> str:
    """Strip each line, keep single blank lines between paragraphs, strip the ends."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str) -> str:
    """Text of an HTML fragment.

    Block elements become paragraphs (a blank line between them), ``<br>`` and
    list items new lines; entities are decoded. ``<pre>`` blocks, ``<code>``
    spanning several lines, ``<blockquote>`` and ``<aside>`` (Discourse quotes
    and link previews) are dropped with their content; inline ``<code>`` is kept.
    """
    if not html:
        return ""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    if parser.code:
        parser.out.append("".join(parser.code))
    text = "".join(parser.out).replace("\xa0", " ")
    return tidy(re.sub(r"[ \t]+", " ", text))
