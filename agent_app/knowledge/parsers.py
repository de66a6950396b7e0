"""Document parsers: file → sections of plain text with page and heading (run inside the worker)."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from agent_app.htmltext import html_sections
from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.zipguard import check_docx
from agent_app.textsafe import clean_text

Section = dict[str, Any]  # {"text": str, "page": int | None, "heading": str | None}

_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_CJK_BREAK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]\n[\u3000-\u9fff\uff00-\uffef]")
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def parse_file(path: str, kind: str, *, scans: bool = False) -> list[Section]:
    """Dispatch on the verified kind; the result is JSON-able.

    `scans`: a text-recognition model is configured, so a PDF page with no text layer (and an
    uploaded image) becomes a section with an empty text and its picture under "scan" (base64).
    """
    if kind == "pdf":
        return parse_pdf(path, scans=scans)
    if kind == "image" and scans:
        with open(path, "rb") as fh:
            return [_scan(1, fh.read())]
    if kind == "docx":
        return parse_docx(path)
    with open(path, "rb") as fh:
        text = decode_text(fh.read())
    if kind == "md":
        return parse_markdown(text)
    if kind == "html":
        return html_sections(text)
    if kind == "csv":
        return parse_csv(text)
    return [{"text": text, "page": None, "heading": None}]


def decode_text(data: bytes) -> str:
    """BOM, UTF-8, GB18030 (if it yields CJK), BOM-less UTF-16, detection; never raises."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return clean_text(data.decode(codec, "replace"))
    utf16 = bomless_utf16(data)
    if utf16 is not None:
        return clean_text(utf16)
    with contextlib.suppress(UnicodeDecodeError):
        return clean_text(data.decode("utf-8"))
    with contextlib.suppress(UnicodeDecodeError):
        text = data.decode("gb18030")
        if _mostly_cjk(text):
            return clean_text(text)
    loose = data.decode("utf-8", "replace")
    if loose.count("\ufffd") <= max(4, len(loose) // 200):  # UTF-8 with a few broken bytes
        return clean_text(loose)
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1024 * 1024]).best()
    return clean_text(data.decode(best.encoding if best is not None else "utf-8", "replace"))


def bomless_utf16(data: bytes) -> str | None:
    """The text of UTF-16 without a BOM (LE or BE, whichever reads as plausible text), else None.

    Tried before UTF-8: ASCII in UTF-16 is valid UTF-8 full of NULs, and mixed text would come
    out as replacement characters. A wrong byte order or a GBK file read as UTF-16 lands in
    Hangul, private-use and surrogate code points, far below the plausibility bar.
    """
    head = data[: 64 * 1024]
    head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    best: tuple[float, str] | None = None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            sample = head.decode(codec)
        except UnicodeDecodeError:  # an unpaired surrogate: not this byte order
            continue
        score = sum(1 for ch in sample if _plausible(ch)) / len(sample)
        if score >= 0.97 and (best is None or score > best[0]):
            best = (score, codec)
    if best is None:
        return None
    if b"\x00" not in head and _utf8_ok(data):  # valid UTF-8 without NULs stays UTF-8
        return None
    return data[: len(data) - len(data) % 2].decode(best[1], "replace")


def _plausible(ch: str) -> bool:
    """Characters that real documents are made of (ASCII, Latin, CJK and their punctuation)."""
    code = ord(ch)
    return (
        0x20 <= code < 0x7F
        or ch in "\t\r\n"
        or 0xA0 <= code < 0x250  # Latin-1 supplement, Latin extended
        or 0x370 <= code < 0x530  # Greek, Cyrillic
        or 0x2000 <= code < 0x2070  # general punctuation
        or 0x3000 <= code < 0x3100  # CJK punctuation, kana
        or 0x4E00 <= code < 0xA000  # CJK unified ideographs
        or 0xFF00 <= code < 0xFFF0  # full-width forms
    )


