"""Model and document text made inert for st.markdown: no remote images, foreign links, HTML or LaTeX."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from agent_app.textsafe import strip_invisible

# Links to these hosts (and their subdomains) stay clickable; everything else is shown as text.
ALLOWED_LINK_HOSTS: tuple[str, ...] = (
    "aliyun.com",
    "aliyuncs.com",
    "alibabacloud.com",
    "qwen.ai",
    "github.com",
    "python.org",
    "streamlit.io",
    "langchain.com",
    "wikipedia.org",
)
_DEST = r"<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*"
_TITLE = r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?"
_LABEL = r"(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*"
_TOKEN = re.compile(
    rf"(?P<esc>\\[!-/:-@\[-`{{-~])"
    rf"|(?P<img>!\[(?P<alt>{_LABEL})\](?:\(\s*(?P<src>{_DEST}){_TITLE}\s*\)|\[[^\[\]]*\])?)"
    rf"|(?P<link>\[(?P<text>{_LABEL})\]\(\s*(?P<href>{_DEST}){_TITLE}\s*\))"
    r"|(?P<url>(?<![A-Za-z0-9])(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)[^\s<>`]+)"
    r"|(?P<lt><)|(?P<dollar>\$)|(?P<brk>\](?=[(\[:]))"
)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DEFINITION = re.compile(r"^ {0,3}\[(?P<label>[^\]]*)\]:\s*(?P<dest>\S*)(?P<rest>.*)$", re.S)
_URL_TAIL = ".,;:!?*_~'\")"
_URL_STARTS = ("https://", "http://", "www.")


def host_allowed(url: str, allow_hosts: tuple[str, ...] = ALLOWED_LINK_HOSTS) -> bool:
    """True for an http(s) URL whose host is an allowlisted domain or one of its subdomains."""
    url = url.strip().strip("<>")
    if url.lower().startswith("www."):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or parts.username
        or parts.password
    ):
        return False
    return any(host == h or host.endswith("." + h) for h in allow_hosts)


def _code(text: str) -> str:
    """Inline code that cannot be closed early by backticks inside it."""
    text = text.replace("\n", " ")
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return (
        f"{ticks} {text} {ticks}"
        if text.startswith("`") or text.endswith("`")
        else f"{ticks}{text}{ticks}"
    )


def _escape_label(text: str) -> str:
    return re.sub(r"([\[\]<$\\`*_])", r"\\\1", text.replace("\n", " "))


def _inline(text: str, allow: tuple[str, ...]) -> str:
    """Sanitize a piece of a line that holds no code span."""
    return _TOKEN.sub(lambda m: _replace(m, allow), text)


def _replace(m: re.Match[str], allow: tuple[str, ...]) -> str:
    kind = m.lastgroup
    if kind == "esc":
        return m.group(0)
    if kind == "img":
        src = m.group("src") or ""
        label = "\\[image: " + _escape_label(m.group("alt") or "").strip() + "\\]"
        return f"[{label}]({src.strip('<>')})" if host_allowed(src, allow) else label
    if kind == "link":
        href, text = m.group("href") or "", _inline(m.group("text") or "", allow)
        if host_allowed(href, allow):
            return f"[{text}]({href})"
        return f"{text} ({_code(href.strip('<>'))})" if href else text
    if kind == "url":
        url = m.group("url")
        core = url.rstrip(_URL_TAIL)
        tail = url[len(core) :]
        return m.group(0) if host_allowed(core, allow) else _code(core) + _inline(tail, allow)
    return {"lt": "\\<", "dollar": "\\$", "brk": "\\]"}[kind or "lt"]


def _code_spans(line: str) -> list[tuple[bool, str]]:
    """Split a line into (is_code, text) parts; an unclosed backtick run is plain text."""
    parts: list[tuple[bool, str]] = []
    pos = start = 0
    while (m := re.compile(r"(?<!\\)`+").search(line, pos)) is not None:
        close = re.compile(rf"(?<!`){m.group(0)}(?!`)").search(line, m.end())
        if close is None:
            pos = m.end()
            continue
        parts.append((False, line[start : m.start()]))
        parts.append((True, line[m.start() : close.end()]))
        pos = start = close.end()
    parts.append((False, line[start:]))
    return parts


def _line(line: str, allow: tuple[str, ...]) -> str:
    definition = _DEFINITION.match(line)
    if definition and not host_allowed(definition.group("dest"), allow):
        dest = definition.group("dest")
        return (
            f"\\[{_escape_label(definition.group('label'))}\\]: {_code(dest) if dest else ''}"
            + _inline(definition.group("rest"), allow)
        )
    return "".join(text if code else _inline(text, allow) for code, text in _code_spans(line))


class _Lines:
    """Line-by-line sanitizer that knows whether it is inside a fenced code block."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self.allow = allow
        self.fence: str | None = None

    def line(self, line: str) -> str:
        """Sanitize one complete line (with its newline) and advance the fence state."""
        opener = _FENCE.match(line)
        if self.fence is not None:
            if (
                opener
                and opener.group(1)[0] == self.fence[0]
                and len(opener.group(1)) >= len(self.fence)
                and not line[opener.end() :].strip()
            ):
                self.fence = None
            return line
        if opener and not (opener.group(1)[0] == "`" and "`" in line[opener.end() :]):
            self.fence = opener.group(1)
            return line
        return _line(line, self.allow)


