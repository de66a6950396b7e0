"""HTML to plain text on lxml: visible text only, markup read and never rendered (KB and web reader)."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from agent_app.textsafe import clean_text

# Elements whose content a reader never sees as text.
_SKIPPED = frozenset({
    "head", "script", "style", "noscript", "template", "svg", "math", "iframe", "object",
    "embed", "canvas", "select", "textarea", "button", "audio", "video",
})  # fmt: skip
_BLOCK = frozenset({
    "p", "div", "br", "li", "tr", "table", "section", "article", "blockquote", "pre", "ul", "ol",
    "dl", "dt", "dd", "header", "footer", "main", "nav", "aside", "hr", "figure", "figcaption",
    "form", "details", "summary", "caption", "address", "fieldset", "legend",
})  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_CELLS = frozenset({"td", "th"})
# Text styled away (including zero-size and fully transparent text) is hidden from a reader and
# a favourite place for instructions aimed at the model.
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?![.\d]*[1-9])"
    r"|opacity\s*:\s*0(?![.\d]*[1-9])|color\s*:\s*transparent"
)
_ZERO_BOX = re.compile(r"(?:^|[;\s])(?:max-)?(?:height|width)\s*:\s*0(?![.\d]*[1-9])")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u3000]+")
# Control characters cannot occur in the parsed text (clean_text removed them): safe markers.
_HARD_SPACE, _HARD_TAB = "\x02", "\x03"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030"}


class HtmlTooDeepError(ValueError):
    """The markup nests deeper than the parser follows; its text cannot be read reliably."""


@dataclass(frozen=True)
class Block:
    """A run of visible text: a heading (level 1–6) or body text (level 0)."""

    level: int
    text: str


def _parse(html: str) -> Any:
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
        recover=True, huge_tree=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(clean_text(html).encode("utf-8"), parser=parser)
    except etree.ParserError:  # an empty document, or one made only of comments
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        raise HtmlTooDeepError("HTML nested too deeply")
    return root


def _hidden(element: Any) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.lower() in _SKIPPED:
        return True
    attrs = {str(k).lower(): str(v).lower() for k, v in element.attrib.items()}
    style = attrs.get("style", "")
    return (
        "hidden" in attrs
        or attrs.get("aria-hidden", "").strip() == "true"
        or bool(_HIDDEN_STYLE.search(style))
        or ("overflow" in style and "hidden" in style and bool(_ZERO_BOX.search(style)))
    )


class _Collector:
    """Walks the tree once (no recursion: deep documents are fine) and gathers text blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.title = ""
        self._buf: list[str] = []
        self._level = 0  # heading level while inside h1–h6
        self._pre = 0

    def add(self, text: str | None) -> None:
        if text and self._pre:
            # Inside <pre> spacing is content: hard spaces survive the line tidying in _flush.
            self._buf.append(text.replace(" ", _HARD_SPACE).replace("\t", _HARD_TAB))
        elif text:
            self._buf.append(_SPACE.sub(" ", text))

    def start(self, tag: str) -> None:
        if tag in _HEADINGS:
            self._flush()
            self._level = _HEADINGS[tag]
        elif tag in _BLOCK:
            self._buf.append("\n")
        elif tag in _CELLS:
            self._buf.append(" | ")
        self._pre += tag == "pre"

    def end(self, tag: str) -> None:
        self._pre -= tag == "pre"
        if tag in _HEADINGS:
            self._flush()
            self._level = 0
        elif tag in _BLOCK:
            self._buf.append("\n")

    def _flush(self) -> None:
        lines = (re.sub(" {2,}", " ", line).strip(" ") for line in "".join(self._buf).split("\n"))
        text = "\n".join(line for line in lines if line)
        text = text.replace(_HARD_SPACE, " ").replace(_HARD_TAB, "\t")
        if text:
            self.blocks.append(Block(self._level, clean_text(text)))
        self._buf = []

    def finish(self) -> list[Block]:
        self._flush()
        return self.blocks


def html_blocks(html: str) -> tuple[str, list[Block]]:
    """(title, visible text blocks) of a document; a hidden element drops only its own subtree."""
    root = _parse(html)
    collector = _Collector()
    if root is None:
        return "", []
    title = root.find("head/title")
    if title is not None:
        collector.title = " ".join("".join(title.itertext()).split())
    skipping: Any = None
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if skipping is not None:
            if event == "end" and element is skipping:
                skipping = None
                collector.add(element.tail)  # the text after a hidden element is visible
            continue
        if event == "start":
            if _hidden(element):
                skipping = element
                continue
            collector.start(tag)
            collector.add(element.text)
        else:
            collector.end(tag)
            collector.add(element.tail)
    return collector.title, collector.finish()


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines."""
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(title, visible text) of a page, headings inline; comments and markup never reach the text."""
    title, blocks = html_blocks(html)
    return title, "\n\n".join(block.text for block in blocks)


def html_sections(html: str) -> list[dict[str, Any]]:
    """Visible text of a document split at h1–h6, each section with its heading path."""
    path: list[tuple[int, str]] = []
    sections: list[dict[str, Any]] = []
    for block in html_blocks(html)[1]:
        if block.level:
            title = " ".join(block.text.split())
            path = [(lvl, t) for lvl, t in path if lvl < block.level] + [(block.level, title)]
            continue
        heading = " > ".join(t for _, t in path) or None
        sections.append({"text": block.text, "page": None, "heading": heading})
    return sections


def decode_body(body: bytes, content_type_charset: str | None, is_html: bool) -> str:
    """Decode with the declared charset, a BOM, or an HTML <meta charset>; UTF-8 otherwise."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    charset = content_type_charset
    if not charset and is_html:
        match = _META_CHARSET.search(body[:4096])
        charset = match.group(1).decode("ascii") if match else None
    charset = _CHARSET_ALIASES.get((charset or "utf-8").lower(), charset or "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, "replace")