def _utf8_ok(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_cjk(text: str) -> bool:
    wide = [ch for ch in text if ord(ch) > 0x7F]
    cjk = sum(1 for ch in wide if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return not wide or cjk / len(wide) >= 0.7


def parse_markdown(text: str) -> list[Section]:
    """Split at ATX headings; each section remembers its heading path (A > B > C)."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            heading = " > ".join(title for _, title in path) or None
            sections.append({"text": body, "page": None, "heading": heading})
        lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level = len(match.group(1))
        path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2))]
    flush()
    return sections


def parse_csv(text: str) -> list[Section]:
    """One line per row: 'column: value；column: value' so each row reads on its own."""
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = next(rows, None) or []
    out = [
        "；".join(f"{h}: {v}" if h else v for h, v in zip(header, row, strict=False) if v.strip())
        for row in rows
    ]
    body = "\n".join(line for line in out if line)
    return [{"text": body or " ".join(header), "page": None, "heading": None}]


def _scan(page: int, picture: bytes) -> Section:
    return {"text": "", "page": page, "heading": None, "scan": base64.b64encode(picture).decode()}


def _page_picture(page: Any) -> bytes | None:
    """The largest picture on a page (a scanner puts the whole page in one)."""
    try:
        pictures = [img.data for img in page.images]
    except Exception:  # an image pypdf cannot decode: the page stays text-less
        return None
    return max(pictures, key=len) if pictures else None


def parse_pdf(path: str, *, scans: bool = False) -> list[Section]:
    """One section per page (1-based page numbers); encrypted and text-less PDFs are refused."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _try_empty_password(reader):
            raise DocumentError("encrypted")
        with _shared_fonts():
            pages = [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
        pictures = (
            {n: _page_picture(reader.pages[n - 1]) for n, text in pages if not text.strip()}
            if scans
            else {}
        )
    except DocumentError:
        raise
    except LimitReachedError as exc:  # pypdf's decompression caps (Flate/LZW bombs)
        raise DocumentError("bomb") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError("corrupt") from exc
    sections = [
        {"text": unwrap_lines(clean_text(text)).strip(), "page": number, "heading": None}
        for number, text in pages
    ]
    sections = [s for s in sections if s["text"]]
    sections += [_scan(n, picture) for n, picture in pictures.items() if picture]
    if not sections:
        raise DocumentError("no_text")
    return sorted(sections, key=lambda s: s["page"] or 0)


def unwrap_lines(text: str) -> str:
    """Join PDF layout line-wraps inside CJK sentences; short lines (headings) keep their break."""
    lines = text.split("\n")
    widest = max((len(line.rstrip()) for line in lines), default=0)
    out: list[str] = []
    previous = ""
    for line in lines:
        if out and _is_wrap(previous, line, widest):
            out[-1] += line
        else:
            out.append(line)
        previous = line
    return "\n".join(out)


def _is_wrap(previous: str, line: str, widest: int) -> bool:
    prev = previous.rstrip()
    return (
        len(prev) >= 0.8 * widest
        and bool(prev and line)
        and _CJK_BREAK.match(prev[-1] + "\n" + line[0]) is not None
    )


def _try_empty_password(reader: Any) -> bool:
    """Owner-password-only PDFs open with an empty user password; real passwords do not."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 — unsupported algorithms or missing crypto backend
        return False


@contextlib.contextmanager
def _shared_fonts() -> Iterator[None]:
    """Pypdf re-parses a font's ToUnicode map on every page; share it within one document."""
    try:
        from pypdf.generic import _font
    except ImportError:  # pypdf layout changed: run uncached
        yield
        return
    original = _font.Font.__dict__.get("from_font_resource")
    if not isinstance(original, classmethod):
        yield
        return
    cache: dict[tuple[int, int], Any] = {}

    def cached(cls: Any, obj: Any) -> Any:
        ref = getattr(obj, "indirect_reference", None)
        if ref is None:
            return original.__func__(cls, obj)
        key = (ref.idnum, ref.generation)
        if key not in cache:
            cache[key] = original.__func__(cls, obj)
        return cache[key]

    setattr(_font.Font, "from_font_resource", classmethod(cached))  # noqa: B010
    try:
        yield
    finally:
        setattr(_font.Font, "from_font_resource", original)  # noqa: B010


def parse_docx(path: str) -> list[Section]:
    """Paragraphs and tables in body order; Heading/Title styles become the heading path."""
    check_docx(path)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(path)
    except Exception as exc:  # noqa: BLE001 — python-docx raises many types on bad input
        raise DocumentError("corrupt") from exc
    sections: list[Section] = []
    path_titles: list[tuple[int, str]] = []
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            lines.extend(_table_lines(Table(element, document)))
            continue
        if tag != "p":
            continue
        para = Paragraph(element, document)
        level = _heading_level(para)
        if level is None:
            if para.text.strip():
                lines.append(para.text)
            continue
        _flush_docx(sections, path_titles, lines)
        path_titles = [(lvl, t) for lvl, t in path_titles if lvl < level] + [
            (level, para.text.strip())
        ]
    _flush_docx(sections, path_titles, lines)
    return sections


def _flush_docx(sections: list[Section], titles: list[tuple[int, str]], lines: list[str]) -> None:
    body = clean_text("\n".join(lines)).strip()
    if body:
        heading = " > ".join(t for _, t in titles if t) or None
        sections.append({"text": body, "page": None, "heading": heading})
    lines.clear()


def _heading_level(para: Any) -> int | None:
    try:
        name = (para.style.name or "").lower() if para.style is not None else ""
    except (KeyError, AttributeError):
        return None
    if name == "title":
        return 0
    match = re.match(r"(heading|标题)\s*(\d)", name)
    return int(match.group(2)) if match and para.text.strip() else None


def _table_lines(table: Any) -> list[str]:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cell.text.strip()
            if text and (not cells or cells[-1] != text):  # merged cells repeat
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return lines