@lru_cache(maxsize=4096)
def _sanitize(text: str, allow: tuple[str, ...]) -> str:
    lines = _Lines(allow)
    return "".join(lines.line(line) for line in strip_invisible(text).splitlines(keepends=True))


def sanitize_markdown(text: str, allow_hosts: tuple[str, ...] = ALLOWED_LINK_HOSTS) -> str:
    """Markdown safe to render: images become `[image: alt]`, foreign links plain text,
    raw HTML and `$` escaped, invisible characters dropped; code blocks and spans untouched."""
    return _sanitize(text if isinstance(text, str) else str(text), tuple(allow_hosts))


def _unstable_from(line: str) -> int:
    """Where the unfinished last line stops being final: later text could change what follows."""
    lead = line.lstrip(" ")
    run = len(lead) - len(lead.lstrip(lead[:1] or " "))
    if not lead or lead[0] == "[" or (lead[0] in "`~" and (run >= 3 or run == len(lead))):
        return 0  # maybe a fence or a link definition: wait for the whole line
    i, n, bracket, floor = 0, len(line), None, 0
    while i < n:
        step = _stable_step(line, i)
        if step is None:
            return bracket if bracket == i - 1 else i  # a plain "]" is escaped by what follows it
        bracket = i if line[i] == "]" and step == i + 1 else None
        floor = step if step > i + 1 else floor
        i = step
    hold = floor + _url_hold(line[floor:])
    return bracket if bracket is not None and bracket == hold - 1 else hold


def _stable_step(line: str, i: int) -> int | None:
    """The index after the construct starting at `i`, or None when it may still change."""
    ch, n = line[i], len(line)
    if ch == "`":
        run = len(line[i:]) - len(line[i:].lstrip("`"))
        close = re.compile(rf"(?<!`){'`' * run}(?!`)").search(line, i + run)
        return close.end() if close is not None and close.end() < n else None
    m = _TOKEN.match(line, i)
    if m is not None and m.lastgroup in ("esc", "img", "link", "url"):
        if m.end() >= n or (m.lastgroup in ("img", "link") and line[m.end()] in "(["):
            return None
        return m.end()
    if (ch in "\\!]" and i + 1 >= n) or (ch == "!" and line[i + 1] == "["):
        return None
    if ch == "[" and _link_start(line, i):
        return None
    return i + 1


def _link_start(line: str, i: int) -> bool:
    """An opening bracket whose closing bracket is missing, last, or followed by `(`, `[` or `:`."""
    depth = 0
    for j in range(i, len(line)):
        if line[j] == "[":
            depth += 1
        elif line[j] == "]":
            depth -= 1
            if depth == 0:
                return j + 1 >= len(line) or line[j + 1] in "([:"
    return True


def _url_hold(line: str) -> int:
    """Hold back a URL still being typed, or a tail that may become one ('htt', 'ww')."""
    m = re.search(r"(?<![A-Za-z0-9])(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)[^\s<>`]*$", line)
    if m:
        return m.start()
    low = line.lower()
    for k in range(min(len(low), 8), 0, -1):
        tail = low[-k:]
        if any(s.startswith(tail) for s in _URL_STARTS) and (
            k == len(low) or not (low[-k - 1].isascii() and low[-k - 1].isalnum())
        ):
            return len(line) - k
    return len(line)


class StreamSanitizer:
    """Feed streamed text, get back sanitized pieces whose concatenation is always a
    sanitized prefix; what might still change (an open link, a URL) is held back."""

    def __init__(self, allow_hosts: tuple[str, ...] = ALLOWED_LINK_HOSTS) -> None:
        self._lines = _Lines(tuple(allow_hosts))
        self._done = ""  # sanitized complete lines
        self._partial = ""  # raw text after the last newline
        self._emitted = ""

    def feed(self, delta: str) -> str:
        """Add streamed text; return the newly displayable sanitized text (maybe empty)."""
        text = self._partial + strip_invisible(delta)
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._done += self._lines.line(line + "\n")
        if self._lines.fence is not None:
            shown = self._done + self._partial
        else:
            shown = self._done + _line(
                self._partial[: _unstable_from(self._partial)], self._lines.allow
            )
        return self._advance(shown)

    def flush(self) -> str:
        """End of the segment: return whatever is still held back."""
        tail = self._lines.line(self._partial) if self._partial else ""
        shown, self._partial = self._done + tail, ""
        self._done = shown
        return self._advance(shown)

    def _advance(self, shown: str) -> str:
        if not shown.startswith(self._emitted):
            return ""  # not yet consistent with what is on screen; the final render fixes it
        piece, self._emitted = shown[len(self._emitted) :], shown
        return piece

    @property
    def text(self) -> str:
        """Everything displayed so far."""
        return self._emitted
